"""The network at a glance as a picture (PNG): the blocks of `vggviz.plan.glance` to their scale,
each named under it, for a page that cannot run the dashboards' drawing (a printed handout)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from vggviz.plan.glance import GAP_PX, Glance
from vggviz.render.palettes import encode_png
from vggviz.render.scales import _text_font

FILL = {"input": "#9aa0a6", "stem": "#1a56db", "group": "#5b8def", "classifier": "#e37400"}
"""A block's colour by its role: the stem stands out from the groups that follow it."""
MARK = "#d93025"


def _plain(text: str) -> str:
    """The text as Pillow's built-in font can draw it (it has no × or →)."""
    return text.replace("×", "x").replace("→", ">")


def glance_png(glance: Glance, *, scale: float = 2.5, mark: str = "stem") -> bytes:
    """The blocks left to right, bottom-aligned, `scale` px per drawing px, each named with its
    output shape under it; the block called `mark` outlined in red."""
    font = _text_font(13)
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    column = [max(block.width * scale, *(measure.textlength(_plain(text), font=font) + 6
                                         for text in (block.label, block.shape_text)))
              for block in glance.blocks]
    tallest = max(block.height for block in glance.blocks) * scale
    width, height = int(sum(column) + 12 * len(column)), int(tallest + 48)
    picture = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(picture)
    x = 6.0
    for block, room in zip(glance.blocks, column, strict=True):
        centre, bottom = x + room / 2, tallest + 6
        for box in reversed(block.boxes):  # the classifier's bars stack upwards
            left = centre - box.width * scale / 2
            top = bottom - box.height * scale
            draw.rectangle((left, top, left + box.width * scale, bottom),
                           fill=FILL[block.role],
                           outline=MARK if block.name == mark else FILL[block.role],
                           width=3 if block.name == mark else 1)
            bottom = top - GAP_PX * scale
        for line, text in enumerate((block.label, block.shape_text)):
            draw.text((centre, tallest + 12 + 16 * line), _plain(text), fill="#1f1f1f", font=font,
                      anchor="ma")
        x += room + 12
    return encode_png(np.asarray(picture))
