"""ImageNet weights downloaded in the background, with a progress bar and a Cancel button.

A dashboard shows its first view at once (random filters) while the file arrives in a thread,
so every control keeps answering; the owner is told when a download ends and switches its maps.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable

import ipywidgets as w

from vggviz.plan.architecture import VARIANTS
from vggviz.sources.downloads import Progress
from vggviz.sources.imagenet import WeightsUnavailable, fetch_imagenet
from vggviz.ui.parts.legibility import live

UPDATE_EVERY = 0.2  # s between progress messages to the page (a chunk arrives far more often)


class _Job:
    """One running download: its cancel switch and its row (title, bar, figures, Cancel)."""

    def __init__(self, variant: str, include_top: bool = False):
        self.variant = variant
        self.cancel = threading.Event()
        what = "classifier" if include_top else "weights"
        self.bar = w.IntProgress(value=0, min=0, max=1,
                                 layout=w.Layout(width="260px", margin="0 12px"),
                                 tooltip=f"download of {VARIANTS[variant].title}'s {what}")
        self.text = live(w.HTML("connecting…"))
        self.stop = w.Button(description="Cancel", icon="times",
                             layout=w.Layout(width="90px", margin="0 0 0 12px"))
        self.stop.on_click(lambda _: self.cancel.set())
        title = w.HTML(f"<b>Downloading the ImageNet {what} of "
                       f"{html.escape(VARIANTS[variant].title)}</b>")
        self.row = w.HBox([title, self.bar, self.text, self.stop],
                          layout=w.Layout(align_items="center", padding="2px 8px"))
        self.row.add_class("vggviz-download")
        self.shown_at = 0.0

    def progress(self, p: Progress) -> None:
        """Show `p`, at most every UPDATE_EVERY seconds (and at the end)."""
        now = time.monotonic()
        if now - self.shown_at < UPDATE_EVERY and p.done != p.total:
            return
        self.shown_at = now
        if p.total:
            self.bar.max, self.bar.value = p.total, p.done
        self.text.value = html.escape(p.describe())

    def waiting(self) -> None:
        self.text.value = "another kernel is downloading the same file: waiting for it…"


class WeightsDownloads:
    """Background downloads of ImageNet weights, one per variant, each a row with a progress
    bar (bytes, MB/s, time left) and a Cancel button; `widget` holds the rows of those running.
    With `include_top` the files are those with the classifier (553 MB for VGG16), which only
    predictions need.

    `on_done(variant, error)` is called from the download's thread when it ends: error is None
    when the file is in Keras' cache, else why not, in words.
    """

    def __init__(self, on_done: Callable[[str, str | None], None], *, include_top: bool = False):
        self.on_done, self.include_top = on_done, include_top
        self.widget = w.VBox(layout=w.Layout(align_items="flex-start"))
        self.widget.add_class("vggviz-downloads")
        self._jobs: dict[str, _Job] = {}
        self._failures: dict[str, str] = {}
        self._threads: list[threading.Thread] = []  # outlive their job: they report its end
        self._lock = threading.Lock()

    def start(self, variant: str) -> None:
        """Download `variant`'s ImageNet weights in the background (unless that runs already);
        a failure of an earlier try is forgotten."""
        with self._lock:
            if variant in self._jobs:
                return
            self._failures.pop(variant, None)
            job = self._jobs[variant] = _Job(variant, self.include_top)
            thread = threading.Thread(target=self._run, args=(job,), daemon=True,
                                      name=f"vggviz-download-{variant}")
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            self._show()
            thread.start()

    def running(self, variant: str) -> bool:
        """Whether `variant`'s weights are being downloaded now."""
        return variant in self._jobs

    def reason(self, variant: str, wanted: bool = True) -> str | None:
        """Why `variant` shows random filters as far as downloads go, for a banner: one runs
        (and the view switches when it ends if the weights are `wanted`), or the last one
        failed and why; None otherwise."""
        if variant in self._jobs:
            if wanted:
                return ("Downloading the ImageNet weights: showing randomly initialised filters "
                        "until they arrive; the maps switch to the trained ones by themselves")
            return ("Showing randomly initialised filters, as chosen; the ImageNet weights are "
                    "downloading meanwhile (choose ImageNet to see the trained ones)")
        failure = self._failures.get(variant)
        return (f"{failure}: showing randomly initialised filters (choose ImageNet to try "
                f"again)" if failure else None)

    def failure(self, variant: str) -> str | None:
        """Why the last download of `variant`'s weights failed, in words; None if it did not."""
        return self._failures.get(variant)

    def cancel(self) -> None:
        """Stop every running download (each leaves nothing behind)."""
        for job in list(self._jobs.values()):
            job.cancel.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every download has ended and its end was reported (at most `timeout`
        s); whether they all have."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)

    def _show(self) -> None:
        self.widget.children = [job.row for job in self._jobs.values()]

    def _run(self, job: _Job) -> None:
        error = None
        try:
            fetch_imagenet(job.variant, self.include_top, progress=job.progress,
                           waiting=job.waiting, cancel=job.cancel)
        except WeightsUnavailable as exc:
            error = str(exc)
        except Exception as exc:  # noqa: BLE001  (a thread's traceback would reach the page)
            error = f"ImageNet weights could not be downloaded ({type(exc).__name__}: {exc})"
        with self._lock:
            del self._jobs[job.variant]
            if error:
                self._failures[job.variant] = error
            self._show()
        self.on_done(job.variant, error)
