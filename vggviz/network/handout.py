"""A lesson's handout: every step's question, answer and the picture of its view, as one HTML file.

Self-contained (each picture a data: URI, print CSS of one step per block) so a teacher can print
it or hand it on. The pictures are the package's own, drawn without a browser or TensorFlow: the
stem's maps as the explorer computes them (`FeatureExtractor`'s numpy stem; its weights are
ImageNet's where Keras' cache holds them, else the explorer's seeded random filters, and the file
says which), one value worked out (`vggviz.by_hand.convolution`), a receptive field's square, and
the family's and the stem designs' charts from the counts.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from datetime import date

import numpy as np
from PIL import Image

from vggviz.by_hand.convolution import worked_output
from vggviz.network.features import FeatureExtractor
from vggviz.plan import series
from vggviz.plan.accounting import summarize, summarize_all
from vggviz.plan.architecture import STEMS, VARIANTS
from vggviz.plan.formatting import count, gmacs
from vggviz.plan.glance import network_glance
from vggviz.plan.lessons import EXPLORER, PAGE_TITLES, Lesson, Step
from vggviz.plan.receptive_field import stage_field
from vggviz.render import encode_png, render_grid, render_map
from vggviz.render.charts import figure_png, input_size_effect, macs_by_variant, stem_comparison
from vggviz.render.fields import BOX_RGB, outline_box
from vggviz.render.glance import glance_png
from vggviz.sources.images import sample_image
from vggviz.sources.weights import default_weights, weights_label

FAMILY_SIZES = range(32, 513, 32)
"""The sizes the family page's slider offers, drawn in its input-size chart."""
STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; color: #1f1f1f; max-width: 920px; margin: 24px auto;
  padding: 0 16px; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
.step { border-top: 2px solid #5f6368; padding-top: 8px; margin-top: 20px; }
.step h2 { font-size: 1.25em; margin: 0.2em 0; }
.where { color: #444; font-size: 0.92em; }
figure { margin: 8px 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #ccc; }
figcaption { font-size: 0.92em; color: #333; }
.answer { background: #e8f0fe; padding: 6px 10px; border-radius: 4px; }
@media print {
  body { margin: 0; max-width: none; }
  .step { break-before: page; break-inside: avoid; border-top: none; }
  .step:first-of-type { break-before: auto; }
  .step figure img { max-height: 11cm; }
}
"""


@dataclass(frozen=True)
class Picture:
    """A step's picture: PNG bytes, its alt text, and a caption under it."""

    png: bytes
    alt: str
    caption: str


class _Views:
    """The stem's extractors and the sample's pixels the pictures are drawn from, made once."""

    def __init__(self, seed: int = 0):
        self.seed = seed
        self._extractors: dict[tuple[str, str], FeatureExtractor] = {}

    def extractor(self, variant: str, stem: str) -> FeatureExtractor:
        key = (variant, stem)
        if key not in self._extractors:
            self._extractors[key] = FeatureExtractor(variant, weights=default_weights(variant),
                                                     stem=stem, seed=self.seed, download=False)
        return self._extractors[key]


def _said(state: dict) -> str:
    """The sample, the variant and the stem of an explorer's state, in words."""
    return (f"{state['sample']}, {VARIANTS[str(state['variant'])].title}, "
            f"{STEMS[str(state['stem'])].title.lower()}")


def _maps(step: Step, views: _Views) -> Picture:
    fx = views.extractor(str(step.state["variant"]), str(step.state["stem"]))
    maps = fx.activations(sample_image(str(step.state["sample"])), "stem")
    h, w, c = maps.shape
    return Picture(render_grid(maps, columns=8, tile=56, labels=True),
                   f"The {c} stem feature maps of {_said(step.state)}, {h}×{w} each, as an 8 by "
                   f"8 grid of tiles, each map coloured by its own range (viridis: dark low, "
                   f"yellow high).",
                   f"The stem's {c} maps, {h}×{w} each ({fx.label} filters).")


def _glance(step: Step, size: int = 224) -> Picture:
    variant, stem = str(step.state["variant"]), str(step.state["stem"])
    drawn = network_glance(variant, stem, int(step.state.get("size", size)))
    parts = "; ".join(b.accessible_name for b in drawn.blocks)
    return Picture(glance_png(drawn),
                   f"{VARIANTS[variant].title} at a glance with the {STEMS[stem].title.lower()}, "
                   f"each block's height following its maps' side, the stem outlined in red: "
                   f"{parts}.",
                   f"The network at a glance: {drawn.block('stem').accessible_name} enters "
                   f"group 1.")


def _enlarged(pixels: np.ndarray, box: tuple[int, int, int, int]) -> bytes:
    """The picture twice as large with `box` (top, left, bottom, right) outlined in cyan."""
    picture = Image.fromarray(np.asarray(pixels))
    picture = picture.resize((2 * picture.width, 2 * picture.height), Image.NEAREST)
    top, left, bottom, right = box
    outline_box(picture, (2 * top, 2 * left, 2 * bottom + 1, 2 * right + 1), BOX_RGB)
    return encode_png(np.asarray(picture))


def _map(step: Step, views: _Views) -> Picture:
    fx = views.extractor(str(step.state["variant"]), str(step.state["stem"]))
    maps = fx.activations(sample_image(str(step.state["sample"])), "stem")
    channel, (h, w, _) = int(step.state["map"]), maps.shape
    return Picture(render_map(maps, channel, scale=2),
                   f"Stem map {channel} of {_said(step.state)}, {h}×{w}, drawn large (viridis: "
                   f"dark low, yellow high).",
                   f"Map {channel} large ({fx.label} filters).")


def _worked(step: Step, views: _Views) -> Picture:
    stem = str(step.state["stem"])
    fx = views.extractor(str(step.state["variant"]), stem)
    pixels, _ = fx.fitted(sample_image(str(step.state["sample"])))
    kernel, bias = fx.stem_weights()
    channel = int(step.state["map"])
    y = x = fx.size // 2
    worked = worked_output(pixels, kernel, bias, y, x, channel, stem=stem)
    return Picture(_enlarged(pixels, worked.box),
                   f"The picture, {_said(step.state)}, with the 3×3 patch around pixel ({x}, "
                   f"{y}) outlined in cyan: the {worked.terms} numbers that make map "
                   f"{channel}'s value there.",
                   f"Worked out at ({x}, {y}) of map {channel} ({fx.label} filters): "
                   f"{worked.terms} products add up to {worked.total:.1f}; plus the bias "
                   f"{worked.bias:.2f} that is {worked.pre_activation:.1f}, and the ReLU leaves "
                   f"{worked.value:.1f}.")


def _field(step: Step, views: _Views) -> Picture:
    variant, stem, stage = (str(step.state[k]) for k in ("variant", "stem", "stage"))
    fx = views.extractor(variant, stem)
    pixels, _ = fx.fitted(sample_image(str(step.state["sample"])))
    field = stage_field(variant, stem, stage, fx.size)
    side = summarize(variant, stem=stem, input_shape=(fx.size, fx.size, 3)).component(
        stage).output_shape[0]
    at, named = side // 2, stage.replace("group", "group ")
    return Picture(_enlarged(pixels, field.box(at, at, (fx.size, fx.size))),
                   f"The picture, {_said(step.state)}, with the {field.size}×{field.size}-pixel "
                   f"square that point ({at}, {at}) of a {named} map depends on outlined in "
                   f"cyan.",
                   f"What point ({at}, {at}) of a {side}×{side} map of {named} sees: "
                   f"{field.size}×{field.size} pixels of the picture.")


def _costs(step: Step) -> Picture:
    stem, size = str(step.state["stem"]), int(step.state["size"])
    summaries = summarize_all(stem=stem, input_shape=(size, size, 3))
    said = "; ".join(f"{VARIANTS[s.variant].title} {gmacs(s.total_macs)} G" for s in summaries)
    return Picture(figure_png(macs_by_variant(series.by_variant(summaries, "macs"))),
                   f"Multiply-adds for one {size}-px image, every variant, "
                   f"{STEMS[stem].title.lower()}, stacked by component: {said}.",
                   f"MACs per variant with the {STEMS[stem].title.lower()} at {size} px.")


def _size(step: Step) -> Picture:
    variant, stem, size = (str(step.state["variant"]), str(step.state["stem"]),
                           int(step.state["size"]))
    sizes = [s for s in FAMILY_SIZES if s >= STEMS[stem].min_input]
    s = summarize(variant, stem=stem, input_shape=(size, size, 3))
    return Picture(figure_png(input_size_effect(series.input_sizes(variant, sizes, stem=stem,
                                                                   current=size))),
                   f"How {VARIANTS[variant].title}'s cost grows with the input size, "
                   f"{sizes[0]} to {sizes[-1]} px, {STEMS[stem].title.lower()}; at {size} px "
                   f"the stem hands on {count(s.values_entering_learner)} values and the "
                   f"network costs {gmacs(s.total_macs)} GMACs.",
                   f"The family page's input-size chart, {size} px marked.")


def _stems(step: Step) -> Picture:
    variant = str(step.state["variant"])
    summaries = {k: summarize(variant, stem=k) for k in STEMS}
    said = "; ".join(f"{STEMS[k].title.lower()} {count(s.values_entering_learner)} values, "
                     f"{gmacs(s.total_macs)} GMACs" for k, s in summaries.items())
    return Picture(figure_png(stem_comparison(series.stems(summaries))),
                   f"The three stems of {VARIANTS[variant].title} compared, values entering the "
                   f"learner and cost: {said}.",
                   "The stem designs page's chart: what each stem hands on and what it costs.")


def step_pictures(step: Step, views: _Views | None = None) -> list[Picture]:
    """The pictures a step `shows`, drawn as its page draws them."""
    views = views or _Views()
    drawers = {"maps": lambda: _maps(step, views), "glance": lambda: _glance(step),
               "map": lambda: _map(step, views), "worked": lambda: _worked(step, views),
               "field": lambda: _field(step, views), "costs": lambda: _costs(step),
               "size": lambda: _size(step), "stems": lambda: _stems(step)}
    return [drawers[name]() for name in step.shows]


def _figure(picture: Picture) -> str:
    data = base64.b64encode(picture.png).decode("ascii")
    return (f"<figure><img src='data:image/png;base64,{data}' alt='{html.escape(picture.alt)}'>"
            f"<figcaption>{html.escape(picture.caption)}</figcaption></figure>")


def _view_said(step: Step) -> str:
    return ", ".join(f"{k} {v}" for k, v in step.state.items())


def handout_html(lesson: Lesson, *, answers: bool = True, seed: int = 0) -> str:
    """The lesson as one HTML page: per step its page and view, the question, where to look,
    its pictures (alt text each) and, with `answers`, the answer."""
    views = _Views(seed)
    weights = {default_weights(str(s.state["variant"])) for s in lesson.steps
               if s.page == EXPLORER}
    filters = " and ".join(sorted(weights_label(w, seed) for w in weights)) or "none"
    sections = []
    total = len(lesson.steps)
    for number, step in enumerate(lesson.steps, 1):
        pictures = "".join(_figure(p) for p in step_pictures(step, views))
        answer = (f"<p class='answer'><b>Answer.</b> {html.escape(step.answer)}</p>"
                  if answers else "")
        sections.append(
            f"<section class='step' aria-labelledby='step-{number}'>"
            f"<h2 id='step-{number}'>Step {number} of {total} · {html.escape(step.title)}</h2>"
            f"<p class='where'>On the <b>{html.escape(PAGE_TITLES[step.page])}</b> page "
            f"({html.escape(_view_said(step))}): <code>{html.escape(lesson.href(number))}</code>"
            f"</p><p class='question'><b>Question.</b> {html.escape(step.question)}</p>"
            f"<p><b>Look at</b> {html.escape(step.look)}.</p>{pictures}{answer}</section>")
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(lesson.title)} · vggviz handout</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(lesson.title)}</h1>"
            f"<p>{html.escape(lesson.summary)}</p>"
            f"<p class='where'>A vggviz lesson handout, made {date.today():%d %B %Y}. Each "
            f"step's view opens from the dashboards' address plus the step's link. The maps "
            f"below were drawn with {html.escape(filters)} filters (ImageNet's where this "
            f"computer's Keras cache holds them; else the explorer's seeded random ones, as "
            f"it shows them until they arrive); the charts are counted from the "
            f"architecture.</p>{''.join(sections)}</body></html>")
