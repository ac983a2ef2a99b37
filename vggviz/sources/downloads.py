"""Downloads into a shared cache: progress, an md5 check, no partial file, one fetch at a time.

Kernels of one server share Keras' cache. A lock file next to the target (filelock: `flock` on
Unix, `msvcrt` on Windows) makes a second fetcher wait for the first and then use its file; the
bytes go to a temp file in the same folder, renamed onto the target only after the md5 matched,
so the target is whole or absent, and readable by whom the umask allows (`shared_files`). A
file's md5 is worked out once per (path, inode, size, modification time): `file_md5`, which a
download fills for the file it kept. The lock file goes when its holder is done, success or not
(removed while held: a waiter that opened it just before finds it unlinked and locks afresh).
Requests use urllib's handlers, so `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` apply; the
timeout covers the name lookup too, which the socket's own timeout does not.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import filelock

from vggviz.sources.shared_files import make_folder, open_temp

CHUNK = 256 * 1024
LOCK_POLL = 0.1  # s between tries of a lock another process holds


class DownloadError(Exception):
    """A download failed; the message says why in words (nothing was kept)."""


class DownloadCancelled(DownloadError):
    """The download was cancelled through its `cancel` event (nothing was kept)."""


@dataclass(frozen=True)
class Progress:
    """How far a download has come: bytes so far, bytes in all (None if the server did not
    say) and seconds since the transfer started."""

    done: int
    total: int | None
    elapsed: float

    @property
    def rate(self) -> float:
        """Bytes per second so far."""
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def left(self) -> float | None:
        """Seconds left at the rate so far; None when unknown."""
        if self.total is None or self.rate <= 0:
            return None
        return max(self.total - self.done, 0) / self.rate

    def describe(self) -> str:
        """E.g. "12.3 of 58.9 MB · 4.2 MB/s · 11 s left"."""
        done = f"{self.done / 1e6:.1f} of {self.total / 1e6:.1f} MB" if self.total else \
            f"{self.done / 1e6:.1f} MB"
        parts = [done, f"{self.rate / 1e6:.1f} MB/s"]
        if self.left is not None:
            parts.append(f"{self.left:.0f} s left")
        return " · ".join(parts)


ProgressCallback = Callable[[Progress], None]


def download(url: str, dest: str | os.PathLike, md5: str, *, timeout: float = 15.0,
             progress: ProgressCallback | None = None,
             waiting: Callable[[], None] | None = None,
             cancel: threading.Event | None = None) -> Path:
    """Fetch `url` into `dest` unless `dest` is there already (then no request is made).

    `progress` is called after every chunk; `waiting` once if another process (or thread)
    is fetching the same file and this call waits for it; setting `cancel` stops the transfer
    (DownloadCancelled). `timeout` bounds the name lookup, the connection and every read, in
    seconds. Raises DownloadError saying why; the target is then untouched, and neither a temp
    file nor the lock file is left.
    """
    dest = Path(dest)
    if dest.is_file():
        return dest
    try:
        make_folder(dest.parent)
    except OSError as exc:
        raise DownloadError(f"cannot create the folder {dest.parent} ({exc.strerror})") from None
    lock = dest.with_name(dest.name + ".lock")
    with _locked(lock, waiting, cancel):
        if dest.is_file():  # fetched by whoever held the lock before us
            return dest
        tmp = None
        try:
            for leftover in dest.parent.glob(f"{dest.name}.*.part"):  # a killed process's
                leftover.unlink(missing_ok=True)
            fd, tmp = open_temp(dest.parent, f"{dest.name}.")
            with os.fdopen(fd, "wb") as out:
                got = _fetch(url, out, timeout, progress, cancel)
            if got != md5:
                raise DownloadError(f"the file from {_where(url)} is not the expected "
                                    f"{dest.name} (md5 {got}, expected {md5})")
            os.replace(tmp, dest)
            _remember_md5(dest, got)
        except OSError as exc:  # the disk's side: the network's is said in words by _chunks
            raise DownloadError(f"cannot write to {dest.parent} "
                                f"({exc.strerror or exc})") from None
        finally:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)  # gone already after the rename
    return dest


_MD5S: dict[tuple[str, int, int, int], str] = {}
_MD5S_LOCK = threading.Lock()


def _md5_key(path: str | os.PathLike) -> tuple[str, int, int, int]:
    st = os.stat(path)
    return os.path.abspath(path), st.st_ino, st.st_size, st.st_mtime_ns


def file_md5(path: str | os.PathLike) -> str:
    """The md5 of a file's bytes, read once per (path, inode, size, modification time): a file
    replaced or rewritten is read again, an unchanged one never (as Keras' `get_file` checks a
    cached file against its hash, without reading it on every call). OSError if unreadable."""
    key = _md5_key(path)
    with _MD5S_LOCK:
        known = _MD5S.get(key)
    if known is not None:
        return known
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        while chunk := fh.read(2**22):
            digest.update(chunk)
    _remember_md5(path, digest.hexdigest(), key)
    return digest.hexdigest()


def _remember_md5(path: Path | str, md5: str, key: tuple | None = None) -> None:
    """Note `md5` as the checked md5 of the file now at `path`."""
    key = key or _md5_key(path)
    with _MD5S_LOCK:
        for old in [k for k in _MD5S if k[0] == key[0]]:  # one entry per path
            del _MD5S[old]
        _MD5S[key] = md5


@contextmanager
def _locked(path: Path, waiting: Callable[[], None] | None,
            cancel: threading.Event | None) -> Iterator[None]:
    """Hold an exclusive lock on the file `path` (created if missing), polling so `cancel`
    works; the file is removed before the lock is let go."""
    lock = filelock.FileLock(path)
    told = False
    while True:
        try:
            lock.acquire(timeout=0)  # one try
            break
        except filelock.Timeout:
            if not told and waiting:
                waiting()
            told = True
            if cancel is None:
                time.sleep(LOCK_POLL)
            elif cancel.wait(LOCK_POLL):
                raise DownloadCancelled("cancelled while waiting for another download") from None
        except OSError as exc:
            raise DownloadError(f"cannot write to {path.parent} ({exc.strerror})") from None
    try:
        yield
    finally:
        with suppress(OSError):  # Windows refuses while it is open; filelock removes it there
            path.unlink()
        lock.release()


def _where(url: str) -> str:
    """The server of `url` and the proxy that carries the request, or the path of a file:
    URL, for messages."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "file":
        return urllib.request.url2pathname(parts.path)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(parts.hostname or ""):
        return f"{parts.netloc} (through the proxy {proxy})"
    return parts.netloc or url


def _fetch(url: str, out, timeout: float, progress: ProgressCallback | None,
           cancel: threading.Event | None) -> str:
    """Stream `url` into the open file `out`; return the md5 of what arrived."""
    digest, done, started = hashlib.md5(), 0, time.monotonic()
    with closing(_chunks(url, timeout)) as chunks:  # a cancel closes the connection at once
        for chunk, total in chunks:
            if cancel is not None and cancel.is_set():
                raise DownloadCancelled("cancelled")
            out.write(chunk)
            digest.update(chunk)
            done += len(chunk)
            if progress:
                progress(Progress(done, total, time.monotonic() - started))
    return digest.hexdigest()


def _chunks(url: str, timeout: float) -> Iterator[tuple[bytes, int | None]]:
    """The body of `url` in pieces, each with the size the server announced (None if it did
    not); what goes wrong on the way is a DownloadError in words."""
    opener = urllib.request.build_opener(_HTTPHandler, _HTTPSHandler)  # reads the proxies of now
    done, total = 0, None
    try:
        with opener.open(url, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            while chunk := response.read(CHUNK):
                done += len(chunk)
                yield chunk, total
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"{_where(url)} answered {exc.code} {exc.reason} for "
                            f"{url}") from None
    except urllib.error.URLError as exc:
        reason = getattr(exc.reason, "strerror", None) or exc.reason
        verb = "cannot read" if url.startswith("file:") else "cannot reach"
        raise DownloadError(f"{verb} {_where(url)}: {reason}") from None
    except (OSError, http.client.HTTPException) as exc:
        raise DownloadError(f"the connection to {_where(url)} broke off after "
                            f"{done / 1e6:.1f} MB ({exc or type(exc).__name__})") from None
    if total is not None and done != total:
        raise DownloadError(f"the connection to {_where(url)} closed after {done / 1e6:.1f} of "
                            f"{total / 1e6:.1f} MB")


def _connect(address: tuple[str, int], timeout: float,
             source_address: tuple[str, int] | None = None) -> socket.socket:
    """`socket.create_connection`, with the name lookup also cut short at `timeout`."""
    host, port = address
    errors: list[OSError] = []
    for *_, sockaddr in _lookup(host, port, timeout):
        try:
            return socket.create_connection(sockaddr[:2], timeout, source_address)
        except OSError as exc:
            errors.append(exc)
    raise errors[-1]


def _lookup(host: str, port: int, timeout: float) -> list[tuple]:
    """`socket.getaddrinfo` in a thread given `timeout` s: a DNS server that never answers
    would otherwise hold the download for as long as the resolver's own retries take."""
    found: list[tuple] = []
    failed: list[OSError] = []

    def look() -> None:
        try:
            found.extend(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as exc:
            failed.append(exc)

    thread = threading.Thread(target=look, name=f"vggviz lookup of {host}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():  # left to end on its own: getaddrinfo cannot be interrupted
        raise TimeoutError(f"looking up the address of {host} took over {timeout:g} s")
    if failed:
        raise failed[0]
    return found


class _HTTPConnection(http.client.HTTPConnection):
    """http.client's connection, opening its socket with `_connect`."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = _connect  # http.client's hook for opening the socket


class _HTTPSConnection(http.client.HTTPSConnection):
    """http.client's TLS connection, opening its socket with `_connect`."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = _connect


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_HTTPConnection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(_HTTPSConnection, req, context=self._context)


@contextmanager
def terminal_progress(description: str) -> Iterator[ProgressCallback]:
    """A tqdm bar on stderr (bytes, MB/s, time left) fed by `download`'s progress calls."""
    from tqdm import tqdm

    bar = None

    def update(p: Progress) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=p.total, desc=description, unit="B", unit_scale=True,
                       file=sys.stderr, dynamic_ncols=True)
        bar.update(p.done - bar.n)

    try:
        yield update
    finally:
        if bar is not None:
            bar.close()
