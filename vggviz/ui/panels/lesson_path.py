"""A lesson's step above a page's view: where it is in the lesson, its question, its answer on
request, Back and Next as links to the neighbouring steps, and the handout to print.

Shown only when the page's address asks for a step (`lesson=<name>&step=<n>`, read by the page
with its other link fields; `vggviz.plan.lessons.lesson_step`); otherwise it takes no room. A
step on the same page is applied in place (the page's kernel, image and choices stay; the
address follows, so the browser's Back and a reload land on the same step); a step on another
page is a plain link there. While a step is shown, its card stands in for the notebook's lead
paragraph (hidden by the card's CSS), so the view under it keeps the first screen.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable

import anywidget
import ipywidgets as w
import traitlets

from vggviz.network.handout import handout_html
from vggviz.plan.lessons import PAGE_TITLES, Lesson, lesson_step
from vggviz.ui.parts.file_link import FileLink

_ESM = """
export default {
  render({ model, el }) {
    let moved = false;  // this card's own link was followed: the new step's heading takes focus
    let shown = location.search;  // the query of the step on screen
    const go = (query) => {
      shown = query;
      model.send({ query: query.replace(/^[?]/, "") });
    };
    const draw = () => {
      el.innerHTML = model.get("html");
      if (moved) {
        moved = false;
        el.querySelector("h2")?.focus();
      }
      for (const link of el.querySelectorAll("a[data-here]")) {
        link.addEventListener("click", (event) => {
          if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
          event.preventDefault();  // the step is on this page: applied in place
          history.pushState(null, "", link.href);
          moved = true;
          go(new URL(link.href).search);
        });
      }
      const button = el.querySelector("button.vggviz-lesson-reveal");
      const answer = el.querySelector(".vggviz-lesson-answer");
      if (!button || !answer) return;
      button.addEventListener("click", () => {
        const open = button.getAttribute("aria-expanded") !== "true";
        button.setAttribute("aria-expanded", String(open));
        button.textContent = open ? "Hide the answer" : "Show the answer";
        answer.hidden = !open;
      });
    };
    // the browser's Back and Forward between steps applied in place (not a move within the page)
    const back = () => {
      if (location.search !== shown && location.search.includes("lesson=")) go(location.search);
    };
    window.addEventListener("popstate", back);
    model.on("change:html", draw);
    draw();
    return () => window.removeEventListener("popstate", back);
  },
};
"""

_CSS = """
.vggviz-lesson { border: 2px solid #1a56db; border-radius: 6px; background: #f8fafd;
  padding: 5px 12px; color: #1f1f1f; font-size: 14px; line-height: 1.4; }
.vggviz-lesson h2 { font-size: 16px; margin: 0 0 2px; }
.vggviz-lesson .vggviz-lesson-name { font-weight: normal; color: #3c4043; }
.vggviz-lesson p { margin: 2px 0; }
.vggviz-lesson a { color: #0b57d0; text-decoration: underline; }
.vggviz-lesson button { font: inherit; padding: 1px 10px; border: 1px solid #5f6368;
  border-radius: 3px; background: #fff; color: #1f1f1f; cursor: pointer; margin-left: 6px; }
.vggviz-lesson :focus-visible { outline: 3px solid #0b57d0; outline-offset: 1px; }
.vggviz-lesson-answer { background: #e8f0fe; padding: 3px 8px; border-radius: 4px; }
.vggviz-lesson-foot { display: flex; flex-wrap: wrap; justify-content: space-between;
  align-items: baseline; gap: 0 16px; }
.vggviz-lesson-look { color: #3c4043; font-size: 13px; }
.vggviz-lesson nav { display: flex; gap: 12px; margin-left: auto; }
.vggviz-lesson-path { flex-flow: row wrap; gap: 4px 12px; align-items: flex-start; width: 100%;
  margin-bottom: 6px; }
.vggviz-lesson-path > .vggviz-lesson-card { flex: 1 1 560px; max-width: 1500px; }
.vggviz-lesson-handout { flex: 0 0 auto; font-size: 13px; }
/* While a step is shown the card stands for the notebook's lead paragraph, and the title sits
   tight: at 1280×800 the explorer's whole grid stays on the first screen under the card. */
body:has(.vggviz-lesson-on) .jp-MarkdownOutput > p { display: none; }
body:has(.vggviz-lesson-on) .jp-MarkdownOutput > h1 { margin: 0 0 4px; }
"""


class _Step(anywidget.AnyWidget):
    """The step's card: its HTML (built by `LessonPath`), the answer revealed by its button; a
    same-page link followed sends the step's query (`{"query": ...}`) to the kernel."""

    _esm = _ESM
    _css = _CSS
    html = traitlets.Unicode("").tag(sync=True)


def step_html(lesson: Lesson, number: int) -> str:
    """The card of step `number`: "Step n of N · title", the question, where to look, the
    answer behind "Show the answer" (aria-expanded), and Back / Next as links (`data-here`
    where the step is on this page, for the card to apply in place)."""
    step, total = lesson.step(number), len(lesson.steps)
    key = f"vggviz-lesson-{lesson.name}-{number}"

    def neighbour(other: int, word: str, rel: str) -> str:
        if not 1 <= other <= total:
            return ""
        there = lesson.step(other)
        here = there.page == step.page
        page = "" if here else f" (on {html.escape(PAGE_TITLES[there.page])})"
        arrow = ("← ", "") if rel == "prev" else ("", " →")
        return (f"<a href='{html.escape(lesson.href(other))}' rel='{rel}'"
                f"{' data-here' if here else ''}>{arrow[0]}{word}: step {other}{page}{arrow[1]}"
                f"</a>")

    links = neighbour(number - 1, "Back", "prev") + neighbour(number + 1, "Next", "next")
    ending = "" if number < total else " <b>Last step.</b>"
    return (
        f"<section class='vggviz-lesson' aria-labelledby='{key}'><h2 id='{key}' tabindex='-1'>"
        f"<span class='vggviz-lesson-name'>Lesson: {html.escape(lesson.title)} · </span>"
        f"Step {number} of {total} · {html.escape(step.title)}</h2>"
        f"<p class='vggviz-lesson-question'><b>Question:</b> {html.escape(step.question)}"
        f"<button type='button' class='vggviz-lesson-reveal' aria-expanded='false' "
        f"aria-controls='{key}-answer'>Show the answer</button></p>"
        f"<p id='{key}-answer' class='vggviz-lesson-answer' hidden><b>Answer:</b> "
        f"{html.escape(step.answer)}{ending}</p>"
        f"<div class='vggviz-lesson-foot'><p class='vggviz-lesson-look'>Look at "
        f"{html.escape(step.look)}.</p><nav aria-label='Lesson steps'>{links}</nav></div>"
        f"</section>")


class LessonPath:
    """The lesson's step on this page, or nothing: `show(lesson, number)` / `hide()`; the
    handout is made on request (a few seconds) and offered as a file to save and print.
    `open_link(query)` is the page's own (it shows the view and the step a query asks for):
    the card calls it for a step on this page."""

    def __init__(self, open_link: Callable[[str], None]):
        self.card = _Step()
        self.card.on_msg(lambda _, content, __: self._follow(content, open_link))
        self.make = w.Button(description="Make the handout to print",
                             tooltip="Every step of this lesson, its question, answer and "
                                     "pictures, as one HTML file to print or share",
                             layout=w.Layout(width="auto"))
        self.make.on_click(lambda _: self._make())
        self.file = FileLink()
        self.said = w.HTML()
        self.card.add_class("vggviz-lesson-card")
        self.handout = w.VBox([self.make, self.file, self.said],
                              layout=w.Layout(max_width="230px"))
        self.handout.add_class("vggviz-lesson-handout")
        # the card, and the handout beside it where the page has room (below it where not)
        self.widget = w.Box([self.card, self.handout],
                            layout=w.Layout(display="none", flex_flow="row wrap"))
        self.widget.add_class("vggviz-lesson-path")
        self.lesson: Lesson | None = None
        self._making = threading.Lock()

    def show_step(self, state: dict, page: str) -> str | None:
        """Show the step a page's parsed link `state` asks `page` for, or nothing; in words why
        a step it asks for is not shown (None if it asked for none or it is shown)."""
        found = lesson_step(state, page)
        if isinstance(found, tuple):
            self.show(*found)
            return None
        self.hide()
        return found

    def show(self, lesson: Lesson, number: int) -> None:
        """Show step `number` of `lesson` at the top of the page."""
        self.lesson = lesson
        self.card.html = step_html(lesson, number)
        self.file.clear()
        self.said.value = ""
        self.widget.layout.display = "flex"
        self.widget.add_class("vggviz-lesson-on")

    def hide(self) -> None:
        self.lesson = None
        self.widget.layout.display = "none"
        self.widget.remove_class("vggviz-lesson-on")

    def _follow(self, content: dict, open_link: Callable[[str], None]) -> None:
        """A same-page step the card's link (or the browser's Back) asked for: the page shows
        it; a failure is said beside the handout, not raised (a traceback would reach the page)."""
        query = content.get("query") if isinstance(content, dict) else None
        if not isinstance(query, str):
            return
        try:
            open_link(query)
        except Exception as exc:  # noqa: BLE001  (in an event: a traceback would reach the page)
            self.said.value = (f"<span role='alert'>That step could not be shown "
                               f"({html.escape(type(exc).__name__)}: {html.escape(str(exc))})."
                               f"</span>")

    def _make(self) -> None:
        """Draw the handout and offer it; a failure is said, not raised."""
        lesson = self.lesson
        if lesson is None or not self._making.acquire(blocking=False):
            return
        try:
            self.said.value = "drawing every step's pictures…"
            data = handout_html(lesson).encode("utf-8")
            self.file.offer(data, f"{lesson.name}-handout.html",
                            f"Save the handout ({len(data) / 1e6:.1f} MB, HTML: open it and "
                            f"print)", "text/html")
            self.said.value = ""
        except Exception as exc:  # noqa: BLE001  (in an event: a traceback would reach the page)
            self.said.value = (f"<span role='alert'>The handout could not be made "
                               f"({html.escape(type(exc).__name__)}: {html.escape(str(exc))})."
                               f"</span>")
        finally:
            self._making.release()
