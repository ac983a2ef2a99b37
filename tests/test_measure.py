"""`vggviz measure-stems`: every stem timed and its memory measured in a fresh process, the
counted figures beside them, bad arguments refused in words. No timing is asserted."""

import html
import json
import os
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from vggviz.network.measure import ACCURACY_NOTE, MeasureError, Settings, measure_stems
from vggviz.plan import formatting as fmt
from vggviz.plan.architecture import STEMS

SMALL = ["--variant", "vgg11", "--size", "128", "--batch", "1", "--train", "--repeats", "2"]


def run(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "vggviz.cli", "measure-stems", *args],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def measured():
    out = run(*SMALL, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout), out.stderr


@pytest.mark.slow
def test_every_stem_is_measured_with_positive_figures(measured):
    data, _ = measured
    assert data["settings"] == {"variant": "vgg11", "batch": 1, "train": True, "size": 128,
                                "repeats": 2, "classifier": "fc"}
    assert [s["stem"] for s in data["stems"]] == list(STEMS)
    for s in data["stems"]:
        for key in ("forward_ms", "train_ms", "forward_peak_mb", "train_peak_mb", "built_mb"):
            assert s[key] > 0, (s["stem"], key)
        for key in ("forward_ms_range", "train_ms_range"):
            low, high = s[key]
            assert 0 < low <= s[key.removesuffix("_range")] <= high
    assert "allocator" in data["memory_source"] or "RSS" in data["memory_source"]
    assert "arXiv:1512.03385" in data["accuracy"] and "not measured" in data["accuracy"]


@pytest.mark.slow
def test_reducing_stems_report_fewer_counted_activation_values(measured):
    data, _ = measured
    values = {s["stem"]: s["activation_values"] for s in data["stems"]}
    assert values["pooled"] < values["vgg"] and values["strided"] < values["vgg"]
    from vggviz.plan.accounting import summarize

    assert values["vgg"] == summarize("vgg11", input_shape=(128, 128, 3)).activation_values


@pytest.mark.slow
def test_the_progress_bar_counts_every_step(measured):
    _, stderr = measured
    steps = len(STEMS) * Settings("vgg11", 1, True, 128, 2).steps_per_stem
    assert f"{steps}/{steps}" in stderr and "measuring stems" in stderr


@pytest.mark.slow
def test_the_table_says_what_it_measured_and_what_it_did_not(without_allocator_stats,
                                                             monkeypatch, capsys):
    """The CLI's table, printed from a real measurement (this module's; the measuring itself
    and the CLI's `--json` run as a process in `measured`)."""
    import vggviz.network.measure as measure
    from vggviz.cli import main

    asked = []
    monkeypatch.setattr(measure, "measure_stems",
                        lambda settings, progress: asked.append(settings) or
                        without_allocator_stats)
    assert main(["measure-stems", *SMALL]) == 0
    assert asked == [Settings("vgg11", 1, True, 128, 2, "fc")]
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert lines[0].startswith("Measured on this machine: VGG11 with its fc classifier")
    header = lines[1].split("  ")
    for column in ("stem", "params", "counted activations MB", "forward ms", "train step ms",
                   "peak MB forward", "peak MB train", "RSS rise MB"):
        assert column in lines[1], column
    assert [line.split()[0] for line in lines[3:6]] == list(STEMS)
    assert header and ACCURACY_NOTE in out.out and "peak MB: " in out.out


@pytest.mark.parametrize(("args", "needle"), [
    (["--size", "64"], "from 128 to 1024 (the strided stem needs at least 128×128 px), got 64"),
    (["--batch", "0"], "batch must be a whole number from 1 to 256, got 0"),
    (["--repeats", "0"], "repeats must be a whole number from 1 to 50"),
    (["--batch", "eight"], "whole number"),
    (["--variant", "vgg17"], "invalid choice"),
    (["--classifier", "mlp"], "invalid choice: 'mlp' (choose from 'fc', 'gap')"),
])
def test_bad_arguments_are_refused_in_one_line(args, needle):
    out = run(*args, timeout=120)
    assert out.returncode == 2
    assert needle in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""


def test_settings_refuse_in_words():
    with pytest.raises(ValueError, match="unknown classifier 'mlp'"):
        Settings(classifier="mlp").check()
    with pytest.raises(ValueError, match="unknown variant"):
        Settings(variant="vgg17").check()
    with pytest.raises(ValueError, match="batch must be a whole number"):
        Settings(batch=True).check()


@pytest.mark.slow
def test_a_cancelled_measurement_stops_in_words():
    cancel = threading.Event()
    with pytest.raises(MeasureError, match="cancelled"):
        measure_stems(Settings("vgg11", 1, False, 128, 1),
                      progress=lambda done, total, what: cancel.set(), cancel=cancel)


def test_the_measured_table_formats_a_measurement():
    from vggviz.network.measure import Measurement, StemMeasurement

    rows = tuple(StemMeasurement(stem, 10, 1_000_000 // (i + 1), 12.34, (11.0, 15.0), 5.0,
                                 "allocator", 40.0, (39.0, 41.0), 100.0, "rss", 70.0)
                 for i, stem in enumerate(STEMS))
    m = Measurement(Settings(train=True), rows, "RSS", "test machine")
    headers, table = fmt.measured_table(m)
    assert headers[:4] == ["stem", "params", "counted activations MB", "forward ms"]
    assert table[0] == ["vgg", "10", "4.0", "12.3 (11.0–15.0)", "40.0 (39.0–41.0)",
                        "5.0 (allocator)", "100 (RSS)", "70.0"]
    assert "train step ms" not in fmt.measured_table(
        Measurement(Settings(train=False), rows, "RSS", "x"))[0]
    assert "VGG16 with its fc classifier, a forward pass and one SGD step on a batch of 8" in \
        fmt.measured_settings(m)


def test_the_dashboard_panel_counts_at_once_for_the_batch(offline):
    from vggviz.ui import stem_designs

    app = stem_designs().app
    panel = app.measure
    assert "Counted, batch of 8 at 224×224" in panel.counted.value
    assert "25,690,112" in panel.counted.value  # 8 × 3,211,264 values leave the VGG stem
    panel.batch.value = 2
    assert "6,422,528" in panel.counted.value
    assert "arXiv:1512.03385" in panel.widget.children[-1].value
    assert "Accuracy is not measured" in panel.widget.children[-1].value


def test_a_failed_measurement_is_said_in_words(offline, monkeypatch):
    import vggviz.ui.panels.measure_panel as mp
    from vggviz.ui import stem_designs

    def fail(settings, progress, cancel):
        progress(1, 10, "vgg stem")
        raise MeasureError("measuring the vgg stem failed (exit code -9): Killed")

    monkeypatch.setattr(mp, "measure_stems", fail)
    panel = stem_designs().app.measure
    panel.start()
    panel.thread.join(60)
    assert "Not measured: measuring the vgg stem failed (exit code -9): Killed" in \
        panel.progress_text.value
    assert panel.progress.bar_style == "danger" and not panel.button.disabled
    assert panel.measured.value == ""


@pytest.mark.slow
def test_the_dashboard_button_measures_every_stem_with_a_progress_bar(offline, monkeypatch):
    from vggviz.ui import stem_designs

    app = stem_designs().app
    app.variant.value = "vgg11"
    panel = app.measure
    panel.batch.value, panel.train.value = 1, False
    asked = panel.settings()
    assert (asked.variant, asked.batch, asked.train, asked.size, asked.repeats) == \
        ("vgg11", 1, False, 224, 5)
    # The real measurement from the button on, at the smallest size every stem takes and one
    # timed repeat: the page's own 224 px and five repeats took 94 s of a CI run.
    monkeypatch.setattr(panel, "settings", lambda: replace(asked, size=128, repeats=1))
    panel.start()
    assert panel.button.disabled
    panel.thread.join(600)
    assert panel.progress.value == panel.progress.max == 3 * (1 + 1 + 1)
    assert panel.progress.bar_style == "success" and not panel.button.disabled
    table = panel.measured.value
    assert "Measured on this machine" in table and "forward ms" in table
    assert "train step ms" not in table and "VGG11 with its fc classifier" in table
    assert [s.stem for s in panel.result.stems] == list(STEMS)


NO_ALLOCATOR_STATS = """
import tensorflow as tf


def _reset(device):
    raise ValueError(f"Cannot reset memory stats for device '{device}'")


def _info(device):
    raise ValueError("Allocator stats not available")


tf.config.experimental.reset_memory_stats = _reset
tf.config.experimental.get_memory_info = _info
"""
"""A `sitecustomize` that makes TensorFlow's allocator statistics raise as TensorFlow 2.21 does
on CPUs without AVX-512 (AMD EPYC), whatever this machine's CPU."""


@pytest.fixture(scope="module")
def without_allocator_stats(tmp_path_factory):
    """A measurement whose worker processes have no allocator statistics, as on AMD EPYC."""
    site = tmp_path_factory.mktemp("no-allocator-stats")
    (site / "sitecustomize.py").write_text(NO_ALLOCATOR_STATS)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPATH", os.pathsep.join(
            p for p in (str(site), os.environ.get("PYTHONPATH")) if p))
        return measure_stems(Settings("vgg11", 1, True, 128, 1))


@pytest.mark.slow
def test_without_allocator_statistics_the_peaks_come_from_rss(without_allocator_stats):
    m = without_allocator_stats
    for s in m.stems:
        assert (s.forward_peak_source, s.train_peak_source) == ("rss", "rss"), s.stem
        assert 0 < s.forward_peak_mb <= s.rss_rise_mb and s.train_peak_mb == s.rss_rise_mb
    assert m.memory_source.startswith("RSS = peak resident memory (RSS) of the process")
    assert "allocator =" not in m.memory_source
    assert "Cannot reset memory stats for device 'CPU:0'" in m.memory_source
    data = json.loads(json.dumps(m.to_dict()))
    assert [(s["forward_peak_source"], s["train_peak_source"]) for s in data["stems"]] == \
        [("rss", "rss")] * len(STEMS)
    headers, rows = fmt.measured_table(m)
    for row in rows:
        forward, train = row[headers.index("peak MB forward")], row[headers.index("peak MB train")]
        assert forward.endswith(" (RSS)") and train.endswith(" (RSS)"), row


@pytest.mark.slow
def test_the_dashboard_says_where_rss_stood_in(offline, monkeypatch, without_allocator_stats):
    import vggviz.ui.panels.measure_panel as mp
    from vggviz.ui import stem_designs

    monkeypatch.setattr(mp, "measure_stems", lambda *a, **k: without_allocator_stats)
    panel = stem_designs().app.measure
    panel.batch.value = 1
    panel.start()
    panel.thread.join(60)
    assert panel.progress.bar_style == "success"
    assert panel.measured.value.count(" (RSS)</td>") == 2 * len(STEMS)
    assert "Cannot reset memory stats for device &#x27;CPU:0&#x27;" in panel.measured.value


def test_the_allocator_source_is_named_when_every_peak_comes_from_it():
    from vggviz.network.measure import ALLOCATOR, memory_source

    assert memory_source({"allocator"}, set()) == f"allocator = {ALLOCATOR}"
    mixed = memory_source({"allocator", "rss"}, {"TensorFlow's allocator statistics read 0 here"})
    assert mixed.startswith("allocator = ") and "; RSS = peak resident memory" in mixed
    assert mixed.endswith("(RSS because TensorFlow's allocator statistics read 0 here)")


def test_an_unexpected_failure_is_said_in_words_not_lost_in_the_thread(offline, monkeypatch):
    import vggviz.ui.panels.measure_panel as mp
    from vggviz.ui import stem_designs

    def fail(settings, progress, cancel):
        raise KeyError("forward_peak_source")

    monkeypatch.setattr(mp, "measure_stems", fail)
    panel = stem_designs().app.measure
    panel.start()
    panel.thread.join(60)
    text = panel.progress_text.value
    assert "Not measured: something went wrong (KeyError: &#x27;forward_peak_source&#x27;)" in text
    assert "Traceback" not in text and panel.progress.bar_style == "danger"
    assert not panel.button.disabled and panel.cancel_button.layout.display == "none"


def _stand_in(settings):
    """A measurement with made-up figures for `settings`, as `measure_stems` returns one."""
    from vggviz.network.measure import Measurement, StemMeasurement

    rows = tuple(StemMeasurement(stem, 10, 1000, 12.0, (11.0, 13.0), 5.0, "allocator",
                                 40.0, (39.0, 41.0), 9.0, "allocator", 7.0) for stem in STEMS)
    return Measurement(settings, rows, "allocator = test", "test machine")


def test_the_dashboard_measures_with_the_classifier_chosen(offline, monkeypatch):
    import vggviz.ui.panels.measure_panel as mp
    from vggviz.network.measure import PEAK_NOTE
    from vggviz.ui import stem_designs

    asked = []

    def record(settings, progress, cancel):
        asked.append(settings)
        return _stand_in(settings)

    monkeypatch.setattr(mp, "measure_stems", record)
    panel = stem_designs().app.measure
    assert panel.classifier.value == "fc"
    assert "fc classifier (VGG&#x27;s)" in panel.counted.value
    assert "138,357,544" in panel.counted.value  # VGG16 with the paper's head (Keras' count)
    panel.classifier.value = "gap"
    counted = panel.counted.value
    assert "Counted, batch of 8 at 224×224, GAP classifier" in counted
    assert "15,227,688" in counted and "138,357,544" not in counted  # Keras: pooling="avg" + Dense
    panel.start()
    panel.thread.join(60)
    assert [s.classifier for s in asked] == ["gap"]
    assert panel.progress.bar_style == "success"
    measured = panel.measured.value
    assert "Measured on this machine, GAP classifier" in measured
    assert "VGG16 with its gap classifier" in measured
    assert html.escape(PEAK_NOTE) in measured and "vggviz-peak-note" in measured
    panel.classifier.value = "fc"  # the GAP figures stay, marked as for other settings
    assert "Measured, GAP classifier" in panel.measured.value
    assert "measure again for these settings" in panel.measured.value
    assert html.escape(PEAK_NOTE) in panel.measured.value
    assert "fc classifier (VGG&#x27;s)" in panel.counted.value


def test_the_peak_note_says_what_a_peak_includes_and_what_is_a_hypothesis():
    from vggviz.network.measure import PEAK_NOTE

    for words in ("workspace", "buffers not yet freed", "hypothesis", "244 MB against 206 MB",
                  "166 against 237 MB"):
        assert words in PEAK_NOTE, words
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert "| vgg | 504–521 ms | 1,891–1,899 ms | 206 / " in readme  # the figures it quotes
    assert "| pooled | 141–144 ms | 522–524 ms | 244 / " in readme
    assert "237 / 639 MB" in readme and "166 / 367 MB" in readme
