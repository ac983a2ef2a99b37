"""The app's one lock, and its one rule: every way into an app holds it.

The page's observers and events run in the kernel's thread; a finished download and the
patterns' worker call back from threads of their own; a script calls `refresh` or `redraw`. Each
of these ways in is a method marked `@entry`, which holds its object's `lock`: the app's one
RLock, handed to each of its panels. So no redraw reads what another is replacing, and a panel
calling another inside an entry takes the lock again at no cost.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

Result = TypeVar("Result")


def entry(method: Callable[..., Result]) -> Callable[..., Result]:
    """`method`, run holding `self.lock`: for an observer, an event, a thread's callback."""

    @functools.wraps(method)
    def run(self: Any, *args: Any, **kwargs: Any) -> Result:
        with self.lock:
            return method(self, *args, **kwargs)

    return run
