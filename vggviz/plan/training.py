"""What a training run is asked for, as plain data: the variant, stem, input size and learner
widths, the data, and the optimiser's budget (no TensorFlow: a command line or a dashboard checks
settings before anything is built)."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

from vggviz.plan.architecture import GROUPS, check_input_shape, get_variant, whole_number

DATA = ("shapes", "cifar10", "imagenette")
"""The data sets a run is trained on by name: the built-in one (`vggviz.sources.shapes`),
CIFAR-10 and Imagenette (`vggviz.sources.datasets`); `data` may also be a folder of one's own
images, one subfolder a class."""

SCHEDULES = ("constant", "cosine")
"""The learning rate's course: constant, or (Keras' `CosineDecay`) a linear warm-up over
`warmup_epochs` to `learning_rate`, then a cosine decay to 0 at the last step."""


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
    schedule: str = "constant"
    warmup_epochs: int = 0
    clip_norm: float = 5.0          # gradients clipped to this global norm; 0: not clipped
    # (unclipped, the default run learned to 95.5 % with TensorFlow's two threads and stayed at
    # 21 % with one: the order of a sum decided it; clipped at 5: 96.9, 95.8, 98.0 % at 1, 2, 4)
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
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; choose from "
                             f"{', '.join(SCHEDULES)}")
        whole_number(self.warmup_epochs, "warmup_epochs", 0)
        if self.warmup_epochs and (self.schedule != "cosine" or
                                   self.warmup_epochs >= self.epochs):
            raise ValueError(f"a warm-up of {self.warmup_epochs} epochs needs the cosine "
                             f"schedule and more epochs than that ({self.epochs})")
        if not self.clip_norm >= 0:
            raise ValueError(f"clip_norm must be 0 (no clipping) or above, got {self.clip_norm}")
        return replace(self, widths=tuple(int(w) for w in self.widths))

    @property
    def steps_per_epoch(self) -> int:
        """Training steps in one epoch (the last batch may be smaller)."""
        return math.ceil(self.train_images / self.batch)

    @property
    def optimiser_words(self) -> str:
        """The optimiser as a person reads it: "SGD lr 0.01 momentum 0.9" and, when used, its
        schedule and clipping."""
        words = f"SGD lr {self.learning_rate} momentum {self.momentum}"
        if self.schedule == "cosine":
            warm = f"{self.warmup_epochs}-epoch warm-up, then " if self.warmup_epochs else ""
            words += f" ({warm}cosine decay to 0)"
        if self.clip_norm:
            words += f", gradients clipped to global norm {self.clip_norm:g}"
        return words

    def to_dict(self) -> dict:
        """The settings as JSON's types, as a run's manifest keeps them."""
        return {**asdict(self), "widths": list(self.widths)}


COMPARISON = {"schedule": "cosine", "warmup_epochs": 1, "clip_norm": 1.0}
"""What a comparison of stems trains with by default, the same for every stem: a warm-up, a
cosine decay and gradients clipped, so that no stem diverges at the default rate (unclipped, at a
constant 0.01, the VGG stem diverged at 64 px; see README) and the stems, not the rate, are
compared. A single run keeps the constant rate, its gradients clipped at `clip_norm`'s 5."""


def for_comparison(settings: TrainSettings, **given: object) -> TrainSettings:
    """`settings` with the comparison's stabiliser (`COMPARISON`; no warm-up in a one-epoch
    run), then what is `given`."""
    stabiliser = COMPARISON | {"warmup_epochs": min(COMPARISON["warmup_epochs"],
                                                    settings.epochs - 1)}
    return replace(settings, **(stabiliser | given))


def precision_for(gpus: Sequence[object]) -> str:
    """The Keras dtype policy a run trains under, given the GPUs TensorFlow sees: mixed float16
    on a GPU (its float16 units, half the memory), float32 on the CPU (where float16 is slower)."""
    return "mixed_float16" if len(gpus) else "float32"
