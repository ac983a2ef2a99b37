"""Turn whatever a person uploads into the RGB image a VGG network sees, or a clear ImageError.

Sources: a path, bytes, a binary file object, a PIL image in any mode, or a numpy array (H×W,
H×W×1, H×W×3 or H×W×4, in either byte order) of uint8, uint16 (0..65535), floats in 0..1, bool
(False black, True full intensity) or other whole numbers in 0..255 (numpy's default int64).
Transparency is composited on white, and so are the masked values of a numpy masked array (a
pixel with any masked value is white): both are pixels without a colour. 16-bit pixels are
scaled from 0..65535, float (F) images are stretched over their own finite range (NaN is its low
end), EXIF rotation is applied and animations give their first frame. Anything else, complex or
object arrays included, is an ImageError that says what was given and what is accepted.
File and pixel sizes are checked before any pixels are decoded; PIL's own decompression-bomb
limit (Image.MAX_IMAGE_PIXELS) applies as well.
Only PIL and numpy are used here: keras is never imported.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import warnings
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps

DEFAULT_MAX_BYTES = 20 * 10**6
"""The largest upload or file: 20 MB (vggviz says MB for 10^6 bytes everywhere)."""
DEFAULT_MAX_PIXELS = 40_000_000
SUPPORTED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")
FITS = ("crop", "stretch", "pad")
# The ImageNet mean colour (RGB): a warm mid-grey that preprocess() maps to about zero, so
# letterbox bands add as little signal as possible.
PAD_COLOR = (124, 117, 104)
# Keras' 'caffe' convention: the ImageNet mean per channel, in BGR order.
IMAGENET_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)

ImageSource = (
    str | os.PathLike | bytes | bytearray | memoryview | BinaryIO | Image.Image | np.ndarray
)

# Phone cameras often write multi-picture JPEGs, which PIL reports as MPO.
_ACCEPTED_FORMATS = frozenset(SUPPORTED_FORMATS) | {"MPO"}
_FORMAT_NAMES = ["WebP" if f == "WEBP" else f for f in SUPPORTED_FORMATS]
_FORMATS_AND = ", ".join(_FORMAT_NAMES[:-1]) + " and " + _FORMAT_NAMES[-1]
_FORMATS_OR = ", ".join(_FORMAT_NAMES[:-1]) + " or " + _FORMAT_NAMES[-1]
# Brands in an ISO-BMFF 'ftyp' box that mark HEIF/AVIF photos (the iPhone and Android default).
_AVIF_BRANDS = {b"avif", b"avis"}
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_SOURCES = "a file path, bytes, a file opened in binary mode, a PIL image or a numpy array"
_HIGH_DEPTH_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")


class ImageError(ValueError):
    """An image that vggviz cannot use; the message names the file and says why."""


def load_image(
    source: ImageSource,
    *,
    size: int = 224,
    fit: str = "crop",
    name: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Image.Image:
    """Decode `source` and fit it to a size×size RGB image: the network's-eye view.

    Raises ImageError (naming the file, or `name`) for anything that is not a usable image.
    """
    _check_fit(size, fit)
    image = decode_image(source, name=name, max_bytes=max_bytes, max_pixels=max_pixels,
                         draft=size)
    return fit_image(image, size=size, fit=fit)


def decode_image(
    source: ImageSource,
    *,
    name: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    draft: int | None = None,
) -> Image.Image:
    """Decode `source` to an upright RGB image at its original size, shown beside the fitted one.

    `draft=N` lets a JPEG decode at a reduced scale still at least N×N (PIL's DCT scaling):
    enough for an N-px fitted view, at a fraction of the cost.
    Raises ImageError (naming the file, or `name`) for anything that is not a usable image.
    """
    label = name or _default_label(source)
    if isinstance(source, np.ndarray):
        return _array_to_rgb(source, label, max_pixels)
    if isinstance(source, Image.Image):
        with _decoding(label, max_pixels):
            return _upright_rgb(source, label, max_pixels)
    data = _read_bytes(source, label, max_bytes)
    _refuse_unsupported_signature(data, label)
    with _decoding(label, max_pixels), Image.open(io.BytesIO(data)) as image:
        if image.format not in _ACCEPTED_FORMATS:
            raise ImageError(f"{label} is in {image.format} format; vggviz reads {_FORMATS_AND}")
        return _upright_rgb(image, label, max_pixels, draft)


def fit_image(image: Image.Image, size: int = 224, fit: str = "crop") -> Image.Image:
    """Resize to size×size: 'crop' fills then centre-crops, 'stretch' ignores the aspect ratio,
    'pad' letterboxes with bands of PAD_COLOR (the ImageNet mean, about zero after preprocess)."""
    _check_fit(size, fit)
    if image.mode != "RGB":
        image = _to_rgb(image)
    square = (size, size)
    resample = Image.Resampling.LANCZOS
    if fit == "crop":
        return ImageOps.fit(image, square, method=resample)
    if fit == "stretch":
        return image.resize(square, resample)
    return ImageOps.pad(image, square, method=resample, color=PAD_COLOR)


def to_array(image: Image.Image) -> np.ndarray:
    """Return an RGB PIL image as a float32 (H, W, 3) array of 0..255 values."""
    if image.mode != "RGB":
        raise ValueError(f"to_array needs an RGB image (load_image makes one), not {image.mode}")
    return np.asarray(image, dtype=np.float32)


def preprocess(
    image: Image.Image | np.ndarray, weights: str | os.PathLike = "imagenet"
) -> np.ndarray:
    """Return a float32 (1, H, W, 3) batch in the input convention of `weights`.

    Every source ("imagenet", "random", a weights file) uses Keras' 'caffe' convention (RGB→BGR,
    minus the ImageNet mean) so all see one input; the argument is for a future convention."""
    if not isinstance(weights, str | os.PathLike):
        raise TypeError(f"weights must be 'imagenet', 'random' or a path, not {weights!r}")
    pixels = to_array(image) if isinstance(image, Image.Image) else np.asarray(image)
    if pixels.dtype != np.uint8:  # uint8 (the fitted pixels) is subtracted from as it is
        pixels = pixels.astype(np.float32, copy=False)
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"preprocess needs an (H, W, 3) RGB array, not shape {pixels.shape}")
    batch = np.empty((1, *pixels.shape), np.float32)
    np.subtract(pixels[..., ::-1], IMAGENET_MEAN_BGR, out=batch[0], casting="unsafe")
    return batch


def sample_images() -> dict[str, Image.Image]:
    """Return copies of the bundled samples by name: a photograph, then synthetic 224×224 probes.
    Grating angles are of the stripes, counter-clockwise from horizontal (90° = vertical)."""
    return {name: image.copy() for name, image in _samples().items()}


def sample_image(name: str) -> Image.Image:
    """Return a copy of one bundled sample; KeyError lists the valid names."""
    samples = _samples()
    if name not in samples:
        raise KeyError(f"no sample image {name!r}; choose from: {', '.join(samples)}")
    return samples[name].copy()


# --- decoding helpers ---------------------------------------------------------------------------


def _check_fit(size: int, fit: str) -> None:
    if fit not in FITS:
        raise ValueError(f"fit must be one of {', '.join(map(repr, FITS))}, not {fit!r}")
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 1:
        raise ValueError(f"size must be a positive whole number of pixels, not {size!r}")


def _default_label(source: object) -> str:
    if isinstance(source, str | os.PathLike):
        return os.path.basename(os.fspath(source))
    if isinstance(source, bytes | bytearray | memoryview):
        return "the uploaded data"
    if isinstance(source, np.ndarray):
        return "the array"
    filename = getattr(source, "filename" if isinstance(source, Image.Image) else "name", None)
    if isinstance(filename, str) and filename:
        return os.path.basename(filename)
    return "the image" if isinstance(source, Image.Image) else "the uploaded file"


def _read_bytes(source: ImageSource, label: str, max_bytes: int) -> bytes:
    """Read the encoded file, refusing it before reading far if it is over max_bytes."""
    if isinstance(source, str | os.PathLike):
        data = _read_path(source, label, max_bytes)
    elif isinstance(source, bytes | bytearray | memoryview):
        check_size(memoryview(source).nbytes, label, max_bytes)
        data = bytes(source)
    elif callable(getattr(source, "read", None)):
        data = _read_stream(source, label, max_bytes)
    else:
        raise ImageError(f"cannot read an image from {_describe(source)}; give {_SOURCES}")
    if not data:
        raise ImageError(f"{label} is empty (0 bytes)")
    return bytes(data)


def _read_path(path: str | os.PathLike, label: str, max_bytes: int) -> bytes:
    """Read a file, refused from its size on disk alone if it is over max_bytes."""
    try:
        check_size(os.stat(path).st_size, label, max_bytes)
        with open(path, "rb") as file:
            return file.read(max_bytes + 1)
    except ImageError:  # over max_bytes (an ImageError is a ValueError, handled below)
        raise
    except (OSError, ValueError) as error:
        raise _path_error(path, label, error) from None


def check_image_path(path: str | os.PathLike) -> None:
    """Refuse a path that names no file this process can open, in the loader's words, reading
    nothing: a command checks its inputs before it fetches weights or builds a model."""
    label = _default_label(path)
    try:
        with open(path, "rb"):
            pass
    except (OSError, ValueError) as error:
        raise _path_error(path, label, error) from None


def _path_error(path: str | os.PathLike, label: str, error: Exception) -> ImageError:
    """What went wrong opening `path`, in words."""
    if isinstance(error, FileNotFoundError):
        return ImageError(f"no such file: {os.fspath(path)}")
    if isinstance(error, IsADirectoryError):
        return ImageError(f"cannot read {label}: it is a folder; give the path of an image file")
    if isinstance(error, OSError):
        return ImageError(f"cannot read {label}: {error.strerror or error}")
    # what os.stat raises for a NUL character, which no path can hold
    return ImageError(f"cannot read {label!r}: a file path cannot contain a NUL character")


def _read_stream(stream: BinaryIO, label: str, max_bytes: int) -> bytes | bytearray:
    """Read at most max_bytes + 1 bytes: enough to tell an over-limit stream, never all of it."""
    try:
        data = stream.read(max_bytes + 1)
    except io.UnsupportedOperation:  # e.g. a file opened with "wb"
        raise ImageError(f"{label} is not open for reading; open it with mode 'rb'") from None
    except (OSError, ValueError) as error:  # ValueError: a closed file
        raise ImageError(f"cannot read {label}: {str(error).rstrip('.')}") from None
    if isinstance(data, str):
        raise ImageError(f"{label} was opened in text mode; open it in binary mode ('rb')")
    if not isinstance(data, bytes | bytearray):
        raise ImageError(f"cannot read {label}: its read() gave {_describe(data)}, not bytes")
    check_size(len(data), label, max_bytes, only_over=True)
    return data


def _describe(value: object) -> str:
    """Name what was given, for a message: 'None', 'a list', 'an int', 'a numpy.uint8'."""
    if value is None:
        return "None"
    kind = type(value)
    name = kind.__qualname__
    if kind.__module__ != "builtins":
        name = f"{kind.__module__}.{name}"
    return f"{'an' if name[0] in 'aeiouAEIOU' else 'a'} {name}"


def check_size(n: int, label: str, max_bytes: int, *, only_over: bool = False) -> None:
    """Refuse `n` bytes over `max_bytes` as ImageError naming `label` ("photo.tif is 25 MB; the
    limit is 20 MB"); `only_over` when reading stopped at the limit, so the size is unknown."""
    if n > max_bytes:
        size, limit = human_bytes(n), human_bytes(max_bytes)
        if only_over or size == limit:  # a stream read no further; "is 20 MB; the limit is 20 MB"
            size = f"over {limit}"
        raise ImageError(f"{label} is {size}; the limit is {limit}")


def _check_pixels(size: tuple[int, int], label: str, max_pixels: int) -> None:
    width, height = size
    if not width * height:
        raise ImageError(f"{label} has no pixels ({width}×{height})")
    if width * height > max_pixels:
        raise ImageError(
            f"{label} is {width}×{height} pixels ({_megapixels(width * height)} megapixels); "
            f"the limit is {_megapixels(max_pixels)} megapixels"
        )


def _upright_rgb(image: Image.Image, label: str, max_pixels: int,
                 draft: int | None = None) -> Image.Image:
    """Check the header's size, then decode the pixels (of the first frame), rotate and convert."""
    _check_pixels(image.size, label, max_pixels)
    if draft and image.format in ("JPEG", "MPO"):
        image.draft("RGB", (draft, draft))
    image.load()
    upright = ImageOps.exif_transpose(image)  # a copy, which _to_rgb may keep as it is
    return _to_rgb(upright, copy=False)


def _refuse_unsupported_signature(data: bytes, label: str) -> None:
    """Name the common photo formats that PIL cannot open, rather than calling them non-images."""
    head = data[:4096].removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    if head.startswith((b"<?xml", b"<svg", b"<!doctype svg")) and b"<svg" in head:
        raise ImageError(f"{label} is an SVG (vector) image; vggviz reads {_FORMATS_AND}")
    if data[4:8] == b"ftyp":
        box = data[8 : min(int.from_bytes(data[:4], "big"), 256)]
        brands = {box[i : i + 4] for i in range(0, len(box), 4)}  # major, version, compatible
        kind = "an AVIF" if brands & _AVIF_BRANDS else "a HEIC" if brands & _HEIF_BRANDS else None
        if kind:
            raise ImageError(
                f"{label} is {kind} photo; vggviz reads {_FORMATS_AND} (convert it to JPEG)"
            )


@contextlib.contextmanager
def _decoding(label: str, max_pixels: int) -> Iterator[None]:
    """Turn anything PIL raises while decoding into an ImageError naming the image.

    The loader must either return an image or raise ImageError, even for random bytes, and PIL
    raises many types (OSError, SyntaxError, struct.error, EOFError, ...) for damaged files.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageError(
            f"{label} has too many pixels to decode safely; "
            f"the limit is {_megapixels(max_pixels)} megapixels"
        ) from error
    except Image.UnidentifiedImageError as error:
        raise ImageError(f"{label} is not a {_FORMATS_OR} image, or it is damaged") from error
    except Exception as error:
        raise ImageError(
            f"{label} is damaged or incomplete and cannot be read ({error})"
        ) from error


def _array_to_rgb(array: np.ndarray, label: str, max_pixels: int) -> Image.Image:
    """Make an RGB image from an array; the masked values of a masked array make white pixels.

    The array is read, never changed: a masked array's hidden values (NaN, say) are set aside
    before any check, and other byte orders and array subclasses become plain native arrays.
    """
    if array.dtype.kind == "c":
        raise ImageError(f"{label} has complex numbers; take np.abs() or .real of it first")
    if array.dtype.kind not in "biuf":
        raise ImageError(
            f"{label} has dtype {array.dtype}, not numbers; "
            "give uint8 (0..255), uint16 (0..65535), floats (0..1) or bool"
        )
    hidden = np.ma.getmaskarray(array)
    pixels = np.asarray(np.ma.filled(array, 0))
    pixels = pixels.astype(pixels.dtype.newbyteorder("="), copy=False)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels, hidden = pixels[..., 0], hidden[..., 0]
    if pixels.ndim < 2 or pixels.shape[2:] not in ((), (3,), (4,)) or not pixels.size:
        raise ImageError(f"{label} has shape {array.shape}; expected H×W, H×W×1, H×W×3 or H×W×4")
    _check_pixels((pixels.shape[1], pixels.shape[0]), label, max_pixels)
    image = _to_rgb(Image.fromarray(_to_uint8(pixels, label)))
    if hidden.any():
        image.paste("white", mask=Image.fromarray(hidden if hidden.ndim == 2 else hidden.any(2)))
    return image


def _to_uint8(pixels: np.ndarray, label: str) -> np.ndarray:
    """Scale native-order bool, uint16 or float pixels to 0..255; other whole numbers must
    already lie in 0..255 (as numpy's default int64 does for a typed-in image)."""
    if pixels.dtype == np.uint8:
        return pixels
    if pixels.dtype == np.bool_:
        return pixels.astype(np.uint8) * 255
    if pixels.dtype == np.uint16:
        return np.round(pixels / 257).astype(np.uint8)
    if pixels.dtype.kind == "f":
        if not np.all((pixels >= 0) & (pixels <= 1)):  # also refuses NaN
            raise ImageError(f"{label} has float pixel values outside 0..1")
        return np.round(pixels * 255).astype(np.uint8)
    low, high = pixels.min(), pixels.max()
    if low < 0 or high > 255:
        raise ImageError(
            f"{label} has {pixels.dtype} values from {low} to {high}; whole numbers must lie in "
            "0..255 (use uint16 for 0..65535)"
        )
    return pixels.astype(np.uint8)


def _to_rgb(image: Image.Image, copy: bool = True) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB, compositing transparency on white; a new image
    unless `copy=False` lets an RGB image that is already the caller's own pass as it is."""
    if image.mode == "La":  # premultiplied alpha, which PIL converts to LA only
        image = image.convert("LA")
    if image.mode in _HIGH_DEPTH_MODES:
        pixels = np.asarray(image, dtype=np.float32)
        if image.mode == "F":  # floats have no fixed white level: stretch their finite range
            finite = pixels[np.isfinite(pixels)]
            low, high = (finite.min(), finite.max()) if finite.size else (0.0, 0.0)
            pixels = np.nan_to_num(pixels, nan=low, posinf=high, neginf=low)
            pixels = (pixels - low) / (high - low) if high > low else np.zeros_like(pixels)
        else:
            pixels = np.clip(pixels, 0, 65535) / 65535
        image = Image.fromarray(np.round(pixels * 255).astype(np.uint8))
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("RGB")
    if image.mode == "RGB" and not copy:
        return image
    return image.convert("RGB")


def human_bytes(n: int) -> str:
    """`n` bytes as a person reads them, in decimal units as everywhere in vggviz (a download's
    progress, the cost tables, the README): "11.4 MB" (10^6 bytes), "300 KB", "12 bytes"."""
    for unit, scale in (("MB", 10**6), ("KB", 10**3)):
        if n >= scale:
            return f"{n / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"


def _megapixels(n: int) -> str:
    return f"{n / 1e6:.4g}"


# --- bundled samples ----------------------------------------------------------------------------

_PROBE = 224


@functools.lru_cache(maxsize=1)
def _samples() -> dict[str, Image.Image]:
    from matplotlib import cbook  # only for the path of its bundled sample photograph

    photo = decode_image(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    y, x = np.mgrid[:_PROBE, :_PROBE].astype(np.float64)
    samples = {"Grace Hopper (photo)": photo}
    for degrees in (0, 45, 90, 135):
        samples[f"Grating {degrees}°"] = _grey(_grating(x, y, degrees))
    samples["Colour wheel"] = _colour_wheel(x, y)
    samples["Checkerboard"] = _grey((x // 28 + y // 28) % 2 * 255)
    samples["Step edge"] = _grey(np.where(x < _PROBE // 2, 0, 255))
    return samples


def _grating(x: np.ndarray, y: np.ndarray, degrees: float, period: float = 16) -> np.ndarray:
    """Sinusoidal stripes at `degrees` counter-clockwise from horizontal (y points down)."""
    theta = np.deg2rad(degrees)
    phase = -x * np.sin(theta) - y * np.cos(theta)
    return 127.5 + 127.5 * np.sin(2 * np.pi * phase / period)


def _colour_wheel(x: np.ndarray, y: np.ndarray) -> Image.Image:
    """Hue by angle around the centre, saturation by distance from it, full brightness."""
    dx, dy = x - (_PROBE - 1) / 2, (_PROBE - 1) / 2 - y
    hue = (np.arctan2(dy, dx) % (2 * np.pi)) / (2 * np.pi) * 255
    saturation = np.clip(np.hypot(dx, dy) / (_PROBE / 2), 0, 1) * 255
    value = np.full_like(hue, 255)
    bands = [Image.fromarray(band.astype(np.uint8)) for band in (hue, saturation, value)]
    return Image.merge("HSV", bands).convert("RGB")


def _grey(values: np.ndarray) -> Image.Image:
    return Image.fromarray(np.round(values).astype(np.uint8)).convert("RGB")
