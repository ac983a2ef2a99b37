"""The network at a glance: input, stem, groups 1–5 and classifier as blocks drawn to scale.

Pure arithmetic on `summarize`'s output shapes (no TensorFlow). The scale: a block's height is
proportional to its maps' side (the input's side is SIDE_PX tall, whatever the input size), so
every 2×2 pool visibly halves it and a pooled stem's block is half the VGG stem's; its width is
DEPTH_PX per doubling of depth (∝ log2 of the maps' number), so 64 → 128 → 256 → 512 reads as
equal steps and the classifier's 4096 fits beside the input's 3, which a linear width (×1365)
could not show. A vector (the classifier's) is 1×1×n: a FLOOR_PX-thin bar as wide as its n.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from vggviz.plan.accounting import Summary, summarize
from vggviz.plan.architecture import CLASSIFIERS, GROUPS, STEMS, get_variant
from vggviz.plan.formatting import count, shape

SIDE_PX = 56
"""Height of the input's block: every other block's height is this × its side / the input's."""
DEPTH_PX = 6
"""Width per doubling of depth: a block of d maps is DEPTH_PX × log2(d) wide."""
FLOOR_PX = 3
"""The least a drawn box measures either way (a 7×7 map of a 224-px input would be 1.75 px
tall, a vector 0.25 px), so every box stays visible; boxes at the floor are marked `floored`."""
GAP_PX = 3
"""Between the classifier's bars."""
SCALE = ("Drawn to scale: a block's height follows its maps' side, and its width grows one step "
         "each time the number of maps doubles; the classifier's vectors are thin bars.")
"""The scale in words, for the drawing's description."""


@dataclass(frozen=True)
class Box:
    """One drawn rectangle, in CSS px; `floored` if the scale would have drawn it smaller."""

    width: float
    height: float
    floored: bool = False


@dataclass(frozen=True)
class Block:
    """One part of the network as drawn: `name` is the component (or "input"), `label` how it
    reads ("group 2"), `output_shape` what it hands on and `shape_text` how that reads
    ("112×112×128"; the classifier's vectors "4096 → 4096 → 1000"), `boxes` its drawing (one box
    for maps, one thin bar per dense layer for the classifier), `note` what it does in a line,
    `tag` words drawn with it ("pool only": a group whose block's one convolution is the stem)."""

    name: str
    role: str
    label: str
    output_shape: tuple[int, ...]
    boxes: tuple[Box, ...]
    note: str
    shape_text: str
    tag: str = ""

    @property
    def width(self) -> float:
        return max(box.width for box in self.boxes)

    @property
    def height(self) -> float:
        return sum(box.height for box in self.boxes) + GAP_PX * (len(self.boxes) - 1)

    @property
    def accessible_name(self) -> str:
        """What a screen reader says for the block: "group 2: 112×112×128"."""
        return f"{self.label}: {self.shape_text}"


@dataclass(frozen=True)
class Glance:
    """The blocks in order (input, stem, group1–5, classifier) and one line per part."""

    variant: str
    stem: str
    input_shape: tuple[int, int, int]
    blocks: tuple[Block, ...]
    lines: dict[str, str]

    def block(self, name: str) -> Block:
        """The block called `name` ("input", "stem", "group1"…, "classifier")."""
        for block in self.blocks:
            if block.name == name:
                return block
        raise KeyError(f"no block {name!r}; the blocks are {[b.name for b in self.blocks]}")


def _length(value: float) -> tuple[float, bool]:
    return (round(value, 2), False) if value >= FLOOR_PX else (float(FLOOR_PX), True)


def map_box(side: int, depth: int, input_side: int) -> Box:
    """The box of `depth` maps of `side`×`side` px, to the scale above."""
    height, low = _length(SIDE_PX * side / input_side)
    width, thin = _length(DEPTH_PX * math.log2(depth) if depth > 1 else 0)
    return Box(width, height, low or thin)


def _convs(s: Summary, name: str) -> int:
    return sum(1 for layer in s.layers if layer.component == name and layer.kind == "conv")


def _group_note(s: Summary, name: str) -> str:
    """What one group does, in a line: its convolutions, then the pool that halves its maps."""
    convs, (h, w, c) = _convs(s, name), s.component(name).output_shape
    if convs == 0:
        lrn = any(r.component == name and r.kind == "lrn" for r in s.layers)
        does = "normalizes (LRN) and max-pools" if lrn else "max-pools"
        return (f"pool only: block 1's one convolution is the stem, so group 1 has no "
                f"convolution of its own and only {does} the {c} maps to {h}×{w}")
    plural = "s" if convs > 1 else ""
    return f"{convs} convolution{plural} of {c} filters, then a 2×2 max-pool: {h}×{w}×{c}"


def _lines(s: Summary, classifier: str) -> dict[str, str]:
    """One line each on what the stem, a group, the learner and the classifier do."""
    bn = "batch norm and " if get_variant(s.variant).batch_norm else ""
    stem = s.component("stem").output_shape
    first, last = s.component("group1").output_shape, s.component("group5").output_shape
    counts = sorted({_convs(s, g) for g in GROUPS} - {0})  # a group without one is said below
    span = f"{counts[0]}–{counts[-1]}" if len(counts) > 1 else f"{counts[0]}"
    kernels = {k for block in get_variant(s.variant).kernels for k in block}
    sizes = " and ".join(f"{k}×{k}" for k in sorted(kernels, reverse=True))
    convs = (f"{span} {sizes} convolutions" if len(kernels) == 1 else
             f"{span} convolutions ({sizes})")
    group = f"{convs} with {bn}ReLU, then a 2×2 max-pool halves the maps"
    head = s.component("classifier").output_shape[0]
    if classifier == "fc":
        flat = count(math.prod(last))
        said = (f"flattens the {shape(last)} maps ({flat} values), fc1 and fc2 of 4096 neurons, "
                f"a softmax over {count(head)} classes")
    else:
        said = f"averages each of the {last[-1]} maps to one value, a softmax over {count(head)}"
    if 0 in {_convs(s, g) for g in GROUPS}:
        group += "; group 1 has none: its one conv is the stem"
    return {
        "stem": (f"{STEMS[s.stem].description}; hands the learner {stem[2]} feature maps of "
                 f"{stem[0]}×{stem[1]}"),
        "group": group,
        "learner": (f"groups 1–5: the maps shrink from {first[0]}×{first[1]} to "
                    f"{last[0]}×{last[1]} while they multiply from {first[2]} to {last[2]}"),
        "classifier": said,
    }


def network_glance(variant: str = "vgg16", stem: str = "vgg", size: int = 224,
                   classifier: str = "fc", classes: int = 1000) -> Glance:
    """The blocks of `variant` with `stem` on a `size`×`size`×3 input, each with its output
    shape (`summarize`'s) and its drawn size (see the module's scale); `classifier` is the head
    ("fc" or "gap", see CLASSIFIERS)."""
    if classifier not in CLASSIFIERS:
        raise ValueError(f"unknown classifier {classifier!r}; choose from "
                         f"{', '.join(CLASSIFIERS)}")
    s = summarize(variant, stem=stem, input_shape=(size, size, 3), classes=classes,
                  classifier=classifier)
    side = s.input_shape[0]
    lines = _lines(s, classifier)
    blocks = [Block("input", "input", "input", s.input_shape,
                    (map_box(side, s.input_shape[2], side),),
                    f"the picture: {shape(s.input_shape)} values", shape(s.input_shape))]
    for index, name in enumerate(("stem", *GROUPS)):
        out = s.component(name).output_shape
        role, label = ("stem", "stem") if index == 0 else ("group", f"group {index}")
        note = lines["stem"] if index == 0 else _group_note(s, name)
        tag = "pool only" if role == "group" and _convs(s, name) == 0 else ""
        blocks.append(Block(name, role, label, out, (map_box(out[0], out[2], side),), note,
                            shape(out), tag))
    vectors = [layer.output_shape[0] for layer in s.layers
               if layer.component == "classifier" and layer.kind == "dense"]
    blocks.append(Block("classifier", "classifier", "classifier",
                        s.component("classifier").output_shape,
                        tuple(map_box(1, n, side) for n in vectors), lines["classifier"],
                        " → ".join(str(n) for n in vectors)))
    return Glance(variant, stem, s.input_shape, tuple(blocks), lines)
