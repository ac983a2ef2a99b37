"""On a slow link the page keeps answering while an upload is on its way, in a real Chromium.

The upload button sends a file in pieces, each answered before the next
(vggviz/ui/parts/image_upload.py); a click on the page travels on the same websocket, so it
waits behind the piece being sent. With pieces of 1 MiB, at 50 kB/s (Chromium's own network
emulation, Network.emulateNetworkConditions over CDP), a click waited about 20 s, behind the
whole of a 1 MB file. Here a map is clicked while a 1 MB picture is on its way: the click is
answered before the upload ends.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from browser import chromium_session
from PIL import Image
from servers import voila

from vggviz.ui.parts.image_upload import CHUNK_BYTES

DASHBOARD = "notebooks/01_stem_explorer.ipynb"
GRID = ".vggviz-stem-explorer img.vggviz-grid"
GRID_SHOWN = f"""() => Array.from(document.querySelectorAll("{GRID}"))
    .some((img) => img.complete && img.naturalWidth > 300)"""
# A map chosen by the click below (the third of row two of the 8 × 8 stem grid) is named here.
CHOSEN = "stem map 10"
ANSWERED = f"""() => [...document.querySelectorAll(".vggviz-stem-explorer *")]
    .some((el) => el.childElementCount === 0 && el.textContent.trim() === "{CHOSEN}")"""
SENDING = """() => (document.querySelector("button.vggviz-upload")?.textContent || "")
    .startsWith("Sending")"""
LONG_MS = 180_000
LINK_BYTES_PER_S = 50_000


def _noise_png(path, low: int, high: int) -> int:
    """A PNG of random pixels (it does not compress) between `low` and `high` bytes."""
    rng = np.random.default_rng(0)
    side = int((low / 3) ** 0.5) + 1
    while True:
        Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(path)
        size = path.stat().st_size
        if size > high:
            side -= 4
        elif size < low:
            side += 4
        else:
            return size


@pytest.mark.browser
def test_a_click_is_answered_while_an_upload_crawls_over_a_slow_link(tmp_path):
    """A 1 MB picture is uploaded at 50 kB/s (about 20 s in all); a map is clicked once it is
    on its way: the chosen map is named while the upload is still under way."""
    picture = tmp_path / "noise.png"
    size = _noise_png(picture, 900_000, 2**20 - 1)  # one piece of 1 MiB held it all
    with voila(DASHBOARD, log=tmp_path / "voila.log") as (url, _), \
            chromium_session() as chromium:
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        try:
            page = context.new_page()
            page.goto(url, timeout=LONG_MS)
            page.wait_for_function(GRID_SHOWN, timeout=LONG_MS, polling=200)
            assert not page.evaluate(ANSWERED)  # the control: the click is what names it
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.emulateNetworkConditions", {
                "offline": False, "latency": 0, "downloadThroughput": -1,
                "uploadThroughput": LINK_BYTES_PER_S})
            with page.expect_file_chooser() as chooser:
                page.get_by_role("button", name=re.compile("Upload")).click()
            chooser.value.set_files(picture)
            page.wait_for_function(SENDING, timeout=LONG_MS, polling=50)
            page.evaluate("window.__sentAt = performance.now()")
            grid = page.locator(GRID)
            tile = grid.bounding_box()["width"] / 8
            grid.click(position={"x": 2.5 * tile, "y": 1.5 * tile})
            page.wait_for_function(f"() => ({ANSWERED})() || !({SENDING})()",
                                   timeout=LONG_MS, polling=50)
            answered, sending = page.evaluate(ANSWERED), page.evaluate(SENDING)
            waited = page.evaluate("(performance.now() - window.__sentAt) / 1000")
        finally:
            context.close()  # the rest of the upload is not waited for: about 20 s of nothing
    print(f"\n{size} bytes at {LINK_BYTES_PER_S} B/s in pieces of {CHUNK_BYTES} bytes: the click "
          f"was answered {waited:.1f} s after the upload began, of about "
          f"{size / LINK_BYTES_PER_S:.0f} s for the whole (recorded, not asserted)")
    assert answered and sending, "the click waited behind the upload"
