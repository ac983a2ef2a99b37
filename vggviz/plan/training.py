"""What a training run is asked for, as plain data: the variant, stem, input size and learner
widths, the data, and the optimiser's budget (no TensorFlow: a command line or a dashboard checks
settings before anything is built)."""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, replace

from vggviz.plan.architecture import GROUPS, check_input_shape, get_variant, whole_number

DATA = ("shapes", "cifar10", "imagenette")
"""The data sets a run is trained on by name: the built-in one (`vggviz.sources.shapes`),
CIFAR-10 and Imagenette (`vggviz.sources.datasets`); `data` may also be a folder of one's own
images, one subfolder a class."""


@dataclass(frozen=True)
class TrainSettings:
    """What to train, on what, and how long; the defaults are the default run (see README)."""

    variant: str = "vgg11"
    stem: str = "vgg"
    size: int = 32
    widths: tuple[int, ...] = (32, 32, 64, 128, 128)
    data: str = "shapes"
    train_images: int = 6000
    test_images: int = 1000
    epochs: int = 12
    batch: int = 64
    learning_rate: float = 0.01
    momentum: float = 0.9
    seed: int = 0
    snapshots: int = 32

    def check(self) -> TrainSettings:
        """These settings, or a ValueError naming what cannot be trained."""
        get_variant(self.variant)
        check_input_shape((self.size, self.size, 3), self.stem)
        if self.data not in DATA and not os.path.isdir(self.data):
            raise ValueError(f"unknown data {self.data!r}; choose from {', '.join(DATA)} or a "
                             f"folder of images, one subfolder a class")
        if len(self.widths) != len(GROUPS):
            raise ValueError(f"widths gives each of the {len(GROUPS)} groups its filters, got "
                             f"{len(self.widths)}: {tuple(self.widths)}")
        for i, width in enumerate(self.widths, 1):
            whole_number(width, f"group {i}'s width", 1)
        for name in ("train_images", "test_images", "epochs", "batch"):
            whole_number(getattr(self, name), name, 1)
        whole_number(self.snapshots, "snapshots", 2)
        if not self.learning_rate > 0 or not 0 <= self.momentum < 1:
            raise ValueError(f"learning_rate must be above 0 and momentum in [0, 1), got "
                             f"{self.learning_rate} and {self.momentum}")
        return replace(self, widths=tuple(int(w) for w in self.widths))

    @property
    def steps_per_epoch(self) -> int:
        """Training steps in one epoch (the last batch may be smaller)."""
        return math.ceil(self.train_images / self.batch)

    def to_dict(self) -> dict:
        """The settings as JSON's types, as a run's manifest keeps them."""
        return {**asdict(self), "widths": list(self.widths)}
