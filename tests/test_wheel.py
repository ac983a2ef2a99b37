"""The package as pip users get it: the wheel built from this checkout, its metadata, and the
wheel installed into a fresh virtualenv outside the checkout, first alone (`pip install vggviz`:
every module of the library and CLI imports, the stem explorer opens on its first grid, and
`vggviz dashboard` names the extra it needs), then with `[dashboard]` and JupyterLab, as the
README's "Install with pip" says: `vggviz dashboard` serves the explorer to Chromium from the
installed package, and `stem_explorer()` in a new notebook of a plain JupyterLab (Jupyter's own
10 MiB websocket limit) takes a 12 MB upload and refuses a 25 MB one in words.

The fresh environment takes the versions requirements.txt pins (as constraints: they choose
versions, they add no package), so it installs what the tests run on, from pip's cache; this
environment's pip installs into it (`pip --python`), which spares the new one a pip of its own.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tomllib
import zipfile
from contextlib import contextmanager
from email.parser import Parser
from pathlib import Path
from typing import NamedTuple

import nbformat
import numpy as np
import pytest
from browser import ARTIFACTS, PageWatch, chromium_session, run_all_cells
from PIL import Image
from playwright.sync_api import expect
from servers import free_port, stop, wait_port

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow

# Left out of the copy the wheel is built from: what a build or a run leaves in a checkout.
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__",
                                    "node_modules", ".pytest_cache", ".ruff_cache", ".hypothesis",
                                    "test-artifacts", ".hub")


def _run(args: list, **kwargs) -> subprocess.CompletedProcess:
    out = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    command = " ".join(str(a) for a in args)
    assert out.returncode == 0, f"{command[:300]}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


def _outside_env() -> dict[str, str]:
    """This environment without what would let the checkout's vggviz in (PYTHONPATH)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(MPLBACKEND="Agg", TF_CPP_MIN_LOG_LEVEL="3")
    return env


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """The wheel pip builds from a copy of this checkout (the build leaves files behind)."""
    where = tmp_path_factory.mktemp("wheel")
    source = where / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir",
          where / "dist", source], env=_outside_env(), cwd=where)
    (built,) = (where / "dist").glob("vggviz-*.whl")
    return built


def test_the_wheel_says_python_3_11_mit_and_carries_the_licence_notebooks_and_settings(wheel):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        info = next(n.rsplit("/", 1)[0] for n in names if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(zf.read(f"{info}/METADATA").decode())
        assert f"{info}/licenses/LICENSE" in names, [n for n in names if "dist-info" in n]
        licence = zf.read(f"{info}/licenses/LICENSE").decode()
        notebooks = {n.removeprefix("vggviz/notebooks/"): zf.read(n) for n in names
                     if n.startswith("vggviz/notebooks/")}
    assert meta["Requires-Python"] == ">=3.11"
    assert meta["License-Expression"] == "MIT" and meta.get_all("License-File") == ["LICENSE"]
    assert licence.startswith("MIT License") and "Copyright (c) 2026 vggviz contributors" in licence
    assert licence == (ROOT / "LICENSE").read_text()
    extra = [f'{line}; extra == "dashboard"'
             for line in project["optional-dependencies"]["dashboard"]]
    assert meta.get_all("Provides-Extra") == ["dashboard"]
    assert sorted(meta.get_all("Requires-Dist")) == sorted(project["dependencies"] + extra)
    assert "vggviz/sources/downloads.py" in names and not any(n.startswith("tests/") for n in names)
    assert notebooks == {p.name: p.read_bytes() for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert {"vggviz/server/config/voila.json",
            "vggviz/server/config/jupyter_server_config.json"} <= set(names)




# Run by the fresh environment's python: import every module of the installed package but the
# server's (they need the `dashboard` extra), then open the stem explorer as a notebook would,
# without a browser.
PROBE = """
import importlib, json, pkgutil, sys
from pathlib import Path

import vggviz

def fail(name):
    raise RuntimeError(f"cannot import {name}")

modules = [m.name for m in pkgutil.walk_packages(vggviz.__path__, "vggviz.", onerror=fail)]
for name in modules:
    if not name.startswith("vggviz.server."):
        importlib.import_module(name)

from vggviz.ui import stem_explorer

widget = stem_explorer()
app = widget.app
assert app.downloads.join(120), "the ImageNet download did not end"
print(json.dumps({
    "file": vggviz.__file__, "prefix": sys.prefix, "modules": modules,
    "children": len(widget.children), "shape": list(app.maps.shape),
    "grid_png": app.map_grid.png[:8].hex(), "label": app.fx.label, "status": app.status.text,
}))
"""


class Installed(NamedTuple):
    venv: Path
    env: dict[str, str]
    alone: dict  # what PROBE saw with `pip install vggviz` alone
    no_voila: subprocess.CompletedProcess  # `vggviz dashboard` before the extra


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Installed:
    """A fresh venv outside the checkout: the wheel alone, looked at, then with `[dashboard]`
    and JupyterLab added, as the README's "Install with pip" does it."""
    where = tmp_path_factory.mktemp("installed")
    venv = where / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], env=_outside_env(), cwd=where)
    python = venv / "bin" / "python"

    def pip_install(*what) -> None:
        """This pip, installing into the new venv; no bytecode ahead of time (Python compiles
        what it imports): TensorFlow alone installed in 26 s instead of 30 s."""
        _run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet",
              "--no-compile", "--constraint", ROOT / "requirements.txt", *what],
             env=_outside_env(), cwd=where)

    env = _outside_env() | {
        "KERAS_HOME": str(where / "keras"),  # no ImageNet weights here, and none fetched:
        "VGGVIZ_WEIGHTS_URL": str(where / "no weights here"),  # the mirror is missing
        "VGGVIZ_CACHE": str(where / "vggviz-cache"),
        # A plain Jupyter: none of this machine's own settings, kernels or lab workspaces.
        "JUPYTER_CONFIG_DIR": str(where / "jupyter-config"),
        "JUPYTER_DATA_DIR": str(where / "jupyter-data"),
        "JUPYTERLAB_SETTINGS_DIR": str(where / "lab-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(where / "lab-workspaces"),
        "HOME": str(where / "home"),
    }
    (where / "home").mkdir()
    pip_install(wheel)
    alone = json.loads(_run([python, "-c", PROBE], env=env, cwd=where).stdout
                       .strip().splitlines()[-1])
    no_voila = subprocess.run([venv / "bin" / "vggviz", "dashboard"], capture_output=True,
                              text=True, env=env, cwd=where, timeout=120)
    pip_install(f"{wheel}[dashboard]", "jupyterlab")
    return Installed(venv, env, alone, no_voila)


def test_the_wheel_alone_imports_the_library_and_opens_the_stem_explorer(installed):
    seen, venv = installed.alone, installed.venv
    assert Path(seen["file"]).is_relative_to(venv) and Path(seen["prefix"]) == venv
    packaged = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                for p in (ROOT / "vggviz").rglob("*.py")} - {"vggviz"}
    assert set(seen["modules"]) == packaged  # every module of the checkout shipped
    assert seen["children"] > 0 and seen["shape"] == [224, 224, 64]
    assert seen["grid_png"] == b"\x89PNG\r\n\x1a\n".hex()
    assert seen["label"] == "random (seed 0)" and "stem 224×224×64" in seen["status"]


def test_without_the_extra_vggviz_dashboard_says_how_to_get_it(installed):
    out = installed.no_voila
    assert out.returncode == 1
    assert out.stderr.strip() == \
        'vggviz: error: serving needs Voilà: pip install "vggviz[dashboard]"'


@contextmanager
def _served_page(command: list, installed: Installed, cwd: Path, port: int, name: str):
    """A server of the fresh venv started outside the checkout (logged to cwd/NAME.log, stopped
    by PID), and a Chromium page at 1280×800 watched for errors, which must stay none."""
    log = open(cwd / f"{name}.log", "wb")
    proc = subprocess.Popen([str(c) for c in command], cwd=cwd, env=installed.env, stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        wait_port(port, timeout=120, proc=proc)
        with chromium_session() as chromium:
            page = chromium.new_page(viewport={"width": 1280, "height": 800})
            watch = PageWatch(page, name)
            yield page
            assert not watch.problems, watch.problems
    finally:
        stop(proc)
        log.close()


def _noise_png(path: Path, side: int) -> Path:
    pixels = np.random.default_rng(side).integers(0, 256, (side, side, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, compress_level=0)
    return path


def _upload(page, path: Path) -> None:
    with page.expect_file_chooser() as chooser:
        page.locator("button.vggviz-upload").click()  # JupyterLab has an "Upload Files" too
    chooser.value.set_files(path)


def _screenshots(page, name: str) -> None:
    """What a person sees, at 1280×800 and 1920×1080, in test-artifacts/ (looked at, not
    asserted)."""
    ARTIFACTS.mkdir(exist_ok=True)
    for width, height in ((1280, 800), (1920, 1080)):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(500)
        page.screenshot(path=ARTIFACTS / f"{name}_{width}x{height}.png")


def _twelve_and_twenty_five_mb(page, tmp_path: Path) -> None:
    """A 12 MB photo (over Jupyter's own 10 MiB message limit) arrives and is drawn; a 25 MB
    file (over the app's 20 MB) is refused in words, and the 12 MB one stays."""
    grid = page.locator("img.vggviz-grid")
    before = grid.get_attribute("src")
    twelve = _noise_png(tmp_path / "noise-12mb.png", 2000)
    assert 10 * 2**20 < twelve.stat().st_size < 20 * 10**6
    _upload(page, twelve)
    ok = page.locator(".vggviz-status .vggviz-ok")
    expect(ok).to_contain_text(re.compile(r"noise-12mb\.png · stem 224×224×64"))
    expect(grid).not_to_have_attribute("src", before)
    drawn = grid.get_attribute("src")
    big = tmp_path / "big.png"
    big.write_bytes(np.random.default_rng(0).bytes(25 * 10**6))
    _upload(page, big)
    error = page.locator(".vggviz-status .vggviz-error", has_text="big.png")
    expect(error).to_contain_text(
        re.compile(r"big\.png is 25 MB; the limit is 20 MB\. The last image stays"))
    assert grid.get_attribute("src") == drawn  # the 12 MB photo's maps stay


@pytest.mark.browser
def test_vggviz_dashboard_from_the_installed_package_serves_the_explorer(installed, tmp_path):
    port = free_port()
    command = [installed.venv / "bin" / "vggviz", "dashboard", f"--port={port}"]
    with _served_page(command, installed, tmp_path, port, "installed_dashboard") as page:
        page.goto(f"http://127.0.0.1:{port}/")
        expect(page.locator(".vggviz-status .vggviz-ok")).to_contain_text(
            re.compile(r"Grace Hopper \(photo\) · stem 224×224×64"))
        assert "from vggviz" not in page.content()  # sources stripped
        _twelve_and_twenty_five_mb(page, tmp_path)
        _screenshots(page, "installed_dashboard")
    printed = (tmp_path / "installed_dashboard.log").read_text(errors="replace")
    assert f"vggviz: http://127.0.0.1:{port}/  (1 kernel(s) kept ready for " \
        f"01_stem_explorer.ipynb; Ctrl-C stops it)" in printed


EXPLORER_CELL = "from vggviz import stem_explorer\nstem_explorer()"


@pytest.mark.browser
def test_stem_explorer_in_a_plain_jupyterlab_takes_a_12_mb_upload(installed, tmp_path):
    notebook = nbformat.v4.new_notebook(metadata={"kernelspec": {  # as JupyterLab's launcher
        "name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}})
    notebook.cells = [nbformat.v4.new_code_cell(EXPLORER_CELL)]
    nbformat.write(notebook, tmp_path / "mine.ipynb")  # JupyterLab's root: tmp_path
    port, token = free_port(), secrets.token_hex(16)
    command = [installed.venv / "bin" / "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
               f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               *(["--allow-root"] if os.geteuid() == 0 else [])]
    with _served_page(command, installed, tmp_path, port, "installed_jupyterlab") as page:
        page.goto(f"http://127.0.0.1:{port}/lab/tree/mine.ipynb?token={token}")
        page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for()
        run_all_cells(page)  # Run → Run All Cells, as a person would
        expect(page.locator(".vggviz-status .vggviz-ok")).to_contain_text(
            re.compile(r"Grace Hopper \(photo\) · stem 224×224×64"))
        _twelve_and_twenty_five_mb(page, tmp_path)
        _screenshots(page, "installed_jupyterlab")
        stderr = page.locator(
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        assert "Traceback" not in " ".join(stderr.all_inner_texts())
