"""What fetching the ImageNet weights costs beyond the bytes, and whether the app answers meanwhile.

A loopback HTTP server (stdlib, in a thread) serves a VGG16 no-top file under Keras' name (random
weights, 58.9 MB; its md5 goes into vggviz's table in this process). Reported:
  * the raw transfer (urllib, bytes read and dropped) against `fetch_imagenet` (md5, temp file,
    rename, lock), into a fresh KERAS_HOME each run;
  * choosing ImageNet in a stem explorer showing random filters → its first trained grid (the
    download thread, then the switch: weights loaded, stem run, grid drawn);
  * a colormap change (the observer's whole redraw) while a throttled download runs, against the
    same change with no download.
Run: `make bench` (or `.venv/bin/python benchmarks/bench_download.py [--runs N]`). Reports, asserts
nothing; figures are the median and min–max over the runs.
"""

import hashlib
import logging
import os
import tempfile
import threading
import time
import urllib.request
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from timing import parser, print_header, spread  # noqa: E402

RUNS = 5
THROTTLE = 5e6  # bytes/s of the slow server, for the colormap figures
COLORMAPS = ["magma", "gray", "inferno", "cividis", "viridis", "plasma"]


class _Handler(SimpleHTTPRequestHandler):
    """Serves the folder; `rate` bytes/s at most when set (0: as fast as it goes)."""

    rate = 0.0

    def log_message(self, *args) -> None:
        pass

    def copyfile(self, source, outputfile) -> None:
        if not self.rate:
            return super().copyfile(source, outputfile)
        while chunk := source.read(256 * 1024):
            outputfile.write(chunk)
            time.sleep(len(chunk) / self.rate)


def _serve(folder: Path, rate: float = 0.0) -> ThreadingHTTPServer:
    handler = type("Handler", (_Handler,), {"rate": rate})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(folder)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _fresh_cache() -> None:
    os.environ["KERAS_HOME"] = tempfile.mkdtemp(prefix="bench-keras-")


def main() -> None:
    runs = parser(__doc__, RUNS, "downloads of each kind").parse_args().runs
    print_header("bench_download: ImageNet weights over loopback")
    import keras

    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # one explorer per run: retracing

    from vggviz.sources import imagenet as W
    from vggviz.ui import stem_explorer

    folder = Path(tempfile.mkdtemp(prefix="bench-served-"))
    fname = W._IMAGENET_FILES[("vgg16", False)][0]
    keras.applications.VGG16(weights=None, include_top=False).save_weights(
        folder / "vgg16.weights.h5")
    (folder / "vgg16.weights.h5").rename(folder / fname)  # Keras 3 layout: vggviz reads it too
    data = (folder / fname).read_bytes()
    W._IMAGENET_FILES[("vgg16", False)] = (fname, hashlib.md5(data).hexdigest())
    print(f"served file: {len(data) / 1e6:.1f} MB")

    fast = _serve(folder)
    url = f"http://127.0.0.1:{fast.server_address[1]}/"
    raw, fetch, click = [], [], []
    for _ in range(runs):
        t = time.perf_counter()
        with urllib.request.urlopen(url + fname) as response:
            while response.read(256 * 1024):
                pass
        raw.append(time.perf_counter() - t)

        _fresh_cache()
        os.environ[W.WEIGHTS_URL_SETTING] = url
        t = time.perf_counter()
        W.fetch_imagenet("vgg16", progress=lambda p: None)
        fetch.append(time.perf_counter() - t)

        _fresh_cache()
        os.environ[W.WEIGHTS_URL_SETTING] = "http://127.0.0.1:9/"  # nothing there: opens random
        app = stem_explorer().app
        app.downloads.join()
        assert app.model.weights.value == "random", app.notice.value
        os.environ[W.WEIGHTS_URL_SETTING] = url
        t = time.perf_counter()
        app.model.weights.value = "imagenet"  # the click
        app.downloads.join()
        click.append(time.perf_counter() - t)
        assert app.fx.label == "ImageNet", app.notice.value
    print(f"raw transfer (urllib, read and dropped): {spread(raw, 's', 2)}")
    print(f"fetch_imagenet (+ md5, temp file, rename, lock): {spread(fetch, 's', 2)}")
    print(f"choose ImageNet → first trained grid (download + switch): {spread(click, 's', 2)}")
    print(f"  overhead beyond the raw transfer: "
          f"{spread([c - r for c, r in zip(click, raw, strict=True)], 's', 2)}")
    fast.shutdown()

    slow = _serve(folder, THROTTLE)
    _fresh_cache()
    os.environ[W.WEIGHTS_URL_SETTING] = f"http://127.0.0.1:{slow.server_address[1]}/"
    app = stem_explorer().app  # opens on random filters and starts the download
    during = []
    while app.downloads.running("vgg16"):
        for cmap in COLORMAPS:
            t = time.perf_counter()
            app.map_grid.cmap.value = cmap
            during.append((time.perf_counter() - t) * 1e3)
        time.sleep(0.2)
    app.downloads.join()
    quiet = []
    for _ in range(max(1, len(during) // len(COLORMAPS))):
        for cmap in COLORMAPS:
            t = time.perf_counter()
            app.map_grid.cmap.value = cmap
            quiet.append((time.perf_counter() - t) * 1e3)
    print(f"colormap change while a download runs at {THROTTLE / 1e6:.0f} MB/s: {spread(during)}")
    print(f"colormap change with no download: {spread(quiet)}")
    slow.shutdown()


if __name__ == "__main__":
    main()
