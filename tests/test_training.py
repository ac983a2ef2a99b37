"""Training with model.fit and the recording callback: the model, the record, Cancel, the run."""

from __future__ import annotations

import math
import threading
from dataclasses import replace

import keras
import numpy as np
import pytest
import tensorflow as tf

from vggviz.by_hand.glorot import glorot_uniform
from vggviz.network.recording import snapshot_steps
from vggviz.network.training import (
    caffe,
    compiled,
    hardware,
    hardware_words,
    learning_rate,
    train,
    trainable_vgg,
    training_data,
)
from vggviz.plan.training import COMPARISON, TrainSettings, for_comparison, precision_for
from vggviz.sources.images import preprocess
from vggviz.sources.runs import list_runs, read_run

TINY = TrainSettings(size=32, train_images=96, test_images=40, epochs=2, batch=32, snapshots=6,
                     widths=(8, 8, 8, 8, 8))


@pytest.mark.parametrize(("variant", "stem", "size"), [
    ("vgg11", "vgg", 32), ("vgg16", "pooled", 64), ("vgg13_bn", "strided", 128)])
def test_the_model_keeps_the_stems_64_filters_and_narrows_the_groups(variant, stem, size):
    model = trainable_vgg(variant, stem, size, (8, 16, 24, 32, 40), classes=10)
    convs = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    assert convs[0].filters == 64 and convs[0].name in ("block1_conv1", "stem_conv")
    widths = {int(layer.name[5]): layer.filters for layer in convs[1:]}
    assert widths == {b: w for b, w in zip(range(1, 6), (8, 16, 24, 32, 40), strict=True)
                      if b in widths} and set(widths) >= {2, 3, 4, 5}
    assert model.output_shape == (None, 10)
    assert [layer.name for layer in model.layers[-2:]] == ["avg_pool", "predictions"]


def test_a_model_that_cannot_be_built_is_refused_in_words():
    with pytest.raises(ValueError, match="at least 64×64"):
        trainable_vgg("vgg11", "pooled", 32)
    with pytest.raises(ValueError, match="each of the 5 groups"):
        trainable_vgg("vgg11", "vgg", 32, (8, 8))
    with pytest.raises(ValueError, match="group 2's width"):
        TrainSettings(widths=(8, 0, 8, 8, 8)).check()


def test_the_pipeline_feeds_images_as_every_other_source_does():
    images = training_data(TINY)[0].images[:3]
    batch = caffe(images).numpy()
    assert np.allclose(batch, np.concatenate([preprocess(image) for image in images]))


def test_snapshots_are_log_spaced_from_step_0_to_the_last():
    steps = snapshot_steps(1000, 20)
    assert steps[0] == 0 and steps[-1] == 1000 and np.all(np.diff(steps) > 0)
    assert steps[1:4].tolist() == [1, 2, 3]  # dense early, when the kernels move most
    assert np.diff(steps)[-1] > 100
    assert len(steps) <= 20
    assert snapshot_steps(3, 32).tolist() == [0, 1, 2, 3]
    assert snapshot_steps(50, 2).tolist() == [0, 50] and snapshot_steps(0, 32).tolist() == [0]


def test_a_short_training_records_its_run_and_replay_equals_the_record(isolated_cache):
    trained = train(TINY)
    rec, run = trained.recorder, trained.run
    total = 2 * 3
    assert rec.step == total and run.status == "finished" and len(run.epochs) == 2
    assert all({"loss", "accuracy", "val_loss", "val_accuracy", "seconds", "train_seconds"}
               <= set(e) for e in run.epochs)
    a = read_run(run.path).arrays
    for key, value in rec.arrays().items():
        assert np.array_equal(a[key], value), key
    assert a["steps"][0] == 0 and a["steps"][-1] == total and len(a["step_seconds"]) == total
    # Step 0 is the seeded start before any update; the last snapshot is the saved weights.
    assert np.allclose(a["kernels"][0], glorot_uniform("block1_conv1", (3, 3, 3, 64), 0))
    fresh = trainable_vgg(widths=TINY.widths)
    fresh.load_weights(run.weights)
    assert np.array_equal(fresh.get_layer("block1_conv1").get_weights()[0], a["kernels"][-1])
    assert not np.array_equal(a["kernels"][0], a["kernels"][-1])
    assert a["probe_maps"].shape == (len(a["steps"]), 32, 32, 64)
    assert np.array_equal(a["probe_image"], training_data(TINY)[1].images[0])
    assert run.settings["widths"] == [8, 8, 8, 8, 8] and len(run.class_names) == 10
    assert {k: run.manifest[k] for k in ("device", "precision")} == hardware()
    assert [r.name for r in list_runs()[0]] == [run.name]


def test_cancel_stops_after_the_current_step_and_keeps_what_was_done(isolated_cache):
    cancel = threading.Event()

    def progress(done, total, note):
        if done == 4:
            cancel.set()

    trained = train(TINY, cancel=cancel, progress=progress)
    run = read_run(trained.run.path)
    assert run.status == "cancelled" and trained.recorder.step == 4
    assert run.arrays["steps"][-1] == 4 and len(run.arrays["step_seconds"]) == 4
    assert [e["complete"] for e in run.epochs] == [True, False]  # 3 steps, then 1 of 3


@pytest.mark.slow
def test_settings_refuse_a_schedule_they_cannot_follow_in_words():
    with pytest.raises(ValueError, match="unknown schedule 'step'"):
        TrainSettings(schedule="step").check()
    with pytest.raises(ValueError, match="needs the cosine schedule"):
        TrainSettings(warmup_epochs=1).check()
    with pytest.raises(ValueError, match="more epochs than that"):
        TrainSettings(schedule="cosine", warmup_epochs=2, epochs=2).check()
    with pytest.raises(ValueError, match="clip_norm must be 0"):
        TrainSettings(clip_norm=-1.0).check()


def test_the_cosine_schedule_warms_up_linearly_then_decays_to_zero():
    settings = TrainSettings(train_images=640, batch=64, epochs=5, schedule="cosine",
                             warmup_epochs=1)  # 10 steps an epoch: 10 of warm-up, 40 of decay
    rate = learning_rate(settings)
    at = [float(rate(step)) for step in (0, 5, 10, 30, 50)]
    # the textbook cosine: lr · ½(1 + cos(π t/T)), t steps after the warm-up, T = 40
    assert at == pytest.approx([0.0, 0.005, 0.01, 0.01 * 0.5 * (1 + math.cos(math.pi / 2)), 0.0],
                               abs=1e-7)
    assert learning_rate(TrainSettings()) == 0.01  # the single run's: constant


def test_the_comparisons_stabiliser_reaches_the_optimiser():
    settings = for_comparison(TINY).check()
    assert (settings.schedule, settings.warmup_epochs, settings.clip_norm) == ("cosine", 1, 1.0)
    optimizer = compiled(settings, 10).optimizer
    assert optimizer.global_clipnorm == COMPARISON["clip_norm"]
    assert float(optimizer.learning_rate) == 0.0  # step 0 of the warm-up
    single = compiled(TINY, 10).optimizer
    assert single.global_clipnorm == TrainSettings().clip_norm == 5.0  # a single run's default
    assert float(single.learning_rate) == pytest.approx(0.01)
    assert for_comparison(TINY, clip_norm=0.0).clip_norm == 0.0  # what is given wins
    assert for_comparison(TrainSettings(epochs=1)).check().warmup_epochs == 0


def test_the_precision_is_mixed_float16_only_where_a_gpu_is_seen(monkeypatch):
    assert precision_for([]) == "float32"
    gpu = tf.config.PhysicalDevice(name="/physical_device:GPU:0", device_type="GPU")
    assert precision_for([gpu]) == "mixed_float16"
    monkeypatch.setattr(tf.config, "list_physical_devices",
                        lambda kind=None: [gpu] if kind == "GPU" else [])
    where = hardware()
    assert where == {"device": "GPU:0", "precision": "mixed_float16"}
    assert hardware_words(where) == "on GPU:0 in mixed float16 (softmax in float32)"
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    assert hardware_words(hardware()) == "on the CPU in float32"


def test_a_model_in_mixed_float16_trains_a_step_and_answers_in_float32():
    settings = replace(TINY, size=32, widths=(4, 4, 4, 4, 4)).check()
    model = compiled(settings, 3, "mixed_float16")
    assert keras.mixed_precision.global_policy().name == "float32"  # restored after building
    conv = model.get_layer("block1_conv1")
    assert conv.compute_dtype == "float16" and conv.kernel.dtype == "float32"
    assert model.get_layer("predictions").compute_dtype == "float32"
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)  # Keras scales loss
    images = caffe(training_data(settings)[0].images[:8])
    before, scale = conv.kernel.numpy().copy(), model.optimizer.initial_scale
    # The first steps overflow float16 at Keras' initial loss scale (2¹⁵): skipped, the scale
    # halved, until one fits; then the weights move.
    losses = [model.train_on_batch(images, np.arange(8) % 3, return_dict=True)["loss"]
              for _ in range(4)]
    assert np.all(np.isfinite(losses)) and not np.array_equal(before, conv.kernel.numpy())
    assert float(model.optimizer.dynamic_scale) < scale
    out = model(images[:2])
    assert out.dtype == "float32" and np.allclose(np.sum(out.numpy(), axis=1), 1, atol=1e-3)
    assert trainable_vgg(widths=(4, 4, 4, 4, 4)).get_layer("block1_conv1").compute_dtype == \
        "float32"  # a model built after it is float32 again
