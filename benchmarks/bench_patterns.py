"""Activation-maximisation patterns: vggviz's batched, receptive-field-sized pages against the
recipe of Keras' example (keras-io examples/vision/visualizing_what_convnets_learn.py).

Run: `.venv/bin/python benchmarks/bench_patterns.py [--runs N] [--baseline-filters N]`.
The baseline is the example's recipe as written (one filter at a time, a 180-px input of
uniform noise, 30 steps of L2-normalised gradient ascent with lr 10 on the filter's mean
activation, 2-px border trimmed), run on Keras' own `keras.applications.VGG16(weights=None)`
cut at the same layer. vggviz runs the same weights (saved from that model) at equal steps (30),
its default settings (the explorer's). Reports, asserts nothing: the median and min–max over
the runs. Pages of 64 are timed whole where it says "page"; elsewhere the filters timed and the
factor to 64 are printed ("scaled").
"""

import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from timing import parser, print_header, spread  # noqa: E402

PAGE = 64
LAYERS = {"stem": "block1_conv1", "group1": "block1_pool", "group2": "block2_pool",
          "group3": "block3_pool", "group4": "block4_pool", "group5": "block5_pool"}
OURS_FILTERS = {"stem": 64, "group1": 64, "group2": 64, "group3": 64, "group4": 8, "group5": 2}


def keras_recipe(model, layer: str, filters: list[int]) -> tuple[float, list[float]]:
    """Seconds per filter and, per filter, the largest activation of the filter reached on
    the final image (the most generous reading of the example's mean-activation result)."""
    import keras
    import tensorflow as tf

    extractor = keras.Model(model.inputs, model.get_layer(layer).output)

    @tf.function
    def gradient_ascent_step(img, filter_index, learning_rate):
        with tf.GradientTape() as tape:
            tape.watch(img)
            loss = tf.reduce_mean(extractor(img)[:, 2:-2, 2:-2, filter_index])
        grads = tf.math.l2_normalize(tape.gradient(loss, img))
        return loss, img + learning_rate * grads

    gradient_ascent_step(tf.random.uniform((1, 180, 180, 3)), tf.constant(0), 10.0)  # trace
    reached, t = [], time.perf_counter()
    for f in filters:
        img = (tf.random.uniform((1, 180, 180, 3)) - 0.5) * 0.25
        for _ in range(30):
            _, img = gradient_ascent_step(img, tf.constant(f), 10.0)
        reached.append(float(tf.reduce_max(extractor(img)[..., f])))
    return (time.perf_counter() - t) / len(filters), reached


def ours(fx, stage: str, filters: list[int], seed: int
         ) -> tuple[float, list[float], int, float]:
    """Seconds for these filters as one call (fresh cache), their end activations, the side,
    and the milliseconds a second kernel's `cached_patterns` then takes to read them."""
    from vggviz.network.patterns import ActivationPatterns, PatternSettings, cached_patterns

    os.environ["VGGVIZ_CACHE"] = tempfile.mkdtemp(prefix="bench-patterns-")
    method = ActivationPatterns(fx)
    method.attribute(None, stage, PAGE - 1, settings=PatternSettings(seed=seed + 1000))  # warm
    t = time.perf_counter()
    found = method.attribute_all(None, stage, filters,
                                 settings=PatternSettings(steps=30, seed=seed))
    seconds = time.perf_counter() - t
    t = time.perf_counter()
    read = cached_patterns(fx, stage, filters, PatternSettings(steps=30, seed=seed))
    read_ms = (time.perf_counter() - t) * 1e3
    assert len(read) == len(filters)
    return seconds, [p.end for p in found], found[0].pixels.shape[0], read_ms


def main() -> None:
    p = parser(__doc__, 3)
    p.add_argument("--baseline-filters", type=int, default=4, metavar="N",
                   help="filters the Keras recipe is timed on per stage (4; 1 for groups 4-5)")
    p.add_argument("--stages", default=",".join(LAYERS), help="stages to run")
    args = p.parse_args()
    print_header("bench_patterns: activation-maximisation pages, vggviz vs Keras' example")
    import keras

    from vggviz.network.features import FeatureExtractor

    model = keras.applications.VGG16(weights=None, include_top=False, input_shape=(180, 180, 3))
    path = Path(tempfile.mkdtemp(prefix="bench-weights-")) / "vgg16_random.weights.h5"
    model.save_weights(path)
    fx = FeatureExtractor("vgg16", weights=str(path))
    for stage in args.stages.split(","):
        deep = stage in ("group4", "group5")
        base_n = 1 if deep else args.baseline_filters
        base_s, ours_s, base_act, ours_act, read_ms, side = [], [], [], [], [], 0
        for run in range(args.runs):
            filters = list(range(OURS_FILTERS[stage]))
            seconds, ends, side, read = ours(fx, stage, filters, run)
            read_ms.append(read)
            ours_s.append(seconds / len(filters))
            ours_act.append(statistics.median(ends))
            per_filter, reached = keras_recipe(model, LAYERS[stage], filters[:base_n])
            base_s.append(per_filter)
            base_act.append(statistics.median(reached))
        ratio = [b / o for b, o in zip(base_s, ours_s, strict=True)]
        ours_page = "page" if OURS_FILTERS[stage] == PAGE else f"{OURS_FILTERS[stage]} scaled"
        print(f"\n{stage} ({LAYERS[stage]}): vggviz {side} px, batched; Keras recipe 180 px, "
              f"{base_n} filter{'s' if base_n > 1 else ''} timed, scaled to 64")
        print(f"  vggviz  s/pattern {spread(ours_s, 's', 3)}; s/page ({ours_page}) "
              f"{spread([s * PAGE for s in ours_s], 's', 1)}")
        print(f"  keras   s/pattern {spread(base_s, 's', 3)}; s/page (scaled) "
              f"{spread([s * PAGE for s in base_s], 's', 1)}")
        print(f"  vggviz  cached_patterns of those {len(filters)} from disk: "
              f"{spread(read_ms, 'ms', 1)}")
        print(f"  speed-up per page (keras / vggviz): {spread(ratio, '×', 1)}")
        print(f"  target activation reached, median over the filters: vggviz (centre unit) "
              f"{spread(ours_act, '', 3)}; keras (largest unit of the map) "
              f"{spread(base_act, '', 3)}", flush=True)


if __name__ == "__main__":
    main()
