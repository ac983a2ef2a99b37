"""Start Voilà and JupyterLab for real on 127.0.0.1 with the project's own configuration."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 60, proc: subprocess.Popen | None = None) -> None:
    """Wait until 127.0.0.1:`port` accepts connections (no request: rendering costs a kernel)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.25)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


def _stop(proc: subprocess.Popen) -> None:
    """Stop the server by its PID (never by name), then its process group's kernels."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


@contextmanager
def voila(target: str = "notebooks/01_stem_explorer.ipynb", *extra: str, log: Path | None = None):
    """Voilà as `make dashboard` runs it (voila.json from the project root), on a free port.

    Yields (base_url, process). Extra command-line options are appended.
    """
    port = free_port()
    out = open(log, "wb") if log else subprocess.DEVNULL
    env = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen(
        [str(BIN / "voila"), target, "--no-browser", f"--port={port}", *extra],
        cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_port(port, proc=proc)
        yield url, proc
    finally:
        _stop(proc)
        if log:
            out.close()


@contextmanager
def jupyterlab(log: Path | None = None):
    """JupyterLab as `make lab` runs it, with a random token. Yields (base_url, token, process)."""
    port, token = free_port(), secrets.token_hex(16)
    out = open(log, "wb") if log else subprocess.DEVNULL
    env = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "3"}
    cmd = [str(BIN / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.port_retries=0", "--ServerApp.root_dir=notebooks",
           f"--IdentityProvider.token={token}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_port(port, proc=proc)
        yield url, token, proc
    finally:
        _stop(proc)
        if log:
            out.close()
