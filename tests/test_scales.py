"""Colour scales and marks: colour bars read their values, the chosen tile is framed."""

import io

import numpy as np
from PIL import Image

from vggviz.render import (
    GAP_INDEX,
    LABEL_INDEX,
    colorbar,
    colour_ramp,
    grid_indices,
    outline_tile,
    palette,
    sign_legend,
)


def _rgb(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def test_colorbar_runs_from_the_colormap_low_end_to_its_high_end():
    bar = _rgb(colorbar(0.0, 5.0, cmap="viridis", width=200))
    pal = palette("viridis")
    assert bar.shape[1] == 200
    left, right = bar[5, 2].astype(int), bar[5, 197].astype(int)
    assert np.abs(left - pal[0].astype(int)).max() < 12  # matplotlib's viridis, low end
    assert np.abs(right - pal[253].astype(int)).max() < 12  # high end


def test_colorbar_marks_zero_only_when_it_lies_inside():
    inside = _rgb(colorbar(-1.0, 1.0, width=201))
    assert (inside[2:12, 100] < 60).all()  # a dark tick at the middle
    outside = _rgb(colorbar(0.5, 1.0, width=201))
    assert not (outside[2:12, 100] < 60).all()


def test_a_bare_colour_ramp_runs_from_the_colormap_low_end_to_its_high_end():
    import matplotlib

    ramp = _rgb(colour_ramp("magma"))
    assert ramp.shape == (1, 256, 3)  # stretched by the page; its values written by the page
    reference = (np.asarray(matplotlib.colormaps["magma"]([0.0, 1.0]))[:, :3] * 255).round()
    assert np.abs(ramp[0, [0, -1]].astype(int) - reference).max() <= 2


def test_sign_legend_is_blue_to_red_through_white():
    legend = _rgb(sign_legend(width=200))
    left, middle, right = legend[5, 3], legend[5, 100], legend[5, 196]
    assert left[2] > left[0] and right[0] > right[2]  # blue negative, red positive
    assert middle.min() > 200  # white at zero


def test_outline_frames_the_chosen_tile_and_nothing_else():
    maps = np.random.default_rng(0).random((16, 16, 9)).astype(np.float32)
    grid = grid_indices(maps, tile=16, labels=False)
    framed = outline_tile(grid.indices, grid.layout, 4)
    changed = np.argwhere(framed != grid.indices)
    x, y = grid.layout.origin(4)
    assert changed[:, 0].min() >= y and changed[:, 0].max() < y + 16
    assert changed[:, 1].min() >= x and changed[:, 1].max() < x + 16
    assert (framed[y, x:x + 16] == LABEL_INDEX).all() and framed[y + 8, x + 8] != LABEL_INDEX
    assert (framed == GAP_INDEX).sum() == (grid.indices == GAP_INDEX).sum()
    assert grid.indices is not framed  # the grid itself is untouched
