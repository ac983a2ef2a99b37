"""`vggviz dashboard` and `vggviz notebooks`: what they serve and copy, from the package's own
notebooks and settings, and their refusals in one line. Serving itself is driven in the
browser tests (tests/servers.py starts every Voilà through `vggviz dashboard`) and from an
installed wheel in tests/test_wheel.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest

from vggviz.cli import main
from vggviz.server.dashboards import (
    LANDING,
    STEM_EXPLORER,
    DashboardError,
    address,
    config_dir,
    copy_notebooks,
    notebooks_dir,
    voila_argv,
)

ROOT = Path(__file__).resolve().parents[1]


def test_the_package_s_notebooks_are_the_project_s():
    shipped = sorted(p.name for p in notebooks_dir().glob("*.ipynb"))
    assert shipped == sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert {STEM_EXPLORER, LANDING} <= set(shipped)
    for name in shipped:
        nbformat.validate(nbformat.read(notebooks_dir() / name, as_version=4))


def test_the_settings_are_voila_s_and_jupyter_server_s():
    voila = json.loads((config_dir() / "voila.json").read_text())
    server = json.loads((config_dir() / "jupyter_server_config.json").read_text())
    assert voila["VoilaConfiguration"]["strip_sources"] is True
    assert voila["VoilaConfiguration"]["show_tracebacks"] is False
    assert voila["Voila"]["ip"] == server["ServerApp"]["ip"] == "127.0.0.1"


def test_voila_is_given_the_stem_explorer_the_package_s_settings_and_the_pool():
    argv = voila_argv(port=9001, pool=3, extra=["--VoilaConfiguration.preheat_kernel=False"])
    assert argv[0] == str((notebooks_dir() / STEM_EXPLORER).resolve())
    assert f"--Voila.config_file_paths={config_dir()}" in argv
    assert {"--port=9001", "--no-browser", "--Voila.port_retries=0",
            "--VoilaConfiguration.default_pool_size=3"} <= set(argv)
    assert argv[-1] == "--VoilaConfiguration.preheat_kernel=False"  # last, so it wins


def test_voila_parses_the_arguments_and_takes_the_package_s_voila_json():
    from voila.app import Voila

    app = Voila()
    app.parse_command_line(voila_argv(port=9002, pool=2))
    assert app.config_file_paths == [str(config_dir())]
    assert app.port == 9002 and app.config.VoilaConfiguration.default_pool_size == 2
    app.load_config_file("voila", path=app.config_file_paths)
    assert app.config.Voila.identity_provider_class == \
        "vggviz.server.identity.ClosingTabIdentityProvider"


def test_all_serves_the_notebooks_folder_behind_its_landing_page():
    assert voila_argv(everything=True)[0] == str(notebooks_dir().resolve())
    assert address(everything=True, port=8870) == f"http://127.0.0.1:8870/voila/render/{LANDING}"
    assert address(port=8870) == "http://127.0.0.1:8870/"


def test_a_folder_of_one_s_own_without_a_landing_page_opens_on_its_tree(tmp_path):
    assert address(tmp_path, port=8870) == "http://127.0.0.1:8870/voila/tree"


@pytest.mark.parametrize("path, everything, words", [
    ("missing.ipynb", False, "does not exist"),
    ("notes.txt", False, "is not a notebook"),
    ("x.ipynb", True, "not both"),
])
def test_a_wrong_target_is_refused_in_words(tmp_path, path, everything, words):
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "x.ipynb").write_text("{}")
    with pytest.raises(DashboardError, match=words):
        voila_argv(tmp_path / path, everything=everything)


def test_the_command_says_what_is_wrong_in_one_line(tmp_path, capsys):
    assert main(["dashboard", str(tmp_path / "nope.ipynb")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("vggviz: error: ") and "does not exist" in err
    assert err.count("\n") == 1


def test_without_voila_the_command_names_the_extra(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "voila.app", None)  # as if Voilà were not installed
    assert main(["dashboard", "--port", "9003"]) == 1
    err = capsys.readouterr().err
    assert 'pip install "vggviz[dashboard]"' in err and "Voilà" in err


def test_notebooks_are_copied_for_editing_and_never_overwritten_unasked(tmp_path, capsys):
    target = tmp_path / "mine"
    assert main(["notebooks", str(target)]) == 0
    out = capsys.readouterr().out
    copied = sorted(p.name for p in target.iterdir())
    assert copied == sorted(p.name for p in notebooks_dir().glob("*.ipynb"))
    assert (target / STEM_EXPLORER).read_bytes() == (notebooks_dir() / STEM_EXPLORER).read_bytes()
    assert f"vggviz dashboard {target / STEM_EXPLORER}" in out

    (target / STEM_EXPLORER).write_text("my edits")
    assert main(["notebooks", str(target)]) == 1
    assert "nothing copied" in capsys.readouterr().err
    assert (target / STEM_EXPLORER).read_text() == "my edits"  # kept
    assert main(["notebooks", str(target), "--force"]) == 0
    assert (target / STEM_EXPLORER).read_bytes() == (notebooks_dir() / STEM_EXPLORER).read_bytes()


def test_notebooks_refuses_a_file_as_the_folder(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(DashboardError, match="is a file"):
        copy_notebooks(tmp_path / "file")


def test_a_negative_pool_is_refused():
    with pytest.raises(DashboardError, match="pool"):
        voila_argv(pool=-1)


def test_a_pool_is_k_kernels_in_all_for_the_stem_explorer_of_a_folder():
    """Voilà's `default_pool_size` counts for every notebook of a folder (`--all --pool 4` held
    16 kernels); here a folder's pool is K kernels for its stem explorer and none for the rest."""
    from traitlets import Dict
    from voila.app import Voila

    app = Voila()
    app.parse_command_line(voila_argv(everything=True, port=9004, pool=4))
    assert app.config.VoilaConfiguration.default_pool_size == 0
    sizes = app.config.VoilaKernelManager.kernel_pools_config.get_value(Dict())  # as Voilà reads it
    assert sizes == {"default": {"pool_size": 0}, STEM_EXPLORER: {"pool_size": 4}}


def test_a_folder_without_a_stem_explorer_keeps_no_kernels_unless_asked(tmp_path):
    (tmp_path / "mine.ipynb").write_text("{}")
    assert "--VoilaConfiguration.default_pool_size=0" in voila_argv(tmp_path)
    with pytest.raises(DashboardError, match="holds none"):
        voila_argv(tmp_path, pool=2)
