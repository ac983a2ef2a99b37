"""Runs on disk: written whole or not at all, replayed as recorded, damage named, shared, no TF."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import numpy as np
import pytest

from vggviz.sources import runs
from vggviz.sources.runs import RunDamaged, list_runs, read_run, write_run


def _arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"steps": np.array([0, 1, 3, 8]),
            "kernels": rng.normal(size=(4, 3, 3, 3, 64)).astype(np.float32),
            "biases": rng.normal(size=(4, 64)).astype(np.float32),
            "probe_maps": rng.normal(size=(4, 8, 8, 64)).astype(np.float16),
            "probe_image": rng.integers(0, 256, (8, 8, 3), dtype=np.uint8),
            "step_seconds": rng.uniform(size=8).astype(np.float32)}


@pytest.fixture()
def cache(isolated_cache):
    """The runs folder of a cache of this test's own."""
    return isolated_cache / "runs"


MANIFEST = {"settings": {"variant": "vgg11", "stem": "vgg", "size": 8, "data": "shapes"},
            "class_names": ["a", "b"], "status": "finished",
            "epochs": [{"epoch": 1, "loss": 1.0, "val_accuracy": np.float32(0.5)}]}


def _weights(path):
    path.write_bytes(b"weights in Keras' layout")


def test_a_run_replays_exactly_what_was_recorded(cache):
    recorded = _arrays()
    run = write_run(MANIFEST, recorded, _weights)
    assert run.path.parent == cache
    again = read_run(run.path)
    for key, value in recorded.items():
        assert again.arrays[key].dtype == value.dtype
        assert np.array_equal(again.arrays[key], value), key
    last = again.snapshot(-1)
    assert last.step == 8 and np.array_equal(last.kernels, recorded["kernels"][3])
    assert np.array_equal(last.probe_maps, recorded["probe_maps"][3])
    assert again.held_out_accuracy() == pytest.approx(0.5) and again.class_names == ["a", "b"]
    assert again.weights.read_bytes() == b"weights in Keras' layout" and len(again) == 4
    assert run.name.endswith("_vgg11_vgg-stem_8px_shapes")


def test_a_failed_write_leaves_nothing_behind(cache):
    def broken(path):
        path.write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_run(MANIFEST, _arrays(), broken)
    assert list(cache.iterdir()) == []


def test_two_runs_of_the_same_name_both_stay(cache):
    a = write_run(MANIFEST, _arrays(0), _weights, name="same")
    b = write_run(MANIFEST, _arrays(1), _weights, name="same")
    assert {a.name, b.name} == {"same", "same-2"}
    kernels = [read_run(r.path).arrays["kernels"] for r in (a, b)]
    assert not np.array_equal(*kernels)


def _flip_a_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(("harm", "reason"), [
    (lambda p: _flip_a_byte(p / "record.npz"), "record.npz's bytes differ"),
    (lambda p: (p / "final.weights.h5").unlink(), "final.weights.h5 is missing"),
    (lambda p: (p / "final.weights.h5").write_bytes(b"short"), "has 5 bytes"),
    (lambda p: (p / "manifest.json").write_text('{"format": 1, "sett'), "cannot be read"),
    (lambda p: (p / "manifest.json").unlink(), "has no manifest.json"),
])
def test_a_damaged_run_is_named_with_the_reason_and_not_shown(cache, harm, reason):
    good = write_run(MANIFEST, _arrays(0), _weights, name="good")
    bad = write_run(MANIFEST, _arrays(1), _weights, name="bad")
    harm(bad.path)
    with pytest.raises(RunDamaged, match=reason):
        read_run(bad.path)
    shown, damaged = list_runs()
    assert [r.name for r in shown] == [good.name]
    assert len(damaged) == 1 and "run bad is damaged" in damaged[0] and reason in damaged[0]


def test_arrays_that_replay_cannot_use_are_refused_on_writing_and_named_on_reading(cache):
    arrays = _arrays()
    arrays["biases"] = arrays["biases"][:2]  # fewer snapshots than steps
    with pytest.raises(ValueError, match="snapshots disagree"):
        write_run(MANIFEST, arrays, _weights)
    run = write_run(MANIFEST, _arrays(), _weights)
    with open(run.path / "record.npz", "wb") as fh:  # rewritten, the manifest made to agree
        np.savez(fh, **arrays)
    manifest = json.loads((run.path / "manifest.json").read_text())
    manifest["files"]["record.npz"] = {"bytes": (run.path / "record.npz").stat().st_size,
                                       "sha256": runs._sha256(run.path / "record.npz")}
    (run.path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(RunDamaged, match="snapshots disagree"):
        read_run(run.path)


def test_runs_of_a_read_only_cache_are_listed_after_ones_own(tmp_path, monkeypatch):
    monkeypatch.setenv("VGGVIZ_CACHE", str(tmp_path / "teacher"))
    theirs = write_run(MANIFEST, _arrays(), _weights, name="teachers")
    monkeypatch.setenv("VGGVIZ_CACHE", os.pathsep.join([str(tmp_path / "own"),
                                                         str(tmp_path / "teacher")]))
    mine = write_run(MANIFEST, _arrays(), _weights, name="mine")
    assert mine.path.parent == tmp_path / "own" / "runs"
    assert [r.name for r in list_runs()[0]] == [mine.name, theirs.name]


@pytest.mark.parametrize(("umask", "file_mode", "folder_mode"),
                         [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700), (0o002, 0o664, 0o775)])
def test_a_run_is_as_readable_as_the_umask_allows(cache, umask, file_mode, folder_mode):
    """mkdtemp would make a private folder (0o700); the run gets what a plain create gets, so a
    class reads a teacher's run where the teacher's umask shares files."""
    old = os.umask(umask)
    try:
        run = write_run(MANIFEST, _arrays(), _weights)
    finally:
        os.umask(old)
    assert stat.S_IMODE(run.path.stat().st_mode) == folder_mode
    for p in run.path.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == file_mode, p.name


def test_the_manifest_lists_each_file_with_its_size_and_digest(cache):
    run = write_run(MANIFEST, _arrays(), _weights)
    manifest = json.loads((run.path / "manifest.json").read_text())
    assert manifest["format"] == runs.FORMAT
    assert set(manifest["files"]) == {"record.npz", "final.weights.h5"}
    assert manifest["files"]["final.weights.h5"]["bytes"] == len(b"weights in Keras' layout")
    assert len(manifest["files"]["record.npz"]["sha256"]) == 64


def test_a_run_without_what_replay_needs_is_refused_before_writing(cache):
    arrays = _arrays()
    del arrays["probe_maps"]
    with pytest.raises(ValueError, match="arrays lack probe_maps"):
        write_run(MANIFEST, arrays, _weights)
    assert not cache.exists() or list(cache.iterdir()) == []


def test_reading_and_replaying_runs_imports_no_tensorflow(cache):
    run = write_run(MANIFEST, _arrays(), _weights)
    code = ("import sys, vggviz\n"
            "from vggviz.sources.runs import read_run\n"
            "from vggviz.sources.shapes import shapes\n"
            "from vggviz.by_hand.kernel_structure import kernel_structure\n"
            f"run = read_run({str(run.path)!r})\n"
            "kernel_structure(run.snapshot(-1).kernels); shapes(10, 32)\n"
            "heavy = sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)\n"
            "assert not heavy, heavy\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
