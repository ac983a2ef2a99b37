"""A part of the page that tells the person in words when the kernel behind it is gone."""

from __future__ import annotations

import ipywidgets as w

# Runs in the page: when ipywidgets marks views as cut off from their kernel (it died or was
# restarted), say so in words above the dashboard, with the remedy.
_KERNEL_WATCH = """<script>
(() => {
  if (window.vggvizKernelWatch) return;
  window.vggvizKernelWatch = true;
  const say = () => {
    if (document.getElementById("vggviz-kernel-lost")) return;
    const box = document.createElement("div");
    box.id = "vggviz-kernel-lost";
    box.setAttribute("role", "alert");
    box.style.cssText = "position:sticky;top:0;z-index:1000;padding:10px 16px;" +
      "background:#b00020;color:#fff;font:15px sans-serif";
    box.innerHTML = "The dashboard's kernel stopped (the Python process behind it died or " +
      "was restarted), so the controls no longer answer. <a href='' style='color:#fff;" +
      "font-weight:bold' onclick='location.reload(); return false'>Reload the page</a> " +
      "to start a fresh one.";
    document.body.prepend(box);
  };
  new MutationObserver(() => {
    if (document.querySelector(".jupyter-widgets-disconnected")) say();
  }).observe(document.body, {subtree: true, childList: true, attributes: true,
                             attributeFilter: ["class"]});
})();
</script>"""


def kernel_watch() -> w.Output:
    """An invisible part that tells the person in words when the kernel behind the page dies."""
    from IPython.display import HTML

    out = w.Output(layout=w.Layout(height="0px", overflow="hidden"))
    out.append_display_data(HTML(_KERNEL_WATCH))
    return out
