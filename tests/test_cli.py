"""The `vggviz` command line: summaries and errors (one line, exit codes, no traceback)."""

import json
import subprocess
import sys

import pytest

from vggviz.cli import main


def run(*args):
    return subprocess.run([sys.executable, "-m", "vggviz.cli", *args], capture_output=True,
                          text=True, timeout=120)


def test_summary_json_has_the_documented_shape(capsys):
    assert main(["summary", "vgg16", "--json", "--no-top", "--input-size", "160"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["variant"] == "vgg16" and data["include_top"] is False
    assert data["input_shape"] == [160, 160, 3] and data["stem"] == "vgg"
    assert data["total_params"] == 14_714_688
    assert [c["name"] for c in data["components"]] == ["stem", "group1", "group2", "group3",
                                                       "group4", "group5"]
    assert data["components"][0]["output_shape"] == [160, 160, 64]
    assert data["layers"][0] == {"name": "block1_conv1", "component": "stem", "kind": "conv",
                                 "output_shape": [160, 160, 64], "params": 1792,
                                 "activation_values": 160 * 160 * 64,
                                 "macs": 160 * 160 * 64 * 27}


def test_summary_table_is_readable(capsys):
    assert main(["summary", "vgg19", "--stem", "pooled"]) == 0
    out = capsys.readouterr().out
    assert "block5_conv4" in out and "values entering the learner: 802,816" in out


def test_variants_lists_every_variant_quickly():
    out = run("variants")
    assert out.returncode == 0, out.stderr
    for name in ("vgg11", "vgg11_lrn", "vgg13", "vgg16_c", "vgg16", "vgg19", "vgg19_bn"):
        assert f"\n{name} " in out.stdout
    assert "138,357,544" in out.stdout and "143,667,240" in out.stdout


@pytest.mark.parametrize(("args", "needle"), [
    (["summary", "vgg17"], "'vgg11', 'vgg11_lrn'"),
    (["summary", "vgg16", "--stem", "tiny"], "'vgg', 'pooled', 'strided'"),
    (["summary", "vgg16", "--input-size", "16"], "at least 32×32"),
    (["summary", "vgg16", "--stem", "strided", "--input-size", "100"], "at least 128×128"),
    (["summary", "vgg16", "--input-size", "big"], "whole number"),
    (["frobnicate"], "invalid choice"),
])
def test_usage_errors_are_one_line_with_exit_code_2(args, needle):
    out = run(*args)
    assert out.returncode == 2
    assert needle in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "Traceback" not in out.stderr
