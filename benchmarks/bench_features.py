"""Feature extraction figures: warm stem activations, a full all_stages pass, stem-only RSS.

Run: `make bench` (or `.venv/bin/python benchmarks/bench_features.py [--runs N]`). Reports,
asserts nothing; figures are the median and min–max over the runs. Each timed call gets a
different image, so no cache answers.
"""

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import psutil  # noqa: E402
from timing import parser, print_header, spread, times_ms  # noqa: E402

RUNS = 20


def _images(n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (224, 224, 3), dtype=np.uint8) for _ in range(n)]


def main() -> None:
    runs = parser(__doc__, RUNS, "timed stem runs (all_stages gets half, at least 1)"
                  ).parse_args().runs
    print_header("bench_features: feature extraction")
    process = psutil.Process()
    rss0 = process.memory_info().rss
    t = time.perf_counter()
    from vggviz.network.features import FeatureExtractor

    fx = FeatureExtractor("vgg16", weights="random")
    fx.activations(_images(1, 0)[0])  # build the stem model, warm up
    cold = time.perf_counter() - t
    stem_ms = times_ms(lambda im: fx.activations(im, "stem"), _images(runs, 1))
    rss_stem = process.memory_info().rss
    fx.all_stages(_images(1, 2)[0])  # build the five-group prefix, warm up
    all_ms = times_ms(fx.all_stages, _images(max(1, runs // 2), 3))
    rss_all = process.memory_info().rss
    print(f"import + build stem extractor + first pass: {cold:.2f} s (one run)")
    print(f"warm activations(image, 'stem') (decode/resize/preprocess + forward): "
          f"{spread(stem_ms)}")
    print(f"warm all_stages(image): {spread(all_ms, digits=0)}")
    print(f"RSS: before import {rss0 / 2**20:.0f} MB, stem-only extractor "
          f"{rss_stem / 2**20:.0f} MB, after all_stages {rss_all / 2**20:.0f} MB")


if __name__ == "__main__":
    main()
