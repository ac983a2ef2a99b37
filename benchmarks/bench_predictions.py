"""Predictions and class heat: warm image → top-5 and image → Grad-CAM (groups 3, 4, 5), and
what showing predictions costs a dashboard kernel in memory when four kernels share the head.

Run: `.venv/bin/python benchmarks/bench_predictions.py [--runs N] [--kernels K]`. Reports,
asserts nothing; figures are the median and min–max over the runs, each on an image of its
own (no cache answers). Without Keras' real ImageNet files it writes random-weight stand-ins in
their layout (Keras 2 HDF5) into a temporary Keras home; vggviz's cache is temporary too.

Memory: K processes each do what a dashboard kernel does (import vggviz, show the stem, then
the group-5 maps, then predictions, then a class heat), all alive at once; after each step
every one's RSS and USS (psutil: memory only that process holds) is read.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import psutil  # noqa: E402
from timing import parser, print_header, spread, times_ms  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from keras_files import write_legacy_h5  # noqa: E402

RUNS = 3
KERNELS = 4
STEPS = ("stem", "group5", "predictions", "class heat")


def _images(n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (224, 224, 3), dtype=np.uint8) for _ in range(n)]




def _stand_ins(home: Path) -> str:
    """Keras' cache with VGG16's ImageNet files, real ones if cached, else stand-ins."""
    from vggviz.sources.imagenet import imagenet_cached, imagenet_path

    if imagenet_cached("vgg16") and imagenet_cached("vgg16", include_top=True):
        return "Keras' ImageNet files (cached)"
    os.environ["KERAS_HOME"] = str(home)
    import keras

    model = keras.applications.VGG16(weights=None)
    imagenet_path("vgg16").parent.mkdir(parents=True, exist_ok=True)
    write_legacy_h5(model, imagenet_path("vgg16", include_top=True))
    write_legacy_h5(keras.Model(model.input, model.get_layer("block5_pool").output),
                  imagenet_path("vgg16"))
    del model
    keras.backend.clear_session()
    return "random-weight stand-ins in the ImageNet files' layout"


def worker() -> None:
    """One kernel's steps, each when the parent says "go"; prints what each step took."""
    from vggviz.network.class_heat import GradCam
    from vggviz.network.features import FeatureExtractor
    from vggviz.network.predictions import top_classes
    from vggviz.render import render_grid

    image = _images(1, os.getpid())[0]
    fx = FeatureExtractor("vgg16", weights="imagenet")
    steps = {"stem": lambda: render_grid(fx.activations(image, "stem")),
             "group5": lambda: render_grid(fx.activations(image, "group5")),
             "predictions": lambda: top_classes(fx, image),
             "class heat": lambda: GradCam(fx).attribute(image, "group5")}
    for step in STEPS:
        sys.stdin.readline()
        t = time.perf_counter()
        steps[step]()
        print(json.dumps({"step": step, "s": time.perf_counter() - t}), flush=True)
    sys.stdin.readline()


def _memory(kernels: int) -> None:
    procs = [subprocess.Popen([sys.executable, __file__, "--worker"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True) for _ in range(kernels)]
    print(f"\n{kernels} kernel processes alive at once, after each step (MB):")
    rows = {}
    for step in STEPS:
        took = []
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
            took.append(json.loads(p.stdout.readline())["s"])
        info = [psutil.Process(p.pid).memory_full_info() for p in procs]
        rows[step] = [(i.rss / 2**20, i.uss / 2**20) for i in info]
        print(f"  {step:12s} RSS {' '.join(f'{r:5.0f}' for r, _ in rows[step])}   USS "
              f"{' '.join(f'{u:5.0f}' for _, u in rows[step])}   first call "
              f"{spread([t * 1e3 for t in took], digits=0)}")
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.close()
        p.wait()

    def added(a: str, b: str) -> list[float]:
        return [ub - ua for (_, ua), (_, ub) in zip(rows[a], rows[b], strict=True)]

    print(f"  USS added by predictions over the group-5 view: "
          f"{spread(added('group5', 'predictions'), 'MB', 0)}")
    print(f"  USS added by predictions over the stem (TensorFlow and the conv stack "
          f"included): {spread(added('stem', 'predictions'), 'MB', 0)}")
    print(f"  USS added by a class heat after predictions: "
          f"{spread(added('predictions', 'class heat'), 'MB', 0)}")


def main() -> None:
    p = parser(__doc__, RUNS)
    p.add_argument("--kernels", type=int, default=KERNELS, help="kernel processes (4)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker()
        return
    print_header("bench_predictions: top-5 and class heat")
    work = Path(tempfile.mkdtemp(prefix="bench-predictions-"))
    os.environ["VGGVIZ_CACHE"] = str(work / "vggviz-cache")
    print(f"weights: {_stand_ins(work / 'keras')}")
    from vggviz.by_hand.classifier import SharedClassifier
    from vggviz.network.class_heat import CAM_STAGES, GradCam
    from vggviz.network.features import FeatureExtractor
    from vggviz.network.predictions import top_classes

    fx = FeatureExtractor("vgg16", weights="imagenet")
    t = time.perf_counter()
    SharedClassifier.for_extractor(fx)
    print(f"first use: the head's arrays copied into the cache in {time.perf_counter() - t:.1f} s "
          f"(one run)")
    t = time.perf_counter()
    SharedClassifier.for_extractor(fx)  # memoised in-process; a new process checks the CRCs
    print(f"a later use in this process: {(time.perf_counter() - t) * 1e3:.2f} ms")
    top_classes(fx, _images(1, 0)[0])
    for stage in CAM_STAGES:
        GradCam(fx).attribute(_images(1, 0)[0], stage)
    print(f"warm image → top-5 (conv stack to group 5 + head): "
          f"{spread(times_ms(lambda im: top_classes(fx, im), _images(args.runs, 1)))}")
    after = _images(args.runs, 2)
    for im in after:
        fx.activations(im, "group5")
    print(f"top-5 after a group-5 view (head only): "
          f"{spread(times_ms(lambda im: top_classes(fx, im), after))}")
    for i, stage in enumerate(CAM_STAGES):
        heat_ms = times_ms(lambda im, s=stage: GradCam(fx).attribute(im, s),
                           _images(args.runs, 3 + i))
        print(f"warm image → class heat at {stage}: {spread(heat_ms, digits=0)}")
    _memory(args.kernels)


if __name__ == "__main__":
    main()
