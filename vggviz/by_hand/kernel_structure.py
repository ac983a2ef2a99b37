"""How structured a stem's kernels are: the share of each kernel's energy that a plane explains.

Fit each kernel's k×k weights of every input channel with a plane, a + b·x + c·y (least squares),
and count the fitted energy against the whole: colour detectors (a constant per channel) and
oriented edge detectors (a ramp across the kernel) score near 1; random weights drawn independently
(Glorot's start) score 3 / k² on average whatever their distribution (for 3×3 kernels 1/3), since
three of the k² orthonormal directions are kept. So a rise from 1/3 says the kernels became
smooth, edge- and colour-like, which distance from the start alone cannot say. The ramp's share
(b and c only) is the oriented-edge energy, 2 / k² at random. numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class KernelStructure:
    """Per kernel (one per output channel): `smooth`, the share of its energy a plane per input
    channel explains; `edge`, the share its ramps alone explain; and what random weights give on
    average (`smooth_chance` = 3 / k², `edge_chance` = 2 / k²)."""

    smooth: np.ndarray
    edge: np.ndarray
    smooth_chance: float
    edge_chance: float


def kernel_structure(kernels: np.ndarray) -> KernelStructure:
    """The structure of conv kernels in Keras' layout (kh, kw, in, out), one value per kernel."""
    kernels = np.asarray(kernels, dtype=np.float64)
    if kernels.ndim != 4 or kernels.shape[0] != kernels.shape[1] or kernels.shape[0] < 2:
        raise ValueError(f"kernels must be square, at least 2×2, in Keras' layout (kh, kw, in, "
                         f"out), got shape {kernels.shape}")
    k = kernels.shape[0]
    y, x = np.mgrid[0:k, 0:k].astype(np.float64) - (k - 1) / 2
    basis = np.stack([np.ones((k, k)), x, y]).reshape(3, -1)
    basis /= np.linalg.norm(basis, axis=1, keepdims=True)  # orthonormal: centred ramps
    flat = kernels.reshape(k * k, -1)  # (k², in·out)
    coefficients = basis @ flat  # (3, in·out)
    energy = (flat**2).sum(axis=0).reshape(kernels.shape[2], kernels.shape[3]).sum(axis=0)
    plane = (coefficients**2).reshape(3, kernels.shape[2], kernels.shape[3]).sum(axis=1)
    energy = np.where(energy > 0, energy, np.nan)
    return KernelStructure(plane.sum(axis=0) / energy, plane[1:].sum(axis=0) / energy,
                           3 / k**2, 2 / k**2)
