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

