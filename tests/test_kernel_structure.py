"""The measure of kernel structure: a plane's share of each kernel's energy, 1/3 at random."""

from __future__ import annotations

import numpy as np
import pytest

from vggviz.by_hand.glorot import glorot_uniform
from vggviz.by_hand.kernel_structure import kernel_structure


def test_random_kernels_score_what_chance_says_whatever_their_distribution():
    rng = np.random.default_rng(0)
    for kernels in (rng.normal(size=(3, 3, 3, 4096)), rng.uniform(-1, 1, (3, 3, 3, 4096))):
        s = kernel_structure(kernels)
        assert s.smooth_chance == pytest.approx(1 / 3) and s.edge_chance == pytest.approx(2 / 9)
        assert np.mean(s.smooth) == pytest.approx(1 / 3, abs=0.01)
        assert np.mean(s.edge) == pytest.approx(2 / 9, abs=0.01)


def test_the_stems_glorot_start_is_at_chance():
    s = kernel_structure(glorot_uniform("block1_conv1", (3, 3, 3, 64), 0))
    assert s.smooth.shape == (64,)
    assert abs(np.mean(s.smooth) - 1 / 3) < 0.05  # 64 kernels: standard error ≈ 0.016


def test_colour_and_edge_detectors_score_one_and_a_checkerboard_zero():
    y, x = np.mgrid[-1:2, -1:2].astype(float)
    colour = np.broadcast_to(np.array([1.0, -0.5, 0.2]), (3, 3, 3))  # a constant per channel
    edge = np.stack([x + 0.3 * y, -(x + 0.3 * y), 0.5 * y], axis=-1)  # ramps, a tilted edge
    sobel = np.outer([1, 2, 1], [-1, 0, 1])[..., None] * np.array([1.0, 1.0, 1.0])
    checks = ((x + y) % 2 * 2 - 1)[..., None] * np.array([1.0, -1.0, 0.5])
    s = kernel_structure(np.stack([colour, edge, sobel, checks], axis=-1))
    assert s.smooth[:2] == pytest.approx([1.0, 1.0])
    assert s.edge[:2] == pytest.approx([0.0, 1.0])
    assert s.smooth[2] == pytest.approx(64 / 72)  # Sobel: mostly its ramp
    assert s.smooth[3] < 0.15  # the finest pattern a 3×3 kernel holds: almost nothing a plane has


def test_a_7x7_kernel_has_its_own_chance_level():
    s = kernel_structure(np.random.default_rng(1).normal(size=(7, 7, 3, 2048)))
    assert s.smooth_chance == pytest.approx(3 / 49)
    assert np.mean(s.smooth) == pytest.approx(3 / 49, abs=0.01)


@pytest.mark.parametrize("shape", [(3, 3, 3), (3, 5, 3, 64), (1, 1, 3, 64)])
def test_kernels_not_in_keras_layout_are_refused(shape):
    with pytest.raises(ValueError, match="Keras' layout"):
        kernel_structure(np.ones(shape))
