"""Background work that answers only the latest request: a burst of slider moves draws the last
one, not each in turn, and no thread outlives the work (nothing to shut down, nothing leaks);
and tokens that name the objects such work keys its state by."""

from __future__ import annotations

import itertools
import threading
import weakref
from collections.abc import Callable

_tokens: weakref.WeakKeyDictionary[object, int] = weakref.WeakKeyDictionary()
_counter = itertools.count()
_tokens_lock = threading.Lock()


def token(obj: object) -> int:
    """A number naming `obj` while it lives and never given to another object, for keys of state
    kept past it (`id()` is reused as soon as its object is freed)."""
    with _tokens_lock:
        if obj not in _tokens:
            _tokens[obj] = next(_counter)
        return _tokens[obj]


class LatestOnly:
    """Runs the jobs handed to `submit` one at a time in a background thread, dropping every job
    superseded before it started; the thread ends as soon as nothing is left to run.

    A job's exception goes to `on_error` (a status line, say), never lost in the thread.
    """

    def __init__(self, name: str, on_error: Callable[[Exception], None]):
        self.name, self.on_error = name, on_error
        self._lock = threading.Lock()
        self._next: Callable[[], None] | None = None
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()

    def submit(self, job: Callable[[], None]) -> None:
        """Run `job` after the one running now, instead of any still waiting."""
        with self._lock:
            self._next = job
            self._idle.clear()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                with self._lock:
                    job, self._next = self._next, None
                    if job is None:  # ends under the lock, so a submit now starts a new thread
                        self._thread = None
                        self._idle.set()
                        return
                try:
                    job()
                except Exception as exc:  # said where the person reads it, not lost
                    self.on_error(exc)
        except BaseException:  # on_error itself failed: the next submit starts a thread again
            with self._lock:
                self._thread, self._next = None, None
                self._idle.set()
            raise

    def wait(self, timeout: float | None = None) -> None:
        """Block until every job handed in so far has run or been dropped."""
        if not self._idle.wait(timeout):
            raise TimeoutError(f"{self.name} still busy after {timeout} s")
