"""Tests of vggviz.render: grid geometry, normalisation, ordering, pages, kernels, PNG encoding."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fuzz_profile import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from vggviz import render
from vggviz.render import (
    GAP,
    GAP_INDEX,
    KERNEL_LABEL_HEIGHT,
    LABEL_INDEX,
    LEVELS,
    GridLayout,
    colour_range,
    encode_png,
    grid_indices,
    grid_layout,
    kernel_for,
    map_stats,
    order_channels,
    palette,
    render_grid,
    render_kernels,
    render_map,
)

ROOT = Path(__file__).resolve().parents[1]


def decode(png: bytes) -> Image.Image:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    im = Image.open(io.BytesIO(png))
    im.load()
    return im


def random_maps(h: int, w: int, c: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((h, w, c), dtype=np.float32)


def tile_at(grid: np.ndarray, layout: GridLayout, position: int) -> np.ndarray:
    x, y = layout.origin(position)
    return grid[y : y + layout.tile_h, x : x + layout.tile_w]


def centre(layout: GridLayout, position: int) -> tuple[int, int]:
    x, y = layout.origin(position)
    return x + layout.tile_w // 2, y + layout.tile_h // 2


# --------------------------------------------------------------------------- geometry


@pytest.mark.parametrize(
    ("n", "side", "tile", "columns", "expect_tile", "expect_columns"),
    [
        (64, 224, None, None, 112, 8),  # the stem overview: 8×8 tiles of 112 px
        (64, 224, 56, None, 56, 8),
        (64, 224, 224, 16, 224, 16),
        (10, 16, 16, 4, 16, 4),  # last row part-filled
        (5, 7, 28, None, 28, 3),
        (128, 112, None, None, 56, 12),
        (512, 14, None, None, 28, 23),
        (3, 10, 10, 8, 10, 3),  # columns are capped at n
    ],
)
def test_grid_size(n, side, tile, columns, expect_tile, expect_columns):
    maps = random_maps(side, side, n)
    im = decode(render_grid(maps, tile=tile, columns=columns))
    rows = -(-n // expect_columns)
    assert im.mode == "P"
    assert im.size == (
        expect_columns * expect_tile + (expect_columns - 1) * GAP,
        rows * expect_tile + (rows - 1) * GAP,
    )
    layout = grid_layout(n, tile, columns, map_size=(side, side))
    assert (layout.tile_w, layout.tile_h, layout.columns) == (expect_tile,) * 2 + (expect_columns,)
    assert im.size == layout.size
    if tile is None:
        assert im.size[0] <= render.MAX_GRID_WIDTH


def test_default_grid_is_at_most_about_1000_px_wide():
    for side, c in [(224, 64), (112, 128), (56, 256), (28, 512), (14, 512), (7, 512), (7, 64)]:
        layout = grid_layout(c, map_size=(side, side))
        assert layout.width <= render.MAX_GRID_WIDTH
        assert layout.tile_w >= 28, (side, c, layout)  # small maps are up-sampled to be seen


def test_non_square_maps_keep_their_aspect():
    maps = random_maps(10, 20, 6)
    grid = grid_indices(maps, tile=40, labels=False)
    assert (grid.layout.tile_h, grid.layout.tile_w) == (20, 40)
    assert grid.indices.shape == (2 * 20 + GAP, 3 * 40 + 2 * GAP)


def test_gaps_and_empty_cells_are_gap_colour():
    maps = random_maps(16, 16, 10)
    grid = render_grid(maps, tile=16, columns=4, fmt="raw")
    for k in range(1, 4):  # vertical gaps
        x = k * 16 + (k - 1) * GAP
        assert (grid[:, x : x + GAP] == GAP_INDEX).all()
    for k in range(1, 3):  # horizontal gaps
        y = k * 16 + (k - 1) * GAP
        assert (grid[y : y + GAP, :] == GAP_INDEX).all()
    assert (grid[2 * 18 :, 2 * 18 :] == GAP_INDEX).all()  # cells 10 and 11 are empty
    im = decode(render_grid(maps, tile=16, columns=4))
    assert (np.asarray(im) == grid).all()
    pal = np.array(im.getpalette()[:768], np.uint8).reshape(-1, 3)
    assert tuple(pal[GAP_INDEX]) == render.GAP_RGB
    assert (pal == palette("viridis")).all()


def test_maps_use_only_colormap_levels():
    grid = render_grid(random_maps(32, 32, 9), labels=False, fmt="raw")
    layout = grid_layout(9, map_size=(32, 32))
    tiles = np.stack([tile_at(grid, layout, i) for i in range(9)])
    assert tiles.max() == LEVELS - 1 and tiles.min() == 0


@settings(max_examples=examples(60), deadline=None)
@given(
    n=st.integers(1, 40),
    tile=st.integers(1, 20),
    columns=st.integers(1, 12),
    gap=st.integers(0, 4),
    data=st.data(),
)
def test_position_at_agrees_with_origin(n, tile, columns, gap, data):
    layout = grid_layout(n, tile, columns, gap=gap)
    order = list(range(100, 100 + n))
    position = data.draw(st.integers(0, n - 1))
    dx, dy = data.draw(st.integers(0, tile - 1)), data.draw(st.integers(0, tile - 1))
    x, y = layout.origin(position)
    assert layout.position_at(x + dx, y + dy) == position
    assert layout.channel_at(x + dx + 0.5, y + dy + 0.5, order) == 100 + position
    if gap and x + tile < layout.width:
        assert layout.channel_at(x + tile, y, order) is None  # in the gap to the right
    assert layout.channel_at(-1, 0, order) is None
    assert layout.channel_at(layout.width + gap, 0, order) is None
    assert layout.channel_at(0, layout.height + gap, order) is None


def test_channel_at_empty_cell_is_none():
    layout = grid_layout(10, 16, 4)
    assert layout.channel_at(*centre(layout, 9), range(10)) == 9
    assert layout.channel_at(3 * 18 + 5, 2 * 18 + 5, range(10)) is None  # cell 11 is empty


# --------------------------------------------------------------------------- pages and labels


def test_page_shows_those_channels():
    values = np.arange(256, dtype=np.float32)
    maps = np.broadcast_to(values, (8, 8, 256))  # channel c is the constant c
    grid = grid_indices(
        maps, channels=range(64, 128), normalize="shared", tile=32, labels=False
    )
    assert grid.channels == list(range(64, 128))
    for i in range(64):
        tile = tile_at(grid.indices, grid.layout, i)
        assert (tile == int(i * (LEVELS - 1e-3) / 63)).all()
        assert grid.channel_at(*centre(grid.layout, i)) == 64 + i
    assert order_channels(maps, "index", range(64, 128)) == list(range(64, 128))


def test_labels_only_touch_a_corner_and_show_the_true_channel():
    maps = random_maps(56, 56, 256)
    page = dict(channels=range(64, 128), tile=56, fmt="raw")
    with_labels = render_grid(maps, labels=True, **page)
    without = render_grid(maps, labels=False, **page)
    layout = grid_layout(64, 56, map_size=(56, 56))
    changed = with_labels != without
    for i in range(64):
        x, y = layout.origin(i)
        box = changed[y : y + 56, x : x + 56]  # label pixels: values 254/255, maps are 0..253
        ys, xs = np.nonzero(box)
        assert ys.size, f"tile {i} has no label"
        assert ys.max() < 12 and xs.max() < 6 * len(str(64 + i)) + 4  # top-left corner only
        label = np.where(box, tile_at(with_labels, layout, i), 0)
        assert set(np.unique(label[box])) == {GAP_INDEX, LABEL_INDEX}
        # it reads the true channel number: the same stamp as a one-tile grid of that channel
        alone = render_grid(maps, channels=[64 + i], tile=56, fmt="raw")
        assert (np.where(alone >= GAP_INDEX, alone, 0) == label).all()
    zero = render_grid(maps, channels=[0], tile=56, fmt="raw")
    first = np.where(changed[:56, :56], with_labels[:56, :56], 0)
    assert (np.where(zero >= GAP_INDEX, zero, 0) != first).any()  # "64" is not drawn as "0"


def test_scaled_labels_stay_legible_on_a_grid_shown_smaller():
    """`label_px` draws the numbers in the scalable font: a 910-px grid shown 460 px wide (the
    explorer's narrowest) with label_px=24 keeps them as high as 12 px text's digits (about
    two thirds of the font size) on the screen, where the bitmap font's shrink to 3.5 px."""
    maps = random_maps(224, 224, 64)
    layout = grid_layout(64, 112, map_size=(224, 224))
    heights = {}
    for size in (None, 24):
        grid = render_grid(maps, tile=112, label_px=size, fmt="raw")
        corner = tile_at(grid, layout, 7) == LABEL_INDEX  # "7": a digit's full height
        rows = np.nonzero(corner.any(axis=1))[0]
        heights[size] = (rows.max() - rows.min() + 1) * 460 / layout.width
    assert heights[24] >= 0.65 * 12 and heights[None] < 0.65 * 12, heights


def test_labels_are_skipped_on_tiny_tiles():
    maps = random_maps(8, 8, 4)
    assert (render_grid(maps, tile=8, fmt="raw") == render_grid(
        maps, tile=8, labels=False, fmt="raw")).all()


# --------------------------------------------------------------------------- normalisation


def test_constant_map_is_one_colour():
    maps = random_maps(16, 16, 4)
    maps[:, :, 2] = 5.0
    grid = grid_indices(maps, tile=16, labels=False)
    assert (tile_at(grid.indices, grid.layout, 2) == 0).all()
    flat = np.full((16, 16, 3), 3.0, np.float32)
    for normalize in ("per_map", "shared"):
        assert (render_grid(flat, normalize=normalize, labels=False, fmt="raw")
                [:16, :16] == 0).all()
        im = decode(render_grid(flat, normalize=normalize))
        assert np.asarray(im)[20:30, 5].tolist() == [0] * 10
    png = render_map(flat, 1)
    assert set(np.unique(np.asarray(decode(png)))) == {0}


def test_shared_versus_per_map():
    base = random_maps(16, 16, 1)
    maps = np.concatenate([base, 2 * base], axis=2)  # map 1 is twice map 0
    per = grid_indices(maps, tile=16, labels=False)
    shared = grid_indices(maps, tile=16, normalize="shared", labels=False)
    t0, t1 = tile_at(per.indices, per.layout, 0), tile_at(per.indices, per.layout, 1)
    assert (t0 == t1).all()
    s0, s1 = tile_at(shared.indices, shared.layout, 0), tile_at(shared.indices, shared.layout, 1)
    assert (s0 != s1).any()
    assert s1.max() == LEVELS - 1 and s0.max() <= LEVELS // 2
    assert (s1 >= s0).all()


def test_non_finite_values_do_not_break_the_grid():
    maps = random_maps(8, 8, 3)
    maps[0, 0, 0] = np.nan
    maps[1, 1, 1] = np.inf
    assert decode(render_grid(maps)).size == grid_layout(3, map_size=(8, 8)).size
    assert decode(render_map(maps, 0)).size == (448, 448)
    assert decode(render_map(maps, 2, normalize="shared")).size == (448, 448)


# --------------------------------------------------------------------------- ordering


def test_order_mean_puts_brightest_first():
    rng = np.random.default_rng(1)
    maps = rng.random((24, 24, 16), dtype=np.float32)
    maps *= rng.permutation(16).astype(np.float32)[None, None, :] + 1
    brightest = int(np.argmax(maps.mean(axis=(0, 1))))
    grid = grid_indices(maps, order="mean", normalize="shared", tile=24, labels=False)
    assert grid.channels[0] == brightest
    assert grid.channels == order_channels(maps, "mean")
    expected = np.argsort(-maps.mean(axis=(0, 1), dtype=np.float64), kind="stable")
    assert grid.channels == expected.tolist()
    assert grid.channel_at(*centre(grid.layout, 0)) == brightest
    means = [tile_at(grid.indices, grid.layout, i).mean() for i in range(16)]
    assert means == sorted(means, reverse=True)
    # with a page, only the page is sorted
    assert sorted(order_channels(maps, "mean", range(4, 12))) == list(range(4, 12))


def test_order_sparsity_puts_most_zeros_first():
    maps = np.ones((10, 10, 5), np.float32)
    zeros = [3, 0, 7, 7, 1]  # rows of zeros per channel: channels 2 and 3 tie
    for c, z in enumerate(zeros):
        maps[:z, :, c] = 0
    assert order_channels(maps, "sparsity") == [2, 3, 0, 4, 1]
    grid = grid_indices(maps, order="sparsity", tile=10)
    assert grid.channels == [2, 3, 0, 4, 1]
    assert grid.channel_at(*centre(grid.layout, 4)) == 1
    assert order_channels(maps, "index", [4, 1, 3]) == [4, 1, 3]


# --------------------------------------------------------------------------- resampling


def test_small_maps_are_upsampled_with_repeat():
    maps = random_maps(7, 7, 4)
    grid = grid_indices(maps, tile=28, labels=False)
    assert (grid.layout.tile_w, grid.layout.tile_h) == (28, 28)
    for i in range(4):
        m = maps[:, :, i]
        q = ((m - m.min()) * ((LEVELS - 1e-3) / (m.max() - m.min()))).astype(np.uint8)
        blocks = np.kron(q, np.ones((4, 4), np.uint8))
        assert (tile_at(grid.indices, grid.layout, i) == blocks).all()
    assert grid_layout(512, map_size=(7, 7)).tile_w == 35
    assert grid_layout(64, map_size=(7, 7)).tile_w == 112


def test_large_maps_are_area_mean_pooled():
    m = np.zeros((4, 4, 1), np.float32)
    m[:2, :2] = 1.0  # pooled 2×2: [[1, 0], [0, 0]]
    m[2:, 2:] = 0.5  # pooled 2×2: [[1, 0], [0, 0.5]]
    m[0, 2] = 1.0  # a single bright pixel in the top-right block: its mean is 0.25
    tile = tile_at(render_grid(m, tile=2, labels=False, fmt="raw"), grid_layout(1, 2), 0)
    assert tile.tolist() == [[253, 63], [0, 126]]
    odd = grid_indices(random_maps(224, 224, 4), tile=100, labels=False)
    assert odd.indices.shape == (2 * 100 + GAP, 2 * 100 + GAP)



@pytest.mark.parametrize("normalize", ["per_map", "shared"])
def test_pooling_band_by_band_draws_what_one_pass_draws(monkeypatch, normalize):
    """Maps read in bands of rows (BAND_BYTES) give the grid of one band; a NaN or inf in a
    late band still takes the finite-values path."""
    maps = random_maps(48, 36, 5) * np.linspace(1, 9, 5, dtype=np.float32)
    maps[40, 3, 2] = 70.0  # the largest value lies in the last band
    monkeypatch.setattr(render.maps, "BAND_BYTES", 2**40)
    whole = grid_indices(maps, normalize=normalize, tile=12, labels=False).indices
    monkeypatch.setattr(render.maps, "BAND_BYTES", 1)  # one band per pooled row
    banded = grid_indices(maps, normalize=normalize, tile=12, labels=False).indices
    np.testing.assert_array_equal(banded, whole)
    maps[45, 0, 1], maps[44, 30, 4] = np.nan, np.inf
    with np.errstate(all="raise"):
        banded = grid_indices(maps, normalize=normalize, tile=12, labels=False).indices
    monkeypatch.setattr(render.maps, "BAND_BYTES", 2**40)
    np.testing.assert_array_equal(
        banded, grid_indices(maps, normalize=normalize, tile=12, labels=False).indices)


# --------------------------------------------------------------------------- single maps and stats


@pytest.mark.parametrize(
    ("side", "scale", "size"), [(224, None, 448), (7, None, 448), (14, 3, 42), (500, None, 500)]
)
def test_render_map_size(side, scale, size):
    maps = random_maps(side, side, 2)
    im = decode(render_map(maps, 1, scale=scale))
    assert im.size == (size, size) and im.mode == "P"


def test_render_map_values_and_limits():
    m = np.arange(16, dtype=np.float32).reshape(4, 4, 1)
    q = np.asarray(decode(render_map(m, 0, scale=1)))
    assert q[0, 0] == 0 and q[-1, -1] == LEVELS - 1
    two = np.concatenate([m, 2 * m], axis=2)
    shared = np.asarray(decode(render_map(two, 0, scale=1, normalize="shared")))
    assert shared.max() == (LEVELS - 1) // 2
    big = np.asarray(decode(render_map(m, 0, scale=2)))
    assert (big[::2, ::2] == q).all() and (big[1::2, 1::2] == q).all()


def test_map_stats_values():
    maps = np.zeros((2, 2, 3), np.float32)
    maps[:, :, 0] = [[1, 2], [3, 4]]
    maps[:, :, 1] = [[0, 0], [0, 8]]
    maps[:, :, 2] = [[-1, 0], [1, 0]]
    stats = map_stats(maps)
    assert set(stats) == {"min", "max", "mean", "zeros"}
    np.testing.assert_allclose(stats["min"], [1, 0, -1])
    np.testing.assert_allclose(stats["max"], [4, 8, 1])
    np.testing.assert_allclose(stats["mean"], [2.5, 2, 0])
    np.testing.assert_allclose(stats["zeros"], [0, 0.75, 0.5])


# --------------------------------------------------------------------------- kernels


def test_render_kernels_size_and_grey_for_deep_kernels():
    rng = np.random.default_rng(2)
    im = decode(render_kernels(rng.normal(size=(3, 3, 3, 64))))
    assert im.size == (8 * 24 + 7 * GAP,) * 2 and im.mode == "RGB"
    deep = render_kernels(rng.normal(size=(3, 3, 64, 128)), tile=12, fmt="raw")
    assert deep.shape == (11 * 12 + 10 * GAP, 12 * 12 + 11 * GAP, 3)
    assert (deep[..., 0] == deep[..., 1]).all() and (deep[..., 1] == deep[..., 2]).all()
    assert decode(render_kernels(rng.normal(size=(3, 3, 3, 5)), tile=7)).size == (
        3 * 7 + 2 * GAP, 2 * 7 + GAP)


def test_bgr_kernel_channel_zero_is_blue():
    w = np.zeros((3, 3, 3, 4))
    w[:, :, 0, 1] = 1.0  # input channel 0 of a BGR network is Blue
    grid = render_kernels(w, tile=6, fmt="raw")
    tile1 = grid[:6, 6 + GAP : 12 + GAP]
    assert (tile1 == [0, 0, 255]).all()
    as_rgb = render_kernels(w, tile=6, fmt="raw", channel_order="RGB")
    assert (as_rgb[:6, 6 + GAP : 12 + GAP] == [255, 0, 0]).all()

    one = kernel_for(w, 1, tile=48)
    im = decode(one)
    assert im.size == (4 * 48 + 3 * GAP, 48 + KERNEL_LABEL_HEIGHT)
    a = np.asarray(im)
    tiles = [a[:48, i * (48 + GAP) : i * (48 + GAP) + 48] for i in range(4)]
    assert (tiles[0] == [0, 0, 255]).all()  # the RGB tile
    red, green, blue = (t[24, 24].astype(int) for t in tiles[1:])
    assert (red == green).all()  # zero weights: the diverging colormap's middle
    assert red.min() > 200  # the sign colours' middle is a light grey
    assert (blue == render.palettes._colors(render.SIGN_CMAP, 256)[255]).all()  # positive: red end
    assert blue[0] > blue[2] + 50
    assert (a[48:] != render.GAP_RGB).any(axis=2).sum() > 20  # the R, G, B labels


def test_kernel_for_symmetric_around_zero():
    w = np.zeros((3, 3, 3, 1))
    w[0, 0, 2, 0], w[2, 2, 2, 0] = 1.0, -1.0  # input 2 is R in BGR
    a = kernel_for(w, 0, tile=3, fmt="raw")
    r_tile = a[:3, 3 + GAP : 6 + GAP].astype(int)
    lut = render.palettes._colors(render.SIGN_CMAP, 256)
    assert (r_tile[0, 0] == lut[255]).all() and (r_tile[2, 2] == lut[0]).all()
    assert (r_tile[1, 1] == lut[128]).all()
    deep = kernel_for(np.random.default_rng(3).normal(size=(3, 3, 8, 2)), 1, tile=30)
    assert decode(deep).size == (2 * 30 + GAP, 30 + KERNEL_LABEL_HEIGHT)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda m: render_grid(m, cmap="nope"), "viridis"),
        (lambda m: render_grid(m, normalize="global"), "per_map"),
        (lambda m: render_grid(m, order="max"), "sparsity"),
        (lambda m: render_grid(m, fmt="jpeg"), "png"),
        (lambda m: render_grid(m[:, :, 0]), "3-D"),
        (lambda m: render_grid(m[None]), "maps\\[0\\]"),
        (lambda m: render_grid(m, channels=range(60, 70)), "0..63"),
        (lambda m: render_grid(m, channels=[-1]), "0..63"),
        (lambda m: render_grid(m, channels=[]), "non-empty"),
        (lambda m: render_grid(m, channels=3), "sequence"),
        (lambda m: render_grid(m, tile=0), "tile"),
        (lambda m: render_grid(m, columns=0), "columns"),
        (lambda m: order_channels(m, "brightness"), "mean"),
        (lambda m: render_map(m, 64), "0..63"),
        (lambda m: render_map(m, 0, scale=0), "scale"),
        (lambda m: render_map(m, 0, cmap="nope"), "matplotlib"),
        (lambda m: map_stats(m[0]), "3-D"),
        (lambda m: render_kernels(m), "kernel"),
        (lambda m: kernel_for(np.zeros((3, 3, 3, 4)), 4), "0..3"),
        (lambda m: kernel_for(np.zeros((3, 3, 3, 4)), 0, channel_order="GBR"), "BGR"),
        (lambda m: render_kernels(np.zeros((3, 3, 3, 4)), fmt="gif"), "raw"),
        (lambda m: grid_layout(4), "map_size"),
        (lambda m: encode_png(m), "uint8"),
        (lambda m: encode_png(np.zeros((2, 2, 2), np.uint8)), "shape"),
        (lambda m: encode_png(np.zeros((2, 2), np.uint8), palette=b"\x00" * 4), "palette"),
    ],
)
def test_invalid_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call(random_maps(8, 8, 64))


# --------------------------------------------------------------------------- PNG encoding


def test_palette_is_cached_and_reserves_gap_and_label():
    pal = palette("magma")
    assert pal.shape == (256, 3) and pal.dtype == np.uint8
    assert palette("magma") is pal
    assert tuple(pal[GAP_INDEX]) == render.GAP_RGB and tuple(pal[LABEL_INDEX]) == render.LABEL_RGB
    for name in render.COLORMAPS:
        assert palette(name).shape == (256, 3)


@settings(max_examples=examples(40), deadline=None)
@given(
    h=st.integers(1, 40),
    w=st.integers(1, 40),
    samples=st.sampled_from([0, 1, 3, 4]),
    seed=st.integers(0, 2**16),
)
def test_encode_png_round_trip(h, w, samples, seed):
    rng = np.random.default_rng(seed)
    shape = (h, w) if samples < 2 else (h, w, samples)
    arr = rng.integers(0, 256, shape, dtype=np.uint8)
    if rng.random() < 0.5:
        arr[: h // 2] = 0  # runs, for the RLE strategy
    pal = rng.integers(0, 256, (256, 3), dtype=np.uint8) if samples == 0 else None
    im = decode(encode_png(arr, palette=pal))
    assert im.mode == {0: "P", 1: "L", 3: "RGB", 4: "RGBA"}[samples]
    assert (np.asarray(im) == arr).all()
    if pal is not None:
        assert (np.array(im.getpalette(), np.uint8).reshape(-1, 3) == pal).all()


def test_encode_png_large_and_pil_images():
    arr = np.random.default_rng(4).integers(0, 254, (1000, 1200), dtype=np.uint8)
    arr[:, :600] = 7
    png = encode_png(arr, palette=palette("viridis"))
    assert (np.asarray(decode(png)) == arr).all()
    assert len(png) < arr.size  # compressed
    p = Image.fromarray(arr, "P")
    p.putpalette(palette("gray").tobytes())
    back = decode(encode_png(p))
    assert (np.asarray(back) == arr).all() and back.getpalette()[:6] == [0, 0, 0, 1, 1, 1]
    rgb = Image.new("RGB", (3, 2), (1, 2, 3))
    assert np.asarray(decode(encode_png(rgb))).tolist() == np.asarray(rgb).tolist()
    assert decode(encode_png(Image.new("I;16", (4, 4)))).size == (4, 4)


def test_the_stem_grid_png_decodes_to_its_indices_and_is_smaller_than_pillows():
    """The grid PNG (written here, Up-filtered, ISA-L deflate) holds exactly the palette
    indices and palette Pillow's own PNG writer would store, in fewer bytes than Pillow's
    fastest setting (zlib level 1, Z_RLE) gives for a photo's maps (white noise would not:
    Up-filtering suits maps of pictures); PIL checks each chunk's CRC as it reads."""
    import zlib

    from vggviz.network.features import FeatureExtractor
    from vggviz.sources.images import sample_image

    maps = FeatureExtractor("vgg16", weights="random").activations(
        sample_image("Grace Hopper (photo)"), "stem")
    indices = grid_indices(maps).indices
    pal = palette("viridis")
    png = encode_png(indices, palette=pal)
    ours = decode(png)
    reference = Image.fromarray(indices, "P")
    reference.putpalette(pal.tobytes())
    buffer = io.BytesIO()
    reference.save(buffer, "PNG", compress_level=1, compress_type=zlib.Z_RLE)
    theirs = decode(buffer.getvalue())
    assert ours.mode == theirs.mode == "P"
    assert (np.asarray(ours) == indices).all() and (np.asarray(theirs) == indices).all()
    assert ours.getpalette() == theirs.getpalette()
    assert len(png) < len(buffer.getvalue())


def test_a_short_palette_is_padded_to_cover_every_index():
    """PNG needs a PLTE entry for every index used: indices past a short palette are black."""
    arr = np.array([[0, 1], [5, 1]], np.uint8)
    im = decode(encode_png(arr, palette=[[10, 20, 30], [40, 50, 60]]))
    assert (np.asarray(im) == arr).all()
    colours = np.array(im.getpalette(), np.uint8).reshape(-1, 3)
    assert colours[:2].tolist() == [[10, 20, 30], [40, 50, 60]] and len(colours) >= 6
    assert colours[5].tolist() == [0, 0, 0]


def test_import_is_light():
    code = (
        "import sys, numpy as np, vggviz.render as r;"
        "r.render_grid(np.ones((8, 8, 4), np.float32));"
        "bad = {'tensorflow', 'keras', 'matplotlib.pyplot'} & set(sys.modules);"
        "assert not bad, bad"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT)


def test_huge_finite_values_render_without_overflow_or_recursion():
    x = np.clip(np.random.default_rng(0).normal(size=(224, 224, 4)) * 3e38, -3e38, 3e38)
    grid = grid_indices(x.astype(np.float32), labels=False, columns=4)
    tiles = [grid.indices[:, i * 114:i * 114 + 112] for i in range(4)]
    x = x.astype(np.float32).astype(np.float64)  # the 2×2 means, worked out in float64
    means = x.reshape(112, 2, 112, 2, 4).mean(axis=(1, 3))
    lo, hi = x.min(axis=(0, 1)), x.max(axis=(0, 1))
    levels = np.clip((means - lo) / (hi - lo) * LEVELS, 0, LEVELS - 1).astype(int)
    for i, t in enumerate(tiles):  # each mean in the colour the map's own range gives it
        assert np.abs(t.astype(int) - levels[:, :, i]).max() <= 1


def test_an_inf_in_one_map_leaves_its_other_pixels_their_range():
    x = np.random.default_rng(1).random((224, 224, 3)).astype(np.float32)
    x[0, 0, 1], x[5, 5, 2] = np.inf, np.nan
    grid = grid_indices(x, labels=False, columns=3)
    tile = grid.indices[:, 114:226]  # 2×2 means of uniform noise: nearly the whole range
    assert tile.min() < LEVELS // 8 and tile.max() > LEVELS - LEVELS // 8
    assert len(np.unique(tile)) > 200  # not collapsed to a few colours by the inf


def test_a_large_map_shares_the_range_of_the_channels_asked_for_and_refuses_others():
    maps = random_maps(8, 8, 4)
    maps[:, :, 3] *= 100  # a much brighter map outside the shared page
    page = render_map(maps, 1, scale=1, normalize="shared", channels=[0, 1])
    lo, hi = colour_range(maps, [0, 1])
    assert (lo, hi) == (float(maps[:, :, :2].min()), float(maps[:, :, :2].max()))
    levels = np.asarray(decode(page))
    expected = ((maps[:, :, 1] - lo) / (hi - lo) * (LEVELS - 1e-3)).astype(int)
    assert np.array_equal(levels, expected)
    with pytest.raises(ValueError, match="channel 3 is not among the channels"):
        render_map(maps, 3, normalize="shared", channels=[0, 1])


def test_render_patterns_places_each_pattern_sharp_in_the_grid():
    from vggviz.render import grid_layout
    from vggviz.render.patterns import render_patterns

    rng = np.random.default_rng(0)
    tiles = [rng.integers(0, 256, (5, 5, 3), dtype=np.uint8) for _ in range(7)]
    picture = np.asarray(Image.open(io.BytesIO(render_patterns(tiles, tile=20))))
    layout = grid_layout(7, 20)
    assert picture.shape == (layout.height, layout.width, 3)
    row, col = divmod(5, layout.columns)
    top, left = row * (20 + layout.gap), col * (20 + layout.gap)
    assert np.array_equal(picture[top:top + 20:4, left:left + 20:4], tiles[5])
    with pytest.raises(ValueError, match="square"):
        render_patterns([np.zeros((4, 5, 3), np.uint8)])
