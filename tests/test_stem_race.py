"""Stems compared by training: same images in the same order, the table, the curves, the CLI and
the stem designs dashboard's accuracy section."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from vggviz.cli import build_parser, main, train_settings
from vggviz.network.training import BatchOrder, hardware, hardware_words, pipeline
from vggviz.plan.stem_race import format_table, race_table
from vggviz.plan.training import COMPARISON
from vggviz.render.stem_race import race_curves
from vggviz.sources.runs import comparisons, list_runs, write_run
from vggviz.ui.panels.measure_panel import accuracy_section


def _manifest(stem: str, accuracies: list[float], seconds: list[float], *,
              order: str = "abc", seed: int = 0) -> dict:
    return {"settings": {"variant": "vgg11", "stem": stem, "size": 64, "widths": [8] * 5,
                         "data": "shapes", "train_images": 64, "test_images": 32, "epochs":
                         len(accuracies), "batch": 32, "learning_rate": 0.01, "momentum": 0.9,
                         "seed": seed, "snapshots": 4},
            "class_names": list("abcdefghij"), "status": "finished", "comparison": "c1",
            "epochs": [{"epoch": i + 1, "steps": 2, "seconds": s, "val_accuracy": a}
                       for i, (a, s) in enumerate(zip(accuracies, seconds, strict=True))],
            "peak_memory": {"mb": 100.0, "source": "rss", "rss_rise_mb": 100.0,
                            "says": "RSS = peak resident memory"},
            "batch_order_sha256": order}


def test_the_table_reads_equal_epochs_and_equal_time_from_the_runs():
    slow = _manifest("vgg", [0.2, 0.5, 0.8], [40.0, 40.0, 40.0])
    fast = _manifest("pooled", [0.3, 0.6, 0.5], [10.0, 10.0, 10.0], order="other")
    table = race_table([slow, fast], [64 * 64 * 64, 32 * 32 * 64])
    vgg, pooled = table.rows
    assert table.equal_seconds == 30.0  # the faster stem's whole training
    assert vgg.best == 0.8 and vgg.final == 0.8
    assert np.isnan(vgg.at_equal_time)  # no epoch of the slow stem had ended by 30 s
    assert (pooled.best, pooled.final, pooled.at_equal_time) == (0.6, 0.5, 0.6)
    assert pooled.per_minute == pytest.approx(0.6 / (20 / 60))  # best reached after 20 s
    assert vgg.per_minute == pytest.approx(0.8 / 2)
    assert vgg.same_order and not pooled.same_order  # a different digest is said, not hidden
    text = format_table(table)
    assert "262,144" in text and "65,536" in text and "NO" in text
    assert "no epoch by then" in text
    assert "shapes data (64 training, 32 held-out images of 10 classes) at 64×64 px" in text


def test_the_table_refuses_runs_trained_otherwise_than_by_the_stem():
    with pytest.raises(ValueError, match="differs from the vgg stem's in seed"):
        race_table([_manifest("vgg", [0.5], [1.0]), _manifest("pooled", [0.5], [1.0], seed=1)],
                   [1, 1])
    with pytest.raises(ValueError, match="differs from the vgg stem's in clip_norm"):
        race_table([_manifest("vgg", [0.5], [1.0]), _stabilised("pooled") | {
            "settings": _stabilised("pooled")["settings"] | {"clip_norm": 5.0}}], [1, 1])
    with pytest.raises(ValueError, match="differs from the vgg stem's in precision"):
        race_table([_manifest("vgg", [0.5], [1.0]) | {"precision": "float32"},
                    _manifest("pooled", [0.5], [1.0]) | {"precision": "mixed_float16"}], [1, 1])


def _stabilised(stem: str) -> dict:
    m = _manifest(stem, [0.5, 0.6], [1.0, 1.0])
    return m | {"settings": m["settings"] | COMPARISON, "precision": "float32", "device": "CPU"}


def test_the_table_says_the_stabiliser_and_precision_the_stems_trained_with():
    text = format_table(race_table([_stabilised("vgg"), _stabilised("pooled")], [1, 1]))
    assert ("SGD lr 0.01 momentum 0.9 (1-epoch warm-up, then cosine decay to 0), gradients "
            "clipped to global norm 1, seed 0; float32 on CPU") in text
    # a run kept before schedules were settings: the plain rate, said as before
    old = format_table(race_table([_manifest("vgg", [0.5], [1.0]),
                                   _manifest("pooled", [0.5], [1.0])], [1, 1]))
    assert "SGD lr 0.01 momentum 0.9, seed 0" in old and "cosine" not in old


def test_the_comparison_trains_every_stem_with_the_stabiliser_unless_told_otherwise():
    parser = build_parser()
    args = parser.parse_args(["train", "--stems", "vgg,pooled", "--size", "64"])
    settings = train_settings(args)
    assert {k: getattr(settings, k) for k in COMPARISON} == COMPARISON
    assert train_settings(parser.parse_args(["train"])).clip_norm == 5.0  # a single run: default
    told = train_settings(parser.parse_args(["train", "--stems", "vgg,pooled", "--clip-norm",
                                             "0", "--schedule", "constant", "--warmup", "0"]))
    assert (told.schedule, told.warmup_epochs, told.clip_norm) == ("constant", 0, 0.0)


def test_the_curves_draw_one_line_per_stem_against_steps_and_seconds():
    fig = race_curves([_manifest("vgg", [0.2, 0.5], [4.0, 4.0]),
                       _manifest("pooled", [0.3, 0.6], [1.0, 1.0])])
    by_steps, by_seconds = fig.axes
    assert [list(line.get_xdata()) for line in by_steps.lines] == [[2, 4], [2, 4]]
    assert [list(line.get_xdata()) for line in by_seconds.lines] == [[4.0, 8.0], [1.0, 2.0]]
    assert by_steps.get_xlabel() == "training steps" and by_seconds.get_xlabel() == "wall seconds"


def _order(seed: int, steps: int) -> str:
    keras.utils.set_random_seed(seed)  # as `train` does before it builds the pipeline
    order = BatchOrder()
    data = pipeline(np.zeros((20, 4, 4, 3), np.uint8), np.arange(20), 8, shuffle_seed=seed,
                    order=order)
    for _ in range(2):  # two epochs: the shuffle draws afresh each epoch
        for _ in data:
            pass
    return order.digest(steps)


def test_the_batch_order_digest_tells_orders_apart():
    assert _order(0, 6) == _order(0, 6)
    assert _order(0, 6) != _order(1, 6)
    assert _order(0, 6) != _order(0, 5)


def test_comparisons_leave_out_a_lone_or_cancelled_run(isolated_cache):
    arrays = {"steps": np.array([0]), "kernels": np.zeros((1, 3, 3, 3, 64), np.float32),
              "biases": np.zeros((1, 64), np.float32),
              "probe_maps": np.zeros((1, 4, 4, 64), np.float16),
              "probe_image": np.zeros((4, 4, 3), np.uint8),
              "step_seconds": np.zeros(1, np.float32)}

    def keep(name: str, ident: str, status: str = "finished") -> None:
        write_run(_manifest("vgg", [0.5], [1.0]) | {"comparison": ident, "status": status},
                  arrays, lambda p: p.write_bytes(b"w"), name=name)

    keep("a1", "alone")
    keep("b1", "cut")
    keep("b2", "cut", "cancelled")
    keep("c1", "whole")
    keep("c2", "whole")
    found = comparisons(list_runs()[0])
    assert [(ident, [r.name for r in runs]) for ident, runs in found] == [("whole",
                                                                           ["c1", "c2"])]


def test_train_stems_prints_the_table_of_two_stems_that_saw_the_same_images(isolated_cache,
                                                                              capsys):
    assert "Accuracy is not measured" in accuracy_section()  # nothing trained yet
    assert main(["train", "--stems", "vgg,pooled", "--size", "64", "--train-images", "64",
                 "--test-images", "32", "--epochs", "1", "--batch", "32",
                 "--widths", "4,4,4,4,4"]) == 0
    out, err = capsys.readouterr()
    assert f"each SGD lr 0.01 momentum 0.9 (cosine decay to 0), gradients clipped to global " \
           f"norm 1, {hardware_words(hardware())}" in err  # said as training starts
    runs, damaged = list_runs()
    assert damaged == [] and len(runs) == 2
    (ident, race_runs), = comparisons(runs)
    assert [r.settings["stem"] for r in race_runs] == ["vgg", "pooled"]
    orders = {r.manifest["batch_order_sha256"] for r in race_runs}
    assert len(orders) == 1  # the two stems saw the same images in the same order
    for run in race_runs:
        assert {k: run.settings[k] for k in COMPARISON} == {  # the stabiliser, one epoch: no
            **COMPARISON, "warmup_epochs": 0}                   # warm-up
        assert {k: run.manifest[k] for k in ("device", "precision")} == hardware()
        peak = run.manifest["peak_memory"]
        assert peak["source"] in ("allocator", "rss") and peak["mb"] > 0
        assert run.epochs[0]["steps"] == 2
    assert f"comparison {ident}:" in out and "same images, order" in out
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines()
            if line.split()[:1] in (["vgg"], ["pooled"]) and "kept in" not in line}
    assert rows == {"vgg": "262,144", "pooled": "65,536"}  # 64² and 32² maps of 64 values
    section = accuracy_section()
    assert ident in section and "Accuracy is not measured" not in section
    assert "at 64×64 px" in section and "data:image/png;base64," in section


def test_train_stems_refuses_one_stem_or_a_size_a_stem_cannot_take(isolated_cache, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["train", "--stems", "vgg"])
    assert exited.value.code == 2
    assert "two or more" in capsys.readouterr().err
    assert main(["train", "--stems", "vgg,pooled", "--size", "32"]) == 2
    assert "at least 64×64" in capsys.readouterr().err
