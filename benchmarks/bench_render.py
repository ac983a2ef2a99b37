"""Image bytes → picture of the 64 stem maps: vggviz against the ways notebooks usually do it.

This is the first grid's speed figure (DESIGN's first performance target: ≥ 50× the tutorial
way, in the same run). How long a page takes to show that grid in Chromium is another figure,
`bench_first_grid.py`'s.

Run: `make bench` (or `.venv/bin/python benchmarks/bench_render.py [--runs N]`); only (1), its
split and (5): `--first-grid`. Reports, asserts no timing. Every figure is the median and the
min–max over its runs, all measured in this one run on this one machine (the header says which):

(1) vggviz, warm: FeatureExtractor.activations + render_grid, a different 640×480 JPEG each run
    (no cache answers), timed interleaved with (5): each run of (5) is followed by its share of
    the runs of (1), so a busy machine slows both alike and their ratio stays fair; then split
    into prepare (decode, fit, preprocess), forward (the stem), grid (palette indices) and PNG;
(2) a display-only change (colormap, scaling, order, page) from the cached maps: render_grid;
(3) a whole StemExplorer.redraw after a colormap change, as the dashboard does it: grid, focused
    map, its statistics and its kernel tile (the Colormap control set → redraw returns);
(4) a 12-megapixel phone JPEG (4000×3000, about 4 MB) uploaded into the stem explorer: the
    upload value set → full decode, fit, forward, redraw, until the handler returns;
(5) the tutorial way: keras.applications.VGG16(weights=None) cut after block1_conv1
    (keras.Model(vgg.input, vgg.get_layer("block1_conv1").output)), keras.utils.load_img,
    preprocess_input, model.predict(x), an 8×8 grid of matplotlib subplots saved as PNG;
(6) the full-model way: a multi-output Keras model over every conv layer of the full VGG16
    (keract's approach; keract 4.5 does not run on Keras 3), the same 8×8 subplots.
Ratios (5)/(1) and (6)/(1) close the report. --runs N sets the runs of (1)–(3); the slow
figures (4)–(6) get --slow-runs (default: N, at most 10). The tutorial way (5) is the honest
baseline: what a tutorial writes, left as it is.
"""

from __future__ import annotations

import datetime
import io
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from timing import parser, print_header, spread, times_ms  # noqa: E402

RUNS = 30
SLOW_RUNS = 10
WARMUP = 5  # calls before timing, for every way: model traced, allocator and caches warm
FIGSIZE, DPI = (12, 12), 100  # both matplotlib ways: 1200×1200 px


def _image_bytes(n: int, seed: int) -> list[bytes]:
    """Distinct JPEG photos-to-be: smooth random colour fields, 640×480."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        small = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(small).resize((640, 480), Image.Resampling.BICUBIC).save(buffer, "JPEG")
        out.append(buffer.getvalue())
    return out


def _phone_jpegs(n: int, seed: int) -> list[bytes]:
    """Distinct 12-megapixel 'phone photos': a smooth random colour field plus sensor-like
    noise, 4000×3000, JPEG quality 90 (about 4 MB each, as a phone's)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        small = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
        smooth = Image.fromarray(small).resize((4000, 3000), Image.Resampling.BICUBIC)
        noise = rng.normal(0, 8, (3000, 4000, 1)).astype(np.int16)
        pixels = np.clip(np.asarray(smooth, dtype=np.int16) + noise, 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
        out.append(buffer.getvalue())
    return out


def _subplots_png(maps: np.ndarray) -> bytes:
    """The 8×8 matplotlib grid both baselines draw (pyplot-free Figure, same size and dpi)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    for i in range(64):
        ax = fig.add_subplot(8, 8, i + 1)
        ax.imshow(maps[:, :, i], cmap="viridis")
        ax.axis("off")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def main() -> None:
    args = _args()
    runs, slow = args.runs, args.slow_runs or min(args.runs, SLOW_RUNS)
    warm, slow_warm = min(WARMUP, runs), min(WARMUP, slow)
    print_header("bench_render: image bytes → picture of the 64 stem maps")

    from vggviz.network.features import FeatureExtractor
    from vggviz.render import render_grid
    from vggviz.sources.images import load_image, preprocess
    from vggviz.ui.dashboards.stem_explorer import StemExplorer

    # (1) ours, warm, timed interleaved with (5) the tutorial way
    fx = FeatureExtractor("vgg16", weights="random")

    def ours(data: bytes) -> bytes:
        return render_grid(fx.activations(data, "stem"))

    tutorial, vgg = _tutorial()
    for data in _image_bytes(warm, 0):
        ours(data)
    for data in _image_bytes(slow_warm, 4):
        tutorial(data)
    paired = _interleaved(ours, _image_bytes(runs, 1), tutorial, _image_bytes(slow, 5))
    ours_ms, tutorial_ms = paired["fast"], paired["slow"]
    cpu_ms = {"ours": paired["fast_cpu"], "tutorial": paired["slow_cpu"]}
    split = _split(fx, _image_bytes(runs, 2))
    maps = fx.activations(_image_bytes(1, 0)[0], "stem")  # the cached maps the app keeps
    montage_ms = times_ms(lambda _: render_grid(maps), range(runs))
    ours_median = statistics.median(ours_ms)
    if args.first_grid:
        _report_first_grid(ours_ms, split, montage_ms, tutorial_ms, cpu_ms)
        return

    # (2) display-only change, render_grid alone
    changes = [{"cmap": "magma"}, {"normalize": "shared"}, {"order": "mean"}, {"cmap": "gray"},
               {"channels": range(32)}] * runs
    passes = fx.forward_passes
    display_ms = times_ms(lambda change: render_grid(maps, **change), changes[:runs])
    if fx.forward_passes != passes:
        raise SystemExit("a display-only change ran the model: the figure (2) is not one")

    # (3) the whole redraw in the app, after a colormap change
    app = StemExplorer()
    options = app.map_grid.cmap.options
    cmaps = [value for _, value in options] if isinstance(options[0], tuple) else list(options)
    order = [c for c in cmaps if c != app.map_grid.cmap.value]
    app_passes = app.fx.forward_passes

    def change_colormap(i: int) -> None:
        app.map_grid.cmap.value = order[i % len(order)]  # its observer runs app.redraw()

    for i in range(warm):
        change_colormap(i)
    before = app.map_grid.png
    redraw_ms = times_ms(change_colormap, range(warm, warm + runs))
    if app.fx.forward_passes != app_passes:
        raise SystemExit("a colormap change ran the model: the figure (3) is not display-only")
    if app.map_grid.png == before:
        raise SystemExit("a colormap change did not redraw the grid: the figure (3) is not one")

    # (4) a 12-megapixel phone JPEG uploaded into the app
    phones = _phone_jpegs(slow_warm + slow, 3)
    sizes_mb = [len(p) / 1e6 for p in phones]

    def upload(item: tuple[int, bytes]) -> None:
        i, data = item
        name = f"phone-{i}.jpg"
        app.picker.upload.value = ({"name": name, "type": "image/jpeg", "size": len(data),
                                    "content": memoryview(data),
                                    "last_modified": datetime.datetime.now()},)
        if app.picker.name != name or "vggviz-error" in app.status.text:
            raise SystemExit(f"the 12 MP upload did not show: {app.status.text}")

    for item in enumerate(phones[:slow_warm]):
        upload(item)
    upload_ms = times_ms(upload, list(enumerate(phones))[slow_warm:])

    # (6) the full-model way: every conv output of VGG16 (the tutorial's), the same subplots
    import keras

    multi = keras.Model(vgg.input, [layer.output for layer in vgg.layers if "conv" in layer.name])

    def full_model(data: bytes) -> bytes:
        x = preprocess(load_image(data))
        first = multi(x, training=False)[0][0].numpy()
        return _subplots_png(first)

    for data in _image_bytes(slow_warm, 6):
        full_model(data)
    full_ms = times_ms(full_model, _image_bytes(slow, 7))

    _report_first_grid(ours_ms, split, montage_ms, tutorial_ms, cpu_ms,
                       app_label=app.fx.label)
    print(f"(2) display-only change (colormap, scale, order, page), render_grid from cached "
          f"maps: {spread(display_ms)}; no forward pass")
    print(f"(3) whole StemExplorer.redraw after a colormap change (grid, focused map, stats, "
          f"kernel tile): {spread(redraw_ms)}; no forward pass")
    print(f"(4) 12-megapixel phone JPEG upload (4000×3000, {min(sizes_mb):.1f}–"
          f"{max(sizes_mb):.1f} MB; full decode, fit, forward, redraw): {spread(upload_ms)}")
    print(f"(6) full-model way (full VGG16 multi-output, same subplots): "
          f"{spread(full_ms, digits=0)}")
    print(f"ratio (6)/(1), medians: {statistics.median(full_ms) / ours_median:.0f}×")


def _tutorial():
    """(5) as a tutorial writes it: VGG16 cut after block1_conv1, load_img, preprocess_input,
    model.predict, the 8×8 subplots. Returns that function of image bytes → PNG bytes, and
    the VGG16 it cuts."""
    import keras

    vgg = keras.applications.VGG16(weights=None)
    cut = keras.Model(vgg.input, vgg.get_layer("block1_conv1").output)

    def tutorial(data: bytes) -> bytes:
        img = keras.utils.load_img(io.BytesIO(data), target_size=(224, 224))
        x = np.expand_dims(keras.utils.img_to_array(img), axis=0)
        x = keras.applications.vgg16.preprocess_input(x)
        feature_maps = cut.predict(x, verbose=0)
        return _subplots_png(feature_maps[0])

    return tutorial, vgg


def _interleaved(fast, fast_items: list, slow, slow_items: list) -> dict[str, list[float]]:
    """Wall and CPU milliseconds (all of the process's threads) of each call of `fast` and of
    `slow`, in rounds: one `slow` call, then its share of the `fast` calls, so both meet the
    same load over the same minutes."""
    out: dict[str, list[float]] = {"fast": [], "slow": [], "fast_cpu": [], "slow_cpu": []}

    def timed(fn, items: list, key: str) -> None:
        for item in items:
            wall, cpu = time.perf_counter(), time.process_time()
            fn(item)
            out[key].append((time.perf_counter() - wall) * 1e3)
            out[f"{key}_cpu"].append((time.process_time() - cpu) * 1e3)

    per_round = -(-len(fast_items) // len(slow_items))
    for i, item in enumerate(slow_items):
        timed(slow, [item], "slow")
        timed(fast, fast_items[i * per_round:(i + 1) * per_round], "fast")
    timed(fast, fast_items[len(slow_items) * per_round:], "fast")
    return out


def _split(fx, images: list[bytes]) -> dict[str, list[float]]:
    """Where (1)'s milliseconds go, image by image: prepare (decode, fit, preprocess) and
    forward as the extractor times them, then the grid's palette indices and the PNG."""
    from vggviz.render import encode_png, grid_indices, palette

    split: dict[str, list[float]] = {"prepare": [], "forward": [], "grid": [], "png": []}
    for data in images:
        maps = fx.activations(data, "stem")
        for key in ("prepare", "forward"):
            split[key].append(fx.last_timing[key])
        t0 = time.perf_counter()
        indices = grid_indices(maps).indices
        t1 = time.perf_counter()
        encode_png(indices, palette=palette("viridis"))
        t2 = time.perf_counter()
        split["grid"].append((t1 - t0) * 1e3)
        split["png"].append((t2 - t1) * 1e3)
    return split


def _report_first_grid(ours_ms: list[float], split: dict[str, list[float]],
                       montage_ms: list[float], tutorial_ms: list[float],
                       cpu_ms: dict[str, list[float]], app_label: str | None = None) -> None:
    """Print (1), its split, (5) and their ratio."""
    shown = f"; the app shows {app_label}" if app_label else ""
    print(f"weights: random (seed 0) for vggviz and the baselines{shown}")
    print(f"(1) vggviz, image bytes → PNG of 64 stem maps, warm: {spread(ours_ms)}")
    print(f"    of which prepare (decode, fit, preprocess) {spread(split['prepare'])},")
    print(f"    forward {spread(split['forward'])}, grid {spread(split['grid'])}, "
          f"PNG {spread(split['png'])}; montage+encode {spread(montage_ms)}")
    print(f"(5) tutorial way (VGG16 cut after block1_conv1, model.predict, 8×8 matplotlib "
          f"subplots, {FIGSIZE[0] * DPI}×{FIGSIZE[1] * DPI} px PNG), interleaved with (1): "
          f"{spread(tutorial_ms, digits=0)}")
    ratio = statistics.median(tutorial_ms) / statistics.median(ours_ms)
    print(f"ratio (5)/(1), medians: {ratio:.1f}× (the tutorial way takes that many times as long)")
    cpu = statistics.median(cpu_ms["tutorial"]) / statistics.median(cpu_ms["ours"])
    print(f"    in CPU time (all threads; what a busy machine does not distort): (1) "
          f"{spread(cpu_ms['ours'])}, (5) {spread(cpu_ms['tutorial'], digits=0)}: {cpu:.1f}×")


def _args():
    p = parser(__doc__, RUNS, "timed runs of the fast figures (1)–(3)")
    p.add_argument("--slow-runs", type=int, default=None, metavar="N",
                   help=f"timed runs of (4)–(6) (default: --runs, at most {SLOW_RUNS})")
    p.add_argument("--first-grid", action="store_true",
                   help="only (1), its split and (5), interleaved, and their ratio")
    return p.parse_args()


if __name__ == "__main__":
    main()
