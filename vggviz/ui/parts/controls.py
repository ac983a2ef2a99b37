"""Widget parts the dashboards share: pictures, the status line, the image and model pickers."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

import ipywidgets as w
from PIL import Image, ImageDraw

from vggviz.plan.architecture import STEMS, VARIANTS
from vggviz.render import encode_png
from vggviz.sources.images import (
    DEFAULT_MAX_BYTES,
    ImageError,
    check_size,
    decode_image,
    fit_image,
    human_bytes,
    sample_images,
)
from vggviz.ui.parts.alt_text import network_view_alt
from vggviz.ui.parts.image_upload import ImageUpload
from vggviz.ui.parts.legibility import live
from vggviz.ui.parts.picture import Picture

SIZE = 224
LABEL_WIDTH = "70px"
"""Width of every control's description, so labels line up down a column."""
ACCEPT = "image/*,.jpg,.jpeg,.png,.gif,.webp,.bmp,.tif,.tiff"
UPLOADED = " (your upload)"
"""How the image list names the latest upload, after the file's name."""
THUMB = 320
"""Largest side of the original's thumbnail, in pixels."""
NARROW, WIDE = "145px", "296px"
GAP = "6px"  # between the original and the network's view: two pictures, not one
"""Widths of the picker's pictures side by side, and of the network's view alone."""


def picture(width: str | None = None, **kwargs) -> Picture:
    """A PNG picture with a text alternative (`alt`) that keeps its pixel size (does not
    stretch to the box)."""
    layout = w.Layout(width=width or "auto", height="auto")
    return Picture(layout=layout, **kwargs)


def framed(image: Picture) -> w.Box:
    """`image` in a box of its own: a class on the box (dimming, say) leaves the <img> as it
    is, where a change to the image widget makes the browser show it again from a new URL."""
    return w.Box([image])


class StatusLine:
    """One line of timings, notices and errors; errors in words, never a traceback."""

    def __init__(self):
        self.widget = live(w.HTML(layout=w.Layout(min_height="1.6em")))
        self.widget.add_class("vggviz-status")

    def show(self, text: str) -> None:
        self.widget.value = f"<span class='vggviz-ok'>{html.escape(text)}</span>"

    def error(self, text: str) -> None:
        self.widget.value = (f"<span class='vggviz-error' style='color:#b00020'>⚠ "
                             f"{html.escape(text)}</span>")

    @property
    def text(self) -> str:
        return self.widget.value

    def add(self, text: str) -> None:
        """`text` after what the line says now, in its manner (a note on the view just shown)."""
        said, end, after = self.widget.value.rpartition("</span>")
        self.widget.value = f"{said} · {html.escape(text)}{end}{after}" if end else text


@dataclass(frozen=True)
class _Shown:
    """What the picker keeps of a picture: its name, the fitted SIZE×SIZE view every view
    reads, the original's thumbnail (PNG) and size; never the decoded original (a 40 MP photo
    is 120 MB)."""

    name: str
    image: Image.Image
    thumb_png: bytes
    width: int
    height: int

    @classmethod
    def of(cls, original: Image.Image, name: str) -> _Shown:
        """What to keep of `original`, decoded at its full size."""
        thumb = original if max(original.size) <= THUMB else original.resize(
            _thumb_size(original.size), Image.Resampling.BICUBIC, reducing_gap=2.0)
        return cls(name, fit_image(original, SIZE), encode_png(thumb), *original.size)


def _thumb_size(size: tuple[int, int]) -> tuple[int, int]:
    """`size` scaled to fit THUMB×THUMB, as PIL's `thumbnail` scales it (no copy first)."""
    width, height = size
    scale = THUMB / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


class ImagePicker:
    """Bundled samples or an upload; shows the original beside the 224×224 network's-eye view.
    The latest upload joins the samples' list under its own name, so the list says what is
    shown and the person can go back to their picture after looking at a sample."""

    def __init__(self, status: StatusLine, on_change: Callable[[], None],
                 max_bytes: int = DEFAULT_MAX_BYTES):
        self.status, self.on_change, self.max_bytes = status, on_change, max_bytes
        self.samples = sample_images()
        # its label is there for assistive technology only: the row has no room for it
        self.sample = w.Dropdown(options=list(self.samples), layout=w.Layout(width="185px"),
                                 description="Sample image", style={"description_width": "0px"},
                                 tooltip="a bundled sample image")
        self.upload = ImageUpload(accept=ACCEPT, description="Upload", max_bytes=max_bytes,
                                  on_refused=self._refused, on_broken=self._broken,
                                  on_progress=self._receiving, layout=w.Layout(width="110px"))
        self.original = picture(NARROW)
        self.original.add_class("vggviz-original")
        self.network_view = picture(NARROW)
        self.network_view.add_class("vggviz-network-view")
        self.name = ""
        self.image: Image.Image | None = None  # the network's-eye view, 224×224 RGB
        self._uploaded: _Shown | None = None  # the latest upload, as shown
        self._listing = False  # the list's options are being replaced: not a person's choice
        self._use(_Shown.of(self.samples[self.sample.value], self.sample.value))
        self.sample.observe(self._on_sample, "value")
        self.upload.observe(self._on_upload, "value")
        caption = w.Layout(margin="0 0 0 4px")
        self._original_column = w.VBox([w.HTML("<small class='vggviz-caption'>Original</small>",
                                               layout=caption), self.original])
        self.widget = w.VBox([
            w.HBox([self.sample, self.upload]),
            w.HBox([
                self._original_column,
                w.VBox([w.HTML("<small class='vggviz-caption'>What the network sees</small>",
                               layout=caption, tooltip=f"{SIZE}×{SIZE} after resize and crop"),
                        self.network_view]),
            ], layout=w.Layout(grid_gap=f"0 {GAP}")),
        ], layout=w.Layout(align_items="flex-start"))

    def _use(self, shown: _Shown) -> None:
        self.image, self.name = shown.image, shown.name
        self.original.value = shown.thumb_png
        self.original.alt = (f"The original picture, {shown.name}, {shown.width}×{shown.height} "
                             "pixels.")
        self._network_png = encode_png(self.image)
        self._outlined = None
        self.network_view.value = self._network_png
        self.network_view.alt = network_view_alt(shown.name)

    def outline(self, box: tuple[int, int, int, int] | None, *, redraw: bool = False) -> None:
        """Mark `box` (top, left, bottom, right, inclusive pixels) on the network's-eye view,
        e.g. the patch a filter saw; None shows the picture as it is. `redraw` draws it even if
        it was the last box asked for (another picture was put in the view since)."""
        if box == self._outlined and not redraw:
            return
        self._outlined = box
        self.network_view.alt = network_view_alt(self.name, box)
        if box is None:
            self.network_view.value = self._network_png
            return
        top, left, bottom, right = box
        last_x, last_y = self.image.width - 1, self.image.height - 1
        marked = self.image.copy()
        draw = ImageDraw.Draw(marked)
        # 2 px of yellow in 1 px of black, seen on any picture; inside it, so 4 sides show
        for grow, colour, width in ((3, (0, 0, 0), 1), (2, (255, 230, 0), 2)):
            draw.rectangle((max(left - grow, 0), max(top - grow, 0), min(right + grow, last_x),
                            min(bottom + grow, last_y)), outline=colour, width=width)
        self.network_view.value = encode_png(marked)

    def widen(self, wide: bool) -> None:
        """Show the network's-eye view across both columns, the original hidden (while it
        carries marks worth reading), or back at its place beside the original."""
        self._original_column.layout.display = "none" if wide else None
        self.network_view.layout.width = WIDE if wide else NARROW

    def _on_sample(self, change) -> None:
        if change["new"] is None or self._listing:
            return
        if change["new"] in self.samples:
            self._use(_Shown.of(self.samples[change["new"]], change["new"]))
        else:  # back to the upload
            self._use(self._uploaded)
        self.on_change()

    def _on_upload(self, change) -> None:
        if not change["new"]:
            return
        item = change["new"][-1]
        try:
            self.load_upload(item)
        except ImageError as exc:
            self.status.error(f"{exc}. The last image stays.")
            return
        finally:
            self.upload.value = ()  # the same file may be uploaded again
        self.on_change()

    def _refused(self, name: str, size: int) -> None:
        """A file the page did not send, being over the limit: said as a decoded one would be."""
        try:
            check_size(size, name, self.max_bytes)
        except ImageError as exc:
            self.status.error(f"{exc}. The last image stays.")

    def _broken(self, message: str) -> None:
        """Pieces of an upload that do not make the file (a lost or repeated one)."""
        self.status.error(f"{message}. The last image stays.")

    def _receiving(self, name: str, received: int, size: int) -> None:
        self.status.show(f"Receiving {name}: {human_bytes(received)} of {human_bytes(size)}")

    def load_upload(self, item: dict) -> None:
        """Decode one upload entry and show it (an oversized file is refused uncopied)."""
        name = item.get("name") or "the upload"
        shown = _Shown.of(decode_image(item["content"], name=name, max_bytes=self.max_bytes),
                          name)  # the decoded original goes here: only what is shown stays
        self._use(shown)
        self._uploaded = shown
        self._listing = True
        try:
            self.sample.options = [*self.samples, name + UPLOADED]
            self.sample.value = name + UPLOADED
        finally:
            self._listing = False


RUNS_OFFERED = 3
"""Training runs offered as weights beside ImageNet and random: the newest finished ones."""


def run_choices(limit: int = RUNS_OFFERED) -> list[tuple[str, str, str]]:
    """The newest finished training runs in the cache as weights choices: (label, the run's
    folder, a tooltip saying what was trained and how well), newest first."""
    from vggviz.sources.runs import list_runs

    runs = [run for run in list_runs()[0] if run.status == "finished"][:limit]
    choices = []
    for number, run in enumerate(runs, 1):
        trained, accuracy = run.settings, run.held_out_accuracy()
        choices.append((f"Run {number}", str(run.path),
                        f"run {run.name}: {trained['variant']}, {trained['stem']} stem, "
                        f"{trained['size']} px, {len(run.class_names)} classes"
                        + (f", held-out accuracy {accuracy:.0%}" if accuracy is not None else "")))
    return choices


class ModelPicker:
    """Variant, weights (ImageNet, seeded random, or one of the newest training runs in the
    cache) and stem design."""

    def __init__(self, on_change: Callable[[], None], *, stems: bool = True,
                 weights: str = "imagenet", runs: bool = False):
        label = {"description_width": LABEL_WIDTH}
        self.variant = w.Dropdown(options=[(v.title, k) for k, v in VARIANTS.items()],
                                  value="vgg16", description="Variant", style=label,
                                  layout=w.Layout(width="250px"))
        offered = run_choices() if runs else []
        self.weights = w.ToggleButtons(
            options=[("ImageNet", "imagenet"), ("Random", "random"),
                     *[(label, path) for label, path, _ in offered]],
            value=weights, description="Weights", style=label | {"button_width": "84px"},
            tooltips=["Keras' ImageNet weights", "seeded random filters",
                      *[tip for _, _, tip in offered]])
        self.seed = w.BoundedIntText(value=0, min=0, max=2**31 - 1, description="Seed",
                                     style=label, layout=w.Layout(width="170px"),
                                     tooltip="seed of the random filters")
        self.stem = w.ToggleButtons(options=[(s.title.removesuffix(" stem"), k)
                                             for k, s in STEMS.items()],
                                    value="vgg", description="Stem",
                                    style=label | {"button_width": "70px"},
                                    tooltips=[s.description for s in STEMS.values()])
        controls = [self.variant, self.weights, self.seed] + ([self.stem] if stems else [])
        for control in controls:
            control.observe(lambda _: on_change(), "value")
        self.widget = w.VBox([self.variant, self.weights, self.seed,
                              *([self.stem] if stems else [])])

    @property
    def key(self) -> tuple[str, str, str, int]:
        return self.variant.value, self.weights.value, self.stem.value, self.seed.value
