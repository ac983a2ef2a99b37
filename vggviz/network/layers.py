"""Custom Keras parts of the VGG variants (the LRN layer, the seeded initializer), registered
so that Keras' own `load_model` rebuilds a `.keras` archive of our models."""

from __future__ import annotations

import keras
import tensorflow as tf

from vggviz.by_hand.glorot import glorot_uniform


@keras.saving.register_keras_serializable(package="vggviz")
class SeededGlorotUniform(keras.initializers.Initializer):
    """Glorot-uniform drawn by numpy from (layer name, seed): the filters the numpy stem shows
    before TensorFlow is loaded (`vggviz.by_hand.glorot`)."""

    def __init__(self, name: str, seed: int):
        self.name, self.seed = name, int(seed)

    def __call__(self, shape, dtype=None):
        return keras.ops.convert_to_tensor(glorot_uniform(self.name, tuple(shape), self.seed),
                                           dtype=dtype)

    def get_config(self) -> dict:
        return {"name": self.name, "seed": self.seed}


@keras.saving.register_keras_serializable(package="vggviz")
class LocalResponseNormalization(keras.layers.Layer):
    """AlexNet's LRN as used by VGG config A-LRN (n=5, k=2, alpha=1e-4, beta=0.75)."""

    def __init__(self, depth_radius: int = 2, bias: float = 2.0, alpha: float = 1e-4,
                 beta: float = 0.75, **kwargs):
        super().__init__(**kwargs)
        self.depth_radius, self.bias, self.alpha, self.beta = depth_radius, bias, alpha, beta

    def call(self, inputs):
        return tf.nn.local_response_normalization(
            inputs, self.depth_radius, self.bias, self.alpha, self.beta
        )

    def get_config(self) -> dict:
        return super().get_config() | {"depth_radius": self.depth_radius, "bias": self.bias,
                                       "alpha": self.alpha, "beta": self.beta}
