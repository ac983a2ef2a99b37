"""Property-based fuzzing of what a person can upload: random bytes and damaged real images.

`load_image` may only return a 224×224 RGB picture or raise ImageError; the stem explorer's upload
handler may only show an error (keeping the last grid) or a new grid, and never raise; the pieces
an upload arrives in make the exact file or nothing, whatever their order.
Decompression bombs are refused before any pixel is decoded (a spy on PIL's ImageFile.load
proves it) and over-limit files before their bytes are read or copied (tracemalloc proves it).
How fast any of this is belongs to the benchmarks, not here.
"""

from __future__ import annotations

import datetime
import io
import struct
import tracemalloc
import zlib

import numpy as np
import pytest
from fuzz_profile import examples
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile

from vggviz.sources.images import DEFAULT_MAX_BYTES, ImageError, load_image
from vggviz.ui.parts.image_upload import CHUNK_BYTES, ImageUpload

# PIL warns about damaged metadata (e.g. "Corrupt EXIF data") before refusing or decoding: noise.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:PIL")

FUZZ = settings(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


# --- seeds: small valid files of every format the uploader is most likely to see ----------------


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _gradient(width: int = 48, height: int = 36) -> Image.Image:
    image = Image.new("RGB", (width, height))
    image.putdata([(x * 5 % 256, y * 7 % 256, (x * y) % 256)
                   for y in range(height) for x in range(width)])
    return image


def _seeds() -> dict[str, bytes]:
    rgb = _gradient()
    frames = [rgb, rgb.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    palette = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    return {
        "png": _encode(rgb, "PNG"),
        "png-palette-transparent": _encode(palette, "PNG", transparency=0),
        "png-grey16": _encode(rgb.convert("L").convert("I;16"), "PNG"),
        "jpeg": _encode(rgb, "JPEG", quality=90),
        "jpeg-progressive": _encode(rgb, "JPEG", quality=80, progressive=True),
        "gif-animated": _encode(frames[0].convert("P"), "GIF", save_all=True,
                                append_images=[frames[1].convert("P")], duration=100, loop=0),
        "webp-lossy": _encode(rgb, "WEBP", quality=80),
        "webp-lossless": _encode(rgb, "WEBP", lossless=True),
    }


SEEDS = _seeds()
SIGNATURES = [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"RIFF\x00\x00\x00\x00WEBPVP8L",
              b"BM", b"II*\x00"]


# --- mutations ------------------------------------------------------------------------------------


def _gif_descriptor(data: bytes) -> int | None:
    """Offset of the first image descriptor (0x2C) of a GIF, after its colour table/extensions."""
    if len(data) < 13:
        return None
    pos = 13 + (3 * 2 ** ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    while pos < len(data):
        if data[pos] == 0x2C:
            return pos
        if data[pos] != 0x21 or pos + 2 >= len(data):
            return None
        pos += 2
        while pos < len(data) and data[pos]:
            pos += data[pos] + 1
        pos += 1
    return None


def claim_size(data: bytes, width: int, height: int, fix_crc: bool = True) -> bytes:
    """Patch the header(s) of a PNG, JPEG, GIF or WebP so that it claims width×height pixels."""
    out = bytearray(data)
    if out.startswith(b"\x89PNG") and len(out) >= 33:
        out[16:24] = struct.pack(">II", width % 2**32, height % 2**32)
        if fix_crc:
            out[29:33] = struct.pack(">I", zlib.crc32(bytes(out[12:29])))
    elif out.startswith(b"\xff\xd8"):
        for marker in (b"\xff\xc0", b"\xff\xc2"):
            at = out.find(marker)
            if at >= 0 and at + 9 <= len(out):
                out[at + 5:at + 9] = struct.pack(">HH", height % 2**16, width % 2**16)
    elif out.startswith(b"GIF") and len(out) >= 10:
        out[6:10] = struct.pack("<HH", width % 2**16, height % 2**16)
        at = _gif_descriptor(bytes(out))
        if at is not None and at + 9 <= len(out):
            out[at + 5:at + 9] = struct.pack("<HH", width % 2**16, height % 2**16)
    elif out[8:12] == b"WEBP":
        at = out.find(b"VP8L")
        if at >= 0 and at + 13 <= len(out):  # 14-bit width-1 and height-1, packed little-endian
            bits = ((width - 1) % 2**14) | (((height - 1) % 2**14) << 14)
            bits |= int.from_bytes(out[at + 9:at + 13], "little") & ~(2**28 - 1)
            out[at + 9:at + 13] = bits.to_bytes(4, "little")
        at = out.find(b"\x9d\x01\x2a")  # VP8 (lossy) key frame start code
        if at >= 0 and at + 7 <= len(out):
            out[at + 3:at + 7] = struct.pack("<HH", width % 2**14, height % 2**14)
    return bytes(out)


HUGE = st.sampled_from([0, 1, 16383, 16384, 50000, 65535, 2**31 - 1, 2**32 - 1])


@st.composite
def damaged_images(draw) -> bytes:
    """A valid seed with 1–4 mutations: bit flips, truncation, splices, size-claiming headers."""
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "splice", "insert", "claim"]))
        n = len(data)
        if kind == "flip" and n:
            for _ in range(draw(st.integers(1, 8))):
                at = draw(st.integers(0, n - 1))
                data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate" and n:
            data = data[:draw(st.integers(0, n - 1))]
        elif kind == "splice":  # a run of another file pasted over or into this one
            other = SEEDS[draw(st.sampled_from(sorted(SEEDS)))]
            start = draw(st.integers(0, len(other) - 1))
            piece = other[start:start + draw(st.integers(1, 256))]
            at = draw(st.integers(0, n))
            data[at:at + (len(piece) if draw(st.booleans()) else 0)] = piece
        elif kind == "insert":
            at = draw(st.integers(0, n))
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "claim":
            data = bytearray(claim_size(bytes(data), draw(HUGE | st.integers(1, 9000)),
                                        draw(HUGE | st.integers(1, 9000)), draw(st.booleans())))
    return bytes(data)


@st.composite
def lightly_damaged_images(draw) -> bytes:
    """A valid seed with a few bits flipped in its second half (the pixel data, mostly)."""
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(1, 3))):
        data[draw(st.integers(len(data) // 2, len(data) - 1))] ^= 1 << draw(st.integers(0, 7))
    return bytes(data)


UPLOADS = st.one_of(
    st.binary(max_size=2048),
    st.builds(lambda sig, tail: sig + tail, st.sampled_from(SIGNATURES), st.binary(max_size=512)),
    damaged_images(),
    lightly_damaged_images(),
    st.sampled_from([SEEDS[name] for name in sorted(SEEDS)]),
)


# --- helpers ------------------------------------------------------------------------------------


def png_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """A real decompression bomb: a valid 1-bit PNG of width×height zeros, a few hundred KB."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (struct.pack(">I", len(payload)) + kind + payload
                + struct.pack(">I", zlib.crc32(kind + payload)))

    row = bytes(1 + -(-width // 8))  # filter byte + packed bits
    packer = zlib.compressobj(9)
    rows_per_step = 1000
    parts = [packer.compress(row * rows_per_step) for _ in range(height // rows_per_step)]
    parts += [packer.compress(row * (height % rows_per_step)), packer.flush()]
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"".join(parts))
            + chunk(b"IEND", b""))


def peak_traced_bytes(action) -> int:
    """The most memory Python allocated at once while `action()` ran: a copy of an upload's bytes
    (bytes(), BytesIO.getvalue(), a slice) shows here in full, whatever the machine's load."""
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture
def decodes(monkeypatch) -> list[tuple[int, int]]:
    """The sizes of the images PIL is asked to decode during the test (ImageFile.load spied on);
    test_the_decode_spy_sees_real_decodes shows that a real decode goes through it."""
    decoded = []
    real_load = ImageFile.ImageFile.load

    def spy(image):
        decoded.append(image.size)
        return real_load(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    return decoded


def upload_item(data: bytes, size: int | None = None, name: str = "x.png") -> dict:
    return {"name": name, "type": "image/png", "size": len(data) if size is None else size,
            "content": memoryview(data), "last_modified": datetime.datetime.now()}


def png_of(image: Image.Image) -> bytes:
    return _encode(image, "PNG")


# --- (a) the loader -------------------------------------------------------------------------------


def test_seeds_are_valid_images():
    """The mutation seeds are good files (otherwise the fuzzing would test nothing useful)."""
    for name, data in SEEDS.items():
        image = load_image(data, name=name)
        assert (image.size, image.mode) == ((224, 224), "RGB"), name


def test_size_claims_are_patched_where_the_decoders_read_them():
    """claim_size really changes the size each decoder reads from the header."""
    for name, data in SEEDS.items():
        with Image.open(io.BytesIO(claim_size(data, 9000, 7000))) as image:
            assert image.size == (9000, 7000), name


def test_the_decode_spy_sees_real_decodes(decodes):
    load_image(SEEDS["png"])
    assert set(decodes) == {(48, 36)}  # PIL may call load() again once the pixels are in


@settings(FUZZ, max_examples=examples(1500))
@given(data=UPLOADS)
def test_load_image_returns_a_picture_or_image_error(data):
    try:
        image = load_image(data, name="fuzz")
    except ImageError as error:
        assert str(error), "an ImageError says why"
        event("ImageError")
    else:
        assert (image.size, image.mode) == ((224, 224), "RGB")
        event("picture")


# --- (b) the upload handler of one stem explorer --------------------------------------------------


@pytest.fixture(scope="module")
def explorer():
    """One StemExplorer for the module, as building one imports TensorFlow and builds the stem
    (random weights here, as ImageNet weights cannot be downloaded). Tests take `app`."""
    from vggviz.ui.dashboards.stem_explorer import stem_explorer

    explorer = stem_explorer().app
    assert explorer.map_grid.png, "the explorer shows a grid as it opens"
    return explorer, explorer.map_grid.png


@pytest.fixture
def app(explorer):
    """The module's explorer put back as it opened (its first sample, its first grid, no error),
    so that no test starts from what another one uploaded."""
    app, opening_grid = explorer
    picker = app.picker
    picker.sample.value = None  # then choosing the first sample is a change, which redraws
    picker.sample.value = next(iter(picker.samples))
    assert picker.upload.value == () and "vggviz-ok" in app.status.text
    assert app.map_grid.png == opening_grid
    return app


def upload(app, item: dict) -> None:
    """Upload through the widget, as the browser does."""
    app.picker.upload.value = (item,)  # any exception in the handler would propagate here


def picture_bytes(app) -> bytes:
    return app.picker.image.tobytes()


# `app` is set up once for the whole test, not per example: each example compares what its own
# upload did with the state it found, whatever an earlier example left.
@settings(FUZZ, max_examples=examples(300),
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=UPLOADS)
def test_upload_handler_shows_an_error_or_a_new_grid(app, data):
    grid, picture = app.map_grid.png, picture_bytes(app)
    upload(app, upload_item(data))
    status = app.status.text
    assert app.picker.upload.value == (), "the upload is cleared, so the same file can be re-sent"
    if "vggviz-error" in status:
        assert app.map_grid.png == grid, "after an error the last grid stays"
        assert picture_bytes(app) == picture, "after an error the last image stays"
        assert "Traceback" not in status
        event("error shown")
    else:
        event("new grid" if app.map_grid.png != grid else "same picture, same grid")
        assert "x.png" in status and "vggviz-ok" in status, status
        # A new picture gives a new grid (a damaged file may still decode to the same picture).
        assert app.map_grid.png != grid or picture_bytes(app) == picture


def test_upload_of_a_valid_image_then_garbage_keeps_the_good_view(app):
    grid = app.map_grid.png
    upload(app, upload_item(png_of(_gradient(300, 200))))
    assert "vggviz-ok" in app.status.text and app.map_grid.png != grid
    grid = app.map_grid.png
    upload(app, upload_item(b"\x89PNG\r\n\x1a\n" + bytes(100)))
    assert "vggviz-error" in app.status.text and app.map_grid.png == grid


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = png_bomb()
    assert len(data) < 1_000_000  # 2.5 gigapixels in a few hundred KB
    return data


def test_load_image_refuses_a_decompression_bomb_undecoded(bomb, decodes):
    def refuse():
        with pytest.raises(ImageError, match="bomb.png has too many pixels"):
            load_image(bomb, name="bomb.png")

    peak = peak_traced_bytes(refuse)
    assert decodes == [], "refused from the header, before PIL decoded any pixel"
    assert peak < len(bomb) // 4, "not even the compressed pixel data was copied"


def test_upload_handler_refuses_a_decompression_bomb_undecoded(app, decodes, bomb):
    grid = app.map_grid.png
    upload(app, upload_item(bomb, name="bomb.png"))
    assert "vggviz-error" in app.status.text and "pixels" in app.status.text
    assert app.map_grid.png == grid
    assert decodes == []


def test_upload_handler_refuses_a_header_only_bomb(app, decodes):
    grid = app.map_grid.png
    upload(app, upload_item(claim_size(SEEDS["png"], 50_000, 50_000), name="claims.png"))
    assert "vggviz-error" in app.status.text and "claims.png" in app.status.text
    assert app.map_grid.png == grid
    assert decodes == []


@pytest.mark.parametrize("declared", ["true size", "understated size"])
def test_upload_handler_refuses_an_over_limit_file_unread(app, decodes, declared):
    """Over 20 MB: refused by its real length whatever size the browser declares, and without
    copying the 20 MB (the upload is a memoryview of the browser's data)."""
    good = png_of(_gradient())
    data = good + bytes(DEFAULT_MAX_BYTES + 1 - len(good))  # a valid PNG, then padding
    grid = app.map_grid.png
    size = len(data) if declared == "true size" else len(good)
    item = upload_item(data, size=size, name="big.png")
    peak = peak_traced_bytes(lambda: upload(app, item))
    status = app.status.text
    assert "vggviz-error" in status and "big.png is over 20 MB; the limit is 20 MB" in status
    assert app.map_grid.png == grid
    assert decodes == []
    assert peak < 2**20, f"{peak / 2**20:.1f} MB allocated while refusing: the upload was copied"


# --- (c) the pieces an upload arrives in ----------------------------------------------------------

THREE_PIECES = np.random.default_rng(3).bytes(2 * CHUNK_BYTES + 12345)


def chunk(index: int, data: bytes = THREE_PIECES) -> tuple[dict, list]:
    """Piece `index` of `data` as the page sends it (an index past the end carries no bytes)."""
    count = -(-len(data) // CHUNK_BYTES)
    return ({"event": "chunk", "upload": "u", "index": index, "count": count, "name": "x.png",
             "type": "image/png", "size": len(data), "last_modified": 1},
            [memoryview(data)[index * CHUNK_BYTES:(index + 1) * CHUNK_BYTES]])


# Any order of pieces (lost, repeated, reordered, numbered past the end), and the whole file
# followed by repeats.
ORDERS = (st.lists(st.integers(0, 3), max_size=7)
          | st.lists(st.integers(0, 3), max_size=3).map(lambda tail: [0, 1, 2, *tail]))


@settings(FUZZ, max_examples=examples(300))
@given(order=ORDERS)
def test_pieces_in_any_order_make_the_exact_file_or_nothing(order):
    """Pieces lost, repeated, reordered or numbered past the end: an upload is whole only if its
    pieces come in turn, and one given up on stays given up."""
    files, said = [], []
    upload = ImageUpload(on_refused=lambda *_: said.append("refused"), on_broken=said.append,
                         on_progress=lambda *_: None, max_bytes=DEFAULT_MAX_BYTES)
    answers = []
    upload.send = lambda content, buffers=None: answers.append(content["ok"])
    upload.observe(lambda change: files.extend(bytes(f["content"]) for f in change["new"]),
                   "value")
    for index in order:
        upload._received(upload, *chunk(index))  # any exception would propagate here
    whole = order[:3] == [0, 1, 2]
    event("whole" if whole else "not whole")
    assert files == ([THREE_PIECES] if whole else []), "the exact file, once, or nothing"
    assert len(answers) == len(order) and answers.count(True) <= 3
    in_turn = order in ([], [0], [0, 1], [0, 1, 2])
    assert bool(said) != in_turn, "what does not fit is said; what does is not"
