"""The stem's cost measured on this machine: time and peak memory of the whole model (with its
classifier) once per stem design, each in a fresh Python process.

The counts in `vggviz.plan.accounting` say what a stem hands on; this says what that costs here: the
median time of a forward pass (and of one SGD step on random data), and how far the process's
resident memory rose above what it held once the model was built. A fresh process per stem
keeps one stem's allocations out of the next one's figures. TensorFlow's own allocator
statistics (`tf.config.experimental.get_memory_info`) are used where it keeps them and they read
more than 0; where it keeps none (TensorFlow 2.21 on CPUs without AVX-512, e.g. AMD EPYC,
refuses with a ValueError) or they read 0, the peak figure is the rise of the process's peak
RSS instead, and each figure says which source it comes from. The rise of the process's peak
RSS is reported beside them either way. Accuracy is not measured.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from vggviz.plan.accounting import BYTES_PER_VALUE, summarize
from vggviz.plan.architecture import CLASSIFIERS, STEMS, get_variant

ACCURACY_NOTE = (
    "Accuracy is not measured: there is no data set here, only random inputs. That "
    "downsampling in the stem costs no accuracy is the claim of the project's source text (a "
    "book chapter on the VGG design pattern); the published evidence comes from later "
    "architectures built with such a stem, e.g. ResNet (K. He, X. Zhang, S. Ren, J. Sun, "
    "\"Deep Residual Learning for Image Recognition\", CVPR 2016, arXiv:1512.03385: a 7×7 conv "
    "with stride 2, then a 3×3 max-pool with stride 2), and is not a controlled comparison with "
    "VGG."
)
"""What the measurement does not say, and where the no-loss claim comes from."""

PEAK_NOTE = (
    "Why a pooled stem's peak can read above the VGG stem's although it counts fewer "
    "activations (VGG16 as the README measured it, a forward pass of 8 images at 224 px: 244 "
    "MB against 206 MB with the fc head, though 166 against 237 MB with the GAP head): the "
    "peak is the most memory "
    "held at one moment over the warm-up and the timed runs, above what was held once the model "
    "was built. It counts the activations alive at that moment, but also the workspace the "
    "operations borrow and buffers not yet freed, so it depends on the order operations run and "
    "free; an RSS peak also counts memory the process keeps after freeing it. That this, not "
    "the stem's own work, makes the difference is a hypothesis: it was not traced. The counted "
    "activations compare like with like."
)
"""Why a measured peak need not follow the counted activations, and what is not known."""

ALLOCATOR = ("peak of TensorFlow's allocator (tf.config.experimental.get_memory_info) above "
             "what it held once the model was built: activations, gradients and workspace, "
             "not the weights")
RSS = ("peak resident memory (RSS) of the process above its RSS once the model was built: "
       "activations, gradients and buffers, not the weights")
SOURCES = {"allocator": ALLOCATOR, "rss": RSS}
"""Where a peak figure comes from, by the name each stem's figures carry."""
MAX_BATCH, MAX_SIZE, MAX_REPEATS = 256, 1024, 50


class MeasureError(RuntimeError):
    """A measurement that could not run or finish, in words."""


@dataclass(frozen=True)
class Settings:
    """What to measure: a variant with each stem, a batch of random `size`×`size` images."""

    variant: str = "vgg16"
    batch: int = 8
    train: bool = False
    size: int = 224
    repeats: int = 5
    classifier: str = "fc"

    def check(self) -> Settings:
        """These settings, or a ValueError saying in words what is wrong."""
        get_variant(self.variant)
        if self.classifier not in CLASSIFIERS:
            raise ValueError(f"unknown classifier {self.classifier!r}; choose from "
                             f"{', '.join(CLASSIFIERS)}")
        smallest = max(s.min_input for s in STEMS.values())
        for name, value, low, high in (("batch", self.batch, 1, MAX_BATCH),
                                       ("size", self.size, smallest, MAX_SIZE),
                                       ("repeats", self.repeats, 1, MAX_REPEATS)):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                why = (f" (the strided stem needs at least {smallest}×{smallest} px)"
                       if name == "size" else "")
                raise ValueError(f"{name} must be a whole number from {low} to {high}{why}, "
                                 f"got {value!r}")
        return self

    @property
    def steps_per_stem(self) -> int:
        """Progress steps of one stem: building, then a warm-up and the repeats per phase."""
        return 1 + (1 + self.repeats) * (2 if self.train else 1)


@dataclass(frozen=True)
class StemMeasurement:
    """One stem design's figures: counted (per batch) and measured (medians over repeats).

    `forward_peak_source` and `train_peak_source` say where each peak figure comes from: a key
    of `SOURCES`, "allocator" or "rss".
    """

    stem: str
    params: int
    activation_values: int
    forward_ms: float
    forward_ms_range: tuple[float, float]
    forward_peak_mb: float
    forward_peak_source: str
    train_ms: float | None = None
    train_ms_range: tuple[float, float] | None = None
    train_peak_mb: float | None = None
    train_peak_source: str | None = None
    rss_rise_mb: float = 0.0
    built_mb: float = 0.0

    @property
    def activation_mb(self) -> float:
        """The counted activations of the batch in float32, MB (see vggviz.plan.accounting)."""
        return self.activation_values * BYTES_PER_VALUE / 1e6


@dataclass(frozen=True)
class Measurement:
    """Every stem measured with the same settings, and what the memory figures are."""

    settings: Settings
    stems: tuple[StemMeasurement, ...]
    memory_source: str
    machine: str

    def to_dict(self) -> dict:
        return {"settings": asdict(self.settings), "memory_source": self.memory_source,
                "machine": self.machine, "stems": [asdict(s) for s in self.stems],
                "accuracy": ACCURACY_NOTE}


def machine() -> str:
    """This machine in a few words: CPU model, cores, TensorFlow on CPU."""
    model = ""
    try:
        found = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        model = f"{found.group(1).strip()}, " if found else ""
    except OSError:
        pass
    return f"{model}{os.cpu_count()} cores, CPU only"


def _worker_env() -> dict[str, str]:
    """The worker imports this very package, wherever it was imported from."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def _measure_stem(settings: Settings, stem: str, step: Callable[[], None],
                  cancel: threading.Event | None) -> dict:
    """Run the worker for one stem; `step()` once per progress step; its result as a dict."""
    request = json.dumps(asdict(settings) | {"stem": stem})
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen([sys.executable, "-m", "vggviz.network.measure", request],
                                   stdout=subprocess.PIPE, stderr=errors, text=True,
                                   env=_worker_env())
        result = None
        try:
            for line in process.stdout:
                if cancel is not None and cancel.is_set():
                    process.kill()
                    raise MeasureError("cancelled")
                message = json.loads(line)
                if "result" in message:
                    result = message["result"]
                else:
                    step()
        finally:
            process.stdout.close()
            process.wait()
        if result is None or process.returncode:
            raise worker_failed(process, errors, f"measuring the {stem} stem")
    return result


def worker_failed(process: subprocess.Popen, errors, what: str) -> MeasureError:
    """The error of a worker process that ended without its answer: `what` failed, its exit
    code and the last line it wrote to `errors` (a file it shared its stderr with)."""
    errors.seek(0)
    said = [line for line in errors.read().splitlines() if line.strip()]
    return MeasureError(f"{what} failed (exit code {process.returncode}): "
                        f"{said[-1] if said else 'no message'}")


def measure_stems(settings: Settings, *, progress: Callable[[int, int, str], None] | None = None,
                  cancel: threading.Event | None = None) -> Measurement:
    """Time the whole model with each stem design, each in a fresh process.

    `progress(done, total, what)` is called after each step; setting `cancel` stops at the
    next step with a MeasureError("cancelled").
    """
    settings.check()
    total, done = len(STEMS) * settings.steps_per_stem, 0
    rows, sources, notes = [], set(), set()
    for stem in STEMS:
        def step(stem: str = stem) -> None:
            nonlocal done
            done += 1
            if progress is not None:
                progress(done, total, f"{stem} stem")

        raw = _measure_stem(settings, stem, step, cancel)
        notes.update(raw.pop("allocator_notes"))
        sources.update(raw[f"{name}_peak_source"] for name in ("forward", "train")
                       if f"{name}_peak_source" in raw)
        counted = summarize(settings.variant, stem=stem, classifier=settings.classifier,
                            input_shape=(settings.size, settings.size, 3))
        rows.append(StemMeasurement(stem=stem, params=counted.total_params,
                                    activation_values=counted.activation_values * settings.batch,
                                    **raw))
    return Measurement(settings, tuple(rows), memory_source(sources, notes), machine())


def memory_source(sources: set[str], notes: set[str]) -> str:
    """What the peak figures are, for the sources used, and why RSS stood in for the allocator
    where it did (`notes`: what TensorFlow said)."""
    said = [f"{name if name == 'allocator' else 'RSS'} = {SOURCES[name]}"
            for name in SOURCES if name in sources]
    why = f" (RSS because {'; '.join(sorted(notes))})" if notes and "rss" in sources else ""
    return "; ".join(said) + why


# --------------------------------------------------------------------------- the worker


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MB, from /proc/self/status."""
    status = Path("/proc/self/status").read_text()
    current, peak = (int(re.search(rf"{key}:\s+(\d+)", status).group(1))
                     for key in ("VmRSS", "VmHWM"))
    return current * 1024 / 1e6, peak * 1024 / 1e6


def _reset_peak() -> None:
    """Set the process's peak RSS back to its current RSS (Linux ≥ 4.0)."""
    Path("/proc/self/clear_refs").write_text("5")


def _allocator_held(tf) -> tuple[int | None, str | None]:
    """Reset TensorFlow's CPU peak and read what its allocator holds now, in bytes; (None, what
    TensorFlow said) where it keeps no statistics for the CPU."""
    try:
        tf.config.experimental.reset_memory_stats("CPU:0")
        return tf.config.experimental.get_memory_info("CPU:0")["current"], None
    except ValueError as exc:
        return None, f"TensorFlow keeps no allocator statistics for the CPU here ({exc})"


def peak_memory(tf, built_mb: float) -> Callable[[], dict]:
    """Start watching peak memory from now (TensorFlow's allocator peak and the process's peak
    RSS both reset); the function returned reads it: {"mb": the allocator's peak above what it
    held now, or where it keeps none or reads 0, the rise of peak RSS above `built_mb`;
    "source": "allocator" or "rss"; "rss_rise_mb"; "note": why RSS stood in, or None}."""
    held, note = _allocator_held(tf)
    _reset_peak()

    def read() -> dict:
        peak = 0 if held is None else tf.config.experimental.get_memory_info("CPU:0")["peak"]
        rss_rise = rss_mb()[1] - built_mb
        if peak > 0:
            return {"mb": (peak - held) / 1e6, "source": "allocator", "rss_rise_mb": rss_rise,
                    "note": None}
        return {"mb": rss_rise, "source": "rss", "rss_rise_mb": rss_rise,
                "note": note or "TensorFlow's allocator statistics read 0 here"}

    return read


def _say(message: dict) -> None:
    print(json.dumps(message), flush=True)


def _timed(run: Callable[[], None], repeats: int) -> tuple[float, tuple[float, float]]:
    """One warm-up run (not timed), then `repeats` timed runs: the median and range in ms."""
    run()
    _say({"step": "warm-up"})
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        times.append((time.perf_counter() - t0) * 1e3)
        _say({"step": "repeat"})
    return statistics.median(times), (min(times), max(times))


def _work(request: dict) -> dict:
    """In a fresh process: build the model, then time forward passes and SGD steps."""
    import keras
    import numpy as np
    import tensorflow as tf

    from vggviz.network.models import build_vgg

    stem = request.pop("stem")
    settings = Settings(**request)
    keras.utils.set_random_seed(0)
    model = build_vgg(settings.variant, stem=stem, seed=0, classifier=settings.classifier,
                      input_shape=(settings.size, settings.size, 3))
    rng = np.random.default_rng(0)
    x = tf.constant(rng.uniform(-120, 150, (settings.batch, settings.size, settings.size, 3)),
                    dtype="float32")
    y = tf.one_hot(rng.integers(0, 1000, settings.batch), 1000)
    # Keras' own predict and train steps, both as plain graphs: no XLA, whose "auto" would
    # compile the training step alone and so compare two different engines.
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1e-3),
                  loss="categorical_crossentropy", jit_compile=False)
    built_mb, _ = rss_mb()
    _say({"step": "built"})
    out: dict = {"built_mb": built_mb, "allocator_notes": []}

    def phase(name: str, run: Callable[[], None]) -> None:
        """Time `run`; its peak memory above the built model, from the allocator or RSS."""
        read_peak = peak_memory(tf, built_mb)
        out[f"{name}_ms"], out[f"{name}_ms_range"] = _timed(run, settings.repeats)
        peak = read_peak()
        out["rss_rise_mb"] = max(out.get("rss_rise_mb", 0.0), peak["rss_rise_mb"])
        out[f"{name}_peak_mb"], out[f"{name}_peak_source"] = peak["mb"], peak["source"]
        if peak["note"]:
            out["allocator_notes"].append(peak["note"])

    phase("forward", lambda: model.predict_on_batch(x))
    if settings.train:
        phase("train", lambda: model.train_on_batch(x, y))
    return out


if __name__ == "__main__":
    _say({"result": _work(json.loads(sys.argv[1]))})
