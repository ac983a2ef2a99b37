"""The project's own promises: pinned, in-step dependency lists and a CI that runs `make test`."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s#]+)$")


def _pins(lines):
    pins = {}
    for line in lines:
        line = line.strip()
        if not line or line.startswith(("#", "-r ")):
            continue
        line = line.removeprefix("- ")
        m = PIN.match(line)
        assert m, f"not pinned with ==: {line!r}"
        pins[m.group(1).lower().replace("_", "-")] = m.group(2)
    return pins


def test_requirements_are_pinned_and_environment_yml_agrees():
    req = _pins((ROOT / "requirements.txt").read_text().splitlines())
    text = (ROOT / "environment.yml").read_text()
    pip_section = text.split("- pip:", 1)[1].splitlines()
    env = _pins(line for line in pip_section if line.strip().startswith("-"))
    assert {"tensorflow", "keras", "jupyterlab", "ipywidgets", "voila", "matplotlib", "pillow",
            "numpy"} <= set(req)
    assert env == req


def test_dev_requirements_are_pinned_and_include_the_runtime():
    lines = (ROOT / "requirements-dev.txt").read_text().splitlines()
    assert "-r requirements.txt" in lines
    assert {"pytest", "nbclient", "playwright", "pytest-playwright", "hypothesis",
            "ruff"} <= set(_pins(lines))


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "set -euo pipefail" in ci
    assert "make test" in ci and "make test" in readme and "make dashboard" in readme
    assert "apt-get install" in ci and "chromium" in ci


def test_make_test_treats_no_tests_as_failure():
    makefile = (ROOT / "Makefile").read_text()
    assert "-eq 5" in makefile
