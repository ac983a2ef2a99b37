"""Activation-maximisation patterns: against the stem's kernels and the explorer's own forward
pass, reproducible, shared through the disk cache, cancellable, with progress."""

import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

from vggviz.network import pattern_cache
from vggviz.network.features import FeatureExtractor
from vggviz.network.patterns import (
    ActivationPatterns,
    PatternsCancelled,
    PatternSettings,
    cached_patterns,
    patterns_caption,
)
from vggviz.sources.images import IMAGENET_MEAN_BGR, preprocess


@pytest.fixture(scope="module")
def fx():
    """Random VGG16 (seed 0), the VGG stem, as the explorer builds it."""
    return FeatureExtractor("vgg16", weights="random", seed=0)


def _best_cosine(patch: np.ndarray, kernel: np.ndarray) -> float:
    """The largest cosine between `kernel` and any window of `patch` it fits in."""
    k = kernel.shape[0]
    windows = np.lib.stride_tricks.sliding_window_view(patch, (k, k), axis=(0, 1))
    windows = windows.transpose(0, 1, 3, 4, 2).reshape(-1, kernel.size)
    cos = windows @ kernel.ravel() / (np.linalg.norm(windows, axis=1) * np.linalg.norm(kernel))
    return float(cos.max())


@pytest.mark.parametrize("stem", ["vgg", "pooled", "strided"])
def test_a_stem_pattern_points_along_its_units_kernel(stem):
    # the stem is one linear convolution then ReLU (and a max-pool): the input of bounded
    # energy that excites a unit most is its kernel, in the preprocessed (BGR, mean-free) space
    fx = FeatureExtractor("vgg16", weights="random", stem=stem, seed=3)
    kernels = fx.stem_weights()[0]
    for p in ActivationPatterns(fx).attribute_all(None, "stem", range(0, 64, 8)):
        assert p.pixels.dtype == np.uint8 and p.pixels.shape[2] == 3
        x = preprocess(p.pixels, fx.weights)[0]
        assert _best_cosine(x, kernels[..., p.channel]) >= 0.95, (stem, p.channel)


def _canvas_activation(fx, p) -> float:
    """The pattern's target activation as the explorer computes it: the pattern in the corner of
    an image of the mean colour (what the network's zero padding is), through fx.activations."""
    from vggviz.network.patterns import _target

    canvas = np.tile(np.round(IMAGENET_MEAN_BGR[::-1]).astype(np.uint8), (fx.size, fx.size, 1))
    s = p.pixels.shape[0]
    canvas[:s, :s] = p.pixels
    row, col = _target(fx, p.stage, PatternSettings()).unit
    return float(fx.activations(canvas, p.stage)[row, col, p.channel])


@pytest.mark.parametrize("stage", ["stem", "group1", "group2", "group3",
                                   pytest.param("group4", marks=pytest.mark.slow),
                                   pytest.param("group5", marks=pytest.mark.slow)])
def test_the_target_map_rises_tenfold_over_the_noise_at_every_stage(fx, stage):
    channels = [5, 40] if stage not in ("group4", "group5") else [7]
    settings = PatternSettings(seed=11)
    found = ActivationPatterns(fx).attribute_all(None, stage, channels, settings=settings)
    for p in found:
        assert (p.stage, p.cached) == (stage, False)
        assert p.end > 0 and p.end >= 10 * p.start, (stage, p.channel, p.start, p.end)
    if stage != "group5":  # group 5's 218-px input is close to the whole 224-px image
        for p in found:
            assert _canvas_activation(fx, p) == pytest.approx(p.end, rel=0.05, abs=1e-3)


def test_the_pattern_is_sized_to_the_receptive_field(fx):
    from vggviz.plan.receptive_field import stage_field

    for stage in ("stem", "group3"):
        field = stage_field("vgg16", "vgg", stage, 224).size
        side = ActivationPatterns(fx).attribute(
            None, stage, 1, settings=PatternSettings(steps=1)).pixels.shape[0]
        assert field <= side <= field + stage_field("vgg16", "vgg", stage, 224).jump


def test_the_same_seed_gives_the_same_pattern_whatever_its_batch(fx, isolated_cache, monkeypatch):
    alone = ActivationPatterns(fx).attribute(None, "group1", 9, settings=PatternSettings(seed=4))
    monkeypatch.setenv("VGGVIZ_CACHE", str(isolated_cache / "another"))
    batch = ActivationPatterns(fx).attribute_all(None, "group1", [2, 9, 30],
                                                 settings=PatternSettings(seed=4))
    assert not batch[1].cached
    assert np.abs(alone.pixels.astype(int) - batch[1].pixels).max() <= 1
    assert batch[1].start == pytest.approx(alone.start, rel=1e-4)
    other = ActivationPatterns(fx).attribute(None, "group1", 9, settings=PatternSettings(seed=5))
    assert np.abs(other.pixels.astype(int) - alone.pixels).mean() > 5


def test_settings_have_a_stable_key_that_tells_them_apart():
    assert PatternSettings().key() == PatternSettings().key()
    assert PatternSettings(steps=31).key() != PatternSettings().key()
    assert PatternSettings(seed=1).key() != PatternSettings().key()
    with pytest.raises(ValueError):
        PatternSettings(steps=0)
    with pytest.raises(ValueError, match="no map 64"):
        cached_patterns(FeatureExtractor("vgg16", weights="random"), "stem", [64])


@pytest.mark.slow
def test_a_second_process_reads_the_first_ones_entry(tmp_path):
    script = textwrap.dedent("""
        from vggviz.network.features import FeatureExtractor
        from vggviz.network import patterns as m
        fx = FeatureExtractor("vgg16", weights="random", seed=2)
        p = m.ActivationPatterns(fx).attribute(None, "group1", 12)
        print(p.cached, "tensorflow" in __import__("sys").modules, p.pixels.sum())
    """)
    env = {**os.environ, "VGGVIZ_CACHE": str(tmp_path / "shared")}
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           env=env, timeout=300) for _ in range(2)]
    outs = [r.stdout.split() for r in runs]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr[-2000:]
    assert outs[0][:2] == ["False", "True"]  # computed, with TensorFlow
    assert outs[1][:2] == ["True", "False"]  # read: nothing computed, TensorFlow never loaded
    assert outs[0][2] == outs[1][2]


def _entry_file(fx, stage, channel, settings):
    from vggviz.network.patterns import _target

    return _target(fx, stage, settings).path(channel)


@pytest.mark.parametrize("damage", ["truncated", "wrong checksum", "garbage"])
def test_a_damaged_entry_is_recomputed_and_rewritten(fx, isolated_cache, damage):
    settings = PatternSettings(seed=6)
    first = ActivationPatterns(fx).attribute(None, "stem", 3, settings=settings)
    path = _entry_file(fx, "stem", 3, settings)
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[:-5])
    elif damage == "wrong checksum":
        path.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    else:
        path.write_bytes(b"\x00not a pattern")
    assert cached_patterns(fx, "stem", [3], settings) == {}
    again = ActivationPatterns(fx).attribute(None, "stem", 3, settings=settings)
    assert not again.cached and np.array_equal(again.pixels, first.pixels)
    assert cached_patterns(fx, "stem", [3], settings)[3].cached
    assert pattern_cache.read_entry(path, again.pixels.shape[0]) is not None


def test_cancel_stops_within_a_step_and_keeps_what_was_done(fx, isolated_cache, monkeypatch):
    from vggviz.network import patterns as module

    monkeypatch.setattr(module, "BATCH_PIXELS", 2 * 18 * 18)  # two maps a batch at group 2
    cancel, seen = threading.Event(), []
    settings = PatternSettings(steps=5, seed=8)

    def progress(done, total):
        seen.append(done)
        if done >= 4 * settings.steps + 2:  # the third batch has made one step
            cancel.set()

    with pytest.raises(PatternsCancelled):
        ActivationPatterns(fx).attribute_all(None, "group2", range(6), settings=settings,
                                             progress=progress, cancel=cancel)
    assert seen[-1] == 4 * settings.steps + 2  # no step after the cancel
    assert sorted(cached_patterns(fx, "group2", range(6), settings)) == [0, 1, 2, 3]


def test_progress_counts_map_steps_up_to_the_total(fx, isolated_cache):
    settings = PatternSettings(steps=4, seed=9)
    seen = []
    ActivationPatterns(fx).attribute_all(None, "group1", [1, 2, 3], settings=settings,
                                         progress=lambda d, t: seen.append((d, t)))
    assert seen[0] == (0, 12) and seen[-1] == (12, 12)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and len(seen) == 5
    seen.clear()
    found = ActivationPatterns(fx).attribute_all(None, "group1", [2, 1, 4], settings=settings,
                                                 progress=lambda d, t: seen.append((d, t)))
    assert [p.cached for p in found] == [True, True, False]
    assert seen[0] == (8, 12) and seen[-1] == (12, 12)


def test_the_caption_says_random_patterns_mean_nothing_yet(fx):
    assert "mean nothing until the network is trained" in patterns_caption(fx, "group3")


@pytest.mark.parametrize("variant", ["vgg11_lrn", "vgg13_bn", "vgg16_c", "vgg19"])
def test_every_kind_of_variant_climbs_and_measures_as_the_explorer_does(variant):
    fx = FeatureExtractor(variant, weights="random", seed=1)
    p = ActivationPatterns(fx).attribute(None, "group2", 17, settings=PatternSettings(seed=12))
    assert p.end > 0 and p.end >= 10 * p.start
    assert _canvas_activation(fx, p) == pytest.approx(p.end, rel=0.05, abs=1e-3)


def test_a_read_only_cache_listed_after_the_first_is_read_and_never_written(tmp_path,
                                                                            monkeypatch):
    """A teacher's cache, shared read-only with every student's server: what it holds comes
    from it; what it lacks is computed into the student's own cache."""
    teacher, student = tmp_path / "teacher", tmp_path / "student"
    fx = FeatureExtractor("vgg16", weights="random", seed=3)
    monkeypatch.setenv("VGGVIZ_CACHE", str(teacher))
    made = {p.channel: p.pixels for p in ActivationPatterns(fx).attribute_all(None, "stem", [0, 1])}
    before = sorted(str(p) for p in teacher.rglob("*"))
    teacher.chmod(0o555)
    for path in teacher.rglob("*"):
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        monkeypatch.setenv("VGGVIZ_CACHE", os.pathsep.join([str(student), str(teacher)]))
        found = cached_patterns(fx, "stem", [0, 1, 2])
        assert sorted(found) == [0, 1] and all(p.cached for p in found.values())
        assert all(np.array_equal(found[c].pixels, made[c]) for c in found)
        third = ActivationPatterns(fx).attribute_all(None, "stem", [0, 2])
        assert [p.cached for p in third] == [True, False]
        assert sorted(str(p) for p in teacher.rglob("*")) == before  # nothing written there
        assert list(student.rglob("2.pattern")) and not list(student.rglob("0.pattern"))
    finally:
        for path in [teacher, *teacher.rglob("*")]:
            path.chmod(0o755)


def test_a_model_the_extractor_replaces_is_freed_though_its_patterns_were_climbed(
        isolated_cache):
    """The compiled step functions live as long as their model, not longer: when the extractor
    builds a deeper prefix and drops the shallower one, its layers (and their weights) go."""
    import gc
    import weakref

    fx = FeatureExtractor("vgg11", weights="random", seed=0, size=32)
    quick = PatternSettings(steps=1)
    ActivationPatterns(fx).attribute(None, "stem", 0, settings=quick)
    stem_model = weakref.ref(fx.model("stem"))
    stem_layer = weakref.ref(fx.model("stem").get_layer("block1_conv1"))
    ActivationPatterns(fx).attribute(None, "group1", 0, settings=quick)
    deeper_layer = weakref.ref(fx.model("group1").get_layer("block1_conv1"))
    fx.model("group2")  # builds the deeper prefix and frees the shallower one
    gc.collect()
    assert stem_model() is None and stem_layer() is None and deeper_layer() is None
    assert ActivationPatterns(fx).attribute(None, "group2", 0, settings=quick).pixels.ndim == 3
