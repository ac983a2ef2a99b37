"""Training runs on disk: written whole or not at all, checked on read, replayed with numpy alone.

A run is a folder in the shared cache ($VGGVIZ_CACHE/runs/NAME, see `disk_cache`): a manifest
(JSON: the settings, the class names, each epoch's figures, and every other file's size and
SHA-256), the recorded arrays (`record.npz`: the stem's kernels and one probe image's stem maps at
log-spaced steps, the wall time of every step) and the final weights in Keras' layout
(`final.weights.h5`). It is written into a hidden temporary folder beside its place and renamed
into it when complete, so a reader sees a whole run or none; a folder that fails a check is named
with the reason, never shown. Nothing here imports TensorFlow: a dashboard replays a run at once.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from vggviz.plan.stem_race import RaceTable, race_table
from vggviz.sources.disk_cache import cache_dirs, cache_problem
from vggviz.sources.shared_files import make_folder

FORMAT = 1
"""The layout version written in every manifest; a run of another version is refused by name."""

RUNS = "runs"
MANIFEST = "manifest.json"
RECORD = "record.npz"
WEIGHTS = "final.weights.h5"

RECORD_ARRAYS = {  # name → (dimensions, dtype kind): what replay needs, checked on read
    "steps": (1, "i"),          # (K,) the step of each snapshot, 0 = before training
    "kernels": (5, "f"),        # (K, kh, kw, 3, 64) the stem's kernels at each snapshot
    "biases": (2, "f"),         # (K, 64) their biases
    "probe_maps": (4, "f"),     # (K, H', W', 64) the probe image's stem maps at each snapshot
    "probe_image": (3, "u"),    # (H, W, 3) uint8, the probe image as the network saw it (RGB)
    "step_seconds": (1, "f"),   # (T,) wall time of every training step
}


class RunDamaged(Exception):
    """A run folder that cannot be shown; the message names the folder and the reason."""


@dataclass(frozen=True)
class Snapshot:
    """What the run recorded at one step: the stem's kernels (kh, kw, 3, 64) and biases (64,),
    and the probe image's stem maps (H', W', 64)."""

    step: int
    kernels: np.ndarray
    biases: np.ndarray
    probe_maps: np.ndarray


@dataclass(frozen=True)
class Run:
    """A checked run folder: its manifest now, its arrays when first asked for."""

    path: Path
    manifest: dict

    @property
    def name(self) -> str:
        """The folder's name, which says when and what was trained."""
        return self.path.name

    @property
    def settings(self) -> dict:
        """What was trained, on what data, how (the training's settings as recorded)."""
        return self.manifest["settings"]

    @property
    def class_names(self) -> list[str]:
        """The data's class names, by label."""
        return self.manifest["class_names"]

    @property
    def epochs(self) -> list[dict]:
        """Per epoch: loss and accuracy on the training and held-out data, steps, seconds."""
        return self.manifest["epochs"]

    @property
    def status(self) -> str:
        """"finished", or "cancelled" when it was stopped early (what was done is kept)."""
        return self.manifest["status"]

    @property
    def weights(self) -> Path:
        """The final weights, in Keras' layout (`model.load_weights` reads them)."""
        return self.path / WEIGHTS

    @cached_property
    def arrays(self) -> dict[str, np.ndarray]:
        """The recorded arrays, read once (their bytes were checked when the run was opened)."""
        with np.load(self.path / RECORD, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}

    def __len__(self) -> int:
        """The number of snapshots."""
        return len(self.arrays["steps"])

    def snapshot(self, index: int) -> Snapshot:
        """Snapshot `index` (0 is the start, -1 the end) as it was recorded."""
        a = self.arrays
        return Snapshot(int(a["steps"][index]), a["kernels"][index], a["biases"][index],
                        a["probe_maps"][index])

    def held_out_accuracy(self) -> float | None:
        """The last epoch's accuracy on the held-out data (None before the first epoch)."""
        return self.epochs[-1]["val_accuracy"] if self.epochs else None


def runs_dirs() -> list[Path]:
    """Where runs are: the cache's runs folder vggviz writes to, then the read-only ones."""
    return cache_dirs(RUNS)


def cannot_keep() -> str | None:
    """Why a run could not be kept in the cache (a folder this user cannot write), in words
    with what to do; None when it can: asked before training, not after."""
    return cache_problem(runs_dirs()[0])


def run_name(settings: Mapping[str, object], when: datetime.datetime | None = None) -> str:
    """A folder name that sorts by time and says what was trained, e.g.
    20250101-120000_vgg11_vgg-stem_32px_shapes (data that is a folder: its last name, with
    only letters, digits, '.' and '-')."""
    when = when or datetime.datetime.now()
    data = settings.get("data")
    if data is not None:
        data = re.sub(r"[^\w.-]+", "-", Path(str(data)).name).strip(".-") or "folder"
    parts = [when.strftime("%Y%m%d-%H%M%S"), settings.get("variant"),
             f"{settings.get('stem')}-stem", f"{settings.get('size')}px", data]
    return "_".join(str(p) for p in parts if p is not None)


def write_run(manifest: Mapping[str, object], arrays: Mapping[str, np.ndarray],
              save_weights: Callable[[Path], None] | None = None, *, name: str | None = None,
              root: Path | None = None) -> Run:
    """Write a run whole, or nothing: the arrays, the weights (`save_weights(path)` writes the
    file Keras' way), then the manifest with each file's size and digest, into a hidden
    temporary folder renamed into place at the end. Readable by other users as the umask allows."""
    problem = _arrays_problem(arrays)
    if problem:
        raise ValueError(f"a run's {problem}")
    root = Path(root) if root is not None else runs_dirs()[0]
    problem = cache_problem(root)
    if problem:
        raise PermissionError(problem)
    make_folder(root)
    name = name or run_name(manifest.get("settings", {}))  # type: ignore[arg-type]
    tmp = _new_folder(root, f".{name}.")
    try:
        with open(tmp / RECORD, "wb") as fh:
            np.savez(fh, **arrays)
        if save_weights is not None:
            save_weights(tmp / WEIGHTS)
        files = {p.name: {"bytes": p.stat().st_size, "sha256": _sha256(p)}
                 for p in sorted(tmp.iterdir())}
        whole = {**manifest, "format": FORMAT, "files": files}
        (tmp / MANIFEST).write_text(json.dumps(whole, indent=1, default=_plain))
        final = root / name
        suffix = 1
        while True:
            try:
                os.rename(tmp, final)  # fails if another run took the name meanwhile
                break
            except OSError:
                if not final.exists():
                    raise
                suffix += 1
                final = root / f"{name}-{suffix}"
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return read_run(final)


def read_run(path: str | os.PathLike) -> Run:
    """The run in folder `path`, checked whole (manifest, every file's size and digest, the
    arrays replay needs and their shapes); RunDamaged names the folder and what is wrong."""
    path = Path(path)

    def damaged(reason: str) -> RunDamaged:
        return RunDamaged(f"run {path.name} is damaged: {reason}")

    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except FileNotFoundError:
        raise damaged(f"it has no {MANIFEST} (not a run, or not finished writing)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise damaged(f"its {MANIFEST} cannot be read ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise damaged(f"its {MANIFEST} is not of format {FORMAT}")
    for key in ("settings", "class_names", "epochs", "status", "files"):
        if key not in manifest:
            raise damaged(f"its {MANIFEST} lacks {key!r}")
    for required in (RECORD, WEIGHTS):
        if required not in manifest["files"]:
            raise damaged(f"its {MANIFEST} lists no {required}")
    for file, expected in manifest["files"].items():
        target = path / file
        if not target.is_file():
            raise damaged(f"{file} is missing")
        if target.stat().st_size != expected.get("bytes"):
            raise damaged(f"{file} has {target.stat().st_size:,} bytes, the manifest says "
                          f"{expected.get('bytes'):,}")
        if _sha256(target) != expected.get("sha256"):
            raise damaged(f"{file}'s bytes differ from those written (SHA-256 mismatch)")
    run = Run(path, manifest)
    try:
        arrays = run.arrays
    except (OSError, ValueError) as exc:
        raise damaged(f"{RECORD} cannot be read ({exc})") from None
    problem = _arrays_problem(arrays)
    if problem:
        raise damaged(f"{RECORD}'s {problem}")
    return run


def list_runs() -> tuple[list[Run], list[str]]:
    """Every run in the cache (newest first, the writable folder's then the read-only ones'),
    and, apart, a sentence per folder that failed its check, naming it and why."""
    runs, damaged = [], []
    for folder in runs_dirs():
        if not folder.is_dir():  # nothing kept yet
            continue
        for path in sorted(folder.iterdir(), reverse=True):
            if path.name.startswith(".") or not path.is_dir():
                continue  # a run still being written, or not a run
            try:
                runs.append(read_run(path))
            except RunDamaged as exc:
                damaged.append(str(exc))
    return runs, damaged


def find_run(name: str | os.PathLike | Run) -> Run | None:
    """The run `name` names, checked: a Run as it is, a run folder's path, or a run's name
    (its folder's, as `vggviz runs` lists it) in the cache; None when `name` names no run
    folder (a weights file, "imagenet"). RunDamaged when the folder it names fails its check."""
    if isinstance(name, Run):
        return name
    if not isinstance(name, str | os.PathLike):
        return None
    text = os.fspath(name)
    candidates = [Path(text)] if os.sep in text or Path(text).is_dir() else []
    if text and not text.startswith(".") and os.sep not in text:
        candidates += [folder / text for folder in runs_dirs()]
    for path in candidates:
        if (path / MANIFEST).is_file() or (path.is_dir() and (path / WEIGHTS).is_file()):
            return read_run(path)
    return None


def _arrays_problem(arrays: Mapping[str, np.ndarray]) -> str | None:
    """What keeps `arrays` from replaying, in words, or None: a missing array, one of the wrong
    kind or dimensions, or snapshots that disagree in number."""
    missing = sorted(set(RECORD_ARRAYS) - set(arrays))
    if missing:
        return f"arrays lack {', '.join(missing)}"
    for key, (dims, kind) in RECORD_ARRAYS.items():
        value = np.asarray(arrays[key])
        if value.ndim != dims or value.dtype.kind != kind:
            return f"array {key!r} is {value.dtype} of shape {value.shape}"
    count = len(arrays["steps"])
    if count == 0 or any(len(arrays[k]) != count for k in ("kernels", "biases", "probe_maps")):
        return "snapshots disagree in number"
    return None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(2**22):
            h.update(chunk)
    return h.hexdigest()


def _plain(value: object) -> object:
    """numpy scalars and arrays, and tuples, as JSON's own types."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _new_folder(root: Path, prefix: str) -> Path:
    """A new hidden folder `<prefix><random>.part` in `root`, created as a plain mkdir creates
    it (0o777 less the umask, a default ACL obeyed), unlike `tempfile.mkdtemp`'s private 0o700:
    the files written into it get 0o666 less the umask the same way, so a teacher's run is
    readable by a class where the umask shares files."""
    while True:
        path = root / f"{prefix}{secrets.token_hex(6)}.part"
        try:
            path.mkdir()
            return path
        except FileExistsError:  # another writer drew the same name: draw again
            continue


def comparisons(runs: Sequence[Run]) -> list[tuple[str, list[Run]]]:
    """The comparisons of stems among `runs` (those carrying a comparison id), newest first,
    each with its runs in the order they were trained; a comparison of fewer than two finished
    runs (one cancelled, or not all trained yet) is left out."""
    grouped: dict[str, list[Run]] = {}
    for run in runs:
        ident = run.manifest.get("comparison")
        if ident:
            grouped.setdefault(ident, []).append(run)
    kept = [(ident, sorted(group, key=lambda r: r.name)) for ident, group in grouped.items()
            if len(group) >= 2 and all(r.status == "finished" and r.epochs for r in group)]
    return sorted(kept, key=lambda item: item[0], reverse=True)


def comparison_table(runs: Sequence[Run]) -> RaceTable:
    """The table of one comparison's runs (see `vggviz.plan.stem_race`); the values entering
    the learner are read from the recorded stem maps (H'×W'×64 per image)."""
    return race_table([run.manifest for run in runs],
                      [int(np.prod(run.arrays["probe_maps"].shape[1:])) for run in runs])
