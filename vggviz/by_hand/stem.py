"""The stem's feature maps computed with numpy, so a dashboard's first view needs no TensorFlow.

The VGG stem (and the pooled one) is one 3×3 "same" convolution with ReLU, then at most a 2×2
max-pool: an im2col matrix product that numpy's BLAS does in a few milliseconds. Importing
TensorFlow to do the same costs each kernel about 590 MB and 2.5 s of CPU, which is what kept
a class of visitors waiting. Deeper stages, BN and LRN variants and the strided stem still go
through Keras (`vggviz.network.features`); the tests check these maps against Keras' own Conv2D.
"""

from __future__ import annotations

import numpy as np

from vggviz.plan.architecture import LayerSpec, stem_layers


def supported(variant: str, stem: str) -> bool:
    """Whether this stem is plain conv + ReLU layers (stride 1, "same") and 2×2 pools."""
    return all(_plain(spec) for spec in stem_layers(variant, stem))


def _plain(spec: LayerSpec) -> bool:
    if spec.kind == "conv":
        return (spec.stride == 1 and spec.padding == "same" and spec.activation == "relu"
                and spec.kernel % 2 == 1)
    return spec.kind == "pool" and spec.kernel == spec.stride == 2 and spec.padding == "valid"


BLAS_ROWS = 128
"""Pixels per matrix product in `conv_relu`. OpenBLAS runs a product of m×n×k ≤ 262,144 on one
thread: 128 pixels × 64 filters × 28 is under that, so no product waits for a second thread.
Measured here on a busy 2-core machine, the stem as one product on two threads took a median
20 ms (min 2); in 392 products of 128 pixels, 2.0 ms, with identical values."""
RELU_BLOCKS = 8
"""Blocks multiplied before their ReLU: 8 × 128 pixels × 64 filters, 256 KB, stay in cache."""


def conv_relu(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """ReLU(conv(x) + bias) for an (H, W, C) float32 input and a (k, k, C, F) kernel, "same"
    zero padding and stride 1, as Keras' Conv2D computes it: (H, W, F) float32.

    An im2col product with the bias as one more weight: a column matrix of one row per
    (dy, dx, c) weight plus a row of ones, one column per pixel, copied from k×k shifted
    channel planes, then multiplied in blocks of BLAS_ROWS pixels, RELU_BLOCKS at a time."""
    h, w, c = x.shape
    k, f = kernel.shape[0], kernel.shape[3]
    pad, n, taps = (k - 1) // 2, h * w, k * k * c
    blocks = -(-n // BLAS_ROWS)
    planes = np.zeros((c, h + 2 * pad, w + 2 * pad), np.float32)
    planes[:, pad:pad + h, pad:pad + w] = x.transpose(2, 0, 1)
    columns = np.zeros((taps + 1, blocks * BLAS_ROWS), np.float32)  # padding pixels stay 0
    shifted = columns[:taps, :n].reshape(k, k, c, h, w)  # a view: rows (dy, dx, c), pixels
    for dy in range(k):
        for dx in range(k):
            shifted[dy, dx] = planes[:, dy:dy + h, dx:dx + w]
    columns[taps, :n] = 1.0
    weights = np.concatenate([kernel.reshape(taps, f), bias.reshape(1, f)]).astype(np.float32)
    stack = columns.T.reshape(blocks, BLAS_ROWS, taps + 1)
    out = np.empty((blocks, BLAS_ROWS, f), np.float32)
    for first in range(0, blocks, RELU_BLOCKS):  # ReLU while the products are in cache
        part = out[first:first + RELU_BLOCKS]
        np.matmul(stack[first:first + RELU_BLOCKS], weights, out=part)
        np.maximum(part, 0, out=part)
    return out.reshape(blocks * BLAS_ROWS, f)[:n].reshape(h, w, f)


def max_pool2(x: np.ndarray) -> np.ndarray:
    """A 2×2 max-pool with stride 2 and no padding (Keras' MaxPooling2D default)."""
    h, w, c = x.shape
    return x[:h - h % 2, :w - w % 2].reshape(h // 2, 2, w // 2, 2, c).max(axis=(1, 3))


def stem_maps(batch: np.ndarray, variant: str, stem: str,
              params: dict[str, list[np.ndarray]]) -> np.ndarray:
    """The stem's output (H', W', 64) for a (1, H, W, 3) preprocessed batch.

    `params` maps each conv layer's name to its [kernel, bias]. Raises ValueError for a stem
    this module does not compute (see `supported`).
    """
    if not supported(variant, stem):
        raise ValueError(f"the {stem} stem of {variant} needs Keras")
    x = np.asarray(batch[0], np.float32)
    for spec in stem_layers(variant, stem):
        if spec.kind == "conv":
            kernel, bias = params[spec.name]
            x = conv_relu(x, np.asarray(kernel, np.float32), np.asarray(bias, np.float32))
        else:
            x = max_pool2(x)
    return x
