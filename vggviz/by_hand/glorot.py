"""Seeded random weights drawn with numpy: the same filters with or without TensorFlow.

Keras' own GlorotUniform draws with TensorFlow's generator, so its filters can only be had by
importing TensorFlow (about 590 MB and 2.5 s of CPU per kernel). Drawing them here lets the
stem's first view skip that import (`vggviz.by_hand.stem`) and still show exactly the filters
the Keras model gets later (`vggviz.network.layers.SeededGlorotUniform` calls this).
"""

from __future__ import annotations

import zlib

import numpy as np


def layer_seed(name: str, seed: int) -> int:
    """One seed per layer name, so a prefix and the full model built with `seed` agree."""
    return (int(seed) * 1_000_003 + zlib.crc32(name.encode())) % 2**31


def glorot_uniform(name: str, shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Glorot-uniform weights (Keras' default: U(±√(6 / (fan_in + fan_out)))) as float32.

    `shape` is Keras' kernel shape: (kh, kw, in, out) for a conv, (in, out) for a dense layer.
    """
    receptive = int(np.prod(shape[:-2]))  # the kernel's window; 1 for a dense layer
    fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    draw = np.random.default_rng(layer_seed(name, seed)).random(shape, dtype=np.float32)
    draw *= np.float32(2 * limit)  # float32 throughout: fc1 alone is 103 M weights
    draw -= np.float32(limit)
    return draw
