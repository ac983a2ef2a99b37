"""The "Watch it learn" dashboard from Python: a tiny run trained in its thread is drawn live
(kernels beside their start, the probe's maps, the curves), kept, listed and replayed; Cancel
keeps what was done; a run already in the cache replays at once, as recorded, without
TensorFlow; a damaged one is named, not shown."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from vggviz.plan.training import COMPARISON, TrainSettings
from vggviz.render import render_grid, render_kernels
from vggviz.sources.runs import list_runs, write_run
from vggviz.ui.dashboards.watch_it_learn import WatchItLearn
from vggviz.ui.panels.learning_view import KERNEL_TILE, MAP_TILE

TINY = TrainSettings(train_images=64, test_images=32, batch=32, epochs=1, snapshots=4)
"""A run of two steps at 32 px: seconds, after TensorFlow's import."""


def _arrays(seed: int = 0, steps: tuple[int, ...] = (0, 1, 3, 8)) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    k = len(steps)
    return {"steps": np.array(steps),
            "kernels": rng.normal(size=(k, 3, 3, 3, 64)).astype(np.float32),
            "biases": rng.normal(size=(k, 64)).astype(np.float32),
            "probe_maps": rng.uniform(0, 3, size=(k, 16, 16, 64)).astype(np.float16),
            "probe_image": rng.integers(0, 256, (16, 16, 3), dtype=np.uint8),
            "step_seconds": rng.uniform(size=8).astype(np.float32)}


MANIFEST = {"settings": {"variant": "vgg11", "stem": "vgg", "size": 16, "data": "shapes"},
            "class_names": ["stripes", "rings"], "status": "finished",
            "probe": {"set": "held-out", "index": 0, "label": 1},
            "epochs": [{"epoch": 1, "loss": 2.0, "val_loss": 2.1, "accuracy": 0.3,
                        "val_accuracy": 0.25},
                       {"epoch": 2, "loss": 1.0, "val_loss": 1.2, "accuracy": 0.6,
                        "val_accuracy": 0.55}]}


def _weights(path):
    path.write_bytes(b"weights in Keras' layout")


def test_a_teachers_run_in_the_cache_replays_at_once_as_recorded(isolated_cache):
    recorded = _arrays()
    run = write_run(MANIFEST, recorded, _weights)
    app = WatchItLearn(TINY)
    assert app.runs.value == str(run.path)  # listed and opened without a click
    assert app.slider.max == 3 and app.slider.value == 3
    last = app.view
    assert last.kernels_now.value == render_kernels(recorded["kernels"][3], tile=KERNEL_TILE,
                                                    columns=8)
    assert last.kernels_start.value == render_kernels(recorded["kernels"][0],
                                                      tile=KERNEL_TILE, columns=8)
    assert last.maps.value == render_grid(recorded["probe_maps"][3].astype(np.float32),
                                          columns=8, tile=MAP_TILE, labels=False)
    app.slider.value = 1  # the slider replays the recorded steps
    assert last.kernels_now.value == render_kernels(recorded["kernels"][1], tile=KERNEL_TILE,
                                                    columns=8)
    assert "step 1 of 8 (snapshot 2 of 4)" in app.slider_text.value
    assert "at step 1" in last.kernels_now.alt and "step 0" in last.kernels_now.alt
    assert "a held-out image of rings" in last.maps.alt
    assert last.curves.value.startswith(b"\x89PNG")
    assert "55.0%" in last.curves_table.value and "Chart:" in last.curves.alt
    for picture in (last.kernels_now, last.kernels_start, last.maps, last.probe, last.curves):
        assert picture.alt, picture  # text for every picture
    assert "vggviz-error" not in app.status.text


def test_a_damaged_run_is_named_and_not_listed(isolated_cache):
    good = write_run(MANIFEST, _arrays(0), _weights, name="good")
    bad = write_run(MANIFEST, _arrays(1), _weights, name="bad")
    (bad.path / "record.npz").write_bytes(b"not what was written")
    app = WatchItLearn(TINY)
    assert [value for _, value in app.runs.options] == [str(good.path)]
    assert "run bad is damaged" in app.damaged.value


def test_replaying_imports_no_tensorflow(isolated_cache):
    write_run(MANIFEST, _arrays(), _weights)
    code = ("import sys\n"
            "from vggviz.ui import watch_it_learn\n"
            "app = watch_it_learn().app\n"
            "app.slider.value = 0\n"
            "assert app.view.kernels_now.value, 'nothing drawn'\n"
            "heavy = sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)\n"
            "assert not heavy, heavy\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr


def test_no_stem_chosen_is_said_and_nothing_starts(isolated_cache):
    app = WatchItLearn(TINY)
    for box in app.stems.values():
        box.value = False
    app.train()
    assert "choose at least one stem" in app.status.text
    assert app._thread is None and not app.train_button.disabled


def test_choosing_the_pooled_stem_trains_both_on_images_it_takes(isolated_cache):
    app = WatchItLearn(TINY)
    assert "32×32 px" in app.size_note.value
    (alone,) = app.settings()
    assert (alone.schedule, alone.clip_norm) == ("constant", 5.0)  # one stem: the default run's
    app.stems["pooled"].value = True
    assert "64×64 px" in app.size_note.value and "needs at least 64" in app.size_note.value
    assert [(s.stem, s.size) for s in app.settings()] == [("vgg", 64), ("pooled", 64)]
    vgg, pooled = app.settings()  # compared: the comparison's stabiliser, the same for both
    assert replace(vgg, stem="pooled") == pooled and vgg.clip_norm == COMPARISON["clip_norm"]
    assert vgg.schedule == "cosine"


@pytest.mark.slow
def test_a_tiny_run_is_drawn_while_it_trains_then_kept_and_replayed(isolated_cache):
    app = WatchItLearn(TINY)
    app.images.value = 64
    seen = []  # (step, kernels picture) each time a snapshot is drawn live
    progress = []  # the progress line then
    show = app.view.show

    def watched(now, start, *args, **kwargs):
        show(now, start, *args, **kwargs)
        progress.append(app.progress_text.value)
        seen.append((now.step, start.step, app.bar.layout.display, app.cancel_button.disabled))

    app.view.show = watched
    app.train()
    assert app.train_button.disabled and app.cancel_button.layout.display is None
    assert app.join(300)
    assert [s[:2] for s in seen[:1]] == [(0, 0)]  # the start, drawn as soon as recorded
    assert seen[-2][0] == 2 and all(s[1] == 0 for s in seen)  # live: the last step vs step 0
    runs, damaged = list_runs()
    assert len(runs) == 1 and not damaged and runs[0].status == "finished"
    assert app.runs.value == str(runs[0].path)
    assert "finished" in app.progress_text.value and "held-out accuracy" in app.progress_text.value
    from vggviz.network.training import hardware, hardware_words  # TensorFlow: imported late
    said = f"training the VGG stem {hardware_words(hardware())}: "
    assert any(said in text for text in progress)  # said while it trained
    assert app.bar.value == app.bar.max == 2
    assert not app.train_button.disabled and app.cancel_button.layout.display == "none"
    assert app.slider.max == len(runs[0]) - 1
    assert "epoch 1" in app.view.curves_table.value and app.view.curves.value
    app.slider.value = 0
    assert app.view.kernels_now.value == app.view.kernels_start.value  # step 0 is the start


@pytest.mark.slow
def test_cancel_keeps_what_was_done(isolated_cache):
    app = WatchItLearn(TINY)
    app.epochs.value = 3
    progress = app._progress

    def cancel_at_once(*args):
        app.cancel()
        progress(*args)

    app._progress = cancel_at_once
    app.train()
    assert app.join(300)
    runs, _ = list_runs()
    assert [r.status for r in runs] == ["cancelled"]
    assert runs[0].manifest["steps"] < 3 * TINY.steps_per_epoch
    assert "cancelled: what was done is kept" in app.progress_text.value
