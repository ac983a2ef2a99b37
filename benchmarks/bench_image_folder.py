"""Reading a folder of one's own images for training: 1,000 JPEGs of 213×160 px (Imagenette's
shape at 160 px), ten classes, fitted to 64 and to 160 px by `image_folder`, each file through
vggviz's image loading. Imagenette's 13,394 images take about 13 times as long.

Run: `.venv/bin/python benchmarks/bench_image_folder.py [--runs N]`. Reports, asserts nothing:
the seconds per read, median and min–max over the runs (each run a different seed's draw).
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from timing import spread

from vggviz.sources.datasets.image_folder import image_folder


def main() -> None:
    """Write the folder once, then time reading all of it at each size."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    runs = ap.parse_args().runs
    with tempfile.TemporaryDirectory(prefix="bench-image-folder-") as tmp:
        root, rng = Path(tmp), np.random.default_rng(0)
        for c in range(10):
            (root / f"class{c}").mkdir()
            for i in range(100):
                pixels = rng.integers(0, 256, (160, 213, 3), np.uint8)
                Image.fromarray(pixels).save(root / f"class{c}" / f"{i}.JPEG", quality=90)
        for size in (64, 160):
            seconds = []
            for run in range(runs):
                start = time.perf_counter()
                train, test = image_folder(root, size, 1000, 1000, seed=run)
                seconds.append(time.perf_counter() - start)
            print(f"{len(train) + len(test)} images fitted to {size} px: "
                  f"{spread(seconds, 's', 2)}")


if __name__ == "__main__":
    main()
