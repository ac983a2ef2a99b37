"""Redraws from other threads meet the page's own in a set order: a download that ends between a
click and its redraw, keys and pointer moves on the large map, and the patterns' worker all draw
under the explorer's one lock. Each interleaving is forced with events, never left to timing."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np
import pytest

from vggviz.network import pattern_cache
from vggviz.network.patterns import PatternSettings, _target
from vggviz.plan.architecture import WIDTHS, stage_maps
from vggviz.render import grid_layout
from vggviz.ui.dashboards import stem_explorer as explorer_module
from vggviz.ui.panels import map_grid as map_grid_module
from vggviz.ui.panels import pattern_view as pattern_module
from vggviz.ui.panels.pattern_view import PatternView
from vggviz.ui.panels.weights_download import WeightsDownloads
from vggviz.ui.parts.latest import token

pytestmark = pytest.mark.slow

WAIT = 120


class WatchedLock:
    """The app's lock, setting `blocked` whenever a thread finds it held by another."""

    def __init__(self, inner, blocked: threading.Event):
        self.inner, self.blocked = inner, blocked

    def __enter__(self):
        if not self.inner.acquire(blocking=False):
            self.blocked.set()
            self.inner.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.inner.release()


def held_elsewhere(lock) -> bool:
    """Whether `lock` is held, seen from a thread of its own (an RLock lets its holder in)."""
    got = []

    def probe() -> None:
        got.append(lock.acquire(blocking=False))
        if got[0]:
            lock.release()

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join(WAIT)
    return not got[0]


def paused_once(function, thread_of: list, paused: threading.Event, go: threading.Event):
    """`function`, stopping the first time the thread `thread_of[0]` calls it, until `go`."""

    def run(*args, **kwargs):
        if thread_of and threading.current_thread() is thread_of[0] and not paused.is_set():
            paused.set()
            assert go.wait(WAIT), "the other thread neither ended nor waited"
        return function(*args, **kwargs)

    return run


@pytest.fixture
def random_until_the_download_ends(fake_imagenet_cache, monkeypatch):
    """An explorer opened while VGG16's ImageNet file is still to come (random filters shown),
    and a way to make the file arrive; no real download runs."""
    monkeypatch.setattr(WeightsDownloads, "start", lambda self, variant: None)
    hidden = fake_imagenet_cache.with_name("elsewhere.h5")
    fake_imagenet_cache.rename(hidden)
    app = explorer_module.StemExplorer()
    assert app.fx.weights == "random" and app.model.weights.value == "imagenet"
    return app, lambda: hidden.rename(fake_imagenet_cache)


def test_a_download_that_ends_between_a_click_and_its_redraw_leaves_no_stale_grid(
        random_until_the_download_ends, monkeypatch):
    app, arrive = random_until_the_download_ends
    go, paused = threading.Event(), threading.Event()
    panels = (app.map_grid, app.chosen_map, app.map_export, app.compare, app.patterns)
    assert all(panel.lock is app.lock for panel in panels)  # the app's one lock
    app.lock = WatchedLock(app.lock, go)  # the download finding the click's lock lets it on
    click: list[threading.Thread] = []
    monkeypatch.setattr(map_grid_module, "encode_png",
                        paused_once(map_grid_module.encode_png, click, paused, go))
    click.append(threading.Thread(target=lambda: setattr(app.chosen_map.slider, "value", 5)))
    click[0].start()  # the click: map 5, its tile outlined in the grid, then drawn large
    assert paused.wait(WAIT), "the click's redraw did not start"
    arrive()

    def download_ends() -> None:
        app._weights_arrived("vgg16", None)
        go.set()

    finished = threading.Thread(target=download_ends)
    finished.start()
    click[0].join(WAIT)
    finished.join(WAIT)
    assert not click[0].is_alive() and not finished.is_alive()
    assert app.fx.weights == "imagenet" and app.chosen_map.slider.value == 5
    shown = app.map_grid.image.value, app.chosen_map.image.value, app.map_grid.image.alt
    app.redraw()  # what the view is, drawn from the maps it holds
    assert (app.map_grid.image.value, app.chosen_map.image.value,
            app.map_grid.image.alt) == shown, \
        "the grid shown belongs to the filters before the download"


@pytest.mark.parametrize("action", ["key", "hover"])
def test_keys_and_pointer_moves_on_the_map_work_out_under_the_apps_lock(
        random_until_the_download_ends, action):
    app, _ = random_until_the_download_ends
    seen = []
    show = app.worked.show
    app.worked.show = lambda *args, **kwargs: (seen.append(held_elsewhere(app.lock)),
                                               show(*args, **kwargs))[1]
    if action == "key":
        app.chosen_map._on_key("ArrowRight")
    else:
        app.chosen_map._on_hover({"type": "mousemove", "dataX": 40, "dataY": 40})
    assert seen == [True], "the map's value was worked out while a download could redraw"


class StandIn(SimpleNamespace):
    """What the pattern view reads of an extractor (no model: patterns come from the cache);
    each one itself, as an extractor is."""

    __hash__ = object.__hash__
    __eq__ = object.__eq__

    def maps(self, stage: str) -> int:
        """How many maps `stage` has, as a VGG16 extractor counts them."""
        return stage_maps(self.variant, stage, WIDTHS)


def stand_in(seed: int) -> StandIn:
    return StandIn(variant="vgg16", weights="random", stem="vgg", seed=seed, size=224)


def cache_patterns(fx, channels) -> None:
    target = _target(fx, "stem", PatternSettings())
    for channel in channels:
        pixels = np.full((3, 3, 3), channel, np.uint8)
        pattern_cache.write_entry(target.path(channel), pattern_cache.Entry(pixels, 0.0, 1.0))


@pytest.mark.usefixtures("isolated_cache")
def test_a_page_asked_for_a_freed_extractor_is_not_taken_for_a_new_one_at_its_address(
        monkeypatch):
    monkeypatch.setattr(PatternView, "_start", lambda self, *args: None)  # asked, not worked
    view = PatternView(lambda channel: None, lambda message: None)
    layout, order = grid_layout(64, 24, map_size=(224, 224)), list(range(64))
    first = stand_in(0)
    view.show(first, "stem", 0, b"", layout, order)
    view._find_page()  # the page of `first` is asked for, and shows as it fills
    address, asked = id(first), token(first)
    view._state = None
    del first
    kept = []  # the next object of its size takes the freed address (CPython's free lists)
    second = stand_in(1)
    while id(second) != address and len(kept) < 10_000:
        kept.append(second)
        second = stand_in(1)
    assert id(second) == address, "no new extractor came at the freed one's address"
    assert token(second) != asked
    cache_patterns(second, [3, 7])  # two stray maps of another model: no page of its own
    view.show(second, "stem", 0, b"", layout, order)
    assert view.page_image.layout.display == "none"


@pytest.mark.usefixtures("isolated_cache")
def test_the_workers_redraw_waits_for_the_pages_and_draws_what_it_shows(monkeypatch):
    """The worker's page redraw starts, the page then shows another stage: the worker's picture
    must not land over the page's."""
    lock = threading.RLock()
    go, paused = threading.Event(), threading.Event()
    worker: list[threading.Thread] = []
    monkeypatch.setattr(pattern_module, "render_pattern_page",
                        paused_once(pattern_module.render_pattern_page, worker, paused, go))
    fx = stand_in(0)
    layout, order = grid_layout(64, 24, map_size=(224, 224)), list(range(64))
    view = PatternView(lambda channel: None, lambda message: None,
                       lock=WatchedLock(lock, go))
    cache_patterns(fx, order)
    other = list(range(32))  # the page will show half the maps, in a layout of their own
    for maps in (order, other):  # a page of patterns is drawn once the person asked for it
        view._pages_asked.add((token(fx), "stem", tuple(maps)))
    view.show(fx, "stem", 0, b"", layout, order)  # drawn from the page's thread
    first = view.page_image.value
    cache_patterns(fx, [])
    view._page_key = None  # the worker's draw is a new picture (more patterns found, say)
    worker.append(threading.Thread(target=lambda: view._run(
        SimpleNamespace(progress=lambda *a: None, cancel=threading.Event()), "page", fx, "stem",
        [0])))
    monkeypatch.setattr(pattern_module.ActivationPatterns, "attribute_all",
                        lambda *args, **kwargs: [])
    worker[0].start()
    assert paused.wait(WAIT), "the worker did not redraw"

    def page_changes() -> None:
        view.show(fx, "stem", 0, b"", grid_layout(32, 24, map_size=(224, 224)), other)
        go.set()

    page = threading.Thread(target=page_changes)
    page.start()
    worker[0].join(WAIT)
    page.join(WAIT)
    shown = view.page_image.value
    view._page_key = None
    view._draw_page()  # what the page is, drawn again
    assert shown == view.page_image.value != first, "the worker drew over the page's picture"
