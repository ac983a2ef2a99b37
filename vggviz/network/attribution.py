"""The one calling convention of the interpretation methods (as Captum's `attr/_core/` gives
each method one `attribute()`).

A method is made for an extractor, `Method(fx)`, and asked `attribute(image, stage, target,
**options)`: the input it explains (None where the method finds its own, as the patterns do),
the stage it looks at, and what in it (a class, a unit, a map). `attribute_all` asks for several
targets at once (the patterns optimise a page in one batch). Each answer is an `Attributed`:
its `stage`, its `target` and the array the method found (`attribution`). Their compiled
gradient functions live in `vggviz.network.compiled`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Attributed(Protocol):
    """What every method's answer has: where it was taken, of what, and the array found."""

    @property
    def stage(self) -> str:
        """The stage looked at ("stem", "group1"…)."""
        ...

    @property
    def target(self) -> Any:
        """What in the stage it is about: a class index, a (channel, row, col) unit, a map."""
        ...

    @property
    def attribution(self) -> np.ndarray:
        """The array the method found: a heat map, a gradient on the input, a pattern."""
        ...


class Attribution(ABC):
    """An interpretation method over one extractor (`fx`): `attribute` for one target,
    `attribute_all` for several (one by one, unless the method batches them)."""

    name = "attribution"
    """The method's name, also the first item of its keys in `vggviz.network.compiled`."""

    def __init__(self, fx: Any) -> None:
        self.fx = fx

    @abstractmethod
    def attribute(self, image: Any, stage: str, target: Any, **options: Any) -> Attributed:
        """The method's answer for `target` of `stage` on `image`."""

    def attribute_all(self, image: Any, stage: str, targets: Iterable[Any],
                      **options: Any) -> list[Attributed]:
        """The answers for each of `targets`, in that order."""
        return [self.attribute(image, stage, t, **options) for t in targets]
