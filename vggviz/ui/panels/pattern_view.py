"""What a map responds to: the input pattern that excites the chosen map most, beside it, and a
page of them laid out as the maps' grid (a click chooses that map). Patterns come from the
server's disk cache at once, or are worked out in a background thread with a progress bar and
Cancel, while every other control keeps answering."""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

import ipywidgets as w

from vggviz.network.patterns import (
    ActivationPatterns,
    PatternsCancelled,
    cached_patterns,
    keep_problem,
    patterns_caption,
)
from vggviz.render import GridLayout
from vggviz.render.patterns import render_pattern, render_pattern_page
from vggviz.ui.parts.alt_text import pattern_alt, pattern_page_alt
from vggviz.ui.parts.app_lock import entry
from vggviz.ui.parts.controls import picture
from vggviz.ui.parts.latest import token
from vggviz.ui.parts.legibility import live

PATTERN_PX = 160


class _Run:
    """One background computation of patterns: its thread, cancel switch and progress row."""

    def __init__(self, label: str, target: tuple | None = None):
        self.target = target  # (fx, stage, channel) of a single map's run, None for a page
        self.label, self.started, self.shown_at = label, time.monotonic(), 0.0
        self.cancel = threading.Event()
        # The words on a line of their own, over the bar and Cancel: beside them, in the
        # panel's 380 px, they wrapped over three lines and cut Cancel to "✖ …".
        self.text = live(w.HTML(_one_line(label)))
        self.bar = w.IntProgress(value=0, min=0, max=1, layout=w.Layout(width="240px"),
                                 tooltip=label)
        self.stop = w.Button(description="Cancel", layout=w.Layout(width="auto"),
                             tooltip="stop; the patterns found so far are kept")
        self.stop.on_click(lambda _: self.cancel.set())
        self.row = w.VBox([self.text, w.HBox([self.bar, self.stop],
                                             layout=w.Layout(align_items="center",
                                                             grid_gap="0 8px"))],
                          layout=w.Layout(width="100%"))
        self.row.add_class("vggviz-pattern-progress")

    def progress(self, done: int, total: int) -> None:
        """Show how far it is (steps of every map), and the time left once it can be told."""
        now = time.monotonic()
        if now - self.shown_at < 0.25 and done < total:
            return
        self.shown_at = now
        self.bar.max, self.bar.value = max(total, 1), done
        spent = now - self.started
        left = spent * (total - done) / done if done and spent > 1 else None
        self.text.value = _one_line(
            f"{self.label} {done * 100 // max(total, 1)} %"
            + (f", about {_duration(left)} left" if left is not None and done < total else ""))


def _one_line(text: str) -> str:
    """`text` as HTML kept on one line."""
    return f"<span style='white-space:nowrap'>{html.escape(text)}</span>"


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


class PatternView:
    """The chosen map's pattern and a page of patterns for the stage and page shown."""

    def __init__(self, on_choose: Callable[[int], None], on_error: Callable[[str], None],
                 on_key: Callable[[str], str] | None = None,
                 lock: AbstractContextManager | None = None):
        """`on_choose(channel)` is called for a click on a tile of the page; `on_key(key)` for
        a key on it (the grid's keys: the page is laid out as the grid), and says the result.
        `lock` is held for every redraw, the workers' too (an app's lock: one for all its
        redraws); without one, the view has its own."""
        self.on_choose, self.on_error, self.on_key = on_choose, on_error, on_key
        self.title = w.HTML()
        self.map_image = picture(f"{PATTERN_PX}px")
        self.pattern_image = picture(f"{PATTERN_PX}px")
        self.pattern_image.add_class("vggviz-pattern")
        self.placeholder = w.HTML(
            f"<div style='width:{PATTERN_PX - 12}px;height:{PATTERN_PX - 12}px;padding:6px;"
            f"border:1px dashed #767676;color:#444;line-height:1.35'><small>not found yet: "
            f"“Find what it responds to” works it out</small></div>")
        self.caption = w.HTML(layout=w.Layout(width="360px"))
        self.find = w.Button(description="Find what it responds to", icon="search",
                             layout=w.Layout(width="auto"))
        self.find.on_click(lambda _: self._find_one())
        self.page_button = w.Button(description="Patterns of this page", icon="th",
                                    layout=w.Layout(width="auto"))
        self.page_button.on_click(lambda _: self._find_page())
        self.runs = w.VBox()
        self.keep_note = w.HTML(layout=w.Layout(width="360px"))  # why a result cannot be kept
        self.page_image = picture(focusable=on_key is not None, watched=["click"],
                                  hint="The grid's keys choose a map here too: arrows, Home, "
                                       "End, Page Up and Page Down.")
        self.page_image.add_class("vggviz-pattern-page")
        self.page_note = w.HTML()
        self.page_image.on_event(self._on_page_event)
        pair = w.HBox([w.VBox([w.HTML("<small>the map</small>"), self.map_image]),
                       w.VBox([w.HTML("<small>what excites it most</small>"),
                               self.pattern_image, self.placeholder])],
                      layout=w.Layout(grid_gap="0 10px"))
        # Two parts, placed by the app: the chosen map's (narrow) and the page's (as wide as
        # the maps' grid), so the first can stand beside other panels.
        self.chosen = w.VBox([self.title, pair, self.caption,
                              w.HBox([self.find, self.page_button],
                                     layout=w.Layout(grid_gap="0 10px")), self.keep_note,
                              self.runs],
                             layout=w.Layout(align_items="flex-start", width="380px"))
        self.chosen.add_class("vggviz-pattern-view")
        self.page = w.VBox([self.page_note, self.page_image],
                           layout=w.Layout(align_items="flex-start"))
        self.lock = lock or threading.RLock()
        self._state: tuple | None = None  # (fx, stage, channel, layout, order)
        self._page_key: tuple | None = None  # what the page picture shows
        self._pages_asked: set[tuple] = set()  # pages asked for, shown: (fx's token,
        # stage, maps); a token, as id(fx) may name another extractor once fx is freed
        self._one: _Run | None = None
        self._page: _Run | None = None
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ what is shown

    @entry
    def show(self, fx, stage: str, channel: int, map_png: bytes, layout: GridLayout,
             order: Sequence[int]) -> None:
        """The chosen map (`map_png`, as the explorer draws it large) beside its pattern (from
        the cache, else a button to find it), and the page's patterns that are cached, in the
        grid's layout."""
        self._state = (fx, stage, int(channel), layout, list(order))
        self.title.value = (f"<b>What {html.escape(stage)} map {channel} responds to</b>")
        if self.map_image.value != map_png:
            self.map_image.value = map_png
        self.map_image.alt = f"{stage} map {channel}, as drawn large above."
        self.caption.value = (f"<div style='line-height:1.35'><small>"
                              f"{html.escape(patterns_caption(fx, stage))}</small></div>")
        if self._one is not None and self._one.target != (fx, stage, int(channel)):
            self._one.cancel.set()  # it belonged to another map
        self._draw_one()
        self._draw_page()

    def _draw_one(self) -> None:
        fx, stage, channel = self._state[:3]
        found = cached_patterns(fx, stage, [channel]).get(channel)
        self.pattern_image.layout.display = None if found else "none"
        self.placeholder.layout.display = "none" if found else None
        if found is not None:
            self.pattern_image.value = render_pattern(found.pixels, PATTERN_PX)
            self.pattern_image.alt = pattern_alt(stage, channel)
        self.find.layout.display = "none" if found else None
        problem = keep_problem(fx, stage) if found is None or found.not_kept else None
        self.keep_note.value = "" if problem is None else (
            f"<div style='line-height:1.35'><small>What “Find what it responds to” works out "
            f"is shown, but not kept for later: {html.escape(problem)}</small></div>")

    def _draw_page(self) -> None:
        fx, stage, channel, layout, order = self._state
        found = cached_patterns(fx, stage, order)
        asked = (token(fx), stage, tuple(order)) in self._pages_asked
        if not found or not asked:  # shown when asked for, even if another page filled it
            self.page_image.layout.display = "none"
            self.page_note.value = ""
            return
        key = (token(fx), stage, layout, tuple(order), tuple(sorted(found)))
        if key != self._page_key:  # a display-only change of the maps leaves the page as it is
            self._page_key = key
            self.page_image.value = render_pattern_page(
                {c: p.pixels for c, p in found.items()}, layout, order)
        self.page_image.alt = pattern_page_alt(stage, order, len(found), channel)
        self.page_image.layout.display = None
        self.page_image.layout.width = f"{min(layout.width, 980)}px"
        missing = len(order) - len(found)
        self.page_note.value = (f"<div style='line-height:1.35'><small>The patterns of the "
                                f"{len(order)} maps on the page, laid out as the grid above "
                                f"(click one to choose it)"
                                + (f"; {missing} not found yet (grey)" if missing else "")
                                + ".</small></div>")

    # ------------------------------------------------------------------ background work

    def _start(self, label: str, channels: list[int], which: str) -> None:
        fx, stage = self._state[:2]
        run = _Run(label, (fx, stage, channels[0]) if which == "one" else None)
        setattr(self, f"_{which}", run)
        self.runs.children = [r.row for r in (self._one, self._page) if r is not None]
        thread = threading.Thread(target=self._run, args=(run, which, fx, stage, channels),
                                  daemon=True, name=f"vggviz-patterns-{which}")
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _run(self, run: _Run, which: str, fx, stage: str, channels: list[int]) -> None:
        drawn = [time.monotonic()]

        def progress(done: int, total: int) -> None:
            run.progress(done, total)
            if which == "page" and time.monotonic() - drawn[0] > 2:
                drawn[0] = time.monotonic()
                self._found_some(fx, stage)

        try:
            ActivationPatterns(fx).attribute_all(None, stage, channels, progress=progress,
                                                 cancel=run.cancel)
        except PatternsCancelled:
            pass
        except Exception as exc:  # noqa: BLE001  (in a thread: a traceback would reach the page)
            self.on_error(f"finding the patterns failed ({type(exc).__name__}: {exc})")
        self._ended(run, which, fx, stage)

    @entry
    def _found_some(self, fx, stage: str) -> None:
        """The worker's batches done so far, drawn while the rest is found."""
        if self._showing(fx, stage):
            self._draw_page()

    @entry
    def _ended(self, run: _Run, which: str, fx, stage: str) -> None:
        """The worker's run ended: its row goes, and what it found is drawn."""
        if getattr(self, f"_{which}") is run:
            setattr(self, f"_{which}", None)
        self.runs.children = [r.row for r in (self._one, self._page) if r is not None]
        if self._showing(fx, stage):
            self._draw_one()
            self._draw_page()

    def _showing(self, fx, stage: str) -> bool:
        return self._state is not None and self._state[:2] == (fx, stage)

    @entry
    def _find_one(self) -> None:
        """The "Find what it responds to" button: the chosen map's pattern, found aside."""
        if self._state is None or self._one is not None:
            return
        fx, stage, channel = self._state[:3]
        self.find.layout.display = "none"
        self._start(f"finding {stage} map {channel}'s pattern…", [channel], "one")

    @entry
    def _find_page(self) -> None:
        """The "Patterns of this page" button: shown if found before, else found aside."""
        if self._state is None or self._page is not None:
            return
        fx, stage, order = self._state[0], self._state[1], self._state[4]
        self._pages_asked.add((token(fx), stage, tuple(order)))
        if len(cached_patterns(fx, stage, order)) == len(order):  # found before: show it
            self._draw_page()
            return
        self._start(f"finding {len(order)} {stage} patterns…", order, "page")

    @entry
    def _on_page_event(self, event: dict) -> None:
        """A click or a key on the page of patterns."""
        if event.get("type") == "click":
            self._on_page_click(event)
        elif event.get("type") == "keydown" and self.on_key is not None:
            self.page_image.announce = self.on_key(event["key"])

    def _on_page_click(self, event: dict) -> None:
        if self._state is None or "dataX" not in event:
            return
        layout, order = self._state[3], self._state[4]
        channel = layout.channel_at(event["dataX"], event["dataY"], order)  # image pixels
        if channel is not None:
            self.on_choose(channel)

    def cancel(self) -> None:
        """Stop the patterns being found (what is done stays in the cache)."""
        for run in (self._one, self._page):
            if run is not None:
                run.cancel.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the background work to end (for tests); whether it has."""
        for thread in list(self._threads):
            thread.join(timeout)
        return not any(t.is_alive() for t in self._threads)
