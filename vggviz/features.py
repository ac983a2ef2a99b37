"""Activations of the stem and of each group, from cached prefix models.

Only what is looked at is built: the stem view builds one conv layer, group k builds blocks
1..k, and the classifier is built only when predictions are asked. Activations are cached per
(image content, stage), so a display-only change costs no forward pass.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np

from vggviz.architecture import STAGES, get_stem, get_variant, layer_plan, stage_index
from vggviz.images import load_image, preprocess
from vggviz.weights import WeightsUnavailable, fetch_imagenet, imagenet_cached, imagenet_supported


def resolve_weights(requested: str | os.PathLike, variant: str = "vgg16", stem: str = "vgg", *,
                    download: bool = True) -> tuple[str | os.PathLike, str | None]:
    """Turn "auto" into "imagenet" where those weights can be had, else "random" plus a notice.

    With `download=False` only Keras' cache is consulted (instant: for opening a dashboard).
    Other requests are returned as they are, with no notice.
    """
    if requested != "auto":
        return requested, None
    if imagenet_supported(variant, stem):
        if imagenet_cached(variant):
            return "imagenet", None
        if download:
            try:
                fetch_imagenet(variant)
                return "imagenet", None
            except WeightsUnavailable as exc:
                return "random", f"{exc}: showing randomly initialised filters"
        return "random", ("ImageNet weights are not downloaded yet: showing randomly "
                          "initialised filters")
    return "random", (f"Keras has no ImageNet weights for {variant} with the {stem} stem: "
                      f"showing randomly initialised filters")


def weights_label(weights: str | os.PathLike, seed: int = 0) -> str:
    """How the weights read in a status line: "ImageNet", "random (seed 0)" or the file name."""
    if weights == "imagenet":
        return "ImageNet"
    if weights == "random":
        return f"random (seed {seed})"
    return Path(weights).name


class FeatureExtractor:
    """Stem and group activations of one VGG variant with one set of weights.

    `weights`: "imagenet", "random" (seeded), a Keras weights file, or "auto" (ImageNet where
    it can be had, else random, with `notice` saying so; `download=False` looks only in
    Keras' cache). Activations are kept for the most recent images, up to `cache_bytes`.
    """

    def __init__(self, variant: str = "vgg16", *, weights: str | os.PathLike = "imagenet",
                 stem: str = "vgg", seed: int = 0, size: int = 224, fit: str = "crop",
                 cache_bytes: int = 100 * 2**20, download: bool = True):
        get_variant(variant)
        get_stem(stem)
        self.variant, self.stem, self.seed = variant, stem, seed
        self.weights, self.notice = resolve_weights(weights, variant, stem, download=download)
        self.size, self.fit = size, fit
        self.cache_bytes = cache_bytes
        self.forward_passes = 0
        self.last_timing: dict[str, float] = {}
        self._model = None
        self._depth = -1  # deepest stage index the current prefix model reaches
        self._full = None
        self._cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()

    @property
    def label(self) -> str:
        """The weights in words, for status lines."""
        return weights_label(self.weights, self.seed)

    def _build(self, depth: int):
        """A prefix model up to stage `depth` with one output per stage, weights loaded."""
        import keras

        from vggviz.models import build_vgg

        model = build_vgg(self.variant, stem=self.stem, input_shape=(self.size, self.size, 3),
                          include_top=False, upto=STAGES[depth], seed=self.seed,
                          weights=None if self.weights == "random" else self.weights)
        plan = layer_plan(self.variant, stem=self.stem, include_top=False, upto=STAGES[depth])
        last = {spec.component: spec.name for spec in plan}  # each stage's final layer
        outputs = [model.get_layer(last[s]).output for s in STAGES[:depth + 1]]
        return keras.Model(model.input, outputs, name=f"{model.name}_stages")

    def model(self, stage: str = "stem"):
        """The prefix model that reaches `stage`, built (once) on first need."""
        depth = stage_index(stage)
        if self._model is None or depth > self._depth:
            self._model = None  # free the shallower prefix before building the deeper one
            self._model, self._depth = self._build(depth), depth
        return self._model

    def prepare(self, image) -> tuple[np.ndarray, str]:
        """The network's input batch for `image` and a digest of its pixels (the cache key)."""
        pil = load_image(image, size=self.size, fit=self.fit)
        pixels = np.asarray(pil)
        digest = hashlib.blake2b(pixels.tobytes(), digest_size=16).hexdigest()
        return preprocess(pixels, self.weights), digest

    def _remember(self, key: tuple[str, str], value: np.ndarray) -> None:
        self._cache[key] = value
        self._cache.move_to_end(key)
        while len(self._cache) > 1 and self._cached_bytes() > self.cache_bytes:
            self._cache.popitem(last=False)

    def _cached_bytes(self) -> int:
        return sum(a.nbytes for a in self._cache.values())

    def _forward(self, image, stages: tuple[str, ...]) -> dict[str, np.ndarray]:
        t0 = time.perf_counter()
        batch, digest = self.prepare(image)
        t1 = time.perf_counter()
        found = {s: self._cache.get((digest, s)) for s in stages}
        if any(v is None for v in found.values()):
            deepest = max(stage_index(s) for s in stages)
            model = self.model(STAGES[deepest])
            outputs = model.predict_on_batch(batch)  # a compiled call: ~3× eager's speed
            outputs = outputs if isinstance(outputs, list | tuple) else [outputs]
            self.forward_passes += 1
            computed = {stage: out[0] for stage, out in zip(STAGES, outputs, strict=False)}
            for stage, maps in computed.items():
                self._remember((digest, stage), maps)
            found = {s: computed[s] for s in stages}
        else:
            for s in stages:
                self._cache.move_to_end((digest, s))
        t2 = time.perf_counter()
        self.last_timing = {"prepare": (t1 - t0) * 1e3, "forward": (t2 - t1) * 1e3}
        return found

    def activations(self, image, stage: str = "stem") -> np.ndarray:
        """The (H, W, C) feature maps of `stage` ("stem", "group1"…"group5") for `image`."""
        stage_index(stage)
        return self._forward(image, (stage,))[stage]

    def all_stages(self, image) -> dict[str, np.ndarray]:
        """Feature maps of the stem and every group, from one forward pass."""
        return self._forward(image, STAGES)

    def kernels(self) -> np.ndarray:
        """The stem conv's kernel, (kh, kw, in_channels, 64), in the network's BGR input order."""
        model = self.model("stem")
        name = "stem_conv" if self.stem == "strided" else "block1_conv1"
        return np.asarray(model.get_layer(name).get_weights()[0])

    def predict(self, image, top: int = 5) -> list[tuple[str, str, float]]:
        """ImageNet's top classes for `image`: (class id, name, probability). ImageNet only."""
        if self.weights != "imagenet":
            raise WeightsUnavailable(f"predictions need ImageNet weights; these are {self.label}")
        from keras.applications.imagenet_utils import decode_predictions

        from vggviz.models import build_vgg

        if self._full is None:
            self._full = build_vgg(self.variant, stem=self.stem, weights="imagenet")
        batch, _ = self.prepare(image)
        probs = np.asarray(self._full(batch, training=False))
        try:
            return [tuple(p) for p in decode_predictions(probs, top=top)[0]]
        except Exception as exc:  # Keras raises a bare Exception when the class index can't load
            raise WeightsUnavailable(f"ImageNet class names could not be loaded ({exc})") from None
