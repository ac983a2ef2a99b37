"""A dashboard's outermost box, which tells the person in words when the kernel behind it is gone.

Displayed, the box puts a script into the page as plain HTML beside itself, not inside a widget:
Voilà's page runs it even when the kernel is gone before any widget could draw (culled, or ended,
before the page connected), which a widget-borne watch would never see.
"""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as w

from vggviz.ui.parts.legibility import PAGE_HTML
from vggviz.ui.parts.page_sync import PageSync

# Runs in the page. It tells, above the dashboard and with the remedy, each way a page loses its
# kernel, with the reason the server gives: ipywidgets marks the views as cut off, or the page's
# socket to its kernel closes (jupyterlab's kernel connection goes "connecting"), or the kernel
# reports a restart; each time it asks the server about the kernel (every 2 s while in doubt):
# - no answer: the server is not answering (said until it answers again);
# - 404 or dead: after no answer, the server was restarted and lost the kernel; before the page
#   first saw its kernel alive, the kernel stopped before the page could connect; else the
#   server ended it;
# - `autorestarts` above 0 (vggviz.server.kernel_manager): the kernel died and the server put an
#   empty one in its place; if the page never saw it alive and unrestarted, before the page
#   could connect.
# On a Voilà page (its page config names the kernel) it also asks every 3 s until its page is
# connected. Once the kernel is gone, work rows (progress bars, Cancel) go with it.
_KERNEL_WATCH = r"""<script>
(() => {
  const output = document.currentScript && document.currentScript.closest(".jp-OutputArea-child");
  if (output) output.style.display = "none";
  if (window.vggvizKernelWatch) return;
  window.vggvizKernelWatch = true;
  const RELOAD = " <a href='' style='color:#fff;font-weight:bold' " +
    "onclick='location.reload(); return false'>Reload the page</a>";
  const WORDS = {
    died: "The dashboard's kernel stopped (the Python process behind it died or was " +
          "restarted), so the controls no longer answer." + RELOAD + " to start a fresh one.",
    before: "The dashboard's kernel stopped before this page could connect to it (the server " +
            "ended the Python process behind it), so the dashboard cannot draw." + RELOAD +
            " to start a fresh one.",
    emptied: "The dashboard's kernel died before this page could connect to it, and the " +
             "server put an empty one in its place, so the dashboard cannot draw." + RELOAD +
             " to start a fresh one.",
    ended: "The server ended this page's kernel, so the controls no longer answer." + RELOAD +
           " to start a fresh one.",
    restarted: "The server was restarted, and this page's kernel was lost with it, so the " +
               "controls no longer answer." + RELOAD + " to start a fresh one.",
    silent: "The server is not answering (it stopped, or the connection to it was lost), so " +
            "the controls do not answer." + RELOAD + " to start a fresh one once it is back.",
  };
  let final = false;
  const say = (reason, last = true) => {
    if (final) return;
    final = last;
    let box = document.getElementById("vggviz-kernel-lost");
    if (!box) {
      box = document.createElement("div");
      box.id = "vggviz-kernel-lost";
      box.setAttribute("role", "alert");
      box.style.cssText = "position:sticky;top:0;z-index:1000;padding:10px 16px;" +
        "background:#b00020;color:#fff;font:15px sans-serif";
      document.body.prepend(box);
    }
    box.dataset.reason = reason;
    box.innerHTML = WORDS[reason];
    if (last) {  // work under way in the kernel is gone with it: its progress and Cancel too
      document.body.classList.add("vggviz-kernel-gone");
      for (const button of document.querySelectorAll(".vggviz-dashboard button")) {
        if (button.textContent.trim() === "Cancel") button.style.display = "none";
      }
    }
  };
  const unsay = () => {
    const box = document.getElementById("vggviz-kernel-lost");
    if (box && !final) box.remove();
  };
  const style = document.createElement("style");
  style.textContent = ".vggviz-kernel-gone :is(.vggviz-pattern-progress, .vggviz-download, " +
    ".widget-hbox:has(> .widget-hprogress), .widget-hprogress) { display: none !important; }";
  document.head.append(style);
  const config = document.getElementById("jupyter-config-data");
  const page = config ? JSON.parse(config.textContent) : {};
  const disconnected = () => document.querySelector(".jupyter-widgets-disconnected");
  if (!page.kernelId) {  // not a Voilà page (JupyterLab says the rest itself)
    new MutationObserver(() => { if (disconnected()) say("died"); })
      .observe(document.body, {subtree: true, childList: true, attributes: true,
                               attributeFilter: ["class"]});
    return;
  }
  const url = (page.baseUrl || "/") + "api/kernels/" + encodeURIComponent(page.kernelId);
  // A hub's server refuses a cookie-authenticated request without the XSRF token, even a GET.
  const xsrf = document.cookie.match(/(?:^|;\s*)_xsrf=([^;]*)/);
  let sawAlive = false;  // the kernel was seen running, not restarted, while this page was open
  let unanswered = false;  // the server failed to answer since the page last heard it
  let asking = null;
  // Asks the server about the kernel; true while in doubt (ask again), false once settled.
  const ask = async () => {
    let answer, kernel = null;
    try {
      answer = await fetch(url, {cache: "no-store", credentials: "same-origin",
                                 signal: AbortSignal.timeout(5000),
                                 headers: xsrf ? {"X-XSRFToken": xsrf[1]} : {}});
      if (answer.ok) kernel = await answer.json();
    } catch (error) {  // unreachable, or not JSON (a proxy's page)
      answer = null;
    }
    if (!answer || (!answer.ok && answer.status !== 404)) {
      unanswered = true;
      say("silent", false);
      return true;
    }
    if (answer.status === 404 || kernel.execution_state === "dead") {
      say(unanswered ? "restarted" : sawAlive ? "ended" : "before");
      return false;
    }
    if (kernel.autorestarts > 0) {
      say(sawAlive ? "died" : "emptied");
      return false;
    }
    unanswered = false;
    sawAlive = true;
    unsay();
    if (kernel.autorestarts === undefined && disconnected()) {  // not vggviz's kernel manager
      say("died");
      return false;
    }
    return !(kernel.connections > 0) || trouble();
  };
  let socket = null;  // the page's connection to its kernel, as jupyterlab reports it
  const trouble = () => (socket !== null && socket !== "connected") || Boolean(disconnected());
  const watch = () => {  // one round of asking at a time, every 2 s until settled
    if (asking || final) return;
    asking = (async () => {
      while (!final && await ask()) await new Promise((go) => setTimeout(go, 2000));
      asking = null;
    })();
  };
  new MutationObserver(() => { if (disconnected()) watch(); })
    .observe(document.body, {subtree: true, childList: true, attributes: true,
                             attributeFilter: ["class"]});
  const follow = async () => {  // jupyterlab's own connection to the kernel, once the app is up
    while (!window.jupyterapp) await new Promise((go) => setTimeout(go, 250));
    const manager = await window.jupyterapp.widgetManagerPromise.promise;
    const kernel = manager && manager.kernel;
    if (!kernel) return;
    const connection = (_, status) => { socket = status; if (status !== "connected") watch(); };
    connection(null, kernel.connectionStatus);
    kernel.connectionStatusChanged.connect(connection);
    kernel.statusChanged.connect((_, status) => {
      if (["restarting", "autorestarting", "dead"].includes(status)) watch();
    });
  };
  follow();
  watch();
})();
</script>"""


class Dashboard(w.VBox):
    """The box a dashboard function returns; displayed, it brings the page's kernel watch and
    its legibility rules (`vggviz.ui.parts.legibility`), and once the page has drawn it, the
    state of every widget that changed meanwhile (`vggviz.ui.parts.page_sync`)."""

    def __init__(self, children: Sequence[w.Widget] = (), **kwargs):
        self.sync = PageSync(self)
        super().__init__([*children, self.sync], **kwargs)
        self.add_class("vggviz-dashboard")

    def _ipython_display_(self, **kwargs) -> None:
        """Show the kernel watch and the page rules as plain HTML, then the box itself."""
        from IPython.display import HTML, display

        display(HTML(PAGE_HTML + _KERNEL_WATCH))
        self.sync.displayed()
        display(self._repr_mimebundle_(**kwargs), raw=True)
