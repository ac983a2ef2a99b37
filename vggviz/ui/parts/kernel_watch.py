"""A dashboard's outermost box, which tells the person in words when the kernel behind it is gone.

Displayed, the box puts a script into the page as plain HTML beside itself, not inside a widget:
Voilà's page runs it even when the kernel is gone before any widget could draw (culled, or ended,
before the page connected), which a widget-borne watch would never see.
"""

from __future__ import annotations

import ipywidgets as w

from vggviz.ui.parts.legibility import PAGE_HTML

# Runs in the page. Two ways a page loses its kernel, both told above the dashboard with the
# remedy: ipywidgets marks the views as cut off (the kernel died or restarted after drawing),
# or, on a Voilà page (its page config names the kernel), the kernel is gone or dead before
# the page connected to it: asked every 3 s until a connection to it is counted.
_KERNEL_WATCH = r"""<script>
(() => {
  const output = document.currentScript && document.currentScript.closest(".jp-OutputArea-child");
  if (output) output.style.display = "none";
  if (window.vggvizKernelWatch) return;
  window.vggvizKernelWatch = true;
  const say = (what) => {
    if (document.getElementById("vggviz-kernel-lost")) return;
    const box = document.createElement("div");
    box.id = "vggviz-kernel-lost";
    box.setAttribute("role", "alert");
    box.style.cssText = "position:sticky;top:0;z-index:1000;padding:10px 16px;" +
      "background:#b00020;color:#fff;font:15px sans-serif";
    box.innerHTML = what + " <a href='' style='color:#fff;font-weight:bold' " +
      "onclick='location.reload(); return false'>Reload the page</a> to start a fresh one.";
    document.body.prepend(box);
  };
  new MutationObserver(() => {
    if (document.querySelector(".jupyter-widgets-disconnected")) {
      say("The dashboard's kernel stopped (the Python process behind it died or was " +
          "restarted), so the controls no longer answer.");
    }
  }).observe(document.body, {subtree: true, childList: true, attributes: true,
                             attributeFilter: ["class"]});
  const config = document.getElementById("jupyter-config-data");
  const page = config ? JSON.parse(config.textContent) : {};
  if (!page.kernelId) return;
  const url = (page.baseUrl || "/") + "api/kernels/" + encodeURIComponent(page.kernelId);
  // A hub's server refuses a cookie-authenticated request without the XSRF token, even a GET.
  const xsrf = document.cookie.match(/(?:^|;\s*)_xsrf=([^;]*)/);
  const ask = async () => {
    let answer;
    try {
      answer = await fetch(url, {cache: "no-store", credentials: "same-origin",
                                 headers: xsrf ? {"X-XSRFToken": xsrf[1]} : {}});
    } catch (error) {  // the server is unreachable for now: ask again
      setTimeout(ask, 3000);
      return;
    }
    const kernel = answer.ok ? await answer.json() : null;
    if (answer.status === 404 || (kernel && kernel.execution_state === "dead")) {
      say("The dashboard's kernel stopped before this page could connect to it (the server " +
          "ended the Python process behind it), so the dashboard cannot draw.");
    } else if (kernel && !(kernel.connections > 0)) {  // not connected yet: ask again
      setTimeout(ask, 3000);
    }
  };
  ask();
})();
</script>"""


class Dashboard(w.VBox):
    """The box a dashboard function returns; displayed, it brings the page's kernel watch and
    its legibility rules (`vggviz.ui.parts.legibility`)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_class("vggviz-dashboard")

    def _ipython_display_(self, **kwargs) -> None:
        """Show the kernel watch and the page rules as plain HTML, then the box itself."""
        from IPython.display import HTML, display

        display(HTML(PAGE_HTML + _KERNEL_WATCH))
        display(self._repr_mimebundle_(**kwargs), raw=True)
