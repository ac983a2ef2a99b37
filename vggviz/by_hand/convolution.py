"""One stem output worked out by hand: the input patch a filter saw, its weights, the products,
their sum, the bias, the ReLU (and, for the pooled and strided stems, the max-pool after it).

Pure numpy on the network's input and the stem's weights: no model is run. Strides and "same"
padding follow Keras (TensorFlow pads a total of max((out - 1)·stride + k - in, 0), the smaller
half before), and the padding zeros are zeros of the network's numbers, i.e. after the 'caffe'
preprocessing of `vggviz.sources.images.preprocess`. Only numpy, PIL and the plan are imported: no
TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vggviz.plan.architecture import LayerSpec, get_stem, stem_layers
from vggviz.sources.images import IMAGENET_MEAN_BGR, preprocess

INPUT_CHANNELS = ("B", "G", "R")
"""The network's input channels in the order it reads them ('caffe' preprocessing is BGR)."""


@dataclass(frozen=True)
class WorkedConvolution:
    """How one value of a stem map came to be, with every number the network used.

    Arrays are (kh, kw, 3) in the network's channel order (B, G, R). `conv_at` is the pixel of
    the convolution's output that was worked out: the map pixel `at` itself for the VGG stem,
    the max-pool's winner for the pooled and strided stems.
    """

    stem: str
    channel: int
    at: tuple[int, int]  # (row, col) of the map pixel
    conv_at: tuple[int, int]  # (row, col) of the convolution output worked out
    stride: int  # of the convolution
    origin: tuple[int, int]  # (row, col) of the patch's top-left input pixel; < 0 in the padding
    colours: np.ndarray  # (kh, kw, 3) uint8 RGB: the patch as a person sees it (0 in padding)
    inside: np.ndarray  # (kh, kw) bool: False where the patch lies in the "same" padding
    patch: np.ndarray  # (kh, kw, 3) float32: the numbers the network received (0 in padding)
    weights: np.ndarray  # (kh, kw, 3) float32: the filter's kernel
    products: np.ndarray  # (kh, kw, 3) float32: patch × weights
    total: float  # the sum of the products
    bias: float
    normalization: tuple[float, float] | None  # BN variants: (scale, shift) after the bias
    pre_activation: float  # what enters the ReLU
    output: float  # max(0, pre_activation): the convolution's output at `conv_at`
    pool: np.ndarray | None  # the conv outputs in the max-pool's window (NaN past the edge)
    winner: tuple[int, int] | None  # where in `pool` the max is
    value: float  # the map's value at `at`

    def __post_init__(self) -> None:
        for name in ("colours", "inside", "patch", "weights", "products", "pool"):
            array = getattr(self, name)
            if array is not None:
                array.flags.writeable = False  # a record of what was computed, like the cache

    @property
    def terms(self) -> int:
        """How many products are summed: 27 for a 3×3×3 kernel, 147 for 7×7×3."""
        return self.products.size

    @property
    def box(self) -> tuple[int, int, int, int]:
        """The patch on the input as (top, left, bottom, right), inclusive, inside the image."""
        rows, cols = np.nonzero(self.inside)
        top, left = self.origin
        return (top + int(rows.min()), left + int(cols.min()),
                top + int(rows.max()), left + int(cols.max()))


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """Keras' "same" padding of one axis, (before, after): TensorFlow puts the odd one after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _steps(stem: str) -> tuple[LayerSpec, LayerSpec | None]:
    """The stem's convolution and its max-pool (None for the VGG stem), from the plan."""
    get_stem(stem)
    layers = stem_layers(stem=stem)  # the variant only changes BN and the kernel, given here
    conv = next(spec for spec in layers if spec.kind == "conv")
    pool = next((spec for spec in layers if spec.kind == "pool"), None)
    return conv, pool


def _output_size(size: int, kernel: int, stride: int, padding: str) -> int:
    return -(-size // stride) if padding == "same" else (size - kernel) // stride + 1


def _before(size: int, kernel: int, stride: int, padding: str) -> int:
    """Padding before the first row (column) of an axis of `size`: 0 when "valid"."""
    return same_padding(size, kernel, stride)[0] if padding == "same" else 0


def map_size(input_size: tuple[int, int], stem: str = "vgg") -> tuple[int, int]:
    """(rows, cols) of the stem's maps for an input of `input_size` (rows, cols)."""
    conv, pool = _steps(stem)
    size = tuple(_output_size(n, conv.kernel, conv.stride, conv.padding) for n in input_size)
    if pool is not None:
        size = tuple(_output_size(n, pool.kernel, pool.stride, pool.padding) for n in size)
    return size


def _split_input(inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(network numbers, RGB colours) of the fitted pixels or of the network's batch."""
    array = np.asarray(inputs)
    if array.ndim == 3 and array.shape[2] == 3:
        return preprocess(array)[0], array.astype(np.uint8, copy=False)
    if array.ndim == 4 and array.shape[0] == 1 and array.shape[3] == 3:
        network = array[0].astype(np.float32, copy=False)
        colours = np.clip(np.round(network + IMAGENET_MEAN_BGR), 0, 255)[..., ::-1]
        return network, colours.astype(np.uint8)
    raise ValueError("inputs must be the fitted RGB pixels (H, W, 3) or the network's batch "
                     f"(1, H, W, 3), not shape {array.shape}")


def worked_output(inputs: np.ndarray, kernel: np.ndarray, bias: np.ndarray, y: int, x: int,
                  channel: int, *, stem: str = "vgg",
                  batch_norm: tuple[np.ndarray, np.ndarray] | None = None) -> WorkedConvolution:
    """Work out the value at (`y`, `x`) of stem map `channel` from the input and the weights.

    `inputs`: the fitted RGB pixels (H, W, 3) uint8, preprocessed here, or the network's batch
    (1, H, W, 3) as `FeatureExtractor.prepare` gives it. `kernel` (kh, kw, 3, 64) and `bias`
    (64,) are the stem conv's (`FeatureExtractor.stem_weights`); `batch_norm` is the per-channel
    (scale, shift) of the BN variants (`FeatureExtractor.stem_batch_norm`).
    """
    network, colours = _split_input(inputs)
    kernel, bias = np.asarray(kernel, np.float32), np.asarray(bias, np.float32)
    if kernel.ndim != 4 or kernel.shape[2] != 3 or bias.shape != kernel.shape[3:]:
        raise ValueError(f"kernel must be (kh, kw, 3, filters) with a bias per filter, not "
                         f"{kernel.shape} and {bias.shape}")
    if not 0 <= channel < kernel.shape[3]:
        raise ValueError(f"channel must be 0–{kernel.shape[3] - 1}, not {channel}")
    conv, pool = _steps(stem)
    rows, cols = map_size(network.shape[:2], stem)
    if not (0 <= y < rows and 0 <= x < cols):
        raise ValueError(f"({y}, {x}) is outside the {rows}×{cols} maps of the {stem} stem")

    kh, kw = kernel.shape[:2]
    height, width = network.shape[:2]
    conv_rows = _output_size(height, kh, conv.stride, conv.padding)
    conv_cols = _output_size(width, kw, conv.stride, conv.padding)
    # The conv outputs the map pixel takes: itself, or the pool's window (some past the edge).
    if pool is None:
        window = np.array([[y]]), np.array([[x]])
    else:
        steps = np.arange(pool.kernel)
        window = np.meshgrid(
            y * pool.stride - _before(conv_rows, pool.kernel, pool.stride, pool.padding) + steps,
            x * pool.stride - _before(conv_cols, pool.kernel, pool.stride, pool.padding) + steps,
            indexing="ij")
    real = (window[0] >= 0) & (window[0] < conv_rows) & (window[1] >= 0) & (window[1] < conv_cols)

    # Every window position's patch at once: (positions, kh, kw) input coordinates.
    top = window[0].ravel() * conv.stride - _before(height, kh, conv.stride, conv.padding)
    left = window[1].ravel() * conv.stride - _before(width, kw, conv.stride, conv.padding)
    r = top[:, None, None] + np.arange(kh)[None, :, None]
    c = left[:, None, None] + np.arange(kw)[None, None, :]
    inside = (r >= 0) & (r < height) & (c >= 0) & (c < width)
    r, c = np.clip(r, 0, height - 1), np.clip(c, 0, width - 1)
    patches = np.where(inside[..., None], network[r, c], np.float32(0))
    weights = kernel[..., channel].copy()  # the caller's kernel stays the caller's
    products = patches * weights
    totals = products.sum(axis=(1, 2, 3), dtype=np.float64)
    norm = None
    pre = totals + float(bias[channel])
    if batch_norm is not None:
        norm = (float(batch_norm[0][channel]), float(batch_norm[1][channel]))
        pre = pre * norm[0] + norm[1]
    pre = np.where(real.ravel(), pre, -np.inf)  # a pool ignores what lies past the edge
    best = int(np.argmax(pre))  # the max-pool's winner (max of ReLU = ReLU of the max)
    relu = np.maximum(pre, 0)

    return WorkedConvolution(
        stem=stem, channel=int(channel), at=(int(y), int(x)),
        conv_at=(int(window[0].flat[best]), int(window[1].flat[best])), stride=conv.stride,
        origin=(int(top[best]), int(left[best])),
        colours=np.where(inside[best][..., None], colours[r[best], c[best]], np.uint8(0)),
        inside=inside[best], patch=patches[best], weights=weights, products=products[best],
        total=float(totals[best]), bias=float(bias[channel]), normalization=norm,
        pre_activation=float(pre[best]), output=float(relu[best]),
        pool=None if pool is None else np.where(real, relu.reshape(real.shape), np.nan),
        winner=None if pool is None else (best // pool.kernel, best % pool.kernel),
        value=float(relu[best]))
