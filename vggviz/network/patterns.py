"""What a feature map responds to: the input pattern that excites one of its units most.

Activation maximisation (Erhan et al. 2009; Simonyan et al. 2013; Yosinski et al. 2015): start
from faint noise around the ImageNet mean colour and climb the gradient of the activation of
the centre unit of map `channel` of a stage, on an input as large as that unit's receptive field
(3 px for the VGG stem, 50 for group 3 of VGG16: its 44-px field and the few pixels that centre
it), so nothing is computed that the unit cannot see. Each step is the gradient normalised to an
RMS of `learning_rate` grey levels, then the regularisers that keep the pattern an image a person
can read: decay towards the mean colour (an L2 penalty: the contrast settles near
learning_rate/decay, so the optimum of a linear unit is its kernel), random jitter past the stems
(each step sees the pattern shifted a pixel or two) and, if asked, blur. A unit silent on the
noise gets a gradient through redirected ReLUs (as Lucid does). Pixels stay in the valid 0–255
range throughout; the result is RGB uint8, in the 'caffe' preprocessing the extractor uses.

A page of maps is optimised at once (one batch element per map), and every pattern goes to the
shared disk cache (`vggviz.network.pattern_cache`) as soon as it is done. Where that cache cannot
be written, a pattern is kept in this process instead (up to UNKEPT_BYTES) and says why it is
not on disk (`Pattern.not_kept`): it is shown, and found again, while the process lives.

`ActivationPatterns(fx).attribute(None, stage, target)` (the interpretation methods' one
convention, `vggviz.network.attribution`): no image (the patterns start from noise), `target`
the map; `attribute_all` optimises a page of maps in one batch.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace

import numpy as np

from vggviz.network import pattern_cache
from vggviz.network.attribution import Attribution
from vggviz.network.compiled import compiled
from vggviz.plan.architecture import layer_plan, stage_index
from vggviz.plan.receptive_field import SPATIAL, output_size, plan_fields, stage_field
from vggviz.sources.disk_cache import cache_problem, weights_digest
from vggviz.sources.images import IMAGENET_MEAN_BGR, preprocess
from vggviz.sources.weights import foreign_stem_note, weights_label

BATCH_PIXELS = 4 * 224 * 224
"""Input pixels optimised in one batch (a page of 64 at group 3's 44 px, 4 maps at 212 px):
what keeps the gradient tape's memory near that of a batch of four 224-px images."""


UNKEPT_BYTES = 32 * 2**20
"""Pixels of patterns kept in this process when the disk cache cannot be written (oldest go
first): a page of 64 at group 5's 212 px is about 8.6 MB."""


MEAN_RGB = IMAGENET_MEAN_BGR[::-1]
"""The colour the patterns start from and decay towards: ImageNet's mean, the input's zero."""


class PatternsCancelled(Exception):
    """The computation was cancelled; the patterns finished before are in the cache."""


@dataclass(frozen=True)
class PatternSettings:
    """How patterns are optimised. `size` None: the target unit's receptive field (at most the
    extractor's input size); `learning_rate` is the RMS step in grey levels; `jitter` the
    largest random shift per step in pixels; `blur` the share of a 3×3 smoothing mixed in each
    step; `decay` the pull towards the mean colour per step; `noise` the start's amplitude in
    grey levels; `seed` draws the start and the jitter."""

    steps: int = 30
    learning_rate: float = 6.0
    size: int | None = None
    jitter: int = 2
    blur: float = 0.0
    decay: float = 0.1
    noise: float = 10.0
    seed: int = 0

    def __post_init__(self):
        if self.steps < 1 or self.learning_rate <= 0 or self.noise < 0 or self.jitter < 0:
            raise ValueError(f"steps and learning_rate must be positive, jitter and noise not "
                             f"negative: {self}")
        if not (0 <= self.blur <= 1 and 0 <= self.decay < 1):
            raise ValueError(f"blur must be in [0, 1] and decay in [0, 1): {self}")
        if self.size is not None and self.size < 1:
            raise ValueError(f"size must be a positive number of pixels or None: {self}")

    def key(self) -> str:
        """A stable short name of these settings (the size aside: the cache keys it apart)."""
        fields = {k: v for k, v in asdict(self).items() if k != "size"}
        text = ",".join(f"{k}={float(v)!r}" for k, v in sorted(fields.items()))
        return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


@dataclass(frozen=True)
class Pattern:
    """One map's pattern: RGB uint8 pixels (s, s, 3), and the target unit's activation on the
    starting noise (`start`) and on these pixels (`end`); `cached`: found, not computed by this
    call; `not_kept`: why it is not in the disk cache (which could not be written), in words,
    else None."""

    pixels: np.ndarray
    stage: str
    channel: int
    start: float
    end: float
    cached: bool = False
    not_kept: str | None = None

    @property
    def target(self) -> int:
        """The map (the methods' shared answer, `Attributed`)."""
        return self.channel

    @property
    def attribution(self) -> np.ndarray:
        """The pattern's pixels (the methods' shared answer, `Attributed`)."""
        return self.pixels


@dataclass(frozen=True)
class _Target:
    """Where a stage's patterns are computed: input side, centre unit, cache folders (the
    first written to, the others read-only)."""

    stage: str
    layer: str
    size: int
    unit: tuple[int, int]
    folders: tuple

    def path(self, channel: int):
        """Where a pattern computed here is written."""
        return pattern_cache.entry_path(self.folders[0], channel)

    def cached(self, channel: int) -> pattern_cache.Entry | None:
        """The map's entry from the first cache that holds it whole, if any."""
        for folder in self.folders:
            entry = pattern_cache.read_entry(pattern_cache.entry_path(folder, channel), self.size)
            if entry is not None:
                return entry
        return None

    def keep(self, p: Pattern) -> Pattern:
        """Write `p` to the cache; if the cache cannot be written, keep it in this process and
        return it with the reason."""
        path = self.path(p.channel)
        try:
            pattern_cache.write_entry(path, pattern_cache.Entry(p.pixels, p.start, p.end))
            return p
        except OSError as exc:
            why = cache_problem(path.parent) or f"{path.parent} cannot be written ({exc})"
        kept = replace(p, not_kept=why)
        with _UNKEPT_LOCK:
            _UNKEPT.pop(str(path), None)
            _UNKEPT[str(path)] = kept
            while sum(q.pixels.nbytes for q in _UNKEPT.values()) > UNKEPT_BYTES:
                _UNKEPT.popitem(last=False)
        return kept

    def unkept(self, channel: int) -> Pattern | None:
        """The map's pattern kept in this process because the cache could not be written."""
        with _UNKEPT_LOCK:
            return _UNKEPT.get(str(self.path(channel)))


_UNKEPT: OrderedDict[str, Pattern] = OrderedDict()  # entry path → pattern, oldest first
_UNKEPT_LOCK = threading.Lock()


def _side(plan, size: int) -> int:
    for spec in plan:
        if spec.kind in SPATIAL:
            size = output_size(size, spec)
    return size


def _fitted(variant: str, stem: str, stage: str, size: int | None, limit: int
            ) -> tuple[int, tuple[int, int]]:
    """The input side and the target unit of a stage's maps: the smallest side from the
    receptive field's size up (at most `limit` px) on which a unit's whole field lies inside
    the input, and the most central such unit; for a given `size` (or where none fits by
    `limit`), the unit whose field is centred best."""
    plan = layer_plan(variant, stem=stem, include_top=False, upto=stage)
    field = stage_field(variant, stem, stage, limit)
    last = min(field.size + field.jump, limit)
    for s in [size] if size else range(min(field.size, last), last + 1):
        f = plan_fields(plan, (s, s))[-1]
        margins = {i: (f.box(i, i)[0], s - 1 - f.box(i, i)[2]) for i in range(_side(plan, s))}
        inside = [i for i, (a, b) in margins.items() if min(a, b) >= 0]
        if inside or s == last or size:
            best = min(inside or margins, key=lambda i: abs(margins[i][0] - margins[i][1]))
            return s, (best, best)
    raise AssertionError("unreachable: the last side returns")


def _target(fx, stage: str, settings: PatternSettings) -> _Target:
    stage_index(stage)
    size, unit = _fitted(fx.variant, fx.stem, stage, settings.size, fx.size)
    layer = layer_plan(fx.variant, stem=fx.stem, include_top=False, upto=stage)[-1].name
    folders = pattern_cache.entry_folders(weights_digest(fx.weights, fx.variant, seed=fx.seed),
                                          fx.variant, fx.stem, stage, layer, size,
                                          settings.key())
    return _Target(stage, layer, size, unit, folders)


def _channels(fx, stage: str, channels: Iterable[int]) -> list[int]:
    count = fx.maps(stage)
    wanted = [int(c) for c in channels]
    bad = [c for c in wanted if not 0 <= c < count]
    if bad:
        raise ValueError(f"{stage} has maps 0–{count - 1}; no map {bad[0]}")
    return list(dict.fromkeys(wanted))


def cached_patterns(fx, stage: str, channels: Iterable[int],
                    settings: PatternSettings | None = None) -> dict[int, Pattern]:
    """The patterns of `channels` already found, by channel: on disk, or in this process where
    the cache could not be written (instant: nothing is computed, damaged entries are left
    out)."""
    settings = settings or PatternSettings()
    target = _target(fx, stage, settings)
    found = {}
    for channel in _channels(fx, stage, channels):
        entry = target.cached(channel)
        if entry is not None:
            found[channel] = Pattern(entry.pixels, stage, channel, entry.start, entry.end, True)
        elif (kept := target.unkept(channel)) is not None:
            found[channel] = replace(kept, cached=True)
    return found


def keep_problem(fx, stage: str, settings: PatternSettings | None = None) -> str | None:
    """Why the patterns of `stage` found now cannot be kept in the disk cache, in words; None
    when they can."""
    return cache_problem(_target(fx, stage, settings or PatternSettings()).folders[0])


def _redirected_relu():
    """ReLU whose gradient, for a batch element through which no gradient passes at all (its
    unit dead on the noise), lets through what would raise the inputs (Lucid's redirected
    ReLU): so a map that is silent on the start can still be climbed."""
    import tensorflow as tf

    @tf.custom_gradient
    def relu(x):
        def grad(g):
            passed = tf.where(x > 0, g, tf.zeros_like(g))
            redirected = tf.where((x <= 0) & (g < 0), tf.zeros_like(g), g)
            flat = tf.reshape(passed, [tf.shape(x)[0], -1])
            alive = tf.reduce_any(tf.not_equal(flat, 0), axis=1)[:, None, None, None]
            return tf.where(alive, passed, redirected)

        return tf.nn.relu(x), grad

    return relu


def _step_functions(fx, target: _Target, base):
    """Compiled functions of a batch of target.size px through the extractor's own layers
    (shared weights): (centre-unit activations, their gradient with redirected ReLUs), and
    the activations alone, exactly as the network computes them; made once per model, stage
    and size (`vggviz.network.compiled`) for `base`, fx's model of the stage, which the caller
    holds while they run: they reach it only weakly."""
    plan = layer_plan(fx.variant, stem=fx.stem, include_top=False, upto=target.stage)
    count = int(base.outputs[-1].shape[-1])

    def build(weak_base):
        import tensorflow as tf

        row, col = target.unit
        redirected = _redirected_relu()

        def units(batch, onehot, relu):
            x, model = batch, weak_base()
            for spec in plan:
                layer = model.get_layer(spec.name)
                if spec.kind == "conv" and spec.activation == "relu":
                    x = relu(layer.convolution_op(x, layer.kernel) + layer.bias)
                elif spec.kind == "relu":
                    x = relu(x)
                else:
                    x = layer(x, training=False) if spec.kind == "bn" else layer(x)
            return tf.reduce_sum(x[:, row, col, :] * onehot, -1)

        signature = [tf.TensorSpec([None, target.size, target.size, 3], tf.float32),
                     tf.TensorSpec([None, count], tf.float32)]

        @tf.function(input_signature=signature)
        def climb(batch, onehot):
            with tf.GradientTape() as tape:
                tape.watch(batch)
                found = units(batch, onehot, redirected)
            return found, tape.gradient(found, batch)

        @tf.function(input_signature=signature)
        def measure(batch, onehot):
            return units(batch, onehot, tf.nn.relu)

        return climb, measure

    return compiled(base, (ActivationPatterns.name, target.stage, target.size), build)


def _smooth(x: np.ndarray) -> np.ndarray:
    """x blurred by the separable [1, 2, 1]/4 kernel over rows and columns, edges repeated."""
    for axis in (1, 2):
        padded = np.concatenate([np.take(x, [0], axis), x, np.take(x, [-1], axis)], axis)
        n = x.shape[axis]
        x = (np.take(padded, range(0, n), axis) + 2 * np.take(padded, range(1, n + 1), axis)
             + np.take(padded, range(2, n + 2), axis)) / 4
    return x


def _roll(x: np.ndarray, shifts: np.ndarray, sign: int) -> np.ndarray:
    return np.stack([np.roll(im, (sign * dy, sign * dx), (0, 1)) for im, (dy, dx)
                     in zip(x, shifts, strict=True)])


def _optimise(fx, target: _Target, channels: list[int], settings: PatternSettings,
              tick: Callable[[int], None], cancel: threading.Event | None) -> list[Pattern]:
    """Gradient ascent for one batch of maps; the start and jitter of each map come from
    (seed, channel) alone, so a pattern does not depend on the batch it was computed in."""
    import tensorflow as tf

    s, n = target.size, len(channels)
    base = fx.model(target.stage)  # held to the end: the functions below reach it weakly
    climb, measure = _step_functions(fx, target, base)
    count = int(base.outputs[-1].shape[-1])
    onehot = tf.constant(np.eye(count, dtype=np.float32)[channels])
    low, high = -IMAGENET_MEAN_BGR, 255 - IMAGENET_MEAN_BGR  # the valid range, preprocessed
    starts, shifts = [], []
    for channel in channels:
        rng = np.random.default_rng([settings.seed, channel])
        noise = MEAN_RGB + rng.uniform(-settings.noise, settings.noise, (s, s, 3))
        starts.append(preprocess(np.clip(np.round(noise), 0, 255), fx.weights)[0])
        j = min(settings.jitter, s // 16)  # none on the stems: their units resolve every pixel
        shifts.append(rng.integers(-j, j + 1, (settings.steps, 2)))
    x = np.stack(starts).astype(np.float32)
    shifts = np.stack(shifts, 1)  # (steps, n, 2)
    start = measure(tf.constant(x), onehot).numpy()
    for t in range(settings.steps):
        if cancel is not None and cancel.is_set():
            raise PatternsCancelled(f"cancelled after {t} of {settings.steps} steps")
        _, grad = climb(tf.constant(_roll(x, shifts[t], 1)), onehot)
        grad = _roll(grad.numpy(), shifts[t], -1)
        rms = np.sqrt(np.mean(grad ** 2, axis=(1, 2, 3), keepdims=True))
        x = (1 - settings.decay) * x + settings.learning_rate * grad / np.maximum(rms, 1e-12)
        if settings.blur:
            x = (1 - settings.blur) * x + settings.blur * _smooth(x)
        x = np.clip(x, low, high).astype(np.float32)
        tick(n)
    pixels = np.clip(np.round(x + IMAGENET_MEAN_BGR), 0, 255).astype(np.uint8)[..., ::-1]
    end = measure(tf.constant(np.concatenate([preprocess(p, fx.weights) for p in pixels])),
                  onehot).numpy()
    return [Pattern(np.ascontiguousarray(pixels[i]), target.stage, c, float(start[i]),
                    float(end[i])) for i, c in enumerate(channels)]


class ActivationPatterns(Attribution):
    """Activation maximisation over one extractor: `attribute(None, stage, target)` with
    `target` a map of `stage`; `attribute_all` for a page of maps, optimised in batches."""

    name = "patterns"

    def attribute(self, image: None, stage: str, target: int, *,
                  settings: PatternSettings | None = None,
                  progress: Callable[[int, int], None] | None = None,
                  cancel: threading.Event | None = None) -> Pattern:
        """The pattern of map `target` of `stage` (see `attribute_all`)."""
        return self.attribute_all(image, stage, [target], settings=settings, progress=progress,
                                  cancel=cancel)[0]

    def attribute_all(self, image: None, stage: str, targets: Iterable[int], *,
                      settings: PatternSettings | None = None,
                      progress: Callable[[int, int], None] | None = None,
                      cancel: threading.Event | None = None) -> list[Pattern]:
        """The pattern of each map in `targets` of `stage` ("stem", "group1"…), in that order;
        `image` must be None: a pattern starts from noise, not from a picture.

        Cached ones are read from disk; the rest are optimised in batches and each written to
        the cache when done (or, if it cannot be written, kept in this process:
        `Pattern.not_kept`). `progress(done, total)` counts map-steps (a cached map counts as
        all its steps at once); setting `cancel` raises PatternsCancelled before the next step.
        """
        if image is not None:
            raise ValueError("patterns start from noise, not from an image: pass None")
        fx = self.fx
        settings = settings or PatternSettings()
        target = _target(fx, stage, settings)
        wanted = _channels(fx, stage, targets)
        found = cached_patterns(fx, stage, wanted, settings)
        missing = [c for c in wanted if c not in found]
        total, done = len(wanted) * settings.steps, (len(wanted) - len(missing)) * settings.steps

        def tick(n: int) -> None:
            nonlocal done
            done += n
            if progress is not None:
                progress(done, total)

        tick(0)
        batch = max(1, BATCH_PIXELS // target.size ** 2)
        for i in range(0, len(missing), batch):
            for p in _optimise(fx, target, missing[i:i + batch], settings, tick, cancel):
                found[p.channel] = target.keep(p)
        return [found[c] for c in wanted]


def patterns_caption(fx, stage: str) -> str:
    """What the patterns of `stage` are, in words, with what the weights make of them."""
    what = (f"What each map of {stage} responds to most: the input that excites the unit at its "
            f"centre, found by gradient ascent from faint noise")
    if fx.weights == "random":
        return (f"{what}. These are random weights ({weights_label(fx.weights, fx.seed)}): the "
                f"patterns show what untrained filters happen to respond to, and mean nothing "
                f"until the network is trained.")
    note = foreign_stem_note(fx.weights, fx.variant, fx.stem)
    return f"{what} ({fx.label} weights)." + (f" {note}." if note else "")
