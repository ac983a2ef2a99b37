"""The test harness itself: a run that skipped tests says so, with every reason and its count."""

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

SKIPPING = '''
import pytest

@pytest.mark.browser
def test_needs_a_browser():
    pytest.skip("/usr/bin/chromium not found (apt-get install chromium): the browser tests need it")

def test_needs_a_tool():
    pytest.skip("the frobnicate command is needed")

def test_needs_it_too():
    pytest.skip("the frobnicate command is needed")

def test_runs():
    assert True
'''


def test_the_banner_counts_every_skip_with_its_reason(tmp_path):
    for name in ("conftest.py", "keras_files.py"):  # the conftest and what it imports
        shutil.copy(HERE / name, tmp_path / name)
    (tmp_path / "test_skipping.py").write_text(SKIPPING)
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "-o", "addopts=", str(tmp_path)],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    (banner,) = [line for line in out.stdout.splitlines() if "SKIPPED:" in line]
    assert "3 tests SKIPPED: " in banner
    assert "2 × the frobnicate command is needed" in banner
    assert "1 × /usr/bin/chromium not found" in banner


RECORDING = '''
import os
from pathlib import Path
{mark}

def test_{name}_{i}():
    Path(__file__).with_name("{name}_{i}.worker").write_text(os.environ["PYTEST_XDIST_WORKER"])
'''


def test_a_files_tests_share_a_worker_and_the_browser_files_share_one(tmp_path):
    """The suite's scheduler (conftest's `pytest_xdist_make_scheduler`) on a run of two workers:
    each file's tests on one worker, and every file that drives Chromium on the same one."""
    for name in ("conftest.py", "keras_files.py"):
        shutil.copy(HERE / name, tmp_path / name)
    files = {"page_a": True, "page_b": True, "plain_c": False, "plain_d": False}
    for name, browser in files.items():
        mark = "import pytest\npytestmark = pytest.mark.browser" if browser else ""
        (tmp_path / f"test_{name}.py").write_text("".join(
            RECORDING.format(mark=mark if i == 0 else "", name=name, i=i) for i in range(4)))
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "-o", "addopts=", "-n", "2", str(tmp_path)],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    workers = {name: {(tmp_path / f"{name}_{i}.worker").read_text() for i in range(4)}
               for name in files}
    assert all(len(ran_on) == 1 for ran_on in workers.values()), workers
    assert workers["page_a"] == workers["page_b"], workers
