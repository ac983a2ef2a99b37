"""Stacked 3×3 convolutions against one large kernel (Simonyan & Zisserman 2014, section 2.3).

n stacked 3×3 convolutions see a (2n+1)×(2n+1) box of their input, as one (2n+1)×(2n+1)
kernel would, with n·9·C² weights instead of (2n+1)²·C² (C channels in and out, biases left
out, as the paper counts) and n−1 more ReLUs between them. Read from the layer plan: each run
of 3×3 convs with no pool between them, with its real channel count. No TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass

from vggviz.plan.architecture import layer_plan


@dataclass(frozen=True)
class Stack:
    """A run of `convs` 3×3 stride-1 convolutions of `channels` filters, with no pool between."""

    layers: tuple[str, ...]
    components: tuple[str, ...]
    channels: int

    @property
    def convs(self) -> int:
        return len(self.layers)

    @property
    def field(self) -> int:
        """Side of the box the stack sees, in its input's pixels: 2n + 1."""
        return 2 * self.convs + 1

    @property
    def stacked_weights(self) -> int:
        """n·9·C²: the stack's weights, C channels in and out of each conv."""
        return self.convs * 9 * self.channels ** 2

    @property
    def single_weights(self) -> int:
        """(2n+1)²·C²: one kernel that sees the same box."""
        return self.field ** 2 * self.channels ** 2

    @property
    def extra_relus(self) -> int:
        """ReLUs the stack has beyond the single kernel's one: n − 1."""
        return self.convs - 1

    @property
    def saving(self) -> float:
        """The share of the single kernel's weights the stack does without."""
        return 1 - self.stacked_weights / self.single_weights


def stacks(variant: str = "vgg16", stem: str = "vgg") -> list[Stack]:
    """Each run of 3×3 convs in the stem and groups of `variant`, in order; a pool, a stride or
    another kernel size (VGG16-C's 1×1, the strided stem's 7×7) ends a run."""
    runs: list[list] = []
    current: list = []
    for spec in layer_plan(variant, stem=stem, include_top=False):
        if spec.kind == "conv" and spec.kernel == 3 and spec.stride == 1:
            if current and current[-1].units != spec.units:
                runs.append(current)
                current = []
            current.append(spec)
        elif spec.kind in ("conv", "pool"):
            if current:
                runs.append(current)
            current = []
    if current:
        runs.append(current)
    return [Stack(tuple(s.name for s in run),
                  tuple(dict.fromkeys(s.component for s in run)), run[0].units) for run in runs]
