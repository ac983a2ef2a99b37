"""The built-in data set: ten classes of patterns and shapes drawn from a seed, no download.

The classes differ only in edges, orientation, texture and shape: stripes at four angles, checks,
rings, dots, a triangle, a disc and a cross. Every colour (the object's two, the background's) is
drawn at random for every image alike, so no class has a colour of its own and an image's mean
colour says next to nothing about its class; the object sits at a random place and scale on a
cluttered background (smooth colour blotches and a few rectangles), and its box is known.
Everything is drawn at once for a chunk of images with numpy (no loop over images), anti-aliased.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CLASSES = ("stripes 0°", "stripes 45°", "stripes 90°", "stripes 135°", "checks", "rings",
           "dots", "triangle", "disc", "cross")
"""The class names, by label. Stripe angles are of the stripes, counter-clockwise from
horizontal (90° = vertical), as the bundled grating samples name them."""

MIN_SIZE = 32
"""The smallest side drawn: the VGG stem's smallest input (five 2×2 pools)."""

_CHUNK_PIXELS = 2**20
"""Pixels drawn at once (a chunk of images), so memory stays near 30 MB at any count or size."""


@dataclass(frozen=True)
class Shapes:
    """Images (N, S, S, 3) uint8 RGB, their labels (N,) int64, object boxes (N, 4) int64 as
    (x0, y0, x1, y1) in pixels with x1, y1 exclusive, and the class names, by label."""

    images: np.ndarray
    labels: np.ndarray
    boxes: np.ndarray
    class_names: tuple[str, ...] = CLASSES

    def __len__(self) -> int:
        return len(self.labels)


def shapes(count: int, size: int = 64, *, seed: int = 0, with_masks: bool = False
           ) -> Shapes | tuple[Shapes, np.ndarray]:
    """`count` images of `size`×`size` px, the same for the same seed, classes in turn (label i %
    10 then shuffled); with `with_masks` also each object's pixels as (N, S, S) bool, the
    ground truth its box is the bounds of."""
    if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 1:
        raise ValueError(f"count must be a whole number of at least 1, got {count!r}")
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < MIN_SIZE:
        raise ValueError(f"size must be a whole number of at least {MIN_SIZE} px (the VGG "
                         f"stem's smallest input), got {size!r}")
    count, size = int(count), int(size)
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(count) % len(CLASSES))
    images = np.empty((count, size, size, 3), np.uint8)
    boxes = np.empty((count, 4), np.int64)
    masks = np.empty((count, size, size), bool) if with_masks else None
    chunk = max(1, _CHUNK_PIXELS // (size * size))
    for start in range(0, count, chunk):
        part = slice(start, min(count, start + chunk))
        mask = _draw(rng, labels[part], size, images[part])
        boxes[part] = _bounds(mask)
        if masks is not None:
            masks[part] = mask
    data = Shapes(images, labels.astype(np.int64), boxes)
    return (data, masks) if with_masks else data


def _draw(rng: np.random.Generator, labels: np.ndarray, size: int, out: np.ndarray) -> np.ndarray:
    """Draw one chunk into `out` (n, S, S, 3); return where each object is (n, S, S) bool."""
    n = len(labels)
    background = _background(rng, n, size)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    # The object's box: a square of 45-85 % of the side, anywhere inside the image.
    side = rng.uniform(0.45, 0.85, n).astype(np.float32) * size
    cx = rng.uniform(side / 2, size - side / 2).astype(np.float32)
    cy = rng.uniform(side / 2, size - side / 2).astype(np.float32)
    u = x[None] - cx[:, None, None]
    v = y[None] - cy[:, None, None]
    angle = np.where(labels < 4, np.radians(45.0 * labels), rng.uniform(0, np.pi, n))
    angle = (angle + np.radians(rng.uniform(-7, 7, n))).astype(np.float32)
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    # Coordinates turned by the angle; `across` runs across the stripes (image y points down).
    along, across = u * cos - v * sin, u * sin + v * cos
    period = (rng.uniform(0.9, 1.6, n) * max(5.0, size / 8)).astype(np.float32)[:, None, None]
    phase = rng.uniform(0, 2 * np.pi, n).astype(np.float32)[:, None, None]
    half = side[:, None, None] / 2
    # Coverage (0-1) of the object's first colour, and of the object over the background.
    share = np.zeros((n, size, size), np.float32)
    alpha = np.zeros((n, size, size), np.float32)
    inside = _soft(half - np.maximum(np.abs(u), np.abs(v)))  # the square box, edges smoothed
    for label in range(len(CLASSES)):
        k = labels == label
        if not k.any():
            continue
        if label < 4:
            share[k] = _stripes(across[k], period[k], phase[k])
        elif label == 4:
            a, b = along[k] / period[k], across[k] / period[k]
            share[k] = _soft(np.minimum(np.abs(np.sin(np.pi * a)), np.abs(np.sin(np.pi * b)))
                             * np.sign(np.sin(np.pi * a) * np.sin(np.pi * b)) * period[k] / np.pi)
        elif label == 5:
            share[k] = _stripes(np.hypot(u[k], v[k]), period[k], phase[k])
        elif label == 6:
            p = period[k] * 1.2
            du = (along[k] / p % 1 - 0.5) * p
            dv = (across[k] / p % 1 - 0.5) * p
            share[k] = _soft(0.3 * p - np.hypot(du, dv))
        if label < 7:
            alpha[k] = inside[k]
            continue
        r = half[k]
        if label == 7:  # an equilateral triangle, centroid at the box's centre, turned
            edges = [along[k] * np.cos(t) + across[k] * np.sin(t)
                     for t in (np.pi / 2, np.pi / 2 + 2 * np.pi / 3, np.pi / 2 + 4 * np.pi / 3)]
            alpha[k] = _soft(0.5 * r - np.maximum(np.maximum(edges[0], edges[1]), edges[2]))
        elif label == 8:
            alpha[k] = _soft(r - np.hypot(u[k], v[k]))
        else:  # a cross: two bars of a third of the side, turned
            bar = r / 3
            alpha[k] = _soft(np.maximum(
                np.minimum(r - np.abs(along[k]), bar - np.abs(across[k])),
                np.minimum(bar - np.abs(along[k]), r - np.abs(across[k]))))
        share[k] = 1.0
    first, second = _object_colours(rng, background, cx, cy)
    share = share[..., None]
    colour = share * first[:, None, None] + (1 - share) * second[:, None, None]
    picture = alpha[..., None] * colour + (1 - alpha[..., None]) * background
    picture += 4 * rng.standard_normal(picture.shape, dtype=np.float32)
    np.clip(np.rint(picture), 0, 255, out=picture)
    out[...] = picture.astype(np.uint8)
    return alpha > 0


def _soft(distance: np.ndarray) -> np.ndarray:
    """Coverage of a pixel by a region, from the signed distance (px) of its centre to the
    region's edge (positive inside): one pixel of anti-aliasing."""
    return np.clip(0.5 + distance, 0.0, 1.0)


def _stripes(t: np.ndarray, period: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """Coverage of stripes of `period` px along coordinate `t` (px), anti-aliased."""
    return _soft(np.sin(2 * np.pi * t / period + phase) * period / (2 * np.pi))


def _background(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """Clutter: smooth blotches of random colour (a 4×4 grid of colours, bilinear) and two to
    four rectangles of random colour and size, (n, S, S, 3) float32."""
    grid = rng.uniform(0, 255, (n, 3, 4, 4)).astype(np.float32)
    t = np.linspace(0, 3, size, dtype=np.float32)
    weights = np.maximum(0, 1 - np.abs(t[:, None] - np.arange(4, dtype=np.float32)))  # (S, 4)
    picture = np.ascontiguousarray((weights @ grid @ weights.T).transpose(0, 2, 3, 1))
    at = np.arange(size, dtype=np.float32) + 0.5
    for _ in range(4):
        present = rng.uniform(size=n) < 0.75
        w, h = (rng.uniform(0.1, 0.25, (2, n)) * size).astype(np.float32)[..., None]
        x0, y0 = (rng.uniform(-0.1, 1.0, (2, n)) * size).astype(np.float32)[..., None]
        across = _soft(np.minimum(at - x0, x0 + w - at)) * present[:, None]  # (n, S) coverage
        down = _soft(np.minimum(at - y0, y0 + h - at))
        cover = (down[:, :, None] * across[:, None, :])[..., None]
        fill = rng.uniform(0, 255, (n, 3)).astype(np.float32)[:, None, None]
        picture += cover * (fill - picture)
    return picture


def _object_colours(rng: np.random.Generator, background: np.ndarray, cx: np.ndarray,
                    cy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two random colours per image, (n, 3) each: the first far from the background at the
    object's centre, the second far from the first, so every object shows; drawn from the same
    distribution for every class."""
    n = len(cx)
    size = background.shape[1]
    at = background[np.arange(n), np.clip(cy.astype(int), 0, size - 1),
                    np.clip(cx.astype(int), 0, size - 1)]
    candidates = rng.uniform(0, 255, (n, 16, 3)).astype(np.float32)
    first = _pick(candidates[:, :8], at)
    second = _pick(candidates[:, 8:], first)
    return first, second


def _pick(candidates: np.ndarray, away_from: np.ndarray, distance: float = 110.0) -> np.ndarray:
    """Per image, the first candidate colour at least `distance` from `away_from`, or the
    farthest if none is."""
    gap = np.linalg.norm(candidates - away_from[:, None], axis=-1)
    far = gap >= distance
    index = np.where(far.any(axis=1), far.argmax(axis=1), gap.argmax(axis=1))
    return candidates[np.arange(len(candidates)), index]


def _bounds(mask: np.ndarray) -> np.ndarray:
    """(x0, y0, x1, y1) of each mask's true pixels, ends exclusive, (n, 4)."""
    cols, rows = mask.any(axis=1), mask.any(axis=2)
    size = mask.shape[1]
    x0, y0 = cols.argmax(axis=1), rows.argmax(axis=1)
    x1 = size - cols[:, ::-1].argmax(axis=1)
    y1 = size - rows[:, ::-1].argmax(axis=1)
    return np.stack([x0, y0, x1, y1], axis=1)
