"""The compiled functions of the interpretation methods, in one place with one lifetime rule.

Every method that takes gradients through a prefix model (`class_heat`, `effective_field`,
`patterns`) gets its compiled functions here, keyed by that model and by what the method asks
(its name and its options). An entry lives exactly as long as its model: the table holds models
weakly and a function reaches its model only through a weak reference, so a model the extractor
replaces (`FeatureExtractor.model`) is freed, weights and all, with every function made for it.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Any

_FUNCTIONS: weakref.WeakKeyDictionary[Any, dict[Hashable, Any]] = weakref.WeakKeyDictionary()
_LOCK = threading.RLock()


def compiled(model: Any, key: Hashable, build: Callable[[weakref.ref], Any]) -> Any:
    """The function `build(weakref.ref(model))` made once for `model` under `key` (a method's
    name and options): `build` must reach the model through the reference it is given, never
    hold it, or the model would outlive its last other user."""
    with _LOCK:
        functions = _FUNCTIONS.setdefault(model, {})
        if key not in functions:
            functions[key] = build(weakref.ref(model))
        return functions[key]


def held() -> dict[str, int]:
    """How many models hold compiled functions for each method (the first item of their key):
    what is alive now, so a test can see that a freed model took its functions with it."""
    with _LOCK:
        counts: dict[str, int] = {}
        for functions in list(_FUNCTIONS.values()):
            for method in {k[0] if isinstance(k, tuple) else k for k in functions}:
                counts[method] = counts.get(method, 0) + 1
        return counts
