"""Shared fixtures: quiet TensorFlow, Keras reference models and their weight files."""

import os
import shutil
import signal
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")
# The suite's two workers share two cores, and each starts TensorFlow processes of its own
# (kernels, measuring workers, the CLI): with TensorFlow's thread per core each, a process's
# threads waited on one another whenever a core was taken. A two-epoch training beside a busy
# core took 17–23 s with the default and 12.3–12.5 s with one thread; children inherit this.
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
# vggviz's disk cache (patterns, the classifier's arrays) for this run only: nothing cached by an
# earlier run, or by a person's own use in ~/.keras, can answer for a test. Each process (the
# controller and every xdist worker) makes its own and removes it when pytest ends there
# (`pytest_unconfigure`): it holds hundreds of MB of classifier arrays, and the caches of earlier
# runs, left behind, filled a CI machine's disk.
TEST_CACHE = tempfile.mkdtemp(prefix="vggviz-test-cache-")
os.environ["VGGVIZ_CACHE"] = TEST_CACHE
# A shell's background job (`make test &`, or CI started so) begins with SIGINT ignored, and every
# process below inherits that: the Voilà, JupyterLab and hub servers the tests stop with SIGINT,
# as a person's Ctrl-C does, ignored it, and each stop waited its 15 s grace for a kill (eight
# stops, two minutes of a fresh clone's run). SIGINT interrupts again, here and in every child.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

import pytest  # noqa: E402
from keras_files import write_legacy_h5  # noqa: E402  (tests import it from here too)


def pytest_collection_modifyitems(config, items):
    """Files with slow or browser tests, or that train a network, run first, each file's tests
    in their order: the two workers take whole files as they come free (`--dist loadfile
    --no-loadscope-reorder`), and a long file handed out last runs on alone at the end."""
    heavy = {item.path for item in items
             if item.get_closest_marker("slow") or item.get_closest_marker("browser")
             or "trained_run" in item.fixturenames}  # it trains a network
    items.sort(key=lambda item: item.path not in heavy)  # stable: the rest keep their order


def pytest_collection_finish(session):
    """What the run imported to collect its tests (TensorFlow, Keras, the package) lives as long
    as the process: keep it out of every later garbage collection (with it, a collection took
    0.2 s; frozen, 0.001 s)."""
    import gc

    gc.collect()
    gc.freeze()


def pytest_unconfigure(config):
    """This process's test cache goes with it."""
    shutil.rmtree(TEST_CACHE, ignore_errors=True)


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """An empty vggviz disk cache of this test's own (what a fresh server starts with)."""
    path = tmp_path / "vggviz-cache"
    monkeypatch.setenv("VGGVIZ_CACHE", str(path))
    return path


GREW_MB = 64
"""A test whose process grew by this much (a model built by an app's thread, say) is followed by
a full garbage collection, like one that built Keras objects itself."""


@pytest.fixture(autouse=True)
def _fresh_keras_session():
    """Reset Keras' state after every test and free the graphs of models a test built (keeps the
    suite's memory flat). The garbage collection takes 0.2 s to over a second in a worker's large
    heap, so it runs only after a test that built Keras objects or grew the process."""
    import sys

    import psutil

    process = psutil.Process()
    before = process.memory_info().rss
    yield
    if "keras" in sys.modules:
        import keras
        from keras.src.backend.common import global_state

        built = "object_name_uids" in vars(global_state.GLOBAL_STATE_TRACKER)
        grew = process.memory_info().rss - before > GREW_MB * 2**20
        keras.backend.clear_session(free_memory=built or grew)


@pytest.fixture(scope="session")
def keras_vgg16_notop_file(tmp_path_factory):
    """A weights file saved from Keras' own VGG16 (random weights, no top), 64×64 input."""
    import keras

    model = keras.applications.VGG16(weights=None, include_top=False, input_shape=(64, 64, 3))
    path = tmp_path_factory.mktemp("weights") / "vgg16_notop.weights.h5"
    model.save_weights(path)
    return path




@pytest.fixture(scope="session")
def keras_vgg16_notop():
    """Keras' own VGG16 without the top (random weights), 224×224 input."""
    import keras

    return keras.applications.VGG16(weights=None, include_top=False)


def made_once(tmp_path_factory, name: str, make) -> Path:
    """A folder `make(folder)` fills once per run, shared by every pytest-xdist worker (the
    first to ask makes it under a lock; the others wait and read it): the weight files of
    hundreds of MB are written once, not once per worker. Tests only read what is in it."""
    from filelock import FileLock

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's own folder, above each worker's
    folder = root / f"shared-{name}"
    with FileLock(f"{folder}.lock"):
        if not (folder / ".complete").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            make(folder)
            (folder / ".complete").touch()
    return folder


def _keras_top_file(tmp_path_factory, app: str):
    """Keras' own `app` (VGG16, VGG19) with its classifier, random weights, saved with
    save_weights (Keras 3 layout, 553/575 MB) once per run, and freed."""
    name = f"{app.lower()}_top.weights.h5"

    def make(folder: Path) -> None:
        import keras

        model = getattr(keras.applications, app)(weights=None)
        model.save_weights(folder / name)
        del model
        keras.backend.clear_session()

    return made_once(tmp_path_factory, f"top-{app.lower()}", make) / name


@pytest.fixture(scope="session")
def keras_vgg16_top_file(tmp_path_factory):
    """A random-weights VGG16 weights file with the top, saved from keras.applications."""
    return _keras_top_file(tmp_path_factory, "VGG16")


@pytest.fixture(scope="session")
def keras_vgg19_top_file(tmp_path_factory):
    """A random-weights VGG19 weights file with the top, saved from keras.applications."""
    return _keras_top_file(tmp_path_factory, "VGG19")


@pytest.fixture
def fake_imagenet_cache(tmp_path, monkeypatch, keras_vgg16_notop):
    """A Keras cache holding a VGG16 'ImageNet' no-top file (random weights, real layout)."""
    from vggviz.sources.imagenet import imagenet_path

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    path = imagenet_path("vgg16", include_top=False)
    path.parent.mkdir(parents=True)
    write_legacy_h5(keras_vgg16_notop, path)
    return path


@pytest.fixture(scope="session")
def imagenet_home_with_classifier(tmp_path_factory):
    """A Keras home whose cache holds VGG16's two 'ImageNet' files, with and without the
    classifier, both from one Keras VGG16 of random weights in Keras' HDF5 layout (about
    600 MB on disk): what a machine that ran `vggviz fetch-weights --top` has."""
    def make(home: Path) -> None:
        import keras

        from vggviz.sources.imagenet import _IMAGENET_FILES

        (home / "models").mkdir()
        full = keras.applications.VGG16(weights=None)
        convs = keras.Model(full.input, full.get_layer("block5_pool").output)
        write_legacy_h5(full, home / "models" / _IMAGENET_FILES[("vgg16", True)][0])
        write_legacy_h5(convs, home / "models" / _IMAGENET_FILES[("vgg16", False)][0])
        del full, convs
        keras.backend.clear_session()

    return made_once(tmp_path_factory, "keras-with-classifier", make)


@pytest.fixture
def imagenet_classifier_cache(imagenet_home_with_classifier, isolated_cache, monkeypatch):
    """Keras' cache with VGG16's 'ImageNet' files, classifier included, for this test, and a
    vggviz cache of its own: what is extracted from these stand-ins, keyed as ImageNet's files
    are, must not answer for ImageNet in another test."""
    monkeypatch.setenv("KERAS_HOME", str(imagenet_home_with_classifier))
    return imagenet_home_with_classifier


@pytest.fixture(scope="session")
def served_weights(tmp_path_factory, keras_vgg16_notop):
    """What the test servers hand out as Keras' VGG16 no-top ImageNet file: its bytes (Keras'
    HDF5 layout, random weights), their md5 and the stem kernel they hold."""
    import hashlib
    from types import SimpleNamespace

    from vggviz.sources.imagenet import _IMAGENET_FILES

    path = tmp_path_factory.mktemp("served") / _IMAGENET_FILES[("vgg16", False)][0]
    write_legacy_h5(keras_vgg16_notop, path)
    data = path.read_bytes()
    kernel = keras_vgg16_notop.get_layer("block1_conv1").get_weights()[0]
    return SimpleNamespace(data=data, md5=hashlib.md5(data).hexdigest(), kernel=kernel)


@pytest.fixture(scope="session")
def dashboards_server():
    """`make dashboards` without preheating (each page starts its own kernel), one server for
    every browser file that needs nothing more: a fresh page and kernel per test, one start per
    run. The files that need other settings (weights, caches, culling) start their own."""
    from browser import ARTIFACTS
    from servers import voila

    ARTIFACTS.mkdir(exist_ok=True)
    with voila("notebooks", "--VoilaConfiguration.preheat_kernel=False",
               log=ARTIFACTS / "voila-dashboards.log") as (url, _):
        yield url


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network and an empty Keras cache, as on this machine for ImageNet weights: names
    other than localhost do not resolve, and connections are refused."""
    import ipaddress
    import socket

    real_lookup = socket.getaddrinfo

    def lookup(host, *args, **kwargs):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            if host != "localhost":
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
        return real_lookup(host, *args, **kwargs)

    def refuse(*args, **kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty-keras"))
    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _skip_reason(report) -> str:
    """The message of a skip report ("Skipped: " dropped)."""
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return text.removeprefix("Skipped: ")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Say loudly, at the end (after the short summary, before the counts), how many tests were
    skipped and why, each reason with its count: a run that skipped any (no Chromium, no hub
    proxy, ...) must not look like a full pass. Under CI=true the tests that need Chromium or
    the hub's proxy fail instead of skipping (tests/browser.py, tests/test_hub.py)."""
    result = yield
    reasons = [_skip_reason(report) for report in terminalreporter.stats.get("skipped", [])]
    if not reasons:
        return result
    from collections import Counter

    why = "; ".join(f"{n} × {reason}" for reason, n in sorted(Counter(reasons).items()))
    terminalreporter.write_sep("!", f"{len(reasons)} tests SKIPPED: {why}", red=True, bold=True)
    return result


@pytest.fixture(scope="session")
def trained_run_cache(tmp_path_factory) -> Path:
    """A vggviz cache folder holding the default run, `TrainSettings()` (VGG11, the narrower
    learner, 12 epochs of 6,000 built-in shapes images at 32 px), as `vggviz train` with no
    options and the Watch it learn page train it; trained once per session, with the suite's one
    TensorFlow thread, and shared by every xdist worker."""

    def make(folder: Path) -> None:
        import keras

        from vggviz.network.training import train
        from vggviz.plan.training import TrainSettings

        before = os.environ.get("VGGVIZ_CACHE")
        os.environ["VGGVIZ_CACHE"] = str(folder)
        try:
            train(TrainSettings())
        finally:
            if before is None:
                del os.environ["VGGVIZ_CACHE"]
            else:
                os.environ["VGGVIZ_CACHE"] = before
        keras.backend.clear_session()

    return made_once(tmp_path_factory, "trained-run", make)


@pytest.fixture
def trained_run(trained_run_cache, tmp_path, monkeypatch):
    """The run trained here, read from the shared cache, which this test sees read-only behind
    a writable cache of its own (patterns and heads it computes stay in the test's folder)."""
    from vggviz.sources.runs import read_run

    monkeypatch.setenv("VGGVIZ_CACHE", f"{tmp_path / 'vggviz-cache'}{os.pathsep}"
                                       f"{trained_run_cache}")
    (folder,) = [p for p in (trained_run_cache / "runs").iterdir() if not p.name.startswith(".")]
    return read_run(folder)
