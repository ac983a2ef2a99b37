"""Fetching ImageNet weights, for real, from loopback servers started here (no internet).

The served file (conftest's `served_weights`) is Keras' VGG16 without the top (random weights)
in the HDF5 layout of Keras' ImageNet files, under Keras' file name. Its md5 differs from the
one Keras publishes, so the tests put theirs into vggviz's table of expected md5s, in this
process (or in the processes they start). Every wait is for behaviour, with a generous timeout;
nothing asserts time.
"""

from __future__ import annotations

import multiprocessing
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from weights_server import Behaviour, FileServer, Proxy, self_signed, serving

from vggviz.cli import main
from vggviz.sources import imagenet as W

KEY = ("vgg16", False)
FNAME = W._IMAGENET_FILES[KEY][0]
WAIT = 120  # s: generous; a wait ends as soon as what it waits for happens


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty Keras cache of this test's own; the folder its files go to."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "NO_PROXY",
                 "no_proxy", W.WEIGHTS_URL_SETTING):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "keras" / "models"


@pytest.fixture
def our_md5(served_weights, monkeypatch):
    """vggviz expects the served file's md5 instead of Keras' published one."""
    monkeypatch.setitem(W._IMAGENET_FILES, KEY, (FNAME, served_weights.md5))


def _mirror(server: FileServer, monkeypatch, host: str = "127.0.0.1", scheme: str = "http"):
    monkeypatch.setenv(W.WEIGHTS_URL_SETTING, f"{scheme}://{host}:{server.port}/models/")


def leftovers(folder: Path) -> list[str]:
    """What a download left in the cache folder: nothing, or the file (no lock, no temp file)."""
    if not folder.exists():
        return []
    return sorted(p.name for p in folder.iterdir())


def wait_for(condition, what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout} s for {what}")
        time.sleep(0.05)


# --- the command line -------------------------------------------------------------------------


def test_fetch_weights_downloads_checks_the_md5_and_the_dashboard_opens_on_it(
        served_weights, cache, our_md5, monkeypatch, capsys):
    with serving(FileServer({FNAME: served_weights.data})) as server:
        _mirror(server, monkeypatch)
        assert main(["fetch-weights"]) == 0
        out = capsys.readouterr()
        assert f"{FNAME}: downloaded to {cache / FNAME} (md5 checked)" in out.out
        assert "MB" in out.err and "100%" in out.err  # tqdm's bar, on stderr
        assert (cache / FNAME).read_bytes() == served_weights.data
        assert leftovers(cache) == [FNAME] and not (cache / f"{FNAME}.lock").exists()

        assert main(["fetch-weights", "vgg16"]) == 0  # cached: no request at all
        assert "already in Keras' cache" in capsys.readouterr().out
        assert server.count(FNAME) == 1

    from vggviz.ui import stem_explorer

    app = stem_explorer().app
    assert app.fx.label == "ImageNet" and app.model.weights.value == "imagenet"
    assert "vggviz-notice" not in app.notice.value and "arXiv:1409.1556" in app.notice.value
    np.testing.assert_array_equal(app.fx.kernels(), served_weights.kernel)
    assert not app.downloads.widget.children


def test_a_wrong_md5_is_refused_in_one_line_and_leaves_nothing(served_weights, cache, monkeypatch,
                                                              capsys):
    with serving(FileServer({FNAME: served_weights.data})) as server:  # Keras' md5 is expected
        _mirror(server, monkeypatch)
        assert main(["fetch-weights"]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("vggviz: error: ImageNet weights could not be downloaded")
    assert f"not the expected {FNAME} (md5 {served_weights.md5}, expected" in err
    assert str(cache / FNAME) in err  # which file to put where
    assert leftovers(cache) == [] and not (cache / f"{FNAME}.lock").exists()


def test_offline_fetch_weights_says_in_one_line_what_to_put_where(offline, capsys):
    assert main(["fetch-weights"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot reach storage.googleapis.com" in err
    assert f"put it at {W.imagenet_path('vgg16')}" in err and W.WEIGHTS_URL_SETTING in err


def test_a_local_folder_is_a_mirror(served_weights, cache, our_md5, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "class share"
    folder.mkdir()
    (folder / FNAME).write_bytes(served_weights.data)
    monkeypatch.setenv(W.WEIGHTS_URL_SETTING, str(folder))
    assert main(["fetch-weights"]) == 0
    assert (cache / FNAME).read_bytes() == served_weights.data
    monkeypatch.setenv(W.WEIGHTS_URL_SETTING, str(tmp_path / "no such folder"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "other-keras"))
    assert main(["fetch-weights"]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_a_cache_that_cannot_take_the_file_says_so_in_one_line(served_weights, cache, our_md5,
                                                               monkeypatch, capsys):
    (cache / FNAME).mkdir(parents=True)  # a folder where the file should go
    with serving(FileServer({FNAME: served_weights.data})) as server:
        _mirror(server, monkeypatch)
        assert main(["fetch-weights"]) == 1
    err = capsys.readouterr().err.splitlines()  # the progress bar, then one line
    assert err[-1].startswith("vggviz: error: ") and f"cannot write to {cache}" in err[-1]
    assert sum("error" in line for line in err) == 1
    assert leftovers(cache) == [FNAME] and (cache / FNAME).is_dir()  # no temp file left


def test_a_server_that_never_answers_is_cut_by_the_timeout(cache, our_md5, monkeypatch):
    silent = socket.create_server(("127.0.0.1", 0))  # accepts (the kernel does), never answers
    try:
        monkeypatch.setenv(W.WEIGHTS_URL_SETTING, f"http://127.0.0.1:{silent.getsockname()[1]}")
        with pytest.raises(W.WeightsUnavailable, match="timed out"):
            W.fetch_imagenet("vgg16", timeout=0.5, progress=lambda p: None)
    finally:
        silent.close()
    assert leftovers(cache) == []


def test_a_name_lookup_that_never_answers_is_cut_by_the_timeout(cache, our_md5, monkeypatch):
    """The socket's timeout does not cover getaddrinfo: a DNS server that never answers must
    not hold the download longer than the timeout asked for."""
    host, real, asked = "weights.vggviz.test", socket.getaddrinfo, []
    done = threading.Event()  # set at the end: the lookup left hanging then ends

    def hanging(name, *args, **kwargs):
        if name != host:
            return real(name, *args, **kwargs)
        asked.append(name)
        done.wait(20)  # far past the timeout: without a deadline of its own the fetch waits
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", hanging)
    monkeypatch.setenv(W.WEIGHTS_URL_SETTING, f"http://{host}/models/")
    try:
        with pytest.raises(W.WeightsUnavailable,
                           match=f"cannot reach {host}: looking up the address of {host} took "
                                 "over 0.5 s"):
            W.fetch_imagenet("vgg16", timeout=0.5, progress=lambda p: None)
    finally:
        done.set()
    assert asked == [host] and leftovers(cache) == []


def test_the_download_imports_where_there_is_no_fcntl():
    """Windows has no fcntl: the weights modules and the dashboards must import without it."""
    code = ("import sys; sys.modules['fcntl'] = None; "  # `import fcntl` now raises ImportError
            "import warnings; warnings.simplefilter('ignore'); "
            "import vggviz.sources.downloads, vggviz.sources.imagenet, vggviz.ui")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


# --- proxies ------------------------------------------------------------------------------------


@pytest.fixture
def direct_refused(monkeypatch):
    """Any connection but to a proxy's port is refused; the refused addresses are listed."""
    allowed, refused = set(), []
    real = socket.create_connection

    def connect(address, *args, **kwargs):
        if address[1] not in allowed:
            refused.append(address)
            raise ConnectionRefusedError(111, "Connection refused (not through the proxy)")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", connect)
    return SimpleNamespace(allowed=allowed, refused=refused)


@pytest.mark.parametrize("scheme", ["https", "http"])
def test_the_download_goes_through_the_proxy_the_environment_names(
        scheme, served_weights, cache, our_md5, tmp_path, monkeypatch, direct_refused):
    """The mirror's host name is known to the proxy alone, and direct connections are refused:
    the file can only arrive through the proxy (CONNECT for https, absolute GET for http)."""
    import ssl

    host = "weights.vggviz.test"
    tls = None
    if scheme == "https":
        cert, key = self_signed(tmp_path, host)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(cert, key)
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts the test's server
    with serving(FileServer({FNAME: served_weights.data}, tls=tls)) as server, \
            serving(Proxy({host: server.port})) as proxy:
        direct_refused.allowed.add(proxy.port)
        monkeypatch.setenv(f"{scheme.upper()}_PROXY", f"http://127.0.0.1:{proxy.port}")
        monkeypatch.setenv(W.WEIGHTS_URL_SETTING, f"{scheme}://{host}/models")
        path = W.fetch_imagenet("vgg16", progress=lambda p: None)
        assert path.read_bytes() == served_weights.data
        want = f"CONNECT {host}:443" if scheme == "https" else f"GET http://{host}/models/{FNAME}"
        assert proxy.seen == [want]
        assert server.count(FNAME) == 1 and direct_refused.refused == []


def test_no_proxy_is_honoured_and_a_dead_proxy_is_named(served_weights, cache, our_md5,
                                                        monkeypatch):
    dead = socket.create_server(("127.0.0.1", 0))
    dead_port = dead.getsockname()[1]
    dead.close()  # nothing listens there now
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{dead_port}")
    with serving(FileServer({FNAME: served_weights.data})) as server:
        _mirror(server, monkeypatch)
        with pytest.raises(W.WeightsUnavailable, match=f"through the proxy .*:{dead_port}"):
            W.fetch_imagenet("vgg16", progress=lambda p: None)
        assert server.count(FNAME) == 0
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        path = W.fetch_imagenet("vgg16", progress=lambda p: None)
        assert path.read_bytes() == served_weights.data
    assert leftovers(cache) == [FNAME]


# --- two processes at once ----------------------------------------------------------------------


def fetch_in_a_process(md5: str, said) -> None:
    """What a second kernel does: expect the test file's md5, fetch, read the file."""
    from vggviz.sources import imagenet
    from vggviz.sources.weight_files import read_weights

    imagenet._IMAGENET_FILES[KEY] = (FNAME, md5)
    try:
        path = imagenet.fetch_imagenet("vgg16", progress=lambda p: None,
                                       waiting=lambda: said.put("waiting"))
        kernel = read_weights(path)["block1_conv1"][0]
        said.put(("done", str(path), kernel.tobytes()))
    except Exception as exc:  # noqa: BLE001  (reported to the test, which fails on it)
        said.put(("failed", repr(exc)))


def test_two_processes_fetching_at_once_download_once(served_weights, cache, our_md5, monkeypatch):
    behaviour = Behaviour(hold_at=len(served_weights.data) // 2)
    spawn = multiprocessing.get_context("spawn")
    said = spawn.Queue()
    with serving(FileServer({FNAME: served_weights.data}, behaviour)) as server:
        _mirror(server, monkeypatch)
        first = spawn.Process(target=fetch_in_a_process, args=(served_weights.md5, said))
        first.start()
        assert behaviour.held.wait(WAIT), "the first download reached half way"
        second = spawn.Process(target=fetch_in_a_process, args=(served_weights.md5, said))
        second.start()
        assert said.get(timeout=WAIT) == "waiting"  # the second waits for the first
        behaviour.release.set()
        results = [said.get(timeout=WAIT) for _ in range(2)]
        for proc in (first, second):
            proc.join(WAIT)
            assert proc.exitcode == 0
        assert server.count(FNAME) == 1
    assert [r[0] for r in results] == ["done", "done"], results
    assert {r[1] for r in results} == {str(cache / FNAME)}
    assert all(r[2] == served_weights.kernel.tobytes() for r in results)
    assert (cache / FNAME).read_bytes() == served_weights.data and leftovers(cache) == [FNAME]


def test_a_partial_file_of_a_killed_process_is_cleared(served_weights, cache, our_md5, monkeypatch):
    cache.mkdir(parents=True)
    (cache / f"{FNAME}.x1y2z3.part").write_bytes(served_weights.data[:1000])  # killed mid-way
    with serving(FileServer({FNAME: served_weights.data})) as server:
        _mirror(server, monkeypatch)
        W.fetch_imagenet("vgg16", progress=lambda p: None)
    assert leftovers(cache) == [FNAME]


# --- the dashboard ------------------------------------------------------------------------------


@pytest.fixture
def explorer_factory():
    """Makes stem explorers; their downloads are cancelled and waited for after the test."""
    apps = []

    def make():
        from vggviz.ui import stem_explorer

        apps.append(stem_explorer().app)
        return apps[-1]

    yield make
    for app in apps:
        app.downloads.cancel()
        app.downloads.join(WAIT)


def test_a_slow_download_shows_progress_keeps_the_app_answering_and_switches_the_maps(
        served_weights, cache, our_md5, monkeypatch, explorer_factory):
    behaviour = Behaviour(chunk=512 * 1024, hold_at=len(served_weights.data) // 2)
    with serving(FileServer({FNAME: served_weights.data}, behaviour)) as server:
        _mirror(server, monkeypatch)
        app = explorer_factory()
        # The first view is there at once, from random filters, while the file arrives.
        assert app.maps is not None and app.fx.label == "random (seed 0)"
        assert app.model.weights.value == "imagenet" and app.downloads.running("vgg16")
        assert "Downloading the ImageNet weights" in app.notice.value
        random_kernels, random_grid = app.fx.kernels(), app.map_grid.png
        (row,) = app.downloads.widget.children
        bar = row.children[1]
        assert behaviour.held.wait(WAIT)
        wait_for(lambda: bar.value > 0, "the progress bar to move")
        assert bar.max == len(served_weights.data) and bar.value <= len(served_weights.data) // 2
        assert f" of {len(served_weights.data) / 1e6:.1f} MB · " in row.children[2].value
        assert " MB/s" in row.children[2].value

        # Held half way: the download runs, and the app answers.
        passes = app.fx.forward_passes
        app.map_grid.cmap.value = "magma"
        assert app.map_grid.png != random_grid and "cached" in app.status.text
        assert app.fx.forward_passes == passes and app.downloads.running("vgg16")
        app.compare.toggle.value = True
        assert "downloading" in app.compare.message.value
        assert leftovers(cache) != [FNAME]  # only a temp file so far

        behaviour.release.set()
        assert app.downloads.join(WAIT)
    assert app.fx.label == "ImageNet" and app.model.weights.value == "imagenet"
    assert "vggviz-notice" not in app.notice.value and "CC BY 4.0" in app.notice.value
    assert not app.downloads.widget.children
    np.testing.assert_array_equal(app.fx.kernels(), served_weights.kernel)
    assert not np.array_equal(app.fx.kernels(), random_kernels)
    assert "magma" == app.map_grid.cmap.value and "vggviz-error" not in app.status.text
    # the comparison, open, now shows both sides
    assert app.compare.message.value == "" and app.compare.columns.layout.display is None
    assert "Trained on ImageNet" in app.compare.sides["imagenet"].caption.value
    assert "biases all 0" in app.compare.sides["random"].caption.value
    assert leftovers(cache) == [FNAME] and server.count(FNAME) == 1


def test_a_dropped_connection_says_why_keeps_random_filters_and_the_next_choice_retries(
        served_weights, cache, our_md5, monkeypatch, explorer_factory):
    behaviour = Behaviour(drop_at=len(served_weights.data) // 2)
    with serving(FileServer({FNAME: served_weights.data}, behaviour)) as server:
        _mirror(server, monkeypatch)
        app = explorer_factory()
        assert app.downloads.join(WAIT)
        assert app.fx.label == "random (seed 0)" and app.model.weights.value == "random"
        size = len(served_weights.data)
        assert f"closed after {size // 2 / 1e6:.1f} of {size / 1e6:.1f} MB" in app.notice.value
        assert "randomly initialised" in app.notice.value and "try again" in app.notice.value
        assert leftovers(cache) == [] and not app.downloads.widget.children
        assert app.maps is not None and "vggviz-error" not in app.status.text

        behaviour.drop_at = None  # the network is back: choosing ImageNet tries again
        app.model.weights.value = "imagenet"
        assert app.downloads.join(WAIT)
        assert server.count(FNAME) == 2
    assert app.fx.label == "ImageNet" and leftovers(cache) == [FNAME]


def test_a_cancelled_download_leaves_nothing_and_says_so(served_weights, cache, our_md5,
                                                        monkeypatch, explorer_factory):
    behaviour = Behaviour(chunk=512 * 1024, hold_at=len(served_weights.data) // 3)
    with serving(FileServer({FNAME: served_weights.data}, behaviour)) as server:
        _mirror(server, monkeypatch)
        app = explorer_factory()
        assert behaviour.held.wait(WAIT)
        (row,) = app.downloads.widget.children
        row.children[3].click()  # Cancel
        behaviour.release.set()  # the next chunk finds the download cancelled
        assert app.downloads.join(WAIT)
        assert server.count(FNAME) == 1
    assert app.model.weights.value == "random" and app.fx.label == "random (seed 0)"
    assert "was cancelled" in app.notice.value and leftovers(cache) == []


def test_offline_the_comparison_says_why_it_cannot_compare(offline, explorer_factory):
    app = explorer_factory()
    assert app.downloads.join(WAIT)
    app.compare.toggle.value = True
    assert "no trained filters to compare with" in app.compare.message.value
    assert "cannot reach" in app.compare.message.value
    assert app.compare.columns.layout.display == "none"
    app.model.variant.value = "vgg11"
    assert "VGG16 and VGG19" in app.compare.message.value
    app.compare.toggle.value = False
    assert app.compare.body.layout.display == "none"

