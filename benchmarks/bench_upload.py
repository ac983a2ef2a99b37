"""A file chosen in Chromium → all its bytes in the kernel: vggviz's upload button (64 KiB
pieces, each answered, as many sent ahead as the link carries in 0.25 s) against ipywidgets'
FileUpload (the whole file in one message), the way people upload in a notebook.

Run: `make bench` (or `.venv/bin/python benchmarks/bench_upload.py [--runs N] [--sizes 5,12,20]`).
Reports, asserts nothing. One Voilà serves a notebook holding both buttons, with the websocket
message limit raised to 64 MiB so FileUpload's single message gets through (with Tornado's
default 10 MiB, a file over it never arrives there: that is the reason for the pieces). Each
figure is timed in the page: performance.now() from setting the file on the input to the
kernel's answer (a line saying how many bytes arrived) being drawn. Files are random bytes, so
nothing decodes them: the figures are the transfer alone.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # servers.py
from servers import chromium_missing, launch_chromium, voila  # noqa: E402
from timing import parser, print_header, spread

CELL = """
import ipywidgets as w
from IPython.display import display
from vggviz.ui.parts.image_upload import ImageUpload

said = w.HTML(value="ready")
said.add_class("said")
arrivals = 0

def arrived(who):
    def show(change):
        global arrivals
        if change["new"]:
            arrivals += 1
            said.value = f"{who} {len(change['new'][0]['content'])} #{arrivals}"
    return show

ours = ImageUpload(description="ours", max_bytes=64 * 2**20, on_refused=print,
                   on_broken=print, on_progress=lambda *a: None)
ours.add_class("ours")
ours.observe(arrived("ours"), "value")
theirs = w.FileUpload(description="theirs")
theirs.add_class("theirs")
theirs.observe(arrived("theirs"), "value")
display(w.VBox([ours, theirs, said]))
"""
LIMIT = 64 * 2**20
ARRIVED = """([who, size, n]) => {
  const text = document.querySelector('.said')?.textContent ?? '';
  return text === `${who} ${size} #${n}` ? performance.now() : false;
}"""


def main() -> None:
    p = parser(__doc__, runs=5)
    p.add_argument("--sizes", default="5,12,20", help="file sizes in MB (default 5,12,20)")
    args = p.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print_header(f"bench_upload: file chosen → bytes in the kernel, {args.runs} runs per size")
    reason = chromium_missing()
    if reason:
        sys.exit(reason)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        notebook = nbformat.v4.new_notebook()
        notebook.cells = [nbformat.v4.new_code_cell(CELL)]
        nbformat.write(notebook, tmp / "uploads.ipynb")
        files = {}
        for mb in sizes:
            files[mb] = tmp / f"random-{mb}mb.bin"
            files[mb].write_bytes(open("/dev/urandom", "rb").read(mb * 10**6))
        limit = json.dumps({"websocket_max_message_size": LIMIT})
        log = Path(tempfile.gettempdir()) / "bench_upload_voila.log"
        print(f"# Voilà log: {log}", flush=True)
        with sync_playwright() as pw, voila(str(tmp / "uploads.ipynb"),
                                            f"--Voila.tornado_settings={limit}",
                                            log=log) as (url, _):
            browser = launch_chromium(pw)
            page = browser.new_page()
            page.goto(url)
            page.locator(".said").wait_for(timeout=600_000)
            arrivals = 0
            for mb in sizes:
                size = files[mb].stat().st_size
                for who in ("theirs", "ours"):
                    seconds = []
                    for run in range(args.runs):
                        arrivals += 1
                        # a file of its own each time: FileUpload ignores the same file again
                        chosen = files[mb].with_name(f"{who}-{run}-{files[mb].name}")
                        os.link(files[mb], chosen)
                        with page.expect_file_chooser() as chooser:  # as a person chooses
                            page.locator(f"button.{who}, .{who} button").first.click()
                        start = page.evaluate("performance.now()")
                        chooser.value.set_files(chosen)
                        done = page.wait_for_function(ARRIVED, arg=[who, size, arrivals],
                                                      timeout=600_000).json_value()
                        seconds.append((done - start) / 1e3)
                    name = "FileUpload, one message" if who == "theirs" else \
                        "vggviz, 64 KiB pieces"
                    print(f"{mb:>3} MB  {name:<24} {spread(seconds, 's', 2)}", flush=True)
            browser.close()


if __name__ == "__main__":
    main()
