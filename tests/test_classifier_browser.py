"""The classifier fetched from the page, in Chromium: the explorer opens on VGG16's ImageNet
filters without the classifier's file, offers "Get VGG16's classifier", and each answer comes
with no other action: a cancelled and then a dropped download bring the button back with the
reason, and the download that succeeds brings the five bars and the class heat.

The file comes from a loopback HTTPS server (a self-signed certificate the kernel is told to
trust) named by VGGVIZ_WEIGHTS_URL. It is a top file in the layout of Keras' (conv layers, then
fc1, fc2 and predictions at their full shapes, zero but for 64 units, so it is 66 MB on the
wire); the notebook's first cell puts the md5s of the test's two files into vggviz's table.
"""

from __future__ import annotations

import hashlib
import re
import ssl

import nbformat
import pytest
from browser import ARTIFACTS, LONG, PageWatch, chromium_session
from keras_files import write_legacy_top_h5
from playwright.sync_api import expect
from servers import voila
from weights_server import Behaviour, FileServer, self_signed, serving

from vggviz.sources.imagenet import _IMAGENET_FILES, WEIGHTS_URL_SETTING

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTOP = _IMAGENET_FILES[("vgg16", False)][0]
TOP = _IMAGENET_FILES[("vgg16", True)][0]


def explorer_notebook(path, md5s: dict[bool, str]) -> None:
    """The stem explorer, after telling vggviz the md5s of the test's files (by include_top)."""
    table = "\n".join(f"imagenet._IMAGENET_FILES[('vgg16', {top})] = "
                      f"(imagenet._IMAGENET_FILES[('vgg16', {top})][0], {md5!r})"
                      for top, md5 in md5s.items())
    cells = [nbformat.v4.new_code_cell(f"from vggviz.sources import imagenet\n\n{table}"),
             nbformat.v4.new_code_cell("from vggviz.ui import stem_explorer\n\nstem_explorer()")]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, path)


def test_the_classifier_answers_once_fetched_and_a_failed_fetch_can_be_tried_again(
        served_weights, keras_vgg16_notop, tmp_path, monkeypatch):
    models = tmp_path / "keras" / "models"
    models.mkdir(parents=True)
    (models / NOTOP).write_bytes(served_weights.data)  # the filters are here, the top is not
    top = tmp_path / TOP
    write_legacy_top_h5(keras_vgg16_notop, top)
    data = top.read_bytes()
    notebook = tmp_path / "explorer.ipynb"
    explorer_notebook(notebook, {False: served_weights.md5, True: hashlib.md5(data).hexdigest()})
    cert, key = self_signed(tmp_path, "localhost")
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("VGGVIZ_CACHE", str(tmp_path / "vggviz-cache"))
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the kernel trusts the test's server
    held = Behaviour(chunk=1 << 20, hold_at=len(data) // 3)
    ARTIFACTS.mkdir(exist_ok=True)
    with serving(FileServer({TOP: data}, held, tls=tls)) as server:
        monkeypatch.setenv(WEIGHTS_URL_SETTING, f"https://localhost:{server.port}/models")
        with chromium_session() as browser, \
                voila(str(notebook), "--VoilaConfiguration.preheat_kernel=False",
                      log=ARTIFACTS / "voila-classifier-fetch.log") as (url, _):
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            context.set_default_timeout(LONG)
            page = context.new_page()
            watch = PageWatch(page, "classifier fetched from the page")
            page.goto(url)
            view = page.locator(".vggviz-classifier-view")
            answer = view.locator(".vggviz-answer")
            fetch = page.get_by_role("button", name=re.compile("Get VGG16's classifier"))
            expect(answer).to_contain_text("not downloaded yet")
            expect(page.locator(".vggviz-status .vggviz-ok")).to_contain_text("ImageNet")

            # Cancelled while it runs: the button comes back, saying so.
            fetch.click()
            expect(fetch).to_be_hidden()
            assert held.held.wait(LONG / 1e3), "the download reached the hold"
            view.locator(".vggviz-download").get_by_role("button", name="Cancel").click()
            held.release.set()  # the next piece finds the download cancelled
            expect(fetch).to_be_visible()
            expect(answer).to_contain_text(f"The last try failed: the download of {TOP} was "
                                           f"cancelled")

            # The connection dropped half way: the button comes back with the reason.
            server.behaviour = Behaviour(drop_at=len(data) // 2)
            fetch.click()
            expect(fetch).to_be_visible()
            expect(answer).to_contain_text("The last try failed: ImageNet weights could not be "
                                           "downloaded")
            expect(view.locator(".vggviz-download")).to_have_count(0)

            # It arrives: the five bars and the heat, with no other action.
            server.behaviour = Behaviour()
            fetch.click()
            expect(page.locator("table.vggviz-top5 tr")).to_have_count(5)
            expect(page.locator(".vggviz-answer-line")).to_contain_text("VGG16:")
            heat = page.locator("img.vggviz-heat")
            expect(heat).to_be_visible()
            page.wait_for_function("(img) => img.complete && img.naturalWidth === 224",
                                   arg=heat.element_handle())
            expect(fetch).to_be_hidden()
            expect(answer).not_to_contain_text("last try failed")
            view.scroll_into_view_if_needed()
            page.screenshot(path=ARTIFACTS / "classifier_fetched_1280x800.png")
            assert not watch.problems, "\n".join(watch.problems)
            context.close()
        assert server.count(TOP) == 3
