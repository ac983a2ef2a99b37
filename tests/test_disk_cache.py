"""The shared disk cache's files: written with the modes the umask gives (readable by other
users, as Keras' own cache is), keyed by what was checked rather than by a file's name, and a
cache that cannot be written said in words while the work is still done."""

import hashlib
import os
import stat

import numpy as np
import pytest

from vggviz.sources import downloads, imagenet
from vggviz.sources.disk_cache import cache_problem, weights_digest
from vggviz.sources.downloads import download, file_md5
from vggviz.sources.imagenet import imagenet_path
from vggviz.sources.shared_files import write_atomic


@pytest.fixture
def umask():
    """Set the process's umask for the test; the old one is put back."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


@pytest.mark.parametrize(("mask", "file_mode", "dir_mode"),
                         [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750), (0o077, 0o600, 0o700)])
def test_entries_and_their_folders_get_the_modes_the_umask_gives(tmp_path, umask, mask,
                                                                   file_mode, dir_mode):
    umask(mask)
    path = write_atomic(tmp_path / "a" / "b" / "entry.bin", lambda fh: fh.write(b"x"))
    assert stat.S_IMODE(path.stat().st_mode) == file_mode
    assert {stat.S_IMODE(p.stat().st_mode) for p in (path.parent, path.parent.parent)} == \
        {dir_mode}
    assert [p.name for p in path.parent.iterdir()] == ["entry.bin"]  # no temp file left


def test_a_downloaded_file_is_readable_by_others_under_umask_022(tmp_path, umask):
    source = tmp_path / "src.bin"
    source.write_bytes(b"weights" * 100)
    dest = download(source.as_uri(), tmp_path / "cache" / "w.h5",
                    hashlib.md5(source.read_bytes()).hexdigest())
    assert stat.S_IMODE(dest.stat().st_mode) == 0o644


@pytest.fixture
def published(tmp_path, monkeypatch):
    """Keras' cache in tmp_path, and 'ImageNet's published file' for VGG16 (no top) made of
    bytes of this test's own, so the real file's md5 can be matched."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    good = np.random.default_rng(0).bytes(3 * 2**20)
    md5 = hashlib.md5(good).hexdigest()
    fname = imagenet._IMAGENET_FILES[("vgg16", False)][0]
    monkeypatch.setitem(imagenet._IMAGENET_FILES, ("vgg16", False), (fname, md5))
    path = imagenet_path("vgg16")
    path.parent.mkdir(parents=True)
    return path, good, md5


@pytest.fixture
def md5_reads(monkeypatch):
    """How many md5s have been started (each one a file read through)."""
    calls = []
    real = hashlib.md5

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(downloads.hashlib, "md5", counted)
    return calls


def test_a_truncated_file_under_imagenets_name_is_not_keyed_as_the_real_weights(published):
    path, good, md5 = published
    path.write_bytes(good[:len(good) // 2])  # a download that stopped half way, put by hand
    truncated = weights_digest("imagenet", "vgg16")
    assert truncated != f"imagenet-{md5}"
    path.write_bytes(good[:-1] + b"\0")  # the right size, one byte altered
    assert weights_digest("imagenet", "vgg16") not in (f"imagenet-{md5}", truncated)
    os.replace(_written(path.with_suffix(".new"), good), path)  # fixed: the right file
    assert weights_digest("imagenet", "vgg16") == f"imagenet-{md5}"


def _written(path, data: bytes):
    path.write_bytes(data)
    return path


def test_an_unchanged_file_is_checked_once_and_a_rewritten_one_again(published, md5_reads):
    path, good, md5 = published
    path.write_bytes(good)
    keys = [weights_digest("imagenet", "vgg16") for _ in range(5)]
    assert keys == [f"imagenet-{md5}"] * 5 and len(md5_reads) == 1
    path.write_bytes(good[:100])  # the same path, rewritten in place: another size
    assert weights_digest("imagenet", "vgg16") != f"imagenet-{md5}"
    st = path.stat()
    path.write_bytes(good[:99] + b"!")  # the same size, a later modification time
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    weights_digest("imagenet", "vgg16")
    assert len(md5_reads) == 3


def test_a_downloaded_file_counts_as_checked(published, tmp_path, md5_reads):
    path, good, md5 = published
    source = _written(tmp_path / "mirror.h5", good)
    download(source.as_uri(), path, md5)
    assert len(md5_reads) == 1  # the download's own check
    assert weights_digest("imagenet", "vgg16") == f"imagenet-{md5}" == f"imagenet-{file_md5(path)}"
    assert len(md5_reads) == 1


def test_a_file_not_downloaded_yet_is_keyed_by_the_md5_its_download_will_check(published):
    path, _, md5 = published
    assert not path.exists() and weights_digest("imagenet", "vgg16") == f"imagenet-{md5}"


def test_a_cache_that_is_a_file_is_said_in_words(tmp_path):
    (tmp_path / "cache").write_text("not a folder")
    problem = cache_problem(tmp_path / "cache" / "patterns" / "v1")
    assert problem.startswith(f"vggviz's cache cannot be written here: {tmp_path / 'cache'} is "
                              f"a file, not a folder; set VGGVIZ_CACHE to a folder this user "
                              f"can write")
    assert cache_problem(tmp_path / "fresh" / "patterns") is None


def test_patterns_out_writes_its_pictures_when_the_cache_cannot_be_written(tmp_path, monkeypatch,
                                                                           capsys):
    from vggviz import cli

    (tmp_path / "cache").write_text("not a folder")
    monkeypatch.setenv("VGGVIZ_CACHE", str(tmp_path / "cache"))
    code = cli.main(["patterns", "--weights", "random", "--channels", "0,1", "--steps", "2",
                     "--out", str(tmp_path / "out")])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "stem_000.png", "stem_001.png", "stem_patterns.png"]
    assert "2 computed, not cached)" in out.out
    assert f"not cached: vggviz's cache cannot be written here: {tmp_path / 'cache'} is a file" \
        in out.out
