"""The upload button: what the page sends reaches the picker, a file over the limit never does,
and the servers' websocket limit sits just above the app's own."""

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vggviz.sources.images import DEFAULT_MAX_BYTES
from vggviz.ui.widgets import ImagePicker, StatusLine

ROOT = Path(__file__).resolve().parents[1]


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.full((40, 60, 3), (10, 200, 30), np.uint8)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def picker():
    status, changes = StatusLine(), []
    picker = ImagePicker(status, lambda: changes.append(picker.name))
    picker.changes = changes
    return picker


def test_a_file_the_page_sends_is_shown(picker):
    data = png_bytes()
    picker.upload._received(picker.upload, {"event": "file", "name": "leaf.png",
                                            "type": "image/png", "size": len(data),
                                            "last_modified": 1_700_000_000_000}, [data])
    assert picker.changes == ["leaf.png"]
    assert picker.image.size == (224, 224)
    assert picker.image.getpixel((112, 112)) == (10, 200, 30)
    assert picker.upload.value == ()  # emptied, so the same file may come again


def test_a_file_the_page_refused_is_said_in_words_and_the_last_image_stays(picker):
    before = picker.image.tobytes()
    picker.upload._received(picker.upload, {"event": "refused", "name": "scan.tif",
                                            "size": 25 * 2**20}, [])
    assert picker.changes == []
    assert picker.image.tobytes() == before
    assert "⚠ scan.tif is 25 MB; the limit is 20 MB. The last image stays." in picker.status.text


def test_the_page_is_told_the_limit(picker):
    """The limit the page weighs files against is the one the picker decodes with."""
    assert picker.upload.max_bytes == picker.max_bytes == DEFAULT_MAX_BYTES
    assert picker.upload.get_state()["max_bytes"] == DEFAULT_MAX_BYTES


def test_messages_that_are_not_uploads_change_nothing(picker):
    for content, buffers in (("text", []), ({"event": "file", "name": "x.png"}, []),
                             ({"event": "other"}, [b"abc"])):
        picker.upload._received(picker.upload, content, buffers)
    assert picker.changes == [] and "⚠" not in picker.status.text


@pytest.mark.parametrize("config, keys", [
    ("voila.json", ("Voila", "tornado_settings")),
    ("jupyter_server_config.json", ("ServerApp", "tornado_settings")),
])
def test_the_servers_accept_an_allowed_upload_and_little_more(config, keys):
    """An upload at the limit is one message of its bytes and a small header (under 64 KiB);
    anything larger never leaves the page, so the limit needs no more than 1 MiB of room."""
    settings = json.loads((ROOT / config).read_text())
    for key in keys:
        settings = settings[key]
    limit = settings["websocket_max_message_size"]
    assert DEFAULT_MAX_BYTES + 2**16 <= limit <= DEFAULT_MAX_BYTES + 2**20
