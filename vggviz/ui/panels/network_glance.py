"""The network at a glance: input → stem → groups 1–5 → classifier as blocks drawn to scale
(`vggviz.plan.glance`), each part a button that goes to it, the part shown marked.

Each part is a native <button> (Tab reaches it, Enter or Space presses it) named by its output
("group 2: 56×56×128"), described by what it does, and `aria-pressed` on the part shown; the
input is drawn but is no part to go to. The stem, the learner (a bracket over the groups) and
the classifier are named on the drawing; a line each below says what they do. 850×176 px (VGG16
in Chromium at 1280×800, tests/test_glance_browser.py holds it to 900×190).
"""

from __future__ import annotations

from collections.abc import Callable

import anywidget
import traitlets

from vggviz.plan.architecture import COMPONENTS
from vggviz.plan.glance import SCALE, SIDE_PX, Glance, network_glance
from vggviz.render.charts import COMPONENT_COLORS

COLOURS = {"input": "#9e9e9e", **COMPONENT_COLORS}
"""A block's fill: the component's colour in every chart, the input grey (as the cost strip's)."""
DRAWING_PX = SIDE_PX + 4  # the tallest box and the stack drawn behind it
_GROUPS = ", ".join(COLOURS[f"group{i}"] for i in range(1, 6))
SWATCHES = {"stem": COLOURS["stem"], "group": COLOURS["group3"],
            "learner": f"linear-gradient(90deg, {_GROUPS})", "classifier": COLOURS["classifier"]}
"""The key beside each line: a group in group 3's colour, the learner in all five groups'."""
TITLES = {"stem": "Stem", "group": "A group", "learner": "The learner", "classifier": "Classifier"}

INK = "#1f1f1f"
"""Text and every box's edge: 16:1 on white, so no box relies on its fill to show."""
MUTED = "#5f6368"
"""The arrows between parts (decorative) and a part's edge under the pointer."""
PARTS = {"edge": "#d6d6d6", "hover": "#f5f8fd", "pressed": "#e8f0fe", "pressed edge": "#1a56db",
         "focus": "#0b57d0"}
"""A part's look: its faint edge (a hint, not its only sign), its fill under the pointer and
when pressed (shown), the pressed part's 2-px edge, and the focus ring."""

_ESM = """
export default {
  render({ model, el }) {
    const root = document.createElement("div");
    root.className = "vggviz-glance";
    if (model.get("compact")) root.classList.add("vggviz-glance-compact");
    root.setAttribute("role", "group");
    root.setAttribute("aria-label", "The network at a glance: each part, drawn to scale");
    const id = Math.random().toString(36).slice(2);
    const scale = document.createElement("span");  // how to read it: read aloud, and on hover
    scale.className = "vggviz-glance-sr";
    scale.id = `vggviz-glance-${id}-scale`;
    root.setAttribute("aria-describedby", scale.id);
    const part = (block, index) => {
      const chooses = block.role !== "input";
      const item = document.createElement(chooses ? "button" : "div");
      item.className = `vggviz-glance-part vggviz-glance-${block.role}`;
      item.dataset.part = block.name;
      const drawing = document.createElement("span");
      drawing.className = "vggviz-glance-drawing";
      drawing.setAttribute("aria-hidden", "true");
      const stack = document.createElement("span");
      stack.className = "vggviz-glance-stack";
      for (const [width, height] of block.boxes) {
        const box = document.createElement("span");
        box.className = "vggviz-glance-box";
        box.style.cssText = `width:${width}px;height:${height}px;background:${block.colour}`;
        stack.append(box);
      }
      drawing.append(stack);
      if (block.tag) {
        const tag = document.createElement("span");
        tag.className = "vggviz-glance-tag";
        tag.textContent = block.tag;
        drawing.append(tag);
      }
      const label = document.createElement("span");
      label.className = "vggviz-glance-label";
      label.textContent = block.label;
      const shape = document.createElement("span");
      shape.className = "vggviz-glance-shape";
      shape.textContent = block.shape;
      item.append(drawing, label, shape);
      item.title = model.get("compact") ? `${block.shape}: ${block.note}` : block.note;
      if (chooses) {
        item.type = "button";
        item.setAttribute("aria-label", block.name_said);
        const note = document.createElement("span");
        note.className = "vggviz-glance-sr";
        note.id = `vggviz-glance-${id}-${index}`;
        note.textContent = block.note;
        item.append(note);
        item.setAttribute("aria-describedby", note.id);
        item.addEventListener("click", () => model.send({ type: "choose", stage: block.name }));
      }
      return item;
    };
    const arrow = () => {
      const a = document.createElement("span");
      a.className = "vggviz-glance-arrow";
      a.setAttribute("aria-hidden", "true");
      a.textContent = "→";
      return a;
    };
    const draw = () => {
      const focused = root.contains(document.activeElement)
        ? document.activeElement.dataset.part : null;
      const row = document.createElement("div");
      row.className = "vggviz-glance-row";
      row.style.setProperty("--vggviz-glance-drawing", `${model.get("drawing_px")}px`);
      const learner = document.createElement("div");
      learner.className = "vggviz-glance-learner";
      const bracket = document.createElement("span");
      bracket.className = "vggviz-glance-bracket";
      const named = document.createElement("span");
      named.textContent = "learner: groups 1–5";
      bracket.append(named);
      learner.append(bracket);
      model.get("blocks").forEach((block, index) => {
        const into = block.role === "group" ? learner : row;
        if (block.name === "group1") row.append(arrow(), learner);
        else if (index > 0) into.append(arrow());
        into.append(part(block, index));
      });
      const lines = document.createElement("div");
      lines.className = "vggviz-glance-lines";
      for (const [title, text, colour] of model.get("lines")) {
        const line = document.createElement("p");
        const swatch = document.createElement("span");
        swatch.className = "vggviz-glance-swatch";
        swatch.setAttribute("aria-hidden", "true");
        swatch.style.background = colour;
        const name = document.createElement("b");
        name.textContent = `${title}: `;
        line.append(swatch, name, text);
        lines.append(line);
      }
      scale.textContent = model.get("scale");
      row.title = model.get("scale");
      root.replaceChildren(row, lines, scale);
      mark();
      if (focused) root.querySelector(`[data-part="${focused}"]`)?.focus();
    };
    const mark = () => {
      for (const button of root.querySelectorAll("button.vggviz-glance-part")) {
        button.setAttribute("aria-pressed", String(button.dataset.part === model.get("shown")));
      }
    };
    model.on("msg:custom", (msg) => {  // go to a part shown elsewhere on the page
      if (msg?.do !== "reveal") return;
      const target = document.querySelector(msg.selector);
      if (!target) return;
      if (!target.matches("a[href], button, input, select, textarea, [tabindex]")) {
        target.tabIndex = -1;  // focus follows, so the keyboard goes on from there
      }
      target.scrollIntoView({ block: "start" });
      target.focus({ preventScroll: true });
    });
    model.on("change:blocks", draw);
    model.on("change:lines", draw);
    model.on("change:drawing_px", draw);
    model.on("change:shown", mark);
    draw();
    el.replaceChildren(root);
  },
};
"""

_CSS = """
.vggviz-glance { font-size: 12px; line-height: 1.25; color: __INK__; max-width: 900px; }
.vggviz-glance-row { display: flex; align-items: stretch; gap: 0 2px; padding-top: 14px; }
/* the learner's bracket, in a strip of its own over the groups: ⌐ learner: groups 1–5 ¬ */
.vggviz-glance-learner { display: flex; align-items: stretch; gap: 0 2px; position: relative;
  margin-top: -14px; padding-top: 14px; }
.vggviz-glance-bracket { position: absolute; left: 2px; right: 2px; top: 0; height: 13px;
  display: flex; align-items: flex-start; gap: 6px; pointer-events: none;
  font-weight: bold; line-height: 1; white-space: nowrap; }
.vggviz-glance-bracket::before, .vggviz-glance-bracket::after { content: ""; flex: 1;
  height: 6px; margin-top: 6px; border-top: 1px solid __INK__; }
.vggviz-glance-bracket::before { border-left: 1px solid __INK__; }
.vggviz-glance-bracket::after { border-right: 1px solid __INK__; }
.vggviz-glance-part { display: flex; flex-direction: column; align-items: center;
  justify-content: flex-start; min-width: 72px; margin: 0; padding: 3px 4px 2px;
  font: inherit; color: inherit; background: #fff; border: 2px solid transparent;
  border-radius: 6px; }
button.vggviz-glance-part { cursor: pointer; border-color: __EDGE__; }
button.vggviz-glance-part:hover { border-color: __MUTED__; background: __HOVER__; }
button.vggviz-glance-part:focus-visible { outline: 3px solid __FOCUS__; outline-offset: 1px; }
button.vggviz-glance-part[aria-pressed="true"] { border-color: __PEDGE__; background: __PRESSED__; }
button.vggviz-glance-part[aria-pressed="true"] .vggviz-glance-label { text-decoration: underline;
  text-decoration-thickness: 2px; text-underline-offset: 2px; }
.vggviz-glance-drawing { display: flex; flex-direction: column; align-items: center;
  justify-content: center; gap: 2px; height: var(--vggviz-glance-drawing); padding-right: 3px; }
.vggviz-glance-stack { display: flex; flex-direction: column; align-items: center; gap: 3px; }
.vggviz-glance-box { display: block; box-sizing: border-box; border: 1px solid __INK__;
  box-shadow: 3px -3px 0 -1px #fff, 3px -3px 0 0 __INK__; }
.vggviz-glance-classifier .vggviz-glance-box { box-shadow: none; }
.vggviz-glance-tag { font-style: italic; white-space: nowrap; }
.vggviz-glance-label { font-weight: bold; white-space: nowrap; margin-top: 1px; }
.vggviz-glance-shape { white-space: nowrap; }
.vggviz-glance-arrow { align-self: flex-start; color: __MUTED__; font-size: 14px;
  margin-top: calc(3px + var(--vggviz-glance-drawing) / 2 - 9px); }
.vggviz-glance-compact .vggviz-glance-shape { display: none; }
.vggviz-glance-lines { margin-top: 2px; }
.vggviz-glance-lines:empty { display: none; }
.vggviz-glance-lines p { margin: 0; }
.vggviz-glance-swatch { display: inline-block; width: 10px; height: 10px; margin-right: 5px;
  border: 1px solid __INK__; vertical-align: -1px; }
.vggviz-glance-sr { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; }
"""
for _name, _colour in {"__INK__": INK, "__MUTED__": MUTED, "__EDGE__": PARTS["edge"],
                       "__HOVER__": PARTS["hover"], "__PRESSED__": PARTS["pressed"],
                       "__PEDGE__": PARTS["pressed edge"], "__FOCUS__": PARTS["focus"]}.items():
    _CSS = _CSS.replace(_name, _colour)


class _Blocks(anywidget.AnyWidget):
    """The drawing in the page: `blocks` as the plan gives them, `lines` as (title, text,
    colour), `shown` the part marked; a pressed part comes back as {"type": "choose"}."""

    _esm = _ESM
    _css = _CSS
    blocks = traitlets.List(traitlets.Dict()).tag(sync=True)
    lines = traitlets.List(traitlets.List()).tag(sync=True)
    shown = traitlets.Unicode("").tag(sync=True)
    drawing_px = traitlets.Int(DRAWING_PX).tag(sync=True)
    scale = traitlets.Unicode(SCALE).tag(sync=True)
    compact = traitlets.Bool(False).tag(sync=True)


class NetworkGlance:
    """VGG drawn as its parts; pressing one marks it and calls `on_choose(part)` with "stem",
    "group1"…"group5" or "classifier". `show` draws a variant and stem and marks a part."""

    def __init__(self, on_choose: Callable[[str], None] = lambda part: None, *,
                 compact: bool = False):
        """`compact`: for a page short of room, no line on each part below the
        drawing and no shape under each block (the part's name, said and on hover, has both)."""
        self.on_choose = on_choose
        self.compact = compact
        self.widget = _Blocks(compact=compact)
        self.widget.add_class("vggviz-network-glance")
        self.widget.on_msg(self._received)
        self.glance: Glance | None = None
        self.show()

    def show(self, variant: str = "vgg16", stem: str = "vgg", stage: str = "",
             size: int = 224, classifier: str = "fc") -> None:
        """Draw `variant` with `stem` on a `size`-px input and mark `stage` ("" for none)."""
        if stage and stage not in COMPONENTS:
            raise ValueError(f"unknown part {stage!r}; choose from {', '.join(COMPONENTS)}")
        glance = network_glance(variant, stem, size, classifier)
        if glance != self.glance:
            self.glance = glance
            self.widget.blocks = [
                {"name": b.name, "role": b.role, "label": b.label, "shape": b.shape_text,
                 "name_said": b.accessible_name, "note": b.note, "colour": COLOURS[b.name],
                 "tag": b.tag,
                 "boxes": [[box.width, box.height] for box in b.boxes]}
                for b in glance.blocks]
            self.widget.lines = [[TITLES[role], text, SWATCHES[role]]
                                 for role, text in glance.lines.items()] if not self.compact else []
        self.widget.shown = stage

    def reveal(self, selector: str) -> None:
        """Scroll the page to the first element matching the CSS `selector` and move the focus
        to it: where a part is shown further down (the explorer's classifier view)."""
        self.widget.send({"do": "reveal", "selector": selector})

    @property
    def shown(self) -> str:
        """The part marked as shown ("" for none)."""
        return self.widget.shown

    def _received(self, _widget, content: dict, _buffers) -> None:
        if not isinstance(content, dict) or content.get("type") != "choose":
            return
        stage = content.get("stage")
        if stage not in COMPONENTS:
            return
        self.widget.shown = stage
        self.on_choose(stage)
