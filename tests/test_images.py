"""Tests for vggviz.sources.images: every odd-but-valid upload decodes, every bad one is an
ImageError."""

import io
import os
import struct
import subprocess
import sys
import tracemalloc
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from fuzz_profile import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image, ImageFile, features

from vggviz.sources import images
from vggviz.sources.images import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    PAD_COLOR,
    SUPPORTED_FORMATS,
    ImageError,
    decode_image,
    fit_image,
    load_image,
    preprocess,
    sample_image,
    sample_images,
    to_array,
)

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)
SAVE_OPTIONS = {"JPEG": {"quality": 95}, "WEBP": {"lossless": True}}


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **{**SAVE_OPTIONS.get(fmt, {}), **options})
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A 1×1 PNG whose IHDR (with a correct CRC) claims width×height pixels."""
    data = bytearray(encode(Image.new("RGB", (1, 1)), "PNG"))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def png_rgb16(pixels: np.ndarray) -> bytes:
    """Hand-write a 16-bit-per-channel RGB PNG, which PIL cannot save itself."""
    height, width, _ = pixels.shape
    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in pixels)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(rows))
        + png_chunk(b"IEND", b"")
    )


def colour(image: Image.Image, xy=(0, 0)) -> tuple[int, ...]:
    return image.convert("RGB").getpixel(xy)


def close(actual, expected, tolerance=6) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def half_red_half_blue(width: int, height: int) -> Image.Image:
    image = Image.new("RGB", (width, height), BLUE)
    image.paste(RED, (0, 0, width // 2, height))
    return image


# --- every supported format and every kind of source -------------------------------------------


@pytest.mark.parametrize("fmt", SUPPORTED_FORMATS)
def test_each_supported_format_round_trips_to_224_rgb(fmt):
    data = encode(half_red_half_blue(64, 48), fmt)
    image = load_image(data, fit="stretch")
    assert (image.size, image.mode) == ((224, 224), "RGB")
    assert close(colour(image, (10, 112)), RED, 40) and close(colour(image, (214, 112)), BLUE, 40)


def test_each_kind_of_source_gives_the_same_image(tmp_path):
    original = half_red_half_blue(40, 30)
    data = encode(original, "PNG")
    path = tmp_path / "pic.png"
    path.write_bytes(data)
    array = np.asarray(original)
    with open(path, "rb") as file:
        sources = [
            str(path),
            path,
            data,
            bytearray(data),
            memoryview(data),
            io.BytesIO(data),
            file,
            original,
            Image.open(path),
            array,
            array.astype(np.uint16) * 257,
            array / 255.0,
        ]
        results = [load_image(source, size=32) for source in sources]
    for result in results:
        assert (result.size, result.mode) == ((32, 32), "RGB")
        assert np.array_equal(np.asarray(result), np.asarray(results[0]))


def test_decode_image_keeps_the_original_size():
    image = decode_image(encode(Image.new("RGB", (123, 45), GREEN), "PNG"))
    assert (image.size, image.mode, colour(image)) == ((123, 45), "RGB", GREEN)


def test_a_pil_image_source_is_not_modified():
    original = Image.new("RGBA", (10, 10), (255, 0, 0, 0))
    load_image(original)
    assert (original.mode, original.getpixel((0, 0))) == ("RGBA", (255, 0, 0, 0))


# --- odd but valid images -----------------------------------------------------------------------


def palette_image(transparent_index: int | None = None) -> Image.Image:
    image = Image.new("P", (8, 8), 1)
    image.putpalette([*RED, *GREEN] + [0] * 762)
    image.paste(0, (0, 0, 4, 8))
    if transparent_index is not None:
        image.info["transparency"] = transparent_index
    return image


@pytest.mark.parametrize(
    ("make", "fmt", "left", "right"),
    [
        (lambda: Image.new("L", (8, 8), 200), "PNG", (200,) * 3, (200,) * 3),
        (lambda: Image.new("1", (8, 8), 1), "PNG", WHITE, WHITE),
        (lambda: palette_image(), "PNG", RED, GREEN),
        (lambda: palette_image(), "GIF", RED, GREEN),
        (lambda: palette_image(transparent_index=0), "PNG", WHITE, GREEN),
        (lambda: palette_image(transparent_index=0), "GIF", WHITE, GREEN),
        (lambda: Image.new("LA", (8, 8), (0, 0)), "PNG", WHITE, WHITE),
        (lambda: Image.new("LA", (8, 8), (0, 255)), "PNG", (0, 0, 0), (0, 0, 0)),
        (lambda: Image.new("CMYK", (8, 8), (0, 255, 255, 0)), "JPEG", RED, RED),
        (lambda: Image.new("CMYK", (8, 8), (255, 0, 255, 0)), "TIFF", GREEN, GREEN),
        (lambda: Image.new("RGB", (8, 8), (10, 20, 30)), "BMP", (10, 20, 30), (10, 20, 30)),
    ],
    ids=[
        "L",
        "1",
        "P",
        "P-gif",
        "P-trns",
        "P-trns-gif",
        "LA-clear",
        "LA-opaque",
        "CMYK",
        "CMYK-tif",
        "BMP",
    ],
)
def test_odd_modes_become_rgb(make, fmt, left, right):
    image = decode_image(encode(make(), fmt))
    assert (image.size, image.mode) == ((8, 8), "RGB")
    assert close(colour(image, (0, 0)), left) and close(colour(image, (7, 7)), right)


def test_rgba_composites_on_white():
    rgba = Image.new("RGBA", (4, 1), (255, 0, 0, 255))
    rgba.putpixel((1, 0), (255, 0, 0, 0))  # fully transparent red is white
    rgba.putpixel((2, 0), (0, 0, 0, 128))  # half-transparent black is mid-grey
    for fmt in ("PNG", "WEBP", "TIFF"):
        image = decode_image(encode(rgba, fmt))
        assert colour(image, (0, 0)) == RED
        assert colour(image, (1, 0)) == WHITE
        assert close(colour(image, (2, 0)), (127,) * 3, 2)


def test_rgb_png_with_a_transparent_colour_composites_on_white():
    image = half_red_half_blue(8, 8)
    decoded = decode_image(encode(image, "PNG", transparency=RED))
    assert (colour(decoded, (0, 0)), colour(decoded, (7, 0))) == (WHITE, BLUE)


SIXTEEN_BIT = np.array([[0, 32896, 65535]], dtype=np.uint16)  # 32896 = 128 × 257


@pytest.mark.parametrize(
    ("mode", "fmt"), [("I;16", "PNG"), ("I;16", "TIFF"), ("I;16B", "TIFF"), ("I", "TIFF")]
)
def test_16_bit_greyscale_is_scaled_from_0_65535(mode, fmt):
    source = Image.fromarray(SIXTEEN_BIT.astype(np.int32) if mode == "I" else SIXTEEN_BIT)
    if mode == "I;16B":
        source = Image.frombytes(mode, (3, 1), SIXTEEN_BIT.astype(">u2").tobytes())
    data = encode(source, fmt)
    assert Image.open(io.BytesIO(data)).mode == mode
    assert np.asarray(decode_image(data))[0, :, 0].tolist() == [0, 128, 255]


def test_16_bit_rgb_png():
    pixels = np.zeros((2, 2, 3), np.uint16)
    pixels[0, 0] = (65535, 0, 32896)
    image = decode_image(png_rgb16(pixels))
    assert (image.size, image.mode, colour(image)) == ((2, 2), "RGB", (255, 0, 128))


def test_float_tiff_is_stretched_over_its_range():
    source = Image.fromarray(np.array([[-2.0, 0.0, 2.0]], np.float32))
    data = encode(source, "TIFF")
    assert Image.open(io.BytesIO(data)).mode == "F"
    assert np.asarray(decode_image(data))[0, :, 0].tolist() == [0, 128, 255]
    constant = decode_image(encode(Image.new("F", (3, 3), 7.5), "TIFF"))
    assert colour(constant) == (0, 0, 0)


def test_exif_orientation_is_applied():
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    data = encode(half_red_half_blue(60, 20), "JPEG", exif=exif)
    assert Image.open(io.BytesIO(data)).size == (60, 20)
    image = decode_image(data)
    assert image.size == (20, 60)  # wide on disk, tall on screen
    assert close(colour(image, (10, 5)), RED, 30) and close(colour(image, (10, 55)), BLUE, 30)


def test_multi_picture_jpeg_from_a_phone_camera():
    frames = [Image.new("RGB", (16, 16), c) for c in (RED, GREEN)]
    data = encode(frames[0], "MPO", save_all=True, append_images=frames[1:])
    assert Image.open(io.BytesIO(data)).format == "MPO"
    assert close(colour(load_image(data)), RED)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG", "TIFF"])
def test_animations_give_their_first_frame(fmt):
    frames = [Image.new("RGB", (16, 16), c) for c in (RED, GREEN, BLUE)]
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 3
    assert close(colour(load_image(data)), RED)


@pytest.mark.parametrize("fit", images.FITS)
@pytest.mark.parametrize("shape", [(1, 1), (2000, 3), (3, 2000), (224, 224), (500, 499)])
def test_any_shape_fits_to_size_by_size(shape, fit):
    image = load_image(Image.new("RGB", shape, GREEN), fit=fit)
    assert (image.size, image.mode) == ((224, 224), "RGB")
    assert load_image(Image.new("RGB", shape), fit=fit, size=7).size == (7, 7)


def test_fit_modes_differ_as_documented():
    wide = Image.new("RGB", (400, 200), RED)
    wide.paste(BLUE, (0, 0, 100, 200))  # the left quarter is blue
    crop, stretch, pad = (fit_image(wide, 100, fit) for fit in ("crop", "stretch", "pad"))
    # crop keeps the centre half, so the blue quarter is gone (but for a little Lanczos ringing)
    assert close(colour(crop, (0, 50)), RED, 20)
    # stretch keeps everything: the left quarter is still blue
    assert colour(stretch, (10, 50)) == BLUE and colour(stretch, (90, 50)) == RED
    # pad letterboxes: bands of PAD_COLOR above and below, the whole image in between
    assert colour(pad, (50, 5)) == PAD_COLOR and colour(pad, (50, 95)) == PAD_COLOR
    assert colour(pad, (5, 50)) == BLUE and colour(pad, (95, 50)) == RED


def test_pad_colour_is_about_zero_after_preprocess():
    assert np.abs(preprocess(Image.new("RGB", (1, 1), PAD_COLOR))).max() < 0.7


@pytest.mark.parametrize("fit", ["zoom", "", "CROP"])
def test_unknown_fit_names_the_choices(fit):
    with pytest.raises(ValueError, match="'crop', 'stretch', 'pad'"):
        load_image(Image.new("RGB", (4, 4)), fit=fit)


def test_size_must_be_positive():
    with pytest.raises(ValueError, match="size"):
        load_image(Image.new("RGB", (4, 4)), size=0)


# --- numpy arrays -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (np.full((2, 3), 9, np.uint8), (9, 9, 9)),
        (np.full((2, 3, 1), 9, np.uint8), (9, 9, 9)),
        (np.full((2, 3, 3), (1, 2, 3), np.uint8), (1, 2, 3)),
        (np.full((2, 3, 4), (1, 2, 3, 0), np.uint8), WHITE),
        (np.full((2, 3, 4), (1, 2, 3, 255), np.uint8), (1, 2, 3)),
        (np.full((2, 3, 3), (0, 32896, 65535), np.uint16), (0, 128, 255)),
        (np.full((2, 3), 0.5, np.float32), (128, 128, 128)),
        (np.full((2, 3, 3), (0.0, 1.0, 0.2), np.float64), (0, 255, 51)),
    ],
)
def test_arrays(array, expected):
    image = decode_image(array)
    assert (image.size, image.mode, colour(image)) == ((3, 2), "RGB", expected)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.full((2, 3), 1.5), "outside 0..1"),
        (np.full((2, 3), np.nan), "outside 0..1"),
        (np.full((2, 3), -0.1, np.float32), "outside 0..1"),
        (np.array([[0, 256]]), r"int64 values from 0 to 256; whole numbers must lie in 0\.\.255"),
        (np.array([[-1, 9]], np.int8), r"int8 values from -1 to 9; whole numbers must lie in 0"),
        (np.full((2, 3), 2**40, ">i8"), "values from 1099511627776 to 1099511627776"),
        (np.zeros((2, 3), np.complex64), r"complex numbers; take np\.abs\(\) or \.real"),
        (np.zeros((2, 3), object), "dtype object, not numbers"),
        (np.zeros((2, 3), "U1"), "dtype <U1, not numbers"),
        (np.zeros((2, 3), "datetime64[s]"), r"dtype datetime64\[s\], not numbers"),
        (np.zeros((2, 3), [("r", "u1")]), "not numbers"),
        (np.ma.masked_array(np.zeros((2, 3), object), True), "dtype object, not numbers"),
        (np.zeros((2, 3, 2), np.uint8), "shape"),
        (np.zeros((5,), np.uint8), "shape"),
        (np.zeros((0, 3, 3), np.uint8), "shape"),
        (np.zeros((1000, 1000), np.uint8), "megapixels"),
    ],
)
def test_bad_arrays(array, message):
    with pytest.raises(ImageError, match=message) as error:
        decode_image(array, max_pixels=100_000)
    assert "the array" in str(error.value)


SIXTEEN_BIT_RGB = np.array([[[0, 32896, 65535], [257, 514, 65535]]], np.uint16)
FLOATS_RGB = np.array([[[0.0, 0.5, 1.0], [0.25, 1.0, 0.0]]], np.float32)
for shared in (SIXTEEN_BIT, SIXTEEN_BIT_RGB, FLOATS_RGB):  # a test that wrote to one would
    shared.setflags(write=False)  # change what the next tests see: make that an error instead


@pytest.mark.parametrize(
    ("array", "native"),
    [
        (SIXTEEN_BIT.astype(">u2"), SIXTEEN_BIT),
        (SIXTEEN_BIT.astype("<u2"), SIXTEEN_BIT),
        (SIXTEEN_BIT_RGB.astype(">u2"), SIXTEEN_BIT_RGB),
        (FLOATS_RGB.astype(">f4"), FLOATS_RGB),
        (FLOATS_RGB.astype(">f8"), FLOATS_RGB),
        (FLOATS_RGB.astype("<f2"), FLOATS_RGB),
        (np.array([[1, 200, 255]], ">i4"), np.array([[1, 200, 255]], np.uint8)),
    ],
    ids=[">u2", "<u2", ">u2-rgb", ">f4", ">f8", "<f2", ">i4"],
)
def test_byte_order_and_width_do_not_change_the_picture(array, native):
    assert np.array_equal(np.asarray(decode_image(array)), np.asarray(decode_image(native)))


def test_bool_arrays_are_black_and_white():
    grey = np.array([[False, True]])
    assert np.asarray(decode_image(grey)).tolist() == [[[0, 0, 0], [255, 255, 255]]]
    rgb = np.array([[[True, False, True]]])
    assert colour(decode_image(rgb)) == (255, 0, 255)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, ">i2", np.int32, np.int64, np.uint32, "u8"])
def test_whole_numbers_in_0_255_read_as_8_bit(dtype):
    pixels = np.array([[[0, 127, 9], [100, 50, 3]]])
    expected = np.asarray(decode_image(pixels.astype(np.uint8)))
    assert np.array_equal(np.asarray(decode_image(pixels.astype(dtype))), expected)


def test_a_list_of_lists_made_into_an_array_is_8_bit():
    """np.array of Python ints is int64: the commonest way to type in a tiny image."""
    assert colour(decode_image(np.array([[[255, 0, 0]]]))) == RED


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (np.ma.masked_array(np.zeros((1, 2), np.uint8), [[True, False]]), [WHITE, (0, 0, 0)]),
        (np.ma.masked_array(np.zeros((1, 2, 1), np.uint8), [[[False], [True]]]),
         [(0, 0, 0), WHITE]),
        (np.ma.masked_array(np.zeros((1, 2, 3), np.uint8), [[[0, 1, 0], [0, 0, 0]]]),
         [WHITE, (0, 0, 0)]),
        (np.ma.masked_invalid(np.array([[np.nan, 0.5]])), [WHITE, (128, 128, 128)]),
        (np.ma.masked_greater(np.array([[2.0, 0.0]]), 1), [WHITE, (0, 0, 0)]),
        (np.ma.masked_array(np.full((1, 2, 4), 65535, np.uint16) * [1, 0, 0, 1],
                            [[[1, 0, 0, 0], [0, 0, 0, 0]]], dtype=">u2"),
         [WHITE, RED]),
        (np.ma.masked_array(np.zeros((1, 2), np.uint8)), [(0, 0, 0), (0, 0, 0)]),
        (np.ma.masked_array(np.zeros((1, 2), np.uint8), True), [WHITE, WHITE]),
    ],
    ids=["grey", "grey-1", "one-channel", "nan", "out-of-range", "rgba16", "no-mask", "all"],
)
def test_masked_pixels_are_white_like_transparent_ones(array, expected):
    """A masked value is missing, as a transparent pixel is, and is shown the same way: white."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. numpy's "invalid value encountered in cast"
        image = decode_image(array)
    assert [colour(image, (x, 0)) for x in range(2)] == expected


def test_a_masked_array_is_not_modified():
    array = np.ma.masked_invalid(np.array([[np.nan, 0.5]]))
    decode_image(array)
    assert array.mask.tolist() == [[True, False]] and np.isnan(array.data[0, 0])


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
def test_other_array_types_read_as_plain_arrays():
    assert colour(decode_image(np.matrix([[9, 9]], np.uint8))) == (9, 9, 9)
    strided = np.zeros((4, 8, 3), np.uint8)
    strided[:, ::2] = BLUE
    assert decode_image(strided[:, ::2]).size == (4, 4)
    assert colour(decode_image(strided[:, ::2])) == BLUE


# --- PIL images in any mode ---------------------------------------------------------------------


def with_transparency(image: Image.Image, value) -> Image.Image:
    image.info["transparency"] = value
    return image


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: Image.frombytes("I;16B", (3, 1), SIXTEEN_BIT.astype(">u2").tobytes()),
         [(0,) * 3, (128,) * 3, WHITE]),
        (lambda: Image.frombytes("I;16L", (3, 1), SIXTEEN_BIT.astype("<u2").tobytes()),
         [(0,) * 3, (128,) * 3, WHITE]),
        (lambda: Image.fromarray(np.array([[-5, 32896, 70000]], np.int32)),
         [(0,) * 3, (128,) * 3, WHITE]),
        (lambda: Image.new("CMYK", (3, 1), (0, 255, 255, 0)), [RED] * 3),
        (lambda: Image.new("1", (3, 1), 1), [WHITE] * 3),
        (lambda: Image.new("1", (3, 1), 0), [(0, 0, 0)] * 3),
        (lambda: with_transparency(palette_image(), 0).crop((2, 0, 5, 1)), [WHITE, WHITE, GREEN]),
        (lambda: with_transparency(palette_image(), b"\xff\x00").crop((2, 0, 5, 1)),
         [RED, RED, WHITE]),
        (lambda: palette_image().convert("PA").crop((2, 0, 5, 1)), [RED, RED, GREEN]),
        (lambda: Image.new("LA", (3, 1), (0, 0)), [WHITE] * 3),
        (lambda: Image.new("LA", (3, 1), (100, 128)), [(177,) * 3] * 3),
        (lambda: Image.new("La", (3, 1), (50, 128)), [(177,) * 3] * 3),
        (lambda: Image.new("La", (3, 1), (100, 255)), [(100,) * 3] * 3),
        (lambda: Image.new("RGBa", (3, 1), (0, 0, 0, 0)), [WHITE] * 3),
        (lambda: with_transparency(Image.new("L", (3, 1), 7), 7), [WHITE] * 3),
        (lambda: Image.new("RGBX", (3, 1), (1, 2, 3, 0)), [(1, 2, 3)] * 3),
        (lambda: Image.new("HSV", (3, 1), (0, 255, 255)), [RED] * 3),
        (lambda: Image.new("YCbCr", (3, 1), (76, 85, 255)), [RED] * 3),
        (lambda: Image.fromarray(np.array([[np.nan, 0.0, 1.0]], np.float32)),
         [(0,) * 3, (0,) * 3, WHITE]),
        (lambda: Image.fromarray(np.array([[np.nan, -np.inf, np.nan]], np.float32)),
         [(0,) * 3] * 3),
    ],
    ids=["I;16B", "I;16L", "I-clipped", "CMYK", "1-white", "1-black", "P-trns", "P-trns-bytes",
         "PA", "LA-clear", "LA-half", "La-half", "La-opaque", "RGBa-clear", "L-trns", "RGBX",
         "HSV", "YCbCr", "F-nan", "F-no-finite"],
)
def test_a_pil_image_in_any_mode_becomes_rgb(make, expected):
    """NaN in a float (F) image is the low end of its finite range; with none, all is black."""
    image = decode_image(make())
    assert (image.mode, image.size) == ("RGB", (3, 1))
    assert all(close(colour(image, (x, 0)), e, 2) for x, e in enumerate(expected))


@pytest.mark.parametrize("size", [(0, 0), (0, 3), (3, 0)])
@pytest.mark.parametrize("mode", ["RGB", "L", "F", "I;16", "LA", "P"])
def test_a_pil_image_without_pixels_is_refused(mode, size):
    with pytest.raises(ImageError, match=rf"^the image has no pixels \({size[0]}×{size[1]}\)$"):
        load_image(Image.new(mode, size))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy's, about NaN in random floats
@settings(max_examples=examples(300), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_arrays(data):
    """Any dtype, byte order, shape or mask gives an RGB image of the array's size or an
    ImageError naming the array: never numpy's or PIL's own exceptions."""
    dtype = data.draw(
        hnp.scalar_dtypes()
        | hnp.integer_dtypes(endianness="?")
        | hnp.unsigned_integer_dtypes(endianness="?")
        | hnp.floating_dtypes(endianness="?")
        | hnp.complex_number_dtypes(endianness="?")
        | st.just(np.dtype(object))
    )
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4))
    small = data.draw(st.booleans())  # mostly in range, so that many arrays are accepted
    elements = None
    if small and dtype.kind in "iu":
        elements = st.integers(0, min(255, np.iinfo(dtype).max))
    if small and dtype.kind == "f":
        elements = st.floats(0, 1, width=min(64, dtype.itemsize * 8))
    array = data.draw(hnp.arrays(dtype, shape, elements=elements))
    if data.draw(st.booleans()):
        array = np.ma.masked_array(array, data.draw(hnp.arrays(bool, shape)))
    try:
        image = decode_image(array, max_pixels=64)
    except ImageError as error:
        assert str(error).startswith("the array"), error
    else:
        assert image.mode == "RGB" and image.size == (array.shape[1], array.shape[0])


# --- bad input ----------------------------------------------------------------------------------

GOOD_PNG = encode(half_red_half_blue(64, 64), "PNG")
NOISE = Image.merge("RGB", [Image.effect_noise((64, 64), 50 + 10 * i) for i in range(3)])
NOISY_PNG, GOOD_JPEG = encode(NOISE, "PNG"), encode(NOISE, "JPEG")
SVG_XML = b'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>'
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64)
AVIF = b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + bytes(64)

BAD_FILES = {
    "notes.txt": (b"Dear diary, today I uploaded the wrong file.\n", "is not a JPEG, PNG"),
    "empty.png": (b"", "is empty"),
    "half.png": (GOOD_PNG[: len(GOOD_PNG) // 2], "damaged or incomplete"),
    "half.jpg": (GOOD_JPEG[: len(GOOD_JPEG) // 2], "damaged or incomplete"),
    "headonly.png": (GOOD_PNG[:40], "or it is damaged"),
    "cat.svg": (SVG_XML, "is an SVG"),
    "bare.svg": (b'\xef\xbb\xbf  <svg width="10" height="10"></svg>', "is an SVG"),
    "IMG_0001.HEIC": (HEIC, "is a HEIC photo"),
    "pic.avif": (AVIF, "is an AVIF photo"),
    "favicon.ico": (encode(Image.new("RGB", (16, 16)), "ICO"), "is in ICO format"),
    "frame.ppm": (encode(Image.new("RGB", (16, 16)), "PPM"), "is in PPM format"),
    "texture.tga": (encode(Image.new("RGB", (16, 16)), "TGA"), "is in TGA format"),
}


if features.check("avif"):  # PIL can open AVIF itself; it is refused all the same
    BAD_FILES["real.avif"] = (encode(Image.new("RGB", (8, 8)), "AVIF"), "is an AVIF photo")


@pytest.mark.parametrize("filename", BAD_FILES)
def test_bad_files_are_refused_with_a_message_naming_them(tmp_path, filename):
    data, message = BAD_FILES[filename]
    path = tmp_path / filename
    path.write_bytes(data)
    for source in (path, str(path)):
        with pytest.raises(ImageError, match=message) as error:
            load_image(source)
        assert str(error.value).startswith(filename)
    with open(path, "rb") as file, pytest.raises(ImageError, match=message) as error:
        load_image(file)
    assert str(error.value).startswith(filename)
    with pytest.raises(ImageError, match=message) as error:
        load_image(data, name="upload.bin")
    assert str(error.value).startswith("upload.bin")


def test_unsupported_formats_list_what_works():
    with pytest.raises(ImageError) as error:
        load_image(BAD_FILES["favicon.ico"][0], name="favicon.ico")
    assert str(error.value) == (
        "favicon.ico is in ICO format; vggviz reads JPEG, PNG, GIF, WebP, BMP and TIFF"
    )


def test_unnamed_bytes_and_streams_get_a_generic_label():
    with pytest.raises(ImageError, match="^the uploaded data is empty"):
        load_image(b"")
    with pytest.raises(ImageError, match="^the uploaded file is not a"):
        load_image(io.BytesIO(b"not an image"))


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ImageError, match="no such file: .*nowhere.png"):
        load_image(tmp_path / "nowhere.png")
    for folder in (tmp_path, str(tmp_path)):
        with pytest.raises(
            ImageError, match=f"^cannot read {tmp_path.name}: it is a folder; give the path of an"
        ):
            load_image(folder)
    with pytest.raises(ImageError, match=r"^cannot read 'a\\x00b': a file path cannot contain"):
        load_image("a\x00b")


ACCEPTED = "give a file path, bytes, a file opened in binary mode, a PIL image or a numpy array"


class Unreadable:
    """A file-like object whose read() fails or returns something other than bytes."""

    def __init__(self, outcome):
        self.outcome = outcome

    def read(self, size=-1):
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


@pytest.mark.parametrize(
    ("source", "given"),
    [
        (None, "None"),
        ([1, 2], "a list"),
        (42, "an int"),
        (1.5, "a float"),
        (True, "a bool"),
        ({"content": b""}, "a dict"),
        ({1, 2}, "a set"),
        (object(), "an object"),
        (np.uint8(3), "a numpy.uint8"),
    ],
)
def test_other_types_are_refused_in_words(source, given):
    with pytest.raises(ImageError) as error:
        load_image(source)
    assert str(error.value) == f"cannot read an image from {given}; {ACCEPTED}"


def test_a_text_stream_is_refused():
    with pytest.raises(ImageError, match="^notes.txt was opened in text mode; open it in binary"):
        load_image(io.StringIO("hello"), name="notes.txt")


def closed_stream() -> io.BytesIO:
    stream = io.BytesIO(GOOD_PNG)
    stream.close()
    return stream


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (closed_stream, "^cannot read the uploaded file: I/O operation on closed file$"),
        (lambda: Unreadable(OSError("disk on fire")), "^cannot read the uploaded file: disk on "),
        (lambda: Unreadable(None), "^cannot read the uploaded file: its read.. gave None, not"),
        (lambda: Unreadable([1]), "^cannot read the uploaded file: its read.. gave a list, not"),
    ],
    ids=["closed", "OSError", "None", "list"],
)
def test_a_stream_that_cannot_be_read_is_refused(make, message):
    with pytest.raises(ImageError, match=message):
        load_image(make())


def test_files_closed_or_open_for_writing_are_refused(tmp_path):
    path = tmp_path / "pic.png"
    with open(path, "wb") as file, pytest.raises(ImageError, match="^pic.png is not open for rea"):
        load_image(file)
    with open(path, "rb") as file:
        pass
    with pytest.raises(ImageError, match="^cannot read pic.png: read of closed file$"):
        load_image(file)


def test_truncation_is_never_tolerated_globally():
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    limit = Image.MAX_IMAGE_PIXELS
    load_image(GOOD_PNG)
    assert (ImageFile.LOAD_TRUNCATED_IMAGES, Image.MAX_IMAGE_PIXELS) == (False, limit)


def test_too_many_bytes_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "photo.png"
    path.write_bytes(NOISY_PNG)
    read = []
    monkeypatch.setattr(images, "open", lambda *a, **k: read.append(a), raising=False)
    size = f"{len(NOISY_PNG) / 1000:.1f} KB"
    with pytest.raises(ImageError, match=f"^photo.png is {size}; the limit is 1 KB$"):
        load_image(path, max_bytes=1000)
    assert read == []  # refused from os.stat alone


def test_too_many_bytes_in_memory_or_a_stream():
    """Sizes in MB of 10^6 bytes, as the limit is: a 25.25 MB file is not said to be 24.1 MB
    (its size in MiB) against a limit of 20 MB."""
    with pytest.raises(ImageError, match=r"^photo.png is 25.3 MB; the limit is 20 MB$"):
        load_image(bytes(25_260_000), name="photo.png")
    with pytest.raises(ImageError, match=r"^photo.png is 25.2 MB; the limit is 20 MB$"):
        load_image(bytes(25_249_999), name="photo.png")
    with pytest.raises(ImageError, match=r"^photo.png is over 20 MB; the limit is 20 MB$"):
        load_image(bytes(DEFAULT_MAX_BYTES + 1), name="photo.png")
    assert DEFAULT_MAX_BYTES == 20_000_000

    class Stream(io.BytesIO):
        def __init__(self, data: bytes):
            super().__init__(data)
            self.requested: list[int] = []

        def read(self, size=-1):
            self.requested.append(size)
            return super().read(size)

    stream = Stream(NOISY_PNG)
    with pytest.raises(ImageError, match="is over 1 KB; the limit is 1 KB"):
        load_image(stream, max_bytes=1000)
    assert stream.requested == [1001] and stream.tell() == 1001


def test_too_many_pixels_in_a_real_image():
    with pytest.raises(
        ImageError, match=r"is 64×64 pixels \(0.004096 megapixels\); the limit is 0.004 "
    ):
        load_image(GOOD_PNG, max_pixels=4000)
    with pytest.raises(ImageError, match="64×64 pixels"):
        load_image(Image.open(io.BytesIO(GOOD_PNG)), max_pixels=4000)
    assert load_image(GOOD_PNG, max_pixels=4096).size == (224, 224)
    assert DEFAULT_MAX_PIXELS == 40_000_000


@pytest.mark.parametrize(
    ("width", "height", "message"),
    [
        (10_000, 5_000, r"bomb.png is 10000×5000 pixels \(50 megapixels\); the limit is 40"),
        (8_000, 12_000, r"bomb.png has too many pixels to decode safely; the limit is 40"),
        (50_000, 50_000, r"bomb.png has too many pixels to decode safely; the limit is 40"),
    ],
)
def test_decompression_bombs_are_refused_without_decoding(monkeypatch, width, height, message):
    decoded = []
    real_load = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda im: decoded.append(im) or real_load(im))
    bomb = png_claiming(width, height)
    tracemalloc.start()
    try:
        with pytest.raises(ImageError, match=message):
            load_image(bomb, name="bomb.png")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 2**20  # no pixel buffer was made, not even a row of one
    assert decoded == []
    load_image(GOOD_PNG)
    assert decoded  # the spy does see a real decode


# --- random bytes: the only outcomes are an image or an ImageError -----------------------------

SEEDS = [encode(half_red_half_blue(12, 8), fmt) for fmt in SUPPORTED_FORMATS] + [
    encode(palette_image(0), "GIF", save_all=True, append_images=[palette_image()]),
    encode(Image.new("LA", (5, 7), (9, 99)), "PNG"),
    GOOD_JPEG,
]
MAGIC = [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"RIFF\x00\x01\x00\x00WEBPVP8 ", b"BM"]
MAGIC += [b"II*\x00", b"MM\x00*", b"\x00\x00\x00\x18ftyp", b"<svg", b"\x00\x00\x01\x00"]


def assert_image_or_image_error(data: bytes) -> None:
    try:
        image = load_image(data, name="fuzz.bin", max_pixels=2**20)
    except ImageError as error:
        assert str(error).startswith("fuzz.bin")
    else:
        assert (image.size, image.mode) == ((224, 224), "RGB")


FUZZ = settings(max_examples=examples(200), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.filterwarnings("ignore::UserWarning")
@FUZZ
@given(st.binary(max_size=512) | st.builds(bytes.__add__, st.sampled_from(MAGIC), st.binary()))
def test_random_bytes(data):
    assert_image_or_image_error(data)


@pytest.mark.filterwarnings("ignore::UserWarning")
@FUZZ
@given(
    seed=st.sampled_from(SEEDS),
    edits=st.lists(st.tuples(st.integers(0, 2**16), st.integers(0, 255)), max_size=6),
    keep=st.floats(0, 1),
)
def test_mutated_images(seed, edits, keep):
    data = bytearray(seed)
    for position, value in edits:
        data[position % len(data)] = value
    assert_image_or_image_error(bytes(data[: max(1, round(len(data) * keep))]))


# --- arrays and preprocessing -------------------------------------------------------------------


def test_to_array():
    array = to_array(Image.new("RGB", (5, 4), (1, 2, 3)))
    assert (array.dtype, array.shape) == (np.float32, (4, 5, 3))
    assert array[0, 0].tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match="RGB"):
        to_array(Image.new("RGBA", (5, 4)))


def test_preprocess_is_keras_caffe_convention():
    from keras.applications import vgg16

    image = load_image(Image.effect_noise((300, 200), 80).convert("RGB"))
    expected = vgg16.preprocess_input(to_array(image)[np.newaxis].copy())
    for weights in ("imagenet", "random", "/some/weights.h5", Path("w.keras")):
        batch = preprocess(image, weights)
        assert (batch.dtype, batch.shape) == (np.float32, (1, 224, 224, 3))
        np.testing.assert_allclose(batch, expected, atol=1e-4)


def test_preprocess_accepts_arrays_without_changing_them():
    array = np.zeros((2, 3, 3), np.float32)
    array[..., 0] = 255  # red
    batch = preprocess(array)
    assert array[0, 0].tolist() == [255, 0, 0]
    np.testing.assert_allclose(batch[0, 0, 0], [-103.939, -116.779, 255 - 123.68], atol=1e-4)
    with pytest.raises(ValueError, match="H, W, 3"):
        preprocess(np.zeros((1, 2, 3, 3)))


def test_importing_the_module_does_not_import_keras():
    code = ("import sys, vggviz.sources.images; "
            "sys.exit(bool({'keras', 'tensorflow'} & set(sys.modules)))")
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    assert subprocess.run([sys.executable, "-c", code], env=env, timeout=60).returncode == 0


# --- bundled samples ----------------------------------------------------------------------------


def test_sample_photo_is_a_real_photograph():
    name, photo = next(iter(sample_images().items()))
    assert "photo" in name
    assert photo.mode == "RGB" and min(photo.size) >= 256
    pixels = np.asarray(photo, np.float32)
    assert pixels.std() > 30 and len(np.unique(pixels.reshape(-1, 3), axis=0)) > 10_000


def test_sample_probes_are_224_rgb_and_not_constant():
    probes = list(sample_images().items())[1:]
    assert len(probes) >= 5
    for name, probe in probes:
        assert (probe.size, probe.mode) == ((224, 224), "RGB"), name
        assert np.asarray(probe).std() > 20, name


def test_grating_angles():
    horizontal = np.asarray(sample_image("Grating 0°"), np.float32)[..., 0]
    vertical = np.asarray(sample_image("Grating 90°"), np.float32)[..., 0]
    assert horizontal.std(axis=1).max() < 1 and horizontal.std(axis=0).min() > 50
    assert vertical.std(axis=0).max() < 1 and vertical.std(axis=1).min() > 50
    rising = np.asarray(sample_image("Grating 45°"), np.float32)[..., 0]
    assert abs(rising[100, 100] - rising[90, 110]) < 1  # constant along "/" lines


def test_samples_are_copies():
    first = sample_images()
    first["Checkerboard"].paste(RED, (0, 0, 224, 224))
    assert colour(sample_images()["Checkerboard"]) != RED
    assert colour(sample_image("Checkerboard")) != RED
    with pytest.raises(KeyError, match="Colour wheel"):
        sample_image("Mona Lisa")


def test_jpeg_draft_decoding_keeps_the_network_view_faithful():
    """load_image lets big JPEGs decode at a reduced DCT scale; the 224 view barely changes."""
    from vggviz.sources.images import decode_image, fit_image

    photo = sample_image("Grace Hopper (photo)").resize((1600, 1200))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=95)
    data = buffer.getvalue()
    drafted = np.asarray(load_image(data), np.float32)
    full = np.asarray(fit_image(decode_image(data)), np.float32)
    assert drafted.shape == full.shape == (224, 224, 3)
    assert np.abs(drafted - full).mean() < 2.0  # of 255 levels
    assert decode_image(data).size == (1600, 1200)  # the original view is not drafted


@pytest.mark.parametrize("size", [(640, 480), (1024, 768), (1600, 1200), (4000, 3000)])
def test_jpeg_draft_changes_the_network_view_less_than_a_bilinear_resize_would(size):
    """The bound for draft decoding is the resize's own tolerance: fitting the full decode with
    Pillow's bilinear filter (Keras' default resize) instead of Lanczos changes the 224 view
    by more, in mean and in max, than decoding at a reduced DCT scale does (measured: draft
    0.5–2.0 mean, 12–46 max; bilinear 2.2 mean, 51–54 max, of 255 levels)."""
    from PIL import ImageOps

    from vggviz.sources.images import decode_image, fit_image

    buffer = io.BytesIO()
    sample_image("Grace Hopper (photo)").resize(size, Image.Resampling.LANCZOS).save(
        buffer, "JPEG", quality=92)
    data = buffer.getvalue()
    full = decode_image(data)
    reference = np.asarray(fit_image(full), np.float32)
    drafted = np.abs(np.asarray(load_image(data), np.float32) - reference)
    bilinear = np.abs(np.asarray(ImageOps.fit(full, (224, 224), Image.Resampling.BILINEAR),
                                 np.float32) - reference)
    assert drafted.any(), "the JPEG was drafted"
    assert drafted.mean() < bilinear.mean() and drafted.max() < bilinear.max()


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "BMP", "TIFF", "GIF"])
def test_only_jpegs_are_drafted_other_formats_decode_in_full(fmt):
    """Lossless or palette formats give exactly the fit of their full decode."""
    from vggviz.sources.images import decode_image, fit_image

    buffer = io.BytesIO()
    photo = sample_image("Grace Hopper (photo)").resize((1600, 1200))
    photo.save(buffer, fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    data = buffer.getvalue()
    assert decode_image(data).size == (1600, 1200)
    assert (np.asarray(load_image(data)) == np.asarray(fit_image(decode_image(data)))).all()


def test_float_image_with_inf_keeps_the_range_of_its_finite_pixels():
    from vggviz.sources.images import decode_image

    pixels = np.array([[np.inf, 0.0, 0.5, 1.0]], dtype=np.float32)
    rgb = np.asarray(decode_image(Image.fromarray(pixels, "F")))[0, :, 0]
    assert list(rgb) == [255, 0, 128, 255]


@pytest.mark.parametrize("mode", ["L", "1", "I", "P"])
def test_fit_image_takes_any_mode(mode):
    from vggviz.sources.images import fit_image

    out = fit_image(Image.new(mode, (300, 100)), 224, "pad")
    assert out.mode == "RGB" and out.size == (224, 224)


@pytest.mark.parametrize("size", [7.5, True, 0, "224"])
def test_size_must_be_a_positive_whole_number(size):
    with pytest.raises(ValueError, match="positive whole number"):
        load_image(Image.new("RGB", (10, 10)), size=size)
