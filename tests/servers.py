"""Start the project's dashboards' servers on loopback with its own configuration.

For tests, benchmarks and scripts: Voilà through `vggviz dashboard`, the command `make dashboard`
runs (the package's voila.json), and JupyterLab as `make lab` starts it (the package's
jupyter_server_config.json on JUPYTER_CONFIG_PATH), each on a free port of 127.0.0.1, logged to
a file if asked and stopped by PID, never by name. Also the Chromium that the browser tests and
the benchmarks drive, with its launch flags, and a few looks at the server's kernel processes
(from /proc: no psutil).

Needs a source checkout (notebooks are named relative to its root). Imports no TensorFlow.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import IO, NamedTuple

__all__ = [
    "CHROMIUM", "LAUNCH_ARGS", "LabServer", "VoilaServer", "chromium_missing", "cpu_seconds",
    "descendants", "free_port", "jupyterlab", "kernel_pids", "launch_chromium", "project_root",
    "stop", "voila", "wait_pool_quiet", "wait_port",
]

LOOPBACK = "127.0.0.1"
DASHBOARD = "notebooks/01_stem_explorer.ipynb"

#: Debian's Chromium (`apt-get install chromium`); VGGVIZ_CHROMIUM names another binary.
CHROMIUM = Path(os.environ.get("VGGVIZ_CHROMIUM", "/usr/bin/chromium"))
#: Launch flags for Playwright's `chromium.launch(args=...)`; Playwright adds --headless and a
#: profile directory of its own (it refuses --user-data-dir here).
LAUNCH_ARGS: list[str] = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@lru_cache(maxsize=1)
def project_root() -> Path:
    """The checkout this module belongs to: the directory holding `pyproject.toml`."""
    root = Path(__file__).resolve().parents[1]
    if not (root / "pyproject.toml").is_file():
        raise RuntimeError(f"the servers are started from a source checkout, and {root} holds "
                           f"no pyproject.toml")
    return root


def _tool(name: str) -> str:
    """A console script of this Python's environment (the venv's bin/), else from PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not installed next to {sys.executable} or on PATH "
                                f"(make installs it into .venv)")
    return found


# ------------------------------------------------------------------------------------ Chromium


def chromium_missing() -> str | None:
    """Why the browser cannot run here (None if it can)."""
    if CHROMIUM.exists():
        return None
    return f"{CHROMIUM} not found (apt-get install chromium)"


def launch_chromium(playwright, **kwargs):
    """Headless Chromium with the project's flags, through a Playwright instance."""
    reason = chromium_missing()
    if reason:
        raise FileNotFoundError(reason)
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                      args=LAUNCH_ARGS, **kwargs)


# ------------------------------------------------------------------------------- ports, stops


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 120, proc: subprocess.Popen | None = None) -> None:
    """Wait until 127.0.0.1:`port` accepts connections (no request: a page costs a kernel).

    Raises RuntimeError at once if `proc` exits first, TimeoutError after `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before listening")
        try:
            socket.create_connection((LOOPBACK, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.25)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


def _stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name: state, ppid, …"""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def descendants(pid: int) -> list[int]:
    """The PIDs of every living process below `pid` (children first)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int(_stat_fields(int(entry.name))[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop(0)
        found.append(child)
        todo.extend(children.get(child, []))
    return found


def cpu_seconds(pid: int, tree: bool = True) -> float:
    """CPU time (user + system) used so far by `pid` and, with `tree`, every process below."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for one in [pid, *(descendants(pid) if tree else [])]:
        try:
            fields = _stat_fields(one)
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def kernel_pids(server_pid: int) -> dict[str, int]:
    """The server's kernel processes: kernel id (from the connection file's name) → PID."""
    found = {}
    for pid in descendants(server_pid):
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        command = b" ".join(args).decode(errors="replace")
        if "ipykernel" not in command:
            continue
        kernel_id = f"pid {pid}"
        for arg in args:
            name = Path(arg.decode(errors="replace")).name
            if name.startswith("kernel-") and name.endswith(".json"):
                kernel_id = name[len("kernel-"):-len(".json")]
        found[kernel_id] = pid
    return found


def wait_kernels_gone(server_pid: int, kernel_ids: set[str], timeout: float,
                      poll: float = 0.5) -> float | None:
    """Seconds until none of these kernels of the server runs (looked at every `poll` seconds);
    None if some still run after `timeout`."""
    start = time.monotonic()
    while kernel_ids & set(kernel_pids(server_pid)):
        if time.monotonic() - start > timeout:
            return None
        time.sleep(poll)
    return time.monotonic() - start


def stop(proc: subprocess.Popen, grace: float = 15) -> None:
    """Stop a server started here by its PID: SIGINT (it shuts its kernels down), then SIGKILL
    for the server and for any process that was below it and still lives (by PID, never by
    name)."""
    below = descendants(proc.pid) if proc.poll() is None else []
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
    proc.wait(timeout=30)
    for pid in below:  # kernels run in sessions of their own; a server killed leaves them
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _log_file(log: Path | None) -> IO[bytes] | int:
    if log is None:
        return subprocess.DEVNULL
    log.parent.mkdir(parents=True, exist_ok=True)
    return open(log, "wb")  # closed by the caller


def _start(cmd: list[str], log: Path | None,
           env: dict[str, str] | None = None) -> tuple[subprocess.Popen, IO[bytes] | int]:
    out = _log_file(log)
    env = os.environ | {"TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"),
                        **(env or {})}
    proc = subprocess.Popen(cmd, cwd=project_root(), stdin=subprocess.DEVNULL, stdout=out,
                            stderr=subprocess.STDOUT, env=env, start_new_session=True)
    return proc, out


# ------------------------------------------------------------------------------------ servers


class VoilaServer(NamedTuple):
    url: str
    proc: subprocess.Popen


class LabServer(NamedTuple):
    url: str
    token: str
    proc: subprocess.Popen


@contextmanager
def voila(target: str = DASHBOARD, *extra: str, pool: int = 1, log: Path | None = None,
          start_timeout: float = 120, port: int | None = None,
          env: dict[str, str] | None = None) -> Iterator[VoilaServer]:
    """Voilà as `make dashboard` runs it (`vggviz dashboard`, the package's voila.json), on a
    free port (or `port`) with `pool` kernels kept ready.

    `target` is a notebook or a directory (as `make dashboards`), relative to the project root
    or absolute; `extra` Voilà options are passed on (they override voila.json); `env` is added
    to the server's environment. Yields (base_url, process); stops the server and its kernels
    on exit.
    """
    port = free_port() if port is None else port
    cmd = [_tool("vggviz"), "dashboard", target, f"--port={port}", f"--pool={pool}",
           *(f"--voila={option}" for option in extra)]
    proc, out = _start(cmd, log, env)
    try:
        wait_port(port, timeout=start_timeout, proc=proc)
        yield VoilaServer(f"http://{LOOPBACK}:{port}/", proc)
    finally:
        stop(proc)
        if not isinstance(out, int):
            out.close()


@contextmanager
def jupyterlab(log: Path | None = None, start_timeout: float = 120) -> Iterator[LabServer]:
    """JupyterLab as `make lab` runs it (the package's jupyter_server_config.json), on a free
    port with a random token. Yields (base_url, token, process)."""
    port, token = free_port(), secrets.token_hex(16)
    cmd = [_tool("jupyter"), "lab", "--no-browser", f"--ip={LOOPBACK}", f"--port={port}",
           "--ServerApp.port_retries=0", "--ServerApp.root_dir=notebooks",
           f"--IdentityProvider.token={token}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    config = project_root() / "vggviz" / "server" / "config"
    proc, out = _start(cmd, log, env={"JUPYTER_CONFIG_PATH": str(config)})
    try:
        wait_port(port, timeout=start_timeout, proc=proc)
        yield LabServer(f"http://{LOOPBACK}:{port}/", token, proc)
    finally:
        stop(proc)
        if not isinstance(out, int):
            out.close()


def wait_pool_quiet(proc: subprocess.Popen, log: Path, notebook: str, fills: int = 1,
                    window: float = 2.0, timeout: float = 300) -> float:
    """Wait until Voilà has filled the kernel pool of `notebook` `fills` times (counted in its
    log) and the server and its kernels are quiet (under 5 % of a core over `window` seconds):
    the pooled kernel has run the notebook. Returns the seconds waited.

    `timeout` only stops a wait for something that is not coming (a broken server).
    """
    start = time.monotonic()
    deadline = start + timeout
    filled = f"Kernel pool of {notebook} is filled"
    while log.read_text(errors="replace").count(filled) < fills:
        if proc.poll() is not None:
            raise RuntimeError(f"Voilà exited with code {proc.returncode}; log: {log}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"Voilà did not fill the kernel pool of {notebook} {fills} "
                               f"time(s) in {timeout} s; log: {log}")
        time.sleep(0.25)
    before = cpu_seconds(proc.pid)
    while time.monotonic() < deadline:
        time.sleep(window)
        now = cpu_seconds(proc.pid)
        if now - before < 0.05 * window:
            return time.monotonic() - start
        before = now
    raise TimeoutError(f"Voilà's kernels were still busy after {timeout} s; log: {log}")
