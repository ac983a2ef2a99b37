"""The landing page of `make dashboards`: the four apps, one line and a thumbnail each, and the
guided lessons through them."""

from __future__ import annotations

import base64
import html

import ipywidgets as w
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image, ImageDraw

from vggviz.plan import series
from vggviz.plan.accounting import summarize_all
from vggviz.plan.architecture import STEMS
from vggviz.plan.lessons import LESSONS, PAGE_TITLES
from vggviz.render import charts, encode_png
from vggviz.sources.images import fit_image, sample_image
from vggviz.sources.shapes import shapes
from vggviz.ui.parts.kernel_watch import Dashboard

THUMB = 150  # px, the side of each thumbnail

APPS = (
    ("01_stem_explorer.ipynb", "Stem explorer",
     "Your image through VGG's stem: its 64 feature maps, what one of them is, and why the "
     "VGG stem carries 21× the input's values into the learner."),
    ("02_vgg_family.ipynb", "The VGG family",
     "VGG11 to VGG19 and their batch-norm twins side by side: where the parameters, the "
     "memory and the compute are, and what the input size does to them."),
    ("03_stem_designs.ipynb", "Stem designs compared",
     "The same image through the VGG, pooled and strided stems at true relative size: what "
     "each hands to the learner and what it gives up."),
    ("04_watch_it_learn.ipynb", "Watch it learn",
     "Train a small VGG here on built-in shapes and watch its stem's 64 kernels form, one "
     "image's maps change and the accuracy climb; replay every recorded step."),
)


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _photo_thumb() -> bytes:
    """The sample the stem explorer opens on, as the network sees it."""
    return encode_png(fit_image(sample_image("Grace Hopper (photo)"), THUMB))


def _family_thumb() -> bytes:
    """Every variant's parameters, stacked by component: the family chart in small."""
    fig = charts.params_by_variant(series.by_variant(summarize_all(), "params"))
    fig.set_dpi(40)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    image = Image.fromarray(np.asarray(canvas.buffer_rgba())).convert("RGB")
    image.thumbnail((THUMB, THUMB))
    return encode_png(image)


def _stems_thumb() -> bytes:
    """Three squares at the true relative size of the stems' outputs (224, 112, 56)."""
    canvas = Image.new("RGB", (THUMB, THUMB), "white")
    draw = ImageDraw.Draw(canvas)
    colours = {key: tuple(int(charts.STEM_COLORS[key][i:i + 2], 16) for i in (1, 3, 5))
               for key in STEMS}
    x = 2
    for key, design in STEMS.items():
        side = round((THUMB - 12) * 0.57 / design.reduction)
        draw.rectangle([x, THUMB - 4 - side, x + side, THUMB - 4], fill=colours[key])
        x += side + 4
    return encode_png(np.asarray(canvas))


LEARN_SAMPLES = 16
"""Images of the built-in training set on the "Watch it learn" thumbnail, 4×4."""


def _learn_thumb() -> bytes:
    """Sixteen images of the built-in training set, a few of each class, as a 4×4 mosaic."""
    side = THUMB // 4
    data = shapes(LEARN_SAMPLES, side, seed=0)
    canvas = data.images.reshape(4, 4, side, side, 3).transpose(0, 2, 1, 3, 4)
    return encode_png(np.ascontiguousarray(canvas.reshape(4 * side, 4 * side, 3)))


def _learn_alt() -> str:
    """What the training-set thumbnail shows, from the images it was drawn from."""
    data = shapes(LEARN_SAMPLES, THUMB // 4, seed=0)
    names = sorted({data.class_names[label] for label in data.labels})
    return (f"{LEARN_SAMPLES} images of the built-in training set, of {len(names)} classes: "
            f"{', '.join(names)}")


def _thumb_alts() -> tuple[str, str, str]:
    """What each thumbnail shows, in words from what it was drawn from."""
    summaries = summarize_all()
    share = max(s.component("classifier").params / s.total_params for s in summaries)
    sides = ", ".join(f"{224 // d.reduction}" for d in STEMS.values())
    return ("the sample photo the stem explorer opens on, Grace Hopper",
            f"bars of every variant's parameters by component; the classifier holds up to "
            f"{round(100 * share)} % of them",
            f"three squares at the relative sizes of the stems' outputs: {sides} px a side")


def lessons() -> str:
    """The guided lessons, each a link to its first step with its line and its pages."""
    items = "".join(
        f"<li><a href='{html.escape(lesson.href(1))}'><b>{html.escape(lesson.title)}</b></a> "
        f"({len(lesson.steps)} steps, on "
        f"{html.escape(', '.join(dict.fromkeys(PAGE_TITLES[s.page] for s in lesson.steps)))})"
        f"<br>{html.escape(lesson.summary)}</li>"
        for lesson in LESSONS.values())
    return (f"<section class='vggviz-lessons' aria-labelledby='vggviz-lessons' "
            f"style='max-width:760px;margin:16px 0'><h2 id='vggviz-lessons' "
            f"style='font-size:1.3em;margin:0 0 4px'>Guided lessons</h2>"
            f"<p style='margin:0 0 4px'>A path through the pages, a question at each step and "
            f"its answer on request; a student follows it alone, a teacher projects it, and "
            f"each lesson prints as a handout.</p>"
            f"<ul style='line-height:1.4;padding-left:20px;margin:0'>{items}</ul></section>")


def landing() -> Dashboard:
    """Links to the four dashboards with a line and a thumbnail each, and to the lessons; the
    code tour is for JupyterLab, where its code can be read."""
    thumbs = (_photo_thumb(), _family_thumb(), _stems_thumb(), _learn_thumb())
    cards = "".join(
        f"<a class='vggviz-card' href='{html.escape(path)}' style='display:flex;gap:16px;"
        f"align-items:center;padding:12px;margin:8px 0;border:1px solid #ddd;border-radius:6px;"
        f"text-decoration:none;color:inherit;max-width:760px'>"
        f"<img src='{_data_uri(png)}' width='{THUMB}' height='{THUMB}' "
        f"alt='{html.escape(alt)}'>"
        f"<span><b style='font-size:1.2em'>{html.escape(title)}</b><br>{html.escape(line)}"
        f"</span></a>"
        for (path, title, line), png, alt in zip(APPS, thumbs, (*_thumb_alts(), _learn_alt()),
                                                 strict=True))
    tour = ("<p><small>The code tour (<code>00_tour.ipynb</code>: build, count, extract and "
            "draw from Python) is meant to be read: open it in JupyterLab with "
            "<code>make lab</code>.</small></p>")
    links = w.HTML(cards + lessons() + tour)
    links.add_class("vggviz-landing")
    return Dashboard([links])
