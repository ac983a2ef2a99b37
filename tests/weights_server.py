"""Loopback servers for the download tests: a file server that can be slowed, held or cut, and
a small HTTP proxy (CONNECT tunnels and absolute-URI GETs) that alone knows some host names.

Everything runs in threads of the test process, on 127.0.0.1, and stops when its `with` ends.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_connect = socket.create_connection  # the proxy's own, whatever a test does to socket's

@dataclass
class Behaviour:
    """How the file server sends a file: in `chunk`-byte pieces `delay` s apart; at `hold_at`
    bytes it trickles a byte a second until `release` is set; at `drop_at` bytes it closes the
    connection."""

    chunk: int = 1 << 20
    delay: float = 0.0
    hold_at: int | None = None
    drop_at: int | None = None
    release: threading.Event = field(default_factory=threading.Event)
    held: threading.Event = field(default_factory=threading.Event)  # set when it holds


class FileServer(ThreadingHTTPServer):
    """Serves `files` (name → bytes) at /<name>; counts the requests for each path."""

    daemon_threads = True

    def __init__(self, files: dict[str, bytes], behaviour: Behaviour | None = None,
                 tls: ssl.SSLContext | None = None):
        super().__init__(("127.0.0.1", 0), _FileHandler)
        self.files, self.behaviour = files, behaviour or Behaviour()
        self.requests: list[str] = []
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def count(self, name: str) -> int:
        """How many requests asked for `name`."""
        return sum(path.rsplit("/", 1)[-1] == name for path in self.requests)


class _FileHandler(BaseHTTPRequestHandler):
    server: FileServer

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802  (http.server's name)
        self.server.requests.append(self.path)
        data = self.server.files.get(urllib.parse.urlsplit(self.path).path.rsplit("/", 1)[-1])
        if data is None:
            self.send_error(404)
            return
        b = self.server.behaviour
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        sent = 0
        try:
            while sent < len(data):
                if b.drop_at is not None and sent >= b.drop_at:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if b.hold_at is not None and sent >= b.hold_at and not b.release.is_set():
                    b.held.set()
                    # held, not dead: a byte a second, so a client's read timeout (15 s in
                    # vggviz) never ends a hold that a busy test takes its time to look at
                    while not b.release.wait(1.0) and sent < len(data) - 1:
                        self.wfile.write(data[sent:sent + 1])
                        self.wfile.flush()
                        sent += 1
                end = min(len(data), sent + b.chunk)
                if b.drop_at is not None:
                    end = min(end, max(b.drop_at, sent + 1))
                if b.hold_at is not None and sent < b.hold_at:
                    end = min(end, b.hold_at)
                self.wfile.write(data[sent:end])
                sent = end
                if b.delay:
                    time.sleep(b.delay)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a cancel)
            pass


@contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[ThreadingHTTPServer]:
    """Run `server` in a thread for the `with` block."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


class Proxy(ThreadingHTTPServer):
    """A forward proxy: CONNECT host:port (a tunnel) and GET http://host/... (relayed). Host
    names in `hosts` resolve to the loopback ports given; `seen` lists the request lines."""

    daemon_threads = True

    def __init__(self, hosts: dict[str, int]):
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.hosts, self.seen = hosts, []

    @property
    def port(self) -> int:
        return self.server_address[1]

    def resolve(self, host: str, port: int) -> tuple[str, int]:
        return ("127.0.0.1", self.hosts[host]) if host in self.hosts else (host, port)


class _ProxyHandler(BaseHTTPRequestHandler):
    server: Proxy

    def log_message(self, *args) -> None:
        pass

    def do_CONNECT(self) -> None:  # noqa: N802
        self.server.seen.append(f"CONNECT {self.path}")
        host, _, port = self.path.rpartition(":")
        try:
            upstream = _connect(self.server.resolve(host, int(port)), timeout=10)
        except OSError:
            self.send_error(502)
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self._pipe(self.connection, upstream)
        self.close_connection = True

    def do_GET(self) -> None:  # noqa: N802
        self.server.seen.append(f"GET {self.path}")
        url = urllib.parse.urlsplit(self.path)
        if url.scheme != "http":
            self.send_error(400, "absolute http:// URI expected")
            return
        try:
            upstream = _connect(self.server.resolve(url.hostname, url.port or 80), timeout=10)
        except OSError:
            self.send_error(502)
            return
        path = url.path + (f"?{url.query}" if url.query else "")
        upstream.sendall(f"GET {path} HTTP/1.0\r\nHost: {url.netloc}\r\n\r\n".encode())
        self._pipe(self.connection, upstream)
        self.close_connection = True

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        """Copy bytes both ways until either side closes."""
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 30)
                if not ready:
                    return
                for src in ready:
                    data = src.recv(1 << 16)
                    if not data:
                        return
                    (b if src is a else a).sendall(data)
        except OSError:
            return
        finally:
            b.close()


def self_signed(folder: Path, host: str) -> tuple[Path, Path]:
    """A certificate for `host` (its subjectAltName, valid two days) and its key, as PEM files."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path
