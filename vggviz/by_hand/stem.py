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


def conv_relu(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """ReLU(conv(x) + bias) for an (H, W, C) float32 input and a (k, k, C, F) kernel, "same"
    zero padding and stride 1, as Keras' Conv2D computes it: (H, W, F) float32."""
    k = kernel.shape[0]
    pad = (k - 1) // 2
    padded = np.pad(x, ((pad, pad), (pad, pad), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (k, k), axis=(0, 1))
    h, w, c = x.shape
    columns = windows.transpose(0, 1, 3, 4, 2).reshape(h * w, k * k * c)  # (dy, dx, c) order
    out = columns @ kernel.reshape(k * k * c, -1) + bias
    np.maximum(out, 0, out=out)
    return out.reshape(h, w, -1).astype(np.float32, copy=False)


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
