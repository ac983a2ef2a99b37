"""Guided lessons: a path of steps through the dashboards, each a view, a question and its answer.

Pure (no widgets): a step names its page and the view it opens there as that page's link fields
(`vggviz.plan.view_link`), so a step IS a link; its answer's figures are counted here from the
plan (`vggviz.plan.accounting`, `vggviz.plan.receptive_field`), never typed in. A page opened
with `lesson=<name>&step=<n>` shows the step above its view (`vggviz.ui.panels.lesson_path`);
the handout prints every step (`vggviz.network.handout`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import urlencode

from vggviz.plan.accounting import summarize
from vggviz.plan.formatting import count, gmacs, megabytes
from vggviz.plan.receptive_field import stage_field
from vggviz.plan.view_link import Choice, Whole

EXPLORER, FAMILY, DESIGNS = "01_stem_explorer.ipynb", "02_vgg_family.ipynb", "03_stem_designs.ipynb"
"""The pages a lesson walks through (the notebooks' file names: a step's link is relative)."""
PAGE_TITLES = {EXPLORER: "Stem explorer", FAMILY: "The VGG family",
               DESIGNS: "Stem designs compared"}
PICTURES = {
    "maps": "the stem's maps as the grid shows them",
    "glance": "the network at a glance, the stem marked",
    "map": "the chosen map large",
    "worked": "the patch of one value worked out, outlined on the picture",
    "field": "the square of the picture a point of a deeper map depends on",
    "costs": "every variant's MACs, as the family page charts them",
    "size": "the cost against the input size, as the family page charts it",
    "stems": "the stems compared, as the stem designs page charts them",
}
"""What a step's handout picture may be, in words."""
PHOTO = "Grace Hopper (photo)"
"""The sample every step shows: the one photograph among the samples."""
VARIANT = "vgg16"


@dataclass(frozen=True)
class Step:
    """One step: the `page` it opens, its `state` there (the page's link fields), a `title`,
    one `question` whose answer is on screen, the `answer`, where to `look`, and which of the
    page's pictures a handout `shows` of it (PICTURES)."""

    page: str
    state: dict[str, str | int]
    title: str
    question: str
    answer: str
    look: str
    shows: tuple[str, ...]

    def __post_init__(self) -> None:
        unknown = set(self.shows) - set(PICTURES)
        if unknown or not self.shows:
            raise ValueError(f"a step shows some of {', '.join(PICTURES)}, not {self.shows}")


@dataclass(frozen=True)
class Lesson:
    """A named path of steps (`name` is the link's `lesson=`), with a line on what it is for."""

    name: str
    title: str
    summary: str
    steps: tuple[Step, ...]

    def query(self, number: int) -> str:
        """The query of step `number` (from 1): its view's fields, then lesson and step."""
        step = self.step(number)
        return urlencode([*((k, str(v)) for k, v in step.state.items()),
                          ("lesson", self.name), ("step", str(number))])

    def href(self, number: int) -> str:
        """Step `number`'s address relative to a dashboard's: its page and its query."""
        return f"{self.step(number).page}?{self.query(number)}"

    def step(self, number: int) -> Step:
        """Step `number`, counted from 1; IndexError says how many there are."""
        if not 1 <= number <= len(self.steps):
            raise IndexError(f"“{self.name}” has steps 1 to {len(self.steps)}, not {number}")
        return self.steps[number - 1]


def _times(a: int, b: int) -> str:
    """a/b as the pages say a ratio: ×21, ×5.3."""
    r = a / b
    return f"×{r:.0f}" if r >= 10 else f"×{r:.1f}"


def _pooling_steps() -> tuple[Step, ...]:
    vgg, pooled, strided = (summarize(VARIANT, stem=s) for s in ("vgg", "pooled", "strided"))
    large = summarize(VARIANT, stem="pooled", input_shape=(448, 448, 3))
    h, w, c = vgg.component("stem").output_shape
    inputs = math.prod(vgg.input_shape)
    entering, pooled_in = vgg.values_entering_learner, pooled.values_entering_learner
    ph, pw, _ = pooled.component("stem").output_shape
    g1, pg1 = vgg.component("group1").macs, pooled.component("group1").macs
    stem_values = {"sample": PHOTO, "variant": VARIANT}
    explorer = {**stem_values, "stem": "vgg", "stage": "stem"}
    last = vgg.component("group5").output_shape
    pooled_last = pooled.component("group5").output_shape
    fc1 = next(r for r in vgg.layers if r.name == "fc1").params
    pooled_fc1 = next(r for r in pooled.layers if r.name == "fc1").params
    return (
        Step(EXPLORER, explorer, "The stem's 64 maps",
             "The stem is one convolution of the picture. How many feature maps does it make, "
             "and how large is each?",
             f"{c} maps of {h}×{w} pixels: each as large as the picture itself (a 3×3 "
             f"convolution with “same” padding and stride 1 keeps every pixel).",
             f"the grid of maps, and the status line: “stem {h}×{w}×{c}”",
             ("maps",)),
        Step(EXPLORER, explorer, "What enters group 1",
             "How many values does the VGG stem hand to group 1, and how many times the "
             "picture's own values is that?",
             f"{count(entering)} values ({h}×{w}×{c}), {_times(entering, inputs)} the picture's "
             f"{count(inputs)} ({h}×{w}×3). Group 1's convolution then works at full "
             f"resolution: {gmacs(g1)} G multiply-adds for one image.",
             "“What the stem does to the numbers”, left of the grid",
             ("glance",)),
        Step(EXPLORER, {**explorer, "stem": "pooled"}, "A stem that pools",
             "Now the stem ends with a 2×2 max-pool. How large are the maps it hands on, and "
             "how many values enter group 1?",
             f"{ph}×{pw}×{c}: {count(pooled_in)} values, a quarter of the VGG stem's "
             f"({_times(pooled_in, inputs)} the picture's). Group 1 costs {gmacs(pg1)} G "
             f"multiply-adds instead of {gmacs(g1)} G.",
             "the stem's block in the network's drawing is half as tall; the cost strip",
             ("maps", "glance")),
        Step(DESIGNS, dict(stem_values), "Three stems side by side",
             "Which stem hands the learner the fewest values, and what does it give up for it?",
             f"The strided stem (7×7 filters every 2nd pixel, then a 3×3 max-pool): "
             f"{count(strided.values_entering_learner)} values, a sixteenth of the VGG stem's. "
             f"It gives up fine detail; the pooled stem ({count(pooled_in)}) gives up where in "
             f"each 2×2 the strongest response was.",
             "the three columns of maps at true relative size, and their captions",
             ("stems",)),
        Step(FAMILY, {"variant": VARIANT, "stem": "vgg", "size": "224"},
             "What the whole network costs",
             "For VGG16 on a 224-px picture with the VGG stem: how many multiply-adds (MACs) "
             "does one image cost, and how much activation memory?",
             f"{gmacs(vgg.total_macs)} GMACs and {megabytes(vgg.activation_values)} of "
             f"activations (float32, one image).",
             "the table under the charts (scroll down to it): the VGG16 row, its “GMACs” and "
             "“activations MB”",
             ("costs",)),
        Step(FAMILY, {"variant": VARIANT, "stem": "pooled", "size": "224"},
             "The same network, a pooled stem",
             "Switch to the pooled stem at 224 px: what do the MACs and the memory become?",
             f"{gmacs(pooled.total_macs)} GMACs ({vgg.total_macs / pooled.total_macs:.1f} times "
             f"fewer) and {megabytes(pooled.activation_values)}. The parameters fall too, from "
             f"{count(vgg.total_params)} to {count(pooled.total_params)}: the last maps are "
             f"{pooled_last[0]}×{pooled_last[1]} instead of {last[0]}×{last[1]}, so fc1 has "
             f"{count(pooled_fc1)} parameters instead of {count(fc1)}.",
             "the stem's block in the drawing, half as tall; then the VGG16 row of the table "
             "under the charts, and its MACs chart",
             ("costs",)),
        Step(FAMILY, {"variant": VARIANT, "stem": "pooled", "size": "448"},
             "Or twice the picture",
             "Keep the pooled stem and move the input to 448 px: how many values enter group 1 "
             "now, and what does one image cost, against the VGG stem at 224 px?",
             f"{count(large.values_entering_learner)}, exactly what the VGG stem hands on at "
             f"224 px, for {gmacs(large.total_macs)} GMACs against {gmacs(vgg.total_macs)} and "
             f"the same {count(large.total_params)} parameters: for about VGG's cost the pooled "
             f"stem takes a picture with four times the pixels.",
             "the stem's block in the drawing (224×224×64, the VGG stem's at 224 px), then the "
             "VGG16 row of the table under the charts",
             ("size",)),
        Step(DESIGNS, dict(stem_values), "What training says, and what it leaves open",
             "Did pooling in the stem cost accuracy when both stems were trained here?",
             f"{RECORDED_RACE} That is within the held-out set's own noise "
             f"(±{_standard_error_points():.1f} points): no loss this run can tell from chance, "
             f"and no gain. Left open: whether it holds on real photographs at 224 px. The "
             f"later networks that pool in the stem (ResNet: 7×7 stride 2, then a 3×3 max-pool) "
             f"show it works, not that it costs nothing against VGG's stem.",
             "the accuracy section under the chart and the measuring panel (scroll down): the "
             "comparison measured by training where this computer's cache holds one, else the "
             "note on what is not measured",
             ("stems",)),
    )


RACE_ACCURACY = {"vgg": 0.831, "pooled": 0.819}
"""The project's recorded comparison (README, “Stems compared by training”: comparison
20261204-152718, built-in shapes at 64 px, six epochs, 1,000 held out): best held-out accuracy."""
RACE_HELD_OUT = 1000
RECORDED_RACE = (f"In the project's recorded comparison (built-in shapes at 64 px, six epochs, the "
                 f"same data, seed and budget), the VGG stem reached "
                 f"{RACE_ACCURACY['vgg']:.1%} held-out and the pooled stem "
                 f"{RACE_ACCURACY['pooled']:.1%}.")


def _standard_error_points() -> float:
    """The standard error of an accuracy near the recorded ones on the held-out set, in
    points: what a difference must exceed to be told from the sample's noise."""
    p = sum(RACE_ACCURACY.values()) / len(RACE_ACCURACY)
    return 100 * math.sqrt(p * (1 - p) / RACE_HELD_OUT)


def _feature_map_steps() -> tuple[Step, ...]:
    s = summarize(VARIANT)
    conv = next(r for r in s.layers if r.component == "stem" and r.kind == "conv")
    h, w, c = conv.output_shape
    weights = conv.params // c - 1  # per filter, less its bias
    field = stage_field(VARIANT, "vgg", "group2", 224)
    gh, gw, gc = s.component("group2").output_shape
    chosen = {"sample": PHOTO, "variant": VARIANT, "stem": "vgg", "stage": "stem", "map": 5}
    return (
        Step(EXPLORER, chosen, "One map, one filter",
             "Map 5 is shown large beside the grid, with its filter. How many numbers make the "
             "filter behind one map, and how many make all of the stem's?",
             f"{weights} weights (3×3 pixels × 3 colours) and one bias: {weights + 1}. All "
             f"{c} filters: {count(conv.params)} numbers, the stem's parameters.",
             "the chosen map's kernel, under the large map",
             ("map",)),
        Step(EXPLORER, chosen, "One value, worked out",
             "Point at a pixel of the large map (or click it). How many products are added up "
             "to make its value, and what happens to a negative sum?",
             f"{weights} products: the 3×3 patch of the picture around the pixel, each of its "
             f"3 colours times its weight. Their sum plus the bias goes through the ReLU, which "
             f"makes a negative sum 0. Every one of the {count(h * w)} pixels of the map is made "
             f"so, with the same {weights} weights.",
             "the card beside the map: the patch, the weights, the products, their sum",
             ("worked",)),
        Step(EXPLORER, {**chosen, "stage": "group2", "map": 0}, "Deeper, a point sees more",
             "These are group 2's maps. Click a point of the large map: how large is the square "
             "of the picture it depends on, and how far apart are neighbouring points' squares?",
             f"{field.size}×{field.size} pixels, {field.jump} pixels apart: group 2's maps are "
             f"{gh}×{gw} ({gc} of them), each point the result of every convolution and pool "
             f"before it.",
             "“What the network sees”, top left: the square outlined on the picture",
             ("field",)),
    )


def _lessons() -> dict[str, Lesson]:
    found = (
        Lesson("pooling-in-the-stem", "Why later CNNs put pooling in the stem",
               "Eight steps across the explorer, the stem designs and the family: what the "
               "VGG stem hands on, what a pool there saves, and what it may cost.",
               _pooling_steps()),
        Lesson("one-feature-map", "What one feature map is",
               "Three steps on the explorer: one map's filter, one of its values worked out, "
               "and what a point of a deeper map sees.",
               _feature_map_steps()),
    )
    return {lesson.name: lesson for lesson in found}


LESSONS = _lessons()
"""Every lesson by name, in the order the landing page lists them."""
LESSON_FIELDS = {"lesson": Choice(tuple(LESSONS)),
                 "step": Whole(1, max(len(lesson.steps) for lesson in LESSONS.values()))}
"""What a page's link may add to show a lesson's step above its view."""


def lesson_step(state: dict[str, str | int], page: str) -> tuple[Lesson, int] | str | None:
    """The lesson and step number a parsed link asks `page` to show; in words why not (a step
    past the lesson's last, a step of another page, one of the two fields alone); None if it
    asks for none."""
    name, number = state.get("lesson"), state.get("step")
    if name is None and number is None:
        return None
    if name is None or number is None:
        given = "lesson" if name is not None else "step"
        return f"a lesson needs both “lesson” and “step” (got only “{given}”)"
    lesson = LESSONS[str(name)]
    if not 1 <= int(number) <= len(lesson.steps):
        return f"step={number} is past the {len(lesson.steps)} steps of “{lesson.title}”"
    step = lesson.step(int(number))
    if step.page != page:
        return (f"step {number} of “{lesson.title}” is on the {PAGE_TITLES[step.page]} page, "
                f"not this one")
    return lesson, int(number)
