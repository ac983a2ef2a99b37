"""Image bytes → picture of the 64 stem maps: vggviz against the usual notebook way.

Run: `make bench` (or `.venv/bin/python benchmarks/bench_render.py`). Reports, asserts nothing.
(1) vggviz: FeatureExtractor.activations + render_grid, a different image each run (no cache);
(2) a display-only change (colormap) from the cached maps;
(3) the usual way, in the same run: a multi-output Keras model over the full VGG16 and an 8×8
    grid of matplotlib subplots saved as PNG. (keract 4.5 does not run on Keras 3.)
"""

import io
import os
import statistics

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from timing import median_ms  # noqa: E402

RUNS = 30
BASELINE_RUNS = 10
WARMUP = 5  # calls before timing, for both ways: model traced, allocator and caches warm


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


def main() -> None:
    import keras
    from matplotlib.figure import Figure

    from vggviz.features import FeatureExtractor
    from vggviz.images import load_image, preprocess
    from vggviz.render import render_grid

    fx = FeatureExtractor("vgg16", weights="random")

    def ours(data: bytes) -> bytes:
        return render_grid(fx.activations(data, "stem"))

    for data in _image_bytes(WARMUP, 0):
        ours(data)
    ours_ms = median_ms(ours, _image_bytes(RUNS, 1))
    parts = {"forward": [], "prepare": []}
    for data in _image_bytes(5, 2):
        fx.activations(data, "stem")
        for key in parts:
            parts[key].append(fx.last_timing[key])
    maps = fx.activations(_image_bytes(1, 0)[0], "stem")  # the cached maps the app keeps
    render_ms = median_ms(lambda _: render_grid(maps), range(RUNS))
    changes = [{"cmap": "magma"}, {"normalize": "shared"}, {"order": "mean"}, {"cmap": "gray"},
               {"channels": range(32)}] * RUNS
    passes = fx.forward_passes
    display_ms = median_ms(lambda change: render_grid(maps, **change), changes[:RUNS])
    assert fx.forward_passes == passes  # display changes never run the model

    # The usual notebook way: every conv output of the full VGG16, then plt-style subplots.
    full = keras.applications.VGG16(weights=None)
    multi = keras.Model(full.input, [layer.output for layer in full.layers
                                     if "conv" in layer.name])

    def usual(data: bytes) -> bytes:
        x = preprocess(load_image(data))
        first = multi(x, training=False)[0][0].numpy()
        fig = Figure(figsize=(12, 12))
        for i in range(64):
            ax = fig.add_subplot(8, 8, i + 1)
            ax.imshow(first[:, :, i], cmap="viridis")
            ax.axis("off")
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        return buffer.getvalue()

    for data in _image_bytes(WARMUP, 4):
        usual(data)
    usual_ms = median_ms(usual, _image_bytes(BASELINE_RUNS, 3))

    print(f"(1) vggviz, image bytes → PNG of 64 stem maps, warm, median of {RUNS}: "
          f"{ours_ms:.1f} ms")
    print(f"    of which decode+fit+preprocess {statistics.median(parts['prepare']):.1f} ms, "
          f"forward {statistics.median(parts['forward']):.1f} ms, "
          f"montage+encode {render_ms:.1f} ms")
    print(f"(2) display-only change (colormap, scale, order, page) from cached maps, median of "
          f"{RUNS}: "
          f"{display_ms:.1f} ms, no forward pass")
    print(f"(3) usual way (full VGG16 multi-output + 8×8 matplotlib subplots), median of "
          f"{BASELINE_RUNS}: {usual_ms:.0f} ms")
    print(f"ratio (3)/(1): {usual_ms / ours_ms:.0f}× faster")


if __name__ == "__main__":
    main()
