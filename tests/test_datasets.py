"""The real data sets, offline: CIFAR-10 from small files of its layout in Keras' cache,
Imagenette from a small archive of its layout served over HTTPS on the loopback, and a folder of
one's own images with a broken file. Nothing here reaches the network."""

from __future__ import annotations

import hashlib
import io
import pickle
import ssl
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from weights_server import FileServer, self_signed, serving

from vggviz.plan.training import TrainSettings
from vggviz.sources.datasets import DataUnavailable, archives, cifar10, imagenette, load_data
from vggviz.sources.datasets.image_folder import image_folder  # the function

CIFAR = "cifar-10-batches-py"
TENCH, SPRINGER = "n01440764", "n02102040"
WAIT = 60  # s: generous; a wait ends as soon as what it waits for happens


@pytest.fixture
def keras_cache(tmp_path, monkeypatch) -> Path:
    """An empty Keras cache of this test's own, no mirror and no proxy: its datasets/ folder."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "NO_PROXY",
                 "no_proxy", archives.DATA_URL_SETTING):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "keras" / "datasets"


def cifar_batch(images: np.ndarray, labels: list[int]) -> bytes:
    """A batch in CIFAR's layout: a pickled dict with bytes keys, 'data' (N, 3072) of colour
    planes (1024 red, then green, then blue, rows in order) and 'labels'."""
    data = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)
    pickled = pickle.dumps({b"batch_label": b"a test batch", b"labels": labels, b"data": data,
                            b"filenames": [b"x.png"] * len(labels)}, protocol=3)
    # numpy's module by its name before numpy 2, as in the published files
    assert b"cnumpy._core.multiarray\n" in pickled
    return pickled.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


def cifar_files(per_batch: int = 3) -> tuple[dict[str, bytes], np.ndarray, np.ndarray]:
    """The six batches (five of training, one test) of `per_batch` random images each: the
    files by name, and all the images and labels in Keras' order (training batches, then test)."""
    rng = np.random.default_rng(7)
    images = rng.integers(0, 256, (6 * per_batch, 32, 32, 3), np.uint8)
    labels = rng.integers(0, 10, 6 * per_batch)
    names = [*cifar10.TRAIN_BATCHES, cifar10.TEST_BATCH]
    files = {name: cifar_batch(images[i * per_batch:(i + 1) * per_batch],
                               labels[i * per_batch:(i + 1) * per_batch].tolist())
             for i, name in enumerate(names)}
    return files, images, labels


def tar_gz(members: dict[str, bytes]) -> bytes:
    """A .tar.gz holding `members` (path → bytes)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def png(colour: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


def jpeg(colour: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (48, 36), colour).save(buf, "JPEG", quality=95)
    return buf.getvalue()


def contents(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# --- CIFAR-10 ---------------------------------------------------------------------------------


def test_cifar10_reads_its_layout_in_keras_cache_in_keras_order(keras_cache, offline, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(keras_cache.parent))  # `offline` made its own
    files, images, labels = cifar_files()
    folder = keras_cache / cifar10.NAME / CIFAR
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    train, test = load_data(TrainSettings(data="cifar10", train_images=7, test_images=2))
    np.testing.assert_array_equal(train.images, images[:7])  # batch 1, 2 and one of 3
    np.testing.assert_array_equal(train.labels, labels[:7])
    np.testing.assert_array_equal(test.images, images[15:17])  # the test batch's first two
    assert test.labels.tolist() == labels[15:17].tolist()
    assert train.class_names == test.class_names == cifar10.CLASSES and train.boxes is None
    big, _ = cifar10.cifar10(48, 2, 1)
    assert big.images.shape == (2, 48, 48, 3) and big.images.dtype == np.uint8
    assert abs(big.images.astype(float).mean() - images[:2].mean()) < 3  # the same pictures


class _Gadget:
    def __reduce__(self):
        return (print, ("ran code",))


def test_a_cifar10_batch_that_would_run_code_is_refused(tmp_path, capsys):
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": _Gadget(), b"labels": [0]}))
    with pytest.raises(DataUnavailable, match="is not a CIFAR-10 batch .refused to build "
                       "builtins.print"):
        cifar10.read_batch(path)
    assert "ran code" not in capsys.readouterr().out


def test_cifar10_downloads_its_archive_once_and_unpacks_it_whole(keras_cache, monkeypatch):
    files, images, _ = cifar_files(2)
    archive = tar_gz({f"{CIFAR}/{name}": data for name, data in files.items()})
    monkeypatch.setattr(cifar10, "MD5", hashlib.md5(archive).hexdigest())
    with serving(FileServer({"cifar-10-python.tar.gz": archive})) as server:
        monkeypatch.setenv(archives.DATA_URL_SETTING, f"http://127.0.0.1:{server.port}/mirror")
        seen = []
        train, test = cifar10.cifar10(32, 10, 2, progress=seen.append)
        assert seen and seen[-1].done == seen[-1].total == len(archive)
        np.testing.assert_array_equal(train.images, images[:10])
        cifar10.cifar10(32, 1, 1, progress=seen.append)  # unpacked already: no request
        assert server.count("cifar-10-python.tar.gz") == 1
    # Keras' own layout, nothing else: no lock, no temp file or folder.
    assert contents(keras_cache) == [cifar10.NAME, f"{cifar10.NAME}_archive"]
    assert (keras_cache / f"{cifar10.NAME}_archive").read_bytes() == archive
    assert contents(keras_cache / cifar10.NAME / CIFAR) == sorted(files)


def test_two_readers_at_once_download_and_unpack_once(keras_cache, monkeypatch):
    from weights_server import Behaviour

    files, images, _ = cifar_files(2)
    archive = tar_gz({f"{CIFAR}/{name}": data for name, data in files.items()})
    monkeypatch.setattr(cifar10, "MD5", hashlib.md5(archive).hexdigest())
    held = Behaviour(chunk=256, hold_at=len(archive) // 2)  # the first waits half-way
    results, errors = [], []

    def read() -> None:
        try:
            results.append(cifar10.cifar10(32, 4, 1, progress=lambda p: None)[0].images)
        except Exception as exc:  # the thread's failure, reported by the test
            errors.append(exc)

    with serving(FileServer({"cifar-10-python.tar.gz": archive}, held)) as server:
        monkeypatch.setenv(archives.DATA_URL_SETTING, f"http://127.0.0.1:{server.port}")
        threads = [threading.Thread(target=read) for _ in range(2)]
        threads[0].start()
        assert held.held.wait(WAIT), "the first download never reached half-way"
        threads[1].start()
        held.release.set()
        for thread in threads:
            thread.join(WAIT)
        assert server.count("cifar-10-python.tar.gz") == 1
    assert errors == [] and len(results) == 2
    for got in results:
        np.testing.assert_array_equal(got, images[:4])
    assert contents(keras_cache) == [cifar10.NAME, f"{cifar10.NAME}_archive"]


def test_offline_cifar10_says_in_one_line_what_to_put_where(offline, capsys):
    from vggviz.cli import main

    assert main(["train", "--data", "cifar10"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("vggviz: error: CIFAR-10 could not be downloaded")
    archive = archives.datasets_dir() / f"{cifar10.NAME}_archive"
    assert f"download {cifar10.URL} and put it at {archive}" in err
    assert "cannot reach www.cs.toronto.edu" in err
    assert contents(archive.parent) == []  # no archive, lock or temp file left


# --- Imagenette -------------------------------------------------------------------------------


def imagenette_archive() -> tuple[bytes, dict[str, tuple[int, int, int]]]:
    """A small archive of Imagenette's layout: two classes, three training and one validation
    JPEG each (tench red, springer blue); the archive and each image's colour by its path."""
    colours = {TENCH: (200, 30, 30), SPRINGER: (30, 30, 200)}
    members = {}
    for split, count in (("train", 3), ("val", 1)):
        for wnid, colour in colours.items():
            for i in range(count):
                members[f"{imagenette.NAME}/{split}/{wnid}/{wnid}_{i}.JPEG"] = jpeg(colour)
    members[f"{imagenette.NAME}/noisy_imagenette.csv"] = b"path,noisy_labels_0\n"
    return tar_gz(members), colours


@pytest.fixture
def https_mirror(tmp_path, monkeypatch):
    """A loopback HTTPS server whose certificate this process trusts, as `serve(files)`: its
    base URL, set as the data sets' mirror."""
    cert, key = self_signed(tmp_path, "localhost")
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))

    def serve(files: dict[str, bytes]):
        return serving(FileServer(files, tls=tls))

    return serve


def test_imagenette_comes_from_an_https_server_and_reads_in_imagenet_words(
        keras_cache, https_mirror, monkeypatch):
    archive, colours = imagenette_archive()
    monkeypatch.setattr(imagenette, "MD5", hashlib.md5(archive).hexdigest())
    with https_mirror({"imagenette2-160.tgz": archive}) as server:
        monkeypatch.setenv(archives.DATA_URL_SETTING, f"https://localhost:{server.port}/")
        seen = []
        train, test = imagenette.imagenette(32, 100, 100, seed=3, progress=seen.append)
        assert server.count("imagenette2-160.tgz") == 1
    assert seen[-1].done == len(archive)
    assert train.class_names == ("tench", "English springer") and train.boxes is None
    assert train.images.shape == (6, 32, 32, 3) and test.images.shape == (2, 32, 32, 3)
    assert sorted(test.labels.tolist()) == [0, 1]  # val/ is the held-out split
    for data in (train, test):  # each image has its class's colour: labels follow folders
        for image, label in zip(data.images, data.labels, strict=True):
            want = colours[(TENCH, SPRINGER)[label]]
            assert np.abs(image.reshape(-1, 3).mean(0) - want).max() < 8
    assert contents(keras_cache) == [imagenette.NAME, f"{imagenette.NAME}_archive"]


def test_a_wrong_archive_is_refused_and_nothing_is_kept(keras_cache, https_mirror, monkeypatch):
    archive, _ = imagenette_archive()  # Imagenette's published md5 is expected
    with https_mirror({"imagenette2-160.tgz": archive}) as server:
        monkeypatch.setenv(archives.DATA_URL_SETTING, f"https://localhost:{server.port}")
        with pytest.raises(DataUnavailable, match="not the expected imagenette2-160_archive"
                           ) as caught:
            imagenette.imagenette(32, progress=lambda p: None)
    assert f"put it at {keras_cache / 'imagenette2-160_archive'}" in str(caught.value)
    assert contents(keras_cache) == []


def test_an_archive_reaching_out_of_its_folder_is_not_unpacked(keras_cache, tmp_path, monkeypatch):
    archive = tar_gz({f"{imagenette.NAME}/train/x.JPEG": b"x", "../../outside.txt": b"gotcha"})
    monkeypatch.setattr(imagenette, "MD5", hashlib.md5(archive).hexdigest())
    (tmp_path / "mirror").mkdir()
    (tmp_path / "mirror" / "imagenette2-160.tgz").write_bytes(archive)
    monkeypatch.setenv(archives.DATA_URL_SETTING, str(tmp_path / "mirror"))
    with pytest.raises(DataUnavailable, match="cannot be unpacked"):
        imagenette.imagenette(32, progress=lambda p: None)
    assert not list(tmp_path.rglob("outside.txt"))
    assert contents(keras_cache) == [f"{imagenette.NAME}_archive"]  # no half-unpacked folder


# --- a folder of one's own --------------------------------------------------------------------


@pytest.fixture
def own_folder(tmp_path) -> Path:
    """cats/ (red) and dogs/ (blue), five PNGs each, and in dogs/ a broken JPEG and a note."""
    root = tmp_path / "my pictures"
    for name, colour in (("cats", (220, 20, 20)), ("dogs", (20, 20, 220))):
        (root / name).mkdir(parents=True)
        for i in range(5):
            (root / name / f"{i}.png").write_bytes(png(colour))
    (root / "dogs" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")
    (root / "dogs" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")  # hidden: not an image at all
    return root


def test_a_folder_names_and_skips_its_unreadable_files(own_folder):
    notes = []
    train, test = image_folder(own_folder, 32, 100, 100, seed=0, note=notes.append)
    assert len(notes) == 1 and notes[0].startswith(f"skipped {Path('dogs', 'broken.jpg')}")
    assert train.class_names == ("cats", "dogs") and train.boxes is None
    assert len(train) + len(test) == 10 and sorted(test.labels.tolist()) == [0, 1]
    for data in (train, test):
        red = data.images[..., 0].mean((1, 2)) > 128
        assert (red == (data.labels == 0)).all()
    again, _ = image_folder(own_folder, 32, 100, 100, seed=0, note=notes.append)
    np.testing.assert_array_equal(again.labels, train.labels)  # the same draw for a seed


def test_a_folder_that_is_not_one_class_a_subfolder_is_refused(tmp_path):
    (tmp_path / "only").mkdir()
    (tmp_path / "only" / "a.png").write_bytes(png((1, 2, 3)))
    with pytest.raises(ValueError, match="one subfolder a class, at least two"):
        image_folder(tmp_path, 32, 10, 10)
    with pytest.raises(ValueError, match="unknown data 'no such folder'; choose from shapes, "
                       "cifar10, imagenette or a folder"):
        TrainSettings(data="no such folder").check()


def test_vggviz_train_on_a_folder_names_the_broken_file_and_keeps_its_classes(
        own_folder, isolated_cache, capsys):
    from vggviz.cli import main
    from vggviz.sources.runs import list_runs

    assert main(["train", "--data", str(own_folder), "--epochs", "1", "--batch", "4",
                 "--widths", "4,4,4,4,4"]) == 0
    out, err = capsys.readouterr()
    assert f"vggviz: skipped {Path('dogs', 'broken.jpg')}" in err
    assert "held-out accuracy" in out and "(2 classes, chance 50%)" in out
    assert "on 2 images" in out  # a fifth of each class's files, at least one, held out
    runs, _ = list_runs()
    assert runs[0].class_names == ["cats", "dogs"] and runs[0].settings["data"] == str(own_folder)
    assert runs[0].name.endswith("_32px_my-pictures")  # the folder's name, not its path
    assert runs[0].settings["train_images"] == 8  # the readable ones there, not the 6000 asked
    assert runs[0].epochs[0]["steps"] == 2
