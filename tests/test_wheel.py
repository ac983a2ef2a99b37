"""The package as pip users get it: the wheel built from this checkout, its metadata, and the
wheel installed into a fresh virtualenv outside the checkout with only its declared
dependencies, where every module imports and the stem explorer opens on its first grid.

The fresh environment takes the versions requirements.txt pins (as constraints: they choose
versions, they add no package), so it installs what the tests run on, from pip's cache; this
environment's pip installs into it (`pip --python`), which spares the new one a pip of its own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

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


def test_the_wheel_says_python_3_11_mit_and_carries_the_licence(wheel):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        info = next(n.rsplit("/", 1)[0] for n in names if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(zf.read(f"{info}/METADATA").decode())
        assert f"{info}/licenses/LICENSE" in names, [n for n in names if "dist-info" in n]
        licence = zf.read(f"{info}/licenses/LICENSE").decode()
    assert meta["Requires-Python"] == ">=3.11"
    assert meta["License-Expression"] == "MIT" and meta.get_all("License-File") == ["LICENSE"]
    assert licence.startswith("MIT License") and "Copyright (c) 2026 vggviz contributors" in licence
    assert licence == (ROOT / "LICENSE").read_text()
    assert sorted(meta.get_all("Requires-Dist")) == sorted(project["dependencies"])
    assert "vggviz/sources/downloads.py" in names and not any(n.startswith("tests/") for n in names)


# Run by the fresh environment's python: import every module of the installed package, then open
# the stem explorer as a notebook would, without a browser.
PROBE = """
import importlib, json, pkgutil, sys
from pathlib import Path

import vggviz

def fail(name):
    raise RuntimeError(f"cannot import {name}")

modules = [m.name for m in pkgutil.walk_packages(vggviz.__path__, "vggviz.", onerror=fail)]
for name in modules:
    importlib.import_module(name)

from vggviz.ui import stem_explorer

widget = stem_explorer()
app = widget.app
assert app.downloads.join(120), "the ImageNet download did not end"
print(json.dumps({
    "file": vggviz.__file__, "prefix": sys.prefix, "modules": modules,
    "children": len(widget.children), "shape": list(app.maps.shape),
    "grid_png": app.grid_png[:8].hex(), "label": app.fx.label, "status": app.status.text,
}))
"""


def test_the_installed_wheel_imports_every_module_and_opens_the_stem_explorer(wheel,
                                                                             tmp_path):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], env=_outside_env(), cwd=tmp_path)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet",  # this pip,
          "--constraint", ROOT / "requirements.txt", wheel],  # installing into the new venv
         env=_outside_env(), cwd=tmp_path)
    env = _outside_env() | {
        "KERAS_HOME": str(tmp_path / "keras"),  # no ImageNet weights here, and none fetched:
        "VGGVIZ_WEIGHTS_URL": str(tmp_path / "no weights here"),  # the mirror is missing
    }
    out = _run([python, "-c", PROBE], env=env, cwd=tmp_path)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert Path(seen["file"]).is_relative_to(venv) and Path(seen["prefix"]) == venv
    packaged = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                for p in (ROOT / "vggviz").rglob("*.py")} - {"vggviz"}
    assert set(seen["modules"]) == packaged  # every module of the checkout shipped, and imported
    assert seen["children"] > 0 and seen["shape"] == [224, 224, 64]
    assert seen["grid_png"] == b"\x89PNG\r\n\x1a\n".hex()
    assert seen["label"] == "random (seed 0)" and "stem 224×224×64" in seen["status"]
    _run([venv / "bin" / "vggviz", "--help"], env=env, cwd=tmp_path)  # the console script
