"""What every dashboard page gets for reading and assistive technology: text no smaller than
12 px, a name on every slider, the chosen one of toggle buttons said (aria-pressed), live
regions for long work, and Esc for the glossary's definitions.

ipywidgets 8 ties a slider's description to nothing a screen reader reads (the noUiSlider
handle, `role=slider`, has no name), has no way to set ARIA attributes, and draws its progress
bars as bare divs. A script in the page fills those gaps by class: `live` marks a widget whose
text changes as work goes on (`role=status`, polite), and every progress bar of a dashboard
becomes a `role=progressbar` with its value, named by its description or else its tooltip
(ipywidgets 8 draws a progress bar as `.widget-hprogress`, its tooltip as its label's title).
"""

from __future__ import annotations

import ipywidgets as w

from vggviz.ui.parts import glossary

LIVE = "vggviz-live"
"""The class `live` puts on a widget: the page script makes it a polite status region."""

MIN_TEXT_PX = 12

# Captions over the picker's 145-px pictures: one line at 12 px (in bold they would wrap).
_STYLE = (f"<style>.vggviz-dashboard small {{font-size:{MIN_TEXT_PX}px}}"
          ".vggviz-caption {white-space:nowrap}</style>")

_SCRIPT = r"""<script>
(() => {
  if (window.vggvizLegibility) return;
  window.vggvizLegibility = true;
  const text = (el) => (el ? el.textContent.trim() : "");
  const name = (root) => {
    for (const slider of root.querySelectorAll(".vggviz-dashboard .widget-slider")) {
      const label = text(slider.querySelector(".widget-label"));
      if (!label) continue;
      for (const handle of slider.querySelectorAll("[role=slider]")) {
        if (handle.getAttribute("aria-label") !== label) handle.setAttribute("aria-label", label);
      }
      const readout = slider.querySelector(".widget-readout");
      if (readout && !readout.getAttribute("aria-label")) {
        readout.setAttribute("aria-label", label + " (type a value)");
      }
    }
    // ipywidgets 8 shows the chosen one of ToggleButtons (and a pressed ToggleButton) by the
    // class mod-active alone: say it to a screen reader too
    for (const button of root.querySelectorAll(".vggviz-dashboard .widget-toggle-buttons " +
                                               "button, .vggviz-dashboard .widget-toggle-button")) {
      const pressed = String(button.classList.contains("mod-active"));
      if (button.getAttribute("aria-pressed") !== pressed) {
        button.setAttribute("aria-pressed", pressed);
      }
    }
    for (const box of root.querySelectorAll(".vggviz-live:not([role])")) {
      box.setAttribute("role", "status");
      box.setAttribute("aria-live", "polite");
    }
    for (const bar of root.querySelectorAll(".vggviz-dashboard .widget-hprogress .progress")) {
      const fill = bar.querySelector(".progress-bar");
      const now = fill ? String(Math.round(parseFloat(fill.style.width) || 0)) : "0";
      if (bar.getAttribute("aria-valuenow") === now) continue;
      bar.setAttribute("role", "progressbar");
      bar.setAttribute("aria-valuemin", "0");
      bar.setAttribute("aria-valuemax", "100");
      bar.setAttribute("aria-valuenow", now);
      bar.setAttribute("aria-valuetext", now + " %");
      const widget = bar.closest(".widget-hprogress");
      const label = widget.querySelector(".widget-label");  // ipywidgets 8: the tooltip's
      bar.setAttribute("aria-label", text(label) || (label && label.title) ||
                       widget.title || "progress");
    }
  };
  new MutationObserver(() => name(document)).observe(document.body, {
    subtree: true, childList: true, attributes: true, attributeFilter: ["style", "class"]});
  name(document);
})();
</script>"""

PAGE_HTML = _STYLE + _SCRIPT + glossary.SCRIPT
"""Shown once beside each dashboard (see `vggviz.ui.parts.kernel_watch.Dashboard`)."""


def live(widget: w.DOMWidget) -> w.DOMWidget:
    """`widget`, marked as a polite live region: a screen reader says its new text."""
    widget.add_class(LIVE)
    return widget
