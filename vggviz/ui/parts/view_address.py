"""A control to copy a link to the view shown: the page's own address with the view's query
(`vggviz.plan.view_link`; the query a page opened with is `vggviz.server.page_query`'s)."""

from __future__ import annotations

import anywidget
import traitlets

_ESM = """
export default {
  render({ model, el }) {
    const id = Math.random().toString(36).slice(2);
    const root = document.createElement("div");
    root.className = "vggviz-view-link";
    const label = document.createElement("label");
    label.htmlFor = `vggviz-link-${id}`;
    label.textContent = "Link to this view";
    const field = document.createElement("input");
    field.id = label.htmlFor;
    field.type = "text";
    field.readOnly = true;
    field.spellcheck = false;
    const copy = document.createElement("button");
    copy.type = "button";
    copy.textContent = "Copy link";
    const said = document.createElement("span");
    said.className = "vggviz-view-link-said";
    said.setAttribute("aria-live", "polite");
    const address = () => {
      const query = model.get("query");
      return `${location.origin}${location.pathname}${query ? "?" + query : ""}`;
    };
    const draw = () => {
      field.value = address();
      field.title = copy.title = model.get("hint");
      said.textContent = model.get("note");
    };
    field.addEventListener("focus", () => field.select());
    copy.addEventListener("click", async () => {
      field.value = address();
      try {
        await navigator.clipboard.writeText(field.value);
        said.textContent = "Copied.";
      } catch (error) {
        field.focus();
        field.select();
        said.textContent = "This page may not use the clipboard: the link is selected, " +
          "press Ctrl+C (⌘C on a Mac) to copy it.";
      }
    });
    model.on("change:query", draw);
    model.on("change:note", draw);
    model.on("change:hint", draw);
    draw();
    root.append(label, field, copy, said);
    el.replaceChildren(root);
  },
};
"""

_CSS = """
.vggviz-view-link { display: flex; flex-wrap: wrap; align-items: center; gap: 2px 6px;
  font-size: 13px; max-width: 100%; }
.vggviz-view-link label { font-weight: bold; }
.vggviz-view-link input { flex: 1 1 240px; min-width: 0; font: 12px monospace; padding: 2px 4px;
  border: 1px solid #5f6368; border-radius: 3px; color: #1f1f1f; background: #fff; }
.vggviz-view-link button { font: inherit; padding: 2px 10px; border: 1px solid #5f6368;
  border-radius: 3px; background: #f1f3f4; color: #1f1f1f; cursor: pointer; }
.vggviz-view-link :focus-visible { outline: 3px solid #0b57d0; outline-offset: 1px; }
.vggviz-view-link-said { flex-basis: 100%; color: #1f1f1f; }
.vggviz-view-link-said:empty { display: none; }
"""


class ViewLink(anywidget.AnyWidget):
    """"Link to this view": a labelled, selectable field holding the page's address with
    `query`, a button that copies it where the page may use the clipboard (and selects it for
    Ctrl+C where not), `hint` as the tooltip of both and `note` said below them (not ipywidgets'
    `tooltip`: its view reads a `description` this widget has not)."""

    _esm = _ESM
    _css = _CSS
    query = traitlets.Unicode("").tag(sync=True)
    hint = traitlets.Unicode("").tag(sync=True)
    note = traitlets.Unicode("").tag(sync=True)
