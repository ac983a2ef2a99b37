"""The upload button's kernel side: the pieces the page sends make the file the picker shows, in
order or not at all; a file over the limit never comes; no piece comes near a server's limit."""

import datetime
import io
import tracemalloc

import numpy as np
import pytest
import tornado.websocket
from PIL import Image

from vggviz.sources.images import DEFAULT_MAX_BYTES
from vggviz.ui.parts.controls import ImagePicker, StatusLine
from vggviz.ui.parts.image_upload import CHUNK_BYTES

MODIFIED = 1_700_000_000_000  # the page's lastModified, milliseconds since 1970


def png_bytes(shape=(40, 60), colour=(10, 200, 30)) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.full((*shape, 3), colour, np.uint8)).save(out, format="PNG")
    return out.getvalue()


def noise_png(side: int) -> bytes:
    """A PNG of noise, stored uncompressed: about 3·side² bytes, so several pieces."""
    out = io.BytesIO()
    pixels = np.random.default_rng(side).integers(0, 256, (side, side, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(out, format="PNG", compress_level=0)
    return out.getvalue()


def pieces(data: bytes, upload: str = "u1", name: str = "leaf.png") -> list[tuple[dict, list]]:
    """The messages the page sends for `data`: CHUNK_BYTES slices, numbered, each saying the
    file."""
    count = max(1, -(-len(data) // CHUNK_BYTES))
    return [({"event": "chunk", "upload": upload, "index": index, "count": count, "name": name,
              "type": "image/png", "size": len(data), "last_modified": MODIFIED},
             [memoryview(data[index * CHUNK_BYTES:(index + 1) * CHUNK_BYTES])])
            for index in range(count)]


@pytest.fixture
def picker():
    status, changes = StatusLine(), []
    picker = ImagePicker(status, lambda: changes.append(picker.name))
    picker.changes = changes
    picker.answers = []  # what the kernel tells the page about each piece
    picker.upload.send = lambda content, buffers=None: picker.answers.append(content)
    return picker


@pytest.fixture
def values(picker):
    """Every file the upload hands over, as a copy of its dict with the bytes as bytes."""
    seen = []
    picker.upload.observe(lambda change: seen.extend(
        {**item, "content": bytes(item["content"])} for item in change["new"]), "value")
    return seen


def deliver(picker, messages) -> None:
    for content, buffers in messages:
        picker.upload._received(picker.upload, content, buffers)


def test_a_file_in_one_piece_is_shown(picker, values):
    data = png_bytes()
    deliver(picker, pieces(data))
    assert picker.changes == ["leaf.png"]
    assert picker.image.size == (224, 224)
    assert picker.image.getpixel((112, 112)) == (10, 200, 30)
    assert values == [{"name": "leaf.png", "type": "image/png", "size": len(data),
                       "content": data, "last_modified": datetime.datetime(
                           2023, 11, 14, 22, 13, 20, tzinfo=datetime.UTC)}]
    assert picker.upload.value == ()  # emptied, so the same file may come again
    assert picker.answers == [{"event": "chunk", "upload": "u1", "index": 0, "ok": True}]


def test_pieces_in_order_make_the_exact_file_and_the_status_follows_them(picker, values):
    data = noise_png(1000)  # 3 MB: 1 MiB every `whole` pieces
    messages, whole = pieces(data, name="noise.png"), 2**20 // CHUNK_BYTES
    assert len(messages) == -(-len(data) // CHUNK_BYTES) > 2 * whole
    deliver(picker, messages[:whole])
    assert "Receiving noise.png: 1 MB of 3 MB" in picker.status.text
    deliver(picker, messages[whole:2 * whole])
    assert "Receiving noise.png: 2.1 MB of 3 MB" in picker.status.text
    assert values == [] and picker.changes == []
    deliver(picker, messages[2 * whole:])
    assert [item["content"] for item in values] == [data]
    assert picker.changes == ["noise.png"]
    assert [a["ok"] for a in picker.answers] == [True] * len(messages)
    assert [a["index"] for a in picker.answers] == list(range(len(messages)))


def test_a_new_upload_drops_an_unfinished_one(picker, values):
    old, new = noise_png(250), noise_png(200)  # 3 pieces, 2
    old_pieces, new_pieces = pieces(old, "old", "old.png"), pieces(new, "new", "new.png")
    deliver(picker, old_pieces[:2] + new_pieces[:1] + old_pieces[2:] + new_pieces[1:])
    assert [item["content"] for item in values] == [new]
    assert picker.changes == ["new.png"]
    assert [(a["upload"], a["ok"]) for a in picker.answers] == [
        ("old", True), ("old", True), ("new", True), ("old", False), ("new", True)]
    assert "⚠" not in picker.status.text  # the person chose another file: nothing went wrong


@pytest.mark.parametrize("order, message", [
    ([0, 2], "piece 3 of 3 came where piece 2 was due"),  # one missing
    ([0, 0, 1, 2], "piece 1 of 3 came where piece 2 was due"),  # one repeated
    ([1, 2], "piece 2 came with no upload under way"),  # the first never came
    ([0, 2, 1], "piece 3 of 3 came where piece 2 was due"),  # out of order
])
def test_pieces_out_of_order_never_make_a_file(picker, values, order, message):
    messages = pieces(noise_png(250), name="noise.png")  # 3 pieces
    before = picker.image.tobytes()
    deliver(picker, [messages[i] for i in order])
    assert values == [] and picker.changes == []
    assert picker.image.tobytes() == before
    assert f"⚠ noise.png did not arrive whole: {message}. The last image stays." in (
        picker.status.text)
    assert picker.answers[-1]["ok"] is False


def test_a_piece_repeated_after_the_whole_file_sets_nothing_again(picker, values):
    messages = pieces(png_bytes())
    deliver(picker, messages + messages)
    assert len(values) == 1 and picker.changes == ["leaf.png"]
    assert "piece 1 of 1 came after the whole file" in picker.status.text


@pytest.mark.parametrize("change, message", [
    (lambda m: m[0][1].__setitem__(0, m[0][1][0][:-1]), "piece 1 of 1 held"),  # short
    (lambda m: m[0][1].__setitem__(0, bytes(m[0][1][0]) + b"x"), "piece 1 of 1 held"),  # long
    (lambda m: m[0][1].clear(), "piece 1 of 1 held 0 bytes"),  # no buffer
    (lambda m: m[0][0].update(count=2), "2 pieces cannot hold"),  # a wrong total
    (lambda m: m[0][0].update(size="many"), "it did not say its size"),
    (lambda m: m[0][0].update(index="first"), "a piece came unnumbered"),
    (lambda m: m[0][0].pop("upload"), "a piece came unnumbered"),
])
def test_a_piece_of_the_wrong_size_or_a_wrong_total_never_makes_a_file(picker, values, change,
                                                                       message):
    messages = pieces(png_bytes())
    change(messages)
    deliver(picker, messages)
    assert values == [] and picker.changes == []
    assert message in picker.status.text and "The last image stays" in picker.status.text
    assert "Traceback" not in picker.status.text


def test_a_piece_saying_another_file_drops_the_upload(picker, values):
    messages = pieces(noise_png(1000), name="noise.png")
    messages[1][0]["size"] += 1
    deliver(picker, messages)
    assert values == [] and "its pieces disagree about the file" in picker.status.text


def test_no_piece_over_chunk_bytes_is_taken(picker, values):
    """The page slices by the size the kernel tells it, and a larger piece is refused, so no
    message of an upload comes near Tornado's default websocket limit (10 MiB)."""
    assert picker.upload.get_state()["chunk_bytes"] == CHUNK_BYTES == 2**16
    assert CHUNK_BYTES + 2**16 <= tornado.websocket._default_max_message_size // 8
    data = noise_png(175)  # 92 kB, all in its first piece (a hand-made message)
    deliver(picker, [(pieces(data)[0][0], [memoryview(data)])])
    assert values == [] and picker.answers[-1]["ok"] is False
    assert f"held {len(data)} bytes where {CHUNK_BYTES} were due" in picker.status.text


def test_a_file_the_page_refused_is_said_in_words_and_the_last_image_stays(picker):
    before = picker.image.tobytes()
    picker.upload._received(picker.upload, {"event": "refused", "name": "scan.tif",
                                            "size": 25_250_000}, [])
    assert picker.changes == []
    assert picker.image.tobytes() == before
    assert "⚠ scan.tif is 25.2 MB; the limit is 20 MB. The last image stays." in (
        picker.status.text)  # MB as the limit says it: 25,250,000 bytes are not "24.1 MB"


def test_pieces_of_a_file_over_the_limit_are_refused_unkept(picker, values):
    """A page that sends a file over the limit anyway: refused in the same words, at the first
    piece, before room for the file is made."""
    size = DEFAULT_MAX_BYTES + 1
    first = ({"event": "chunk", "upload": "big", "index": 0, "count": -(-size // CHUNK_BYTES),
              "name": "big.png", "type": "image/png", "size": size}, [bytes(CHUNK_BYTES)])
    deliver(picker, [first])
    assert values == [] and picker.upload._arrival is None
    assert "⚠ big.png is over 20 MB; the limit is 20 MB. The last image stays." in (
        picker.status.text)
    assert picker.answers[-1]["ok"] is False


def test_the_page_is_told_the_limit(picker):
    """The page weighs files against a copy of the limit the picker decodes with."""
    assert picker.upload.max_bytes == picker.max_bytes == DEFAULT_MAX_BYTES
    assert picker.upload.get_state()["page_max_bytes"] == DEFAULT_MAX_BYTES


def test_messages_that_are_not_uploads_change_nothing(picker):
    for content, buffers in (("text", []), ({"event": "file", "name": "x.png"}, [b"abc"]),
                             ({"event": "other"}, [b"abc"])):
        picker.upload._received(picker.upload, content, buffers)
    assert picker.changes == [] and "⚠" not in picker.status.text and picker.answers == []


# --- the limit is the kernel's: forged messages from a page that does not play by the rules -------


def first_piece(size: int, upload: str = "forged", name: str = "huge.png") -> tuple[dict, list]:
    """The first message of an upload that declares `size` bytes, carrying one full piece."""
    return ({"event": "chunk", "upload": upload, "index": 0,
             "count": max(1, -(-size // CHUNK_BYTES)), "name": name, "type": "image/png",
             "size": size, "last_modified": MODIFIED}, [memoryview(bytes(min(size, CHUNK_BYTES)))])


def peak_while(action) -> int:
    """The most bytes Python held at once while `action()` ran (tracemalloc)."""
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("size", [2 * 10**9, 2**31, 2**40])
def test_a_page_that_raises_its_limit_and_declares_gigabytes_is_refused_unallocated(picker, values,
                                                                                  size):
    """The page's copy of the limit is the page's to change (as a forged `update` would);
    the kernel keeps its own, refuses the declared size in words and makes no room for it."""
    good = pieces(png_bytes())
    deliver(picker, good)
    shown = picker.image.tobytes()
    # what a forged page sends to raise it: the page's copy, and the name the limit once had
    picker.upload.set_state({"page_max_bytes": 2**41, "max_bytes": 2**41})
    picker.answers.clear()
    message = first_piece(size)
    peak = peak_while(lambda: deliver(picker, [message]))
    assert peak < 4 * CHUNK_BYTES, f"{peak / 1e6:.0f} MB allocated for a refused upload"
    assert picker.upload.max_bytes == DEFAULT_MAX_BYTES
    assert picker.answers == [{"event": "chunk", "upload": "forged", "index": 0, "ok": False}]
    assert "⚠ huge.png is " in picker.status.text
    assert "; the limit is 20 MB. The last image stays." in picker.status.text
    assert picker.image.tobytes() == shown and picker.changes == ["leaf.png"]
    assert len(values) == 1


def test_room_is_made_as_pieces_arrive_not_for_what_the_page_declares(picker, values):
    """An upload that declares the whole limit and sends one piece holds that piece, not
    20 MB: a page that declares much and sends little costs the kernel little."""
    message = first_piece(DEFAULT_MAX_BYTES)
    peak = peak_while(lambda: deliver(picker, [message]))
    assert picker.answers[-1]["ok"] is True  # a piece that fits is taken
    assert peak < 3 * CHUNK_BYTES, f"{peak / 1e6:.1f} MB allocated for a piece of {CHUNK_BYTES} B"
    assert len(picker.upload._arrival.content) == CHUNK_BYTES
    assert values == []


def test_pieces_past_the_declared_size_are_refused_and_the_last_image_stays(picker, values):
    data = noise_png(250)  # 3 pieces
    messages = pieces(data, name="noise.png")
    assert len(messages) == 3
    shown = picker.image.tobytes()
    past = ({**messages[2][0], "index": 3}, [memoryview(bytes(CHUNK_BYTES))])
    deliver(picker, messages[:2] + [past])
    assert picker.answers[-1]["ok"] is False and values == []
    assert "⚠ noise.png did not arrive whole: piece 4 of 3 came where piece 3 was due" in (
        picker.status.text)
    assert picker.image.tobytes() == shown
    deliver(picker, messages[2:])  # the rest of a dropped upload is not taken either
    assert values == [] and picker.image.tobytes() == shown


def test_a_piece_longer_than_the_declared_file_is_refused(picker, values):
    """The last piece may not carry more than the declared size leaves."""
    data = noise_png(200)  # 2 pieces
    messages = pieces(data, name="noise.png")
    assert len(messages) == 2
    messages[1] = (messages[1][0], [memoryview(bytes(CHUNK_BYTES))])
    deliver(picker, messages)
    assert values == [] and picker.answers[-1]["ok"] is False
    assert f"piece 2 of 2 held {CHUNK_BYTES} bytes where {len(data) - CHUNK_BYTES} were due" in (
        picker.status.text)


def test_the_limit_is_a_constructor_argument_not_a_trait():
    """Nothing the page sends can reach the kernel's limit: it is not among the synced state."""
    from vggviz.ui.parts.image_upload import ImageUpload

    upload = ImageUpload(max_bytes=1000, on_refused=lambda *_: None, on_broken=lambda _: None,
                         on_progress=lambda *_: None)
    assert upload.max_bytes == 1000
    assert "max_bytes" not in upload.keys
    upload.set_state({"page_max_bytes": 10**12, "max_bytes": 10**12})
    assert upload.max_bytes == 1000
