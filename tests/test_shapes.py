"""The built-in data set: drawn from a seed, told apart by form and not by colour, boxes known."""

from __future__ import annotations

import numpy as np
import pytest

from vggviz.sources.shapes import CLASSES, shapes


def _nearest_centroid(features: np.ndarray, labels: np.ndarray, train: int) -> float:
    """Held-out accuracy of a nearest-centroid classifier trained on the first `train` rows."""
    scale = features[:train].std(axis=0) + 1e-9
    f = features / scale
    centroids = np.stack([f[:train][labels[:train] == c].mean(axis=0) for c in range(len(CLASSES))])
    guess = np.argmin(((f[train:, None] - centroids[None]) ** 2).sum(-1), axis=1)
    return float((guess == labels[train:]).mean())


def test_the_same_seed_draws_the_same_images_and_another_seed_others():
    a, b, c = shapes(40, 32, seed=3), shapes(40, 32, seed=3), shapes(40, 32, seed=4)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.boxes, b.boxes)
    assert np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.images, c.images)
    assert a.images.dtype == np.uint8 and a.images.shape == (40, 32, 32, 3)
    assert a.labels.shape == (40,) and a.boxes.shape == (40, 4) and len(a.class_names) == 10


@pytest.mark.parametrize("size", [32, 45, 100])
def test_any_size_from_32_px_with_every_class_equally_often(size):
    data = shapes(50, size, seed=0)
    assert data.images.shape == (50, size, size, 3)
    assert np.bincount(data.labels, minlength=10).tolist() == [5] * 10


@pytest.mark.parametrize(("count", "size"), [(10, 31), (10, 0), (0, 32), (True, 32), (10, 32.0)])
def test_numbers_that_draw_nothing_are_refused_in_words(count, size):
    with pytest.raises(ValueError, match="count must|size must"):
        shapes(count, size)


def test_mean_colour_tells_the_classes_apart_no_better_than_chance_while_edges_do():
    """A nearest-centroid classifier on each image's mean RGB stays near chance (10 %), while the
    same classifier on a few edge statistics (mean |gradient| along four directions, and the
    share of strong gradients) does far better: the classes differ in form, not colour."""
    data = shapes(3000, 32, seed=1)
    colour = data.images.reshape(len(data), -1, 3).mean(axis=1)
    grey = data.images.astype(np.float32).mean(axis=-1)
    dx, dy = np.diff(grey, axis=2)[:, 1:], np.diff(grey, axis=1)[:, :, 1:]
    d1, d2 = grey[:, 1:, 1:] - grey[:, :-1, :-1], grey[:, 1:, :-1] - grey[:, :-1, 1:]
    magnitude = np.hypot(dx, dy)
    edges = np.stack([np.abs(g).mean(axis=(1, 2)) for g in (dx, dy, d1, d2)]
                     + [(magnitude > 40).mean(axis=(1, 2))], axis=1)
    by_colour = _nearest_centroid(colour, data.labels, 2000)
    by_edges = _nearest_centroid(edges / edges[:, :4].sum(axis=1, keepdims=True), data.labels, 2000)
    assert by_colour < 0.15, by_colour  # chance is 0.10; 1,000 held out: σ ≈ 0.01
    assert by_edges > 0.3, by_edges


def test_each_box_is_the_tight_bounds_of_its_object():
    data, masks = shapes(200, 48, seed=2, with_masks=True)
    for box, mask in zip(data.boxes, masks, strict=True):
        x0, y0, x1, y1 = box
        assert 0 <= x0 < x1 <= 48 and 0 <= y0 < y1 <= 48
        inside = np.zeros_like(mask)
        inside[y0:y1, x0:x1] = True
        assert not (mask & ~inside).any()  # no object pixel outside its box
        assert mask[y0].any() and mask[y1 - 1].any() and mask[:, x0].any() and mask[:, x1 - 1].any()
        assert (x1 - x0) * (y1 - y0) >= 0.1 * 48 * 48  # the object is large enough to see


@pytest.mark.parametrize("label", [0, 1, 2, 3])
def test_stripes_run_at_their_class_angle(label):
    """The dominant orientation of the stripes (structure tensor over the object's box) is the
    class's angle counter-clockwise from horizontal, within the drawing's ±7° jitter."""
    data = shapes(100, 64, seed=5)
    for image, box in zip(data.images[data.labels == label], data.boxes[data.labels == label],
                          strict=True):
        x0, y0, x1, y1 = box
        grey = image[y0 + 2:y1 - 2, x0 + 2:x1 - 2].astype(np.float64).mean(axis=-1)
        gy, gx = np.gradient(grey)
        gy = -gy  # image rows point down; angles are counted upwards
        gradient = 0.5 * np.degrees(np.arctan2(2 * (gx * gy).sum(), ((gx**2) - (gy**2)).sum()))
        stripes = (gradient + 90) % 180  # stripes run across their gradient
        off = abs((stripes - 45 * label + 90) % 180 - 90)
        assert off < 10, (label, stripes)
