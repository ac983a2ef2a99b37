"""`vggviz dashboard --pool K` keeps K kernels ready in all, as a teacher reads it.

Voilà's own `default_pool_size` is K kernels for every notebook of a folder: `--all --pool 4`
held 16 kernels (4.9 GB) before anyone arrived. Served for real (tests/servers.py starts Voilà
through `vggviz dashboard`), a folder holding the four dashboards' notebooks keeps only the stem
explorer's kernels; the other notebooks still open, each with a kernel started for it.
"""

from __future__ import annotations

import re
import urllib.request

import pytest
from servers import kernel_pids, voila, wait_pool_quiet

from vggviz.server.dashboards import LANDING, STEM_EXPLORER, notebooks_dir

KERNEL_ID = re.compile(r'"kernelId":\s*"([0-9a-f-]{36})"')


@pytest.mark.slow
def test_a_pool_of_two_for_the_whole_folder_is_two_kernels_for_the_stem_explorer(tmp_path):
    """`--pool 2` on the packaged notebooks' folder (what `--all` serves): the stem explorer's
    pool fills with 2 kernels and, once the server is quiet, those are all its kernels; the
    landing page still opens, on a kernel started for it."""
    folder = notebooks_dir().resolve()
    assert len(list(folder.glob("*.ipynb"))) >= 4  # the control: Voilà would pool each
    log = tmp_path / "voila.log"
    with voila(str(folder), pool=2, log=log) as (url, proc):
        wait_pool_quiet(proc, log, STEM_EXPLORER)
        ready = set(kernel_pids(proc.pid))
        with urllib.request.urlopen(f"{url}voila/render/{LANDING}", timeout=180) as response:
            landing = response.read().decode("utf-8", "replace")
        text = log.read_text(errors="replace")
    assert len(ready) == 2, f"{len(ready)} kernels kept ready for --pool 2; log: {log}"
    assert "Kernel pool of index.ipynb" not in text
    assert KERNEL_ID.search(landing), "the landing page opens without a pool kernel"
