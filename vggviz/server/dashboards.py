"""Serve the packaged dashboards with Voilà, as `vggviz dashboard` and `make dashboard` do.

The notebooks (`vggviz/notebooks`) and the server settings (`vggviz/server/config`: loopback,
sources stripped, no tracebacks, a closing tab's kernel freed, idle kernels culled) ship inside
the package, so a wheel serves exactly what a checkout serves. Voilà itself comes with the
`dashboard` extra (`pip install "vggviz[dashboard]"`); the library does not need it.

`--pool K` means K kernels kept ready in all, as a teacher reads it, not Voilà's K for every
notebook of a folder (with `--all` that was 4 × K): they all wait for the stem explorer, the page a
class opens; the landing page and the other dashboards start a kernel when they are opened.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

STEM_EXPLORER = "01_stem_explorer.ipynb"
LANDING = "index.ipynb"  # the landing page of `--all`: a line and a thumbnail per dashboard
DEFAULT_PORT = 8866


class DashboardError(Exception):
    """What keeps a dashboard from being served, in words (no Voilà, no such notebook)."""


def notebooks_dir() -> Path:
    """The notebooks shipped with the package (in a checkout, the project's `notebooks/`)."""
    return Path(str(resources.files("vggviz") / "notebooks"))


def config_dir() -> Path:
    """The directory holding `voila.json` and `jupyter_server_config.json`: put it on
    JUPYTER_CONFIG_PATH for a Jupyter server to take the project's settings."""
    return Path(str(resources.files("vggviz.server") / "config"))


def _target(path: str | Path | None, everything: bool) -> Path:
    if path is not None and everything:
        raise DashboardError("give a notebook or folder, or --all for the packaged ones, not both")
    target = Path(path) if path is not None else notebooks_dir()
    if path is None and not everything:
        target = target / STEM_EXPLORER
    if not target.exists():
        raise DashboardError(f"{target} does not exist: give a notebook (.ipynb) or a folder")
    if target.is_file() and target.suffix != ".ipynb":
        raise DashboardError(f"{target} is not a notebook (.ipynb)")
    return target.resolve()


def pooled_notebook(path: str | Path | None = None, *, everything: bool = False) -> Path | None:
    """The one notebook whose kernels `--pool` keeps ready: the notebook served, or in a folder
    its stem explorer; None for a folder without one."""
    target = _target(path, everything)
    if target.is_file():
        return target
    explorer = target / STEM_EXPLORER
    return explorer if explorer.is_file() else None


def voila_argv(path: str | Path | None = None, *, everything: bool = False,
               port: int = DEFAULT_PORT, pool: int | None = None,
               extra: Sequence[str] = ()) -> list[str]:
    """Voilà's command-line arguments for a notebook or folder (default: the stem explorer;
    `everything`: the packaged notebooks behind their landing page) with the package's
    voila.json; `extra` Voilà options come last and win.

    `pool` kernels are kept ready in all, for the stem explorer (`pooled_notebook`); None: one
    where there is a stem explorer, none in a folder without one."""
    target = _target(path, everything)
    pooled = pooled_notebook(path, everything=everything)
    if pool is None:
        pool = 1 if pooled is not None else 0
    if pool < 0:
        raise DashboardError(f"--pool must be 0 or more kernels, got {pool}")
    if pool and pooled is None:
        raise DashboardError(f"--pool keeps kernels ready for a folder's {STEM_EXPLORER}, and "
                             f"{target} holds none: serve one notebook, or give --pool 0")
    if target.is_file():
        pools = [f"--VoilaConfiguration.default_pool_size={pool}"]
    else:  # Voilà's own default is `pool` kernels for each notebook of the folder
        sizes = {"default": {"pool_size": 0}}
        if pooled is not None:
            sizes[pooled.relative_to(target).as_posix()] = {"pool_size": pool}
        pools = ["--VoilaConfiguration.default_pool_size=0",
                 f"--VoilaKernelManager.kernel_pools_config={sizes!r}"]
    return [str(target), "--no-browser", f"--port={port}", "--Voila.port_retries=0",
            f"--Voila.config_file_paths={config_dir()}", *pools, *extra]


def address(path: str | Path | None = None, *, everything: bool = False,
            port: int = DEFAULT_PORT) -> str:
    """The address a person opens: the notebook itself, or the landing page of a folder."""
    target = _target(path, everything)
    if target.is_dir():
        page = f"voila/render/{LANDING}" if (target / LANDING).exists() else "voila/tree"
    else:
        page = ""
    return f"http://127.0.0.1:{port}/{page}"


def serve(path: str | Path | None = None, *, everything: bool = False, port: int = DEFAULT_PORT,
          pool: int | None = None, extra: Sequence[str] = ()) -> None:
    """Serve with Voilà in this process until Ctrl-C, after printing the address to open."""
    argv = voila_argv(path, everything=everything, port=port, pool=pool, extra=extra)
    try:
        from voila.app import Voila
    except ImportError:
        raise DashboardError('serving needs Voilà: pip install "vggviz[dashboard]"') from None
    what = "vggviz dashboards" if everything else "vggviz"
    pooled = pooled_notebook(path, everything=everything)
    kept = (1 if pooled else 0) if pool is None else pool
    ready = f"{kept} kernel(s) kept ready for {pooled.name}; " if pooled and kept else ""
    print(f"{what}: {address(path, everything=everything, port=port)}  ({ready}Ctrl-C stops it)",
          flush=True)
    Voila.launch_instance(argv=argv)


def copy_notebooks(destination: str | Path, *, overwrite: bool = False) -> list[Path]:
    """Copy the packaged notebooks into `destination` (made if missing) for a person to edit;
    refuses, before copying any, to overwrite a file unless asked."""
    destination = Path(destination)
    if destination.exists() and not destination.is_dir():
        raise DashboardError(f"{destination} is a file, not a folder")
    sources = sorted(notebooks_dir().glob("*.ipynb"))
    clashes = [s.name for s in sources if (destination / s.name).exists()]
    if clashes and not overwrite:
        raise DashboardError(f"{destination} already holds {', '.join(clashes)}: nothing "
                             f"copied (--force replaces them)")
    destination.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copyfile(s, destination / s.name)) for s in sources]

