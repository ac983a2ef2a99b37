"""`vggviz train` and `vggviz runs`: a short training kept as a run, listed; Ctrl-C cancels."""

from __future__ import annotations

import os
import signal
import threading

import numpy as np
import pytest

from vggviz.cli import cancel_on_interrupt, epochs_done, main
from vggviz.sources.runs import list_runs, write_run


def test_train_prints_the_held_out_accuracy_and_keeps_the_run(isolated_cache, capsys):
    assert main(["train", "--train-images", "64", "--test-images", "32", "--epochs", "1",
                 "--batch", "32", "--widths", "8,8,8,8,8"]) == 0
    out = capsys.readouterr().out
    runs, damaged = list_runs()
    assert len(runs) == 1 and damaged == []
    accuracy = runs[0].held_out_accuracy()
    assert f"held-out accuracy {accuracy:.1%} on 32 images (10 classes, chance 10%)" in out
    assert "share of energy a plane explains" in out and str(runs[0].path) in out
    assert main(["runs"]) == 0
    listed = capsys.readouterr().out
    assert runs[0].name in listed and "vgg11 vgg stem, 32 px, shapes, 1 epoch," in listed


@pytest.mark.parametrize(("args", "needle"), [
    (["train", "--widths", "8,8"], "widths gives each of the 5 groups"),
    (["train", "--stem", "pooled"], "at least 64×64"),
])
def test_train_refuses_settings_it_cannot_train_in_one_line(isolated_cache, capsys, args, needle):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1


def test_train_refuses_a_cache_it_cannot_write_before_training(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VGGVIZ_CACHE", str(tmp_path / "a-file"))
    (tmp_path / "a-file").write_text("not a folder")
    assert main(["train", "--epochs", "1"]) == 1
    err = capsys.readouterr().err
    assert "cache cannot be written here" in err and "is a file" in err and "training" not in err


def test_runs_names_a_damaged_run_and_lists_the_good_ones(isolated_cache, capsys):
    assert main(["runs"]) == 0
    assert "no runs in" in capsys.readouterr().out
    arrays = {"steps": np.array([0]), "kernels": np.zeros((1, 3, 3, 3, 64), np.float32),
              "biases": np.zeros((1, 64), np.float32),
              "probe_maps": np.zeros((1, 4, 4, 64), np.float16),
              "probe_image": np.zeros((4, 4, 3), np.uint8),
              "step_seconds": np.zeros(1, np.float32)}
    manifest = {"settings": {"variant": "vgg11", "stem": "vgg", "size": 32, "data": "shapes"},
                "class_names": ["a"], "epochs": [], "status": "cancelled"}
    write_run(manifest, arrays, lambda p: p.write_bytes(b"w"), name="good")
    bad = write_run(manifest, arrays, lambda p: p.write_bytes(b"w"), name="bad")
    (bad.path / "final.weights.h5").write_bytes(b"x")  # same size, other bytes
    assert main(["runs"]) == 0
    captured = capsys.readouterr()
    assert "good  vgg11 vgg stem" in captured.out and "(cancelled)" in captured.out
    assert "bad" not in captured.out
    assert "run bad is damaged: final.weights.h5's bytes differ" in captured.err


@pytest.mark.parametrize(("epochs", "said"), [
    ([{"complete": True, "steps": 47}] * 12, "12 epochs"),
    ([{"complete": True, "steps": 47}, {"complete": False, "steps": 11}], "1 epoch and 11 steps"),
    ([{"complete": False, "steps": 3}], "0 epochs and 3 steps"),
])
def test_a_cancelled_run_says_how_far_it_got(epochs, said):
    assert epochs_done(epochs) == said


def test_the_first_ctrl_c_cancels_and_the_second_interrupts():
    cancel, before = threading.Event(), signal.getsignal(signal.SIGINT)
    with cancel_on_interrupt(cancel):
        os.kill(os.getpid(), signal.SIGINT)
        assert cancel.wait(5)
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            threading.Event().wait(5)  # the signal arrives while waiting
    assert signal.getsignal(signal.SIGINT) is before  # the handler before is back
