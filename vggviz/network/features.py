"""Activations of the stem and of each group, from cached prefix models.

Only what is looked at is built and run: the stem view runs one conv layer (in numpy where the
stem is plain conv + ReLU, so the first view never imports TensorFlow), group k runs blocks
1..k, and the classifier runs apart (`vggviz.network.predictions`). Activations are cached per
(image, stage), keyed first on the source (bytes, file, array) so that a cached request decodes
nothing, so a display-only change costs no forward pass and no decode.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import warnings
from collections import OrderedDict

import numpy as np

from vggviz.by_hand import stem as numpy_stem
from vggviz.by_hand.glorot import glorot_uniform
from vggviz.plan.architecture import (
    STAGES,
    WIDTHS,
    check_input_shape,
    get_stem,
    get_variant,
    layer_plan,
    stage_index,
    stage_maps,
    stem_layers,
)
from vggviz.sources.imagenet import fetch_imagenet
from vggviz.sources.images import FITS, ImageSource, load_image, preprocess
from vggviz.sources.runs import Run, find_run
from vggviz.sources.weight_files import read_fitting
from vggviz.sources.weights import RandomWeightsWarning, resolve_weights, weights_label

SOURCES_KEPT = 16
"""Fitted inputs remembered by source digest (each size×size×3 uint8: 150 KB at 224 px)."""


def source_digest(image: object) -> str | None:
    """A digest of what `image` is, found without decoding it; None when that is not cheap.

    Bytes and arrays are hashed as they are; a file path by its absolute path, size and
    modification time. PIL images and open files return None: they are keyed after decoding.
    """
    h = hashlib.blake2b(digest_size=16)
    if isinstance(image, bytes | bytearray | memoryview):
        h.update(b"bytes:")
        h.update(image)
    elif isinstance(image, str | os.PathLike):
        try:
            st = os.stat(image)
        except (OSError, ValueError):
            return None  # the loader says what is wrong
        h.update(f"path:{os.path.abspath(image)}:{st.st_size}:{st.st_mtime_ns}".encode())
    elif isinstance(image, np.ndarray) and image.dtype.kind in "biuf":
        h.update(f"array:{type(image).__name__}:{image.shape}:{image.dtype.str}:".encode())
        h.update(np.ascontiguousarray(image).data)
        if isinstance(image, np.ma.MaskedArray):
            h.update(np.ascontiguousarray(np.ma.getmaskarray(image)).data)
    else:
        return None
    return h.hexdigest()


class FeatureExtractor:
    """Stem and group activations of one VGG variant with one set of weights.

    `weights`: "imagenet", "random" (seeded), a Keras weights file, "auto" (ImageNet where
    it can be had, else random, with `notice` saying so and a RandomWeightsWarning;
    `download=False` looks only in Keras' cache), or a training run (a `Run`, its folder or
    its name as `vggviz runs` lists it): the run's own network (its variant, stem, learner
    widths and GAP head) at the run's input size unless `size` says otherwise; a `variant` or
    `stem` other than the run's is refused. Without a run, `variant` is vgg16, `stem` vgg and
    `size` 224 unless given. What the extractor is (variant, weights, stem, seed, size, fit)
    is fixed at construction, since the cache holds its answers.
    Activations are kept for the most recent images, up to `cache_bytes`; the arrays returned
    are read-only views of that cache.
    """

    def __init__(self, variant: str | None = None, *,
                 weights: str | os.PathLike | Run = "imagenet", stem: str | None = None,
                 seed: int = 0, size: int | None = None, fit: str = "crop",
                 cache_bytes: int = 100 * 2**20, download: bool = True):
        self._run = find_run(weights)
        if self._run is not None:
            trained = self._run.settings
            for what, asked in (("variant", variant), ("stem", stem)):
                if asked is not None and asked != trained[what]:
                    raise ValueError(f"run {self._run.name} trained {what} "
                                     f"{trained[what]!r}, not {asked!r}")
            variant, stem = trained["variant"], trained["stem"]
            size = trained["size"] if size is None else size
            weights = self._run.weights
        variant = "vgg16" if variant is None else variant
        stem = "vgg" if stem is None else stem
        size = 224 if size is None else size
        get_variant(variant)
        get_stem(stem)
        check_input_shape((size, size, 3), stem)
        if fit not in FITS:
            raise ValueError(f"fit must be one of {', '.join(FITS)}, not {fit!r}")
        self._variant, self._stem, self._seed = variant, stem, int(seed)
        self._size, self._fit = int(size), fit
        self._asked = weights
        self._weights, self._notice = resolve_weights(weights, variant, stem, download=download)
        if self._notice:
            warnings.warn(f"FeatureExtractor({variant!r}, weights={weights!r}): "
                          f"{self._notice}", RandomWeightsWarning, stacklevel=2)
        self.cache_bytes = cache_bytes
        self.forward_passes = 0
        self.last_timing: dict[str, float] = {}
        self._base = None  # the deepest prefix built so far, one output per stage
        self._base_depth = -1
        self._models: dict[int, object] = {}  # stage depth → a view of _base that stops there
        self._stem_params: dict[str, list[np.ndarray]] | None = None  # the numpy stem's
        self._cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._sources: OrderedDict[str, tuple[str, np.ndarray]] = OrderedDict()
        # A dashboard asks from several threads (the view, the classifier's answer, patterns):
        # building a prefix and filling the caches happen one at a time.
        self._lock = threading.RLock()

    variant = property(lambda self: self._variant, doc="The VGG variant, e.g. 'vgg16'.")
    stem = property(lambda self: self._stem, doc="The stem design: 'vgg', 'pooled', 'strided'.")
    seed = property(lambda self: self._seed, doc="Seed of random weights.")
    weights = property(lambda self: self._weights,
                       doc="'imagenet', 'random' or a weights file ('auto' resolved; a run's "
                           "final weights file).")
    run = property(lambda self: self._run, doc="The training run the weights are, or None.")
    notice = property(lambda self: self._notice,
                      doc="Why 'auto' weights fell back to random, in words; else None.")
    size = property(lambda self: self._size, doc="Side of the square input, in pixels.")
    fit = property(lambda self: self._fit, doc="How images are fitted: crop, stretch, pad.")

    @property
    def label(self) -> str:
        """The weights in words, for status lines."""
        if self._run is not None:
            return f"run {self._run.name}"
        return weights_label(self._weights, self._seed)

    def maps(self, stage: str) -> int:
        """How many feature maps `stage` has: 64 in the stem, then VGG's widths per group, or
        the run's narrower learner's."""
        widths = self._run.settings["widths"] if self._run is not None else WIDTHS
        return stage_maps(self._variant, stage, tuple(widths))

    @property
    def class_names(self) -> tuple[str, ...] | None:
        """The classes a run's head was trained on, by label; None for other weights."""
        return tuple(self._run.class_names) if self._run is not None else None

    @property
    def built(self) -> list[str]:
        """The stages whose layers are built and loaded so far ("stem" alone may be numpy's)."""
        if self._base_depth >= 0:
            return list(STAGES[:self._base_depth + 1])
        return ["stem"] if self._stem_params is not None else []

    def __repr__(self) -> str:
        """What the extractor is, where its weights come from and what it has built, e.g.
        <FeatureExtractor vgg16, weights='random' seed=0 (asked 'auto'), stem='vgg', 224×224,
        built: stem, group1>."""
        weights = repr(os.fspath(self._weights))
        if self._run is not None:
            weights = f"run {self._run.name!r}"
        elif self._weights == "random":
            weights += f" seed={self._seed}"
        if self._asked != self._weights and self._run is None:
            weights += f" (asked {os.fspath(self._asked)!r})"
        return (f"<FeatureExtractor {self._variant}, weights={weights}, stem={self._stem!r}, "
                f"{self._size}×{self._size}, fit={self._fit!r}, "
                f"built: {', '.join(self.built) or 'nothing yet'}>")

    # ------------------------------------------------------------------ models

    def _build(self, depth: int):
        """A prefix model up to stage `depth` with one output per stage, weights loaded."""
        import keras

        from vggviz.network.models import build_vgg

        if self._run is not None:
            model = self._trained_network()
        else:
            model = build_vgg(self._variant, stem=self._stem,
                              input_shape=(self._size, self._size, 3), include_top=False,
                              upto=STAGES[depth], seed=self._seed,
                              weights=None if self._weights == "random" else self._weights)
        plan = layer_plan(self._variant, stem=self._stem, include_top=False, upto=STAGES[depth])
        last = {spec.component: spec.name for spec in plan}  # each stage's final layer
        outputs = [model.get_layer(last[s]).output for s in STAGES[:depth + 1]]
        return keras.Model(model.input, outputs, name=f"{model.name}_stages")

    def _trained_network(self):
        """The run's whole network (its learner widths and GAP head, small: a few hundred
        thousand weights) at this extractor's size, its final weights loaded."""
        from vggviz.network.training import trainable_vgg

        trained = self._run.settings
        model = trainable_vgg(self._variant, self._stem, self._size, trained["widths"],
                              len(self._run.class_names), seed=self._seed)
        model.load_weights(self._run.weights)
        return model

    def model(self, stage: str = "stem"):
        """The model that runs exactly the layers up to `stage`, with one output per stage.

        The deepest prefix asked for so far is built once; shallower stages get a view of it
        that shares its layers and weights and stops at their stage, so the stem after a
        visit to group 5 still runs one convolution.
        """
        with self._lock:
            import keras

            depth = stage_index(stage)
            if depth > self._base_depth:
                self._models.clear()
                self._base = None  # free the shallower prefix before building the deeper one
                self._base, self._base_depth = self._build(depth), depth
            if depth not in self._models:
                outputs = self._base.outputs[:depth + 1]
                self._models[depth] = (self._base if depth == self._base_depth else
                                       keras.Model(self._base.input, outputs,
                                                   name=f"{self._base.name}_to_{STAGES[depth]}"))
            return self._models[depth]

    # ------------------------------------------------------------------ inputs

    def fitted(self, image: ImageSource) -> tuple[np.ndarray, str]:
        """The size×size×3 uint8 pixels the network sees, and their digest (the cache key).

        A source seen recently (same bytes, same file, same array) is not decoded again.
        """
        with self._lock:
            key = source_digest(image)
            if key is not None and key in self._sources:
                self._sources.move_to_end(key)
                digest, pixels = self._sources[key]
                return pixels, digest
            pixels = np.asarray(load_image(image, size=self._size, fit=self._fit))
            pixels.flags.writeable = False
            digest = hashlib.blake2b(pixels.tobytes(), digest_size=16).hexdigest()
            if key is not None:
                self._sources[key] = (digest, pixels)
                while len(self._sources) > SOURCES_KEPT:
                    self._sources.popitem(last=False)
            return pixels, digest

    def prepare(self, image: ImageSource) -> tuple[np.ndarray, str]:
        """The network's input batch for `image` and a digest of its pixels (the cache key)."""
        pixels, digest = self.fitted(image)
        return preprocess(pixels, self._weights), digest

    # ------------------------------------------------------------------ activations

    def _remember(self, key: tuple[str, str], value: np.ndarray) -> None:
        value.flags.writeable = False  # callers share it with the cache
        self._cache[key] = value
        self._cache.move_to_end(key)
        while len(self._cache) > 1 and self.cached_bytes > self.cache_bytes:
            self._cache.popitem(last=False)

    @property
    def cached_bytes(self) -> int:
        """Bytes of activations held in the cache (bounded by `cache_bytes`)."""
        return sum(a.nbytes for a in self._cache.values())

    def _forward(self, image: ImageSource, stages: tuple[str, ...]) -> dict[str, np.ndarray]:
        with self._lock:
            t0 = time.perf_counter()
            pixels, digest = self.fitted(image)
            t1 = time.perf_counter()
            found = {s: self._cache.get((digest, s)) for s in stages}
            if any(v is None for v in found.values()):
                deepest = max(stage_index(s) for s in stages)
                batch = preprocess(pixels, self._weights)
                if deepest == 0 and self.stem_in_numpy:
                    outputs = [numpy_stem.stem_maps(batch, self._variant, self._stem,
                                                    self._numpy_stem_params())[np.newaxis]]
                else:
                    outputs = self.model(STAGES[deepest]).predict_on_batch(batch)  # ~3× eager
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

    def activations(self, image: ImageSource, stage: str = "stem") -> np.ndarray:
        """The (H, W, C) feature maps of `stage` ("stem", "group1"…"group5"), read-only."""
        stage_index(stage)
        return self._forward(image, (stage,))[stage]

    def all_stages(self, image: ImageSource) -> dict[str, np.ndarray]:
        """Feature maps of the stem and every group (read-only), from one forward pass."""
        return self._forward(image, STAGES)

    def kernels(self) -> np.ndarray:
        """The stem conv's kernel, (kh, kw, in_channels, 64), in the network's BGR input order."""
        return self.stem_weights()[0]

    @property
    def stem_in_numpy(self) -> bool:
        """Whether the stem's maps and weights come without TensorFlow (`vggviz.by_hand.stem`)."""
        return numpy_stem.supported(self._variant, self._stem)

    def _numpy_stem_params(self) -> dict[str, list[np.ndarray]]:
        """The stem convs' [kernel, bias] by layer name, read or drawn as the Keras model gets
        them: seeded Glorot-uniform and zero biases, or the weights file (checked whole)."""
        if self._stem_params is None:
            convs = [spec for spec in stem_layers(self._variant, self._stem) if spec.kind == "conv"]
            shapes, channels = {}, 3
            for spec in convs:
                shapes[spec.name] = [(spec.kernel, spec.kernel, channels, spec.units),
                                     (spec.units,)]
                channels = spec.units
            if self._weights == "random":
                params = {name: [glorot_uniform(name, kernel, self._seed),
                                 np.zeros(bias, np.float32)]
                          for name, (kernel, bias) in shapes.items()}
            else:
                path = (fetch_imagenet(self._variant) if self._weights == "imagenet"
                        else self._weights)
                params = {name: [np.asarray(a, np.float32) for a in arrays]
                          for name, arrays in read_fitting(path, shapes, variant=self._variant,
                                                           stem=self._stem).items()}
            for arrays in params.values():
                for a in arrays:
                    a.flags.writeable = False
            self._stem_params = params
        return self._stem_params

    def _stem_layer(self, kind: str):
        spec = next(s for s in stem_layers(self._variant, self._stem) if s.kind == kind)
        return self.model("stem").get_layer(spec.name)

    def stem_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """The stem conv's kernel (kh, kw, in_channels, 64), BGR input order, and bias (64,):
        fresh copies, what a worked convolution multiplies and adds
        (`vggviz.by_hand.convolution`)."""
        if self.stem_in_numpy:
            first = next(s for s in stem_layers(self._variant, self._stem) if s.kind == "conv")
            kernel, bias = self._numpy_stem_params()[first.name]
            return np.array(kernel), np.array(bias)
        kernel, bias = self._stem_layer("conv").get_weights()
        return np.asarray(kernel), np.asarray(bias)

    def stem_batch_norm(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The BN variants' stem normalisation at inference as a per-channel (scale, shift) of
        the conv's output, as Keras computes it; None for variants without BN."""
        if not get_variant(self._variant).batch_norm:
            return None
        bn = self._stem_layer("bn")
        gamma, beta, mean, variance = (np.asarray(v, np.float64) for v in bn.get_weights())
        scale = gamma / np.sqrt(variance + bn.epsilon)
        return scale.astype(np.float32), (beta - mean * scale).astype(np.float32)
