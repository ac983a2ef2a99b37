"""Train a VGG here, with `keras.Model.fit` and a recording callback, and keep the run.

The model is any variant and stem of the plan with a narrower learner (each group's filters
given; the stem keeps its 64, the maps a person watches) and a small head (global average
pooling, then a softmax over the data's classes), built from the plan's layers as the other
builders build them, so its layers carry Keras' names. Images go in as everywhere in vggviz:
Keras' 'caffe' preprocessing (RGB→BGR, minus the ImageNet mean), done in the input pipeline.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import keras
import numpy as np
import tensorflow as tf

from vggviz.network.measure import memory_source, peak_memory, rss_mb
from vggviz.network.models import make_layer, stem
from vggviz.network.recording import ProgressFn, RunRecorder, SnapshotFn
from vggviz.plan.architecture import (
    GROUPS,
    check_input_shape,
    classifier_layers,
    group_layers,
    stem_layers,
    whole_number,
)
from vggviz.plan.training import TrainSettings, precision_for
from vggviz.sources.datasets import load_data
from vggviz.sources.images import IMAGENET_MEAN_BGR
from vggviz.sources.runs import Run, cannot_keep, write_run
from vggviz.sources.shapes import Shapes, shapes


@dataclass(frozen=True)
class Trained:
    """A finished (or cancelled) training: the model, the recorder, Keras' history and the run
    kept in the cache (None when not kept)."""

    model: keras.Model
    recorder: RunRecorder
    history: dict
    run: Run | None


@contextlib.contextmanager
def dtype_policy(name: str) -> Iterator[None]:
    """Layers made within take the Keras dtype policy `name`; the global one is restored after."""
    before = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(before)


def hardware() -> dict:
    """Where a run trains and in what precision: the first GPU TensorFlow sees, under mixed
    float16, or the CPU, in float32."""
    gpus = tf.config.list_physical_devices("GPU")
    return {"device": gpus[0].name.removeprefix("/physical_device:") if gpus else "CPU",
            "precision": precision_for(gpus)}


def hardware_words(where: dict) -> str:
    """"on the CPU in float32", or "on GPU:0 in mixed float16 (softmax in float32)"."""
    device = "the CPU" if where["device"] == "CPU" else where["device"]
    precision = ("mixed float16 (softmax in float32)" if where["precision"] == "mixed_float16"
                 else where["precision"])
    return f"on {device} in {precision}"


def trainable_vgg(variant: str = "vgg11", stem_design: str = "vgg", size: int = 32,
                  widths: Sequence[int] = TrainSettings.widths, classes: int = 10, *,
                  seed: int = 0, precision: str = "float32") -> keras.Model:
    """A VGG of `variant` and `stem_design` for `size`×`size` RGB input whose groups have
    `widths` filters (the stem keeps its 64), ending in global average pooling and a softmax
    over `classes`; layers named as Keras names them, weights seeded by `seed`, computing under
    the Keras dtype policy `precision` but for the softmax, always float32."""
    check_input_shape((size, size, 3), stem_design)
    if len(widths) != len(GROUPS):
        raise ValueError(f"widths gives each of the {len(GROUPS)} groups its filters, got "
                         f"{tuple(widths)}")
    *head, last = classifier_layers(classes, "gap")
    with dtype_policy(precision):
        inputs = keras.Input((size, size, 3), name="input")
        x = stem(inputs, variant, stem_design, seed=seed)
        for index, width in enumerate(widths, 1):
            width = whole_number(width, f"group {index}'s width", 1)
            for spec in group_layers(variant, index):
                x = make_layer(replace(spec, units=width) if spec.kind == "conv" else spec,
                               seed)(x)
        for spec in head:
            x = make_layer(spec, seed)(x)
        with dtype_policy("float32"):  # the softmax in float32, as Keras' mixed precision asks
            x = make_layer(last, seed)(x)
        return keras.Model(inputs, x, name=f"{variant}_{stem_design}_stem_{size}px")


def caffe(images: tf.Tensor) -> tf.Tensor:
    """A batch of RGB uint8 images in Keras' 'caffe' convention, as `sources.images.preprocess`
    gives one image: float32, BGR, minus the ImageNet mean."""
    return tf.cast(images, tf.float32)[..., ::-1] - tf.constant(IMAGENET_MEAN_BGR)


class BatchOrder:
    """The indices of the images of each batch the pipeline handed to training, in order: the
    evidence that two runs saw the same images in the same order."""

    def __init__(self) -> None:
        self.batches: list[np.ndarray] = []

    def tap(self, indices: np.ndarray) -> np.ndarray:
        """Note one batch's indices as the pipeline makes it; returns them unchanged."""
        self.batches.append(np.array(indices, np.int64))
        return indices

    def digest(self, steps: int) -> str:
        """SHA-256 of the first `steps` batches' indices (batches made ahead by the prefetch
        but never trained on are left out)."""
        h = hashlib.sha256()
        for indices in self.batches[:steps]:
            h.update(np.ascontiguousarray(indices, "<i8").tobytes())
            h.update(b"|")
        return h.hexdigest()


def pipeline(images: np.ndarray, labels: np.ndarray, batch: int, *,
             shuffle_seed: int | None = None, order: BatchOrder | None = None) -> tf.data.Dataset:
    """Batches of (preprocessed images, labels); shuffled afresh each epoch, in the same order
    for the same seed, when `shuffle_seed` is given; each batch's image indices told to `order`."""
    data = tf.data.Dataset.from_tensor_slices((images, labels, np.arange(len(images))))
    if shuffle_seed is not None:
        data = data.shuffle(len(images), seed=shuffle_seed, reshuffle_each_iteration=True)

    def tell(x: tf.Tensor, y: tf.Tensor, i: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        if order is not None:
            told = tf.numpy_function(order.tap, [i], i.dtype, stateful=True)
            with tf.control_dependencies([told]):
                y = tf.identity(y)
        return x, y

    # Told one batch at a time, in the order training takes them; preprocessed in parallel.
    return (data.batch(batch).map(tell)
            .map(lambda x, y: (caffe(x), y), num_parallel_calls=tf.data.AUTOTUNE)
            .prefetch(tf.data.AUTOTUNE))


HELD_OUT_SEED = 1_000_003
"""Added to a run's seed for its held-out images, so they are never the training images."""


def training_data(settings: TrainSettings) -> tuple[Shapes, Shapes]:
    """The training and held-out images of `settings`' data (the built-in set's drawn from
    different seeds)."""
    if settings.data != "shapes":
        return load_data(settings)
    return (shapes(settings.train_images, settings.size, seed=settings.seed),
            shapes(settings.test_images, settings.size, seed=settings.seed + HELD_OUT_SEED))


def learning_rate(settings: TrainSettings) -> float | keras.optimizers.schedules.CosineDecay:
    """The settings' learning rate: a constant, or Keras' `CosineDecay` from a linear warm-up
    over `warmup_epochs` to `learning_rate`, down to 0 at the last step."""
    if settings.schedule == "constant":
        return settings.learning_rate
    warmup = settings.warmup_epochs * settings.steps_per_epoch
    total = settings.epochs * settings.steps_per_epoch
    if not warmup:
        return keras.optimizers.schedules.CosineDecay(settings.learning_rate, total)
    return keras.optimizers.schedules.CosineDecay(
        0.0, total - warmup, warmup_target=settings.learning_rate, warmup_steps=warmup)


def compiled(settings: TrainSettings, classes: int, precision: str = "float32") -> keras.Model:
    """The model of `settings`, compiled: SGD with momentum (scheduled and clipped as the
    settings say), cross-entropy, accuracy; under the dtype policy `precision` (with mixed
    float16, Keras scales the loss). Seeds Python's, numpy's and TensorFlow's global generators
    with the run's seed (Keras' `set_random_seed`), so a run repeats exactly."""
    keras.utils.set_random_seed(settings.seed)
    model = trainable_vgg(settings.variant, settings.stem, settings.size, settings.widths,
                          classes, seed=settings.seed, precision=precision)
    clip = {"global_clipnorm": settings.clip_norm} if settings.clip_norm else {}
    model.compile(optimizer=keras.optimizers.SGD(learning_rate(settings),
                                                 momentum=settings.momentum, **clip),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=False)
    return model


def train(settings: TrainSettings | None = None, *, cancel: threading.Event | None = None,
          progress: ProgressFn | None = None, on_snapshot: SnapshotFn | None = None,
          keep: bool = True,
          data: tuple[Shapes, Shapes] | None = None,
          callbacks: Sequence[keras.callbacks.Callback] = (),
          comparison: str | None = None, where: dict | None = None) -> Trained:
    """Train as `settings` say (the default run if None) with `model.fit`, recording the run,
    its peak memory as `measure-stems` measures it and the order of its batches; `cancel`
    stops after the current step and keeps what was done; `on_snapshot` hears of each
    snapshot as it is recorded (a dashboard draws it live); with `keep` the run is written to
    the cache (a PermissionError before any training when it could not be); `comparison` names
    the comparison of stems the run belongs to; `where` is the device and precision to train in
    (`hardware()`'s, the default), kept in the run."""
    settings = (settings or TrainSettings()).check()
    problem = cannot_keep() if keep else None
    if problem:
        raise PermissionError(problem)
    train_set, test_set = data or training_data(settings)
    settings = replace(settings, train_images=len(train_set), test_images=len(test_set))
    where = where or hardware()
    model = compiled(settings, len(train_set.class_names), where["precision"])
    specs = stem_layers(settings.variant, settings.stem)
    probe = test_set.images[0]
    recorder = RunRecorder(probe, caffe(probe[None]).numpy(), kernel_layer=specs[0].name,
                           maps_layer=specs[-1].name,
                           total_steps=settings.epochs * settings.steps_per_epoch,
                           snapshots=settings.snapshots, cancel=cancel, progress=progress,
                           on_snapshot=on_snapshot)
    order = BatchOrder()
    training_batches = pipeline(train_set.images, train_set.labels, settings.batch,
                                shuffle_seed=settings.seed, order=order)
    read_peak = peak_memory(tf, rss_mb()[0])
    history = model.fit(training_batches,
                        validation_data=pipeline(test_set.images, test_set.labels, 256),
                        epochs=settings.epochs, verbose=0, shuffle=False,
                        callbacks=[recorder, *callbacks])
    peak = read_peak()
    run = None
    if keep:
        manifest = {"settings": settings.to_dict(), "class_names": list(train_set.class_names),
                    "epochs": recorder.epochs,
                    "status": "cancelled" if recorder.cancelled else "finished",
                    "steps": recorder.step, "params": model.count_params(),
                    "device": where["device"], "precision": where["precision"],
                    "recording_seconds": recorder.recording_seconds,
                    "data_seeds": {"train": settings.seed,
                                   "held_out": settings.seed + HELD_OUT_SEED},
                    "probe": {"set": "held-out", "index": 0, "label": int(test_set.labels[0])},
                    "kernel_layer": specs[0].name, "maps_layer": specs[-1].name,
                    "peak_memory": {"mb": peak["mb"], "source": peak["source"],
                                    "rss_rise_mb": peak["rss_rise_mb"],
                                    "says": memory_source({peak["source"]},
                                                          {peak["note"]} - {None})},
                    "batch_order_sha256": order.digest(recorder.step)}
        if comparison is not None:
            manifest["comparison"] = comparison
        run = write_run(manifest, recorder.arrays(), lambda path: model.save_weights(path))
    return Trained(model, recorder, history.history, run)
