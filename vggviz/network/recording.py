"""A Keras callback that records a training run as `model.fit` goes, and stops it on request.

It keeps what a run holds (`vggviz.sources.runs`): each epoch's loss and accuracy on the training
and held-out data, the wall time of each epoch and of each step, and, at log-spaced steps from
step 0 (before any update), the stem's kernels and one probe image's stem maps. It reads no
metric tensor itself and snapshots only a few dozen times, so fit runs nearly as fast as without it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import keras
import numpy as np

from vggviz.sources.runs import Snapshot

ProgressFn = Callable[[int, int, str], None]
"""progress(steps done, steps in all, what the latest epoch reached in words)."""

SnapshotFn = Callable[[Snapshot], None]
"""on_snapshot(what was just recorded): a dashboard draws it while the run goes on."""


def snapshot_steps(total: int, count: int) -> np.ndarray:
    """About `count` steps from 0 to `total`, log-spaced (dense early, when kernels change
    fastest): 0, 1, 2, 3, 5, 8, …, total."""
    if total < 1:
        return np.array([0], np.int64)
    if count < 3:
        return np.array([0, total], np.int64)
    spaced = np.round(np.geomspace(1, total, count - 1)).astype(np.int64)
    return np.unique(np.concatenate([[0], spaced]))


class RunRecorder(keras.callbacks.Callback):
    """Records a run (see the module); `cancel`, when set, stops fit after the current step,
    keeping what was done; `progress` hears of every step, `on_snapshot` of every snapshot."""

    def __init__(self, probe: np.ndarray, probe_batch: np.ndarray, *, kernel_layer: str,
                 maps_layer: str, total_steps: int, snapshots: int = 32,
                 cancel: threading.Event | None = None, progress: ProgressFn | None = None,
                 on_snapshot: SnapshotFn | None = None):
        super().__init__()
        self.probe, self._probe_batch = probe, probe_batch
        self._kernel_layer, self._maps_layer = kernel_layer, maps_layer
        self.total_steps = int(total_steps)
        self._at = set(snapshot_steps(self.total_steps, snapshots).tolist())
        self._cancel, self._progress, self._on_snapshot = cancel, progress, on_snapshot
        self.step = 0
        self.cancelled = False
        self.recording_seconds = 0.0  # spent in this callback's per-step work and snapshots
        self.epochs: list[dict] = []
        self.step_seconds: list[float] = []
        self._steps: list[int] = []
        self._kernels: list[np.ndarray] = []
        self._biases: list[np.ndarray] = []
        self._maps: list[np.ndarray] = []
        self._stem_model: keras.Model | None = None
        self._note = ""

    def on_train_begin(self, logs: dict | None = None) -> None:
        start = time.perf_counter()
        self._stem_model = keras.Model(self.model.input,
                                       self.model.get_layer(self._maps_layer).output)
        if not self._steps:
            self._snapshot()
        self.recording_seconds += time.perf_counter() - start

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch_start = time.perf_counter()
        self._epoch_first_step = self.step

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._step_start = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        now = time.perf_counter()
        self.step_seconds.append(now - self._step_start)
        self.step += 1
        if self.step in self._at:
            self._snapshot()
        if self._progress is not None:
            self._progress(self.step, self.total_steps, self._note)
        if self._cancel is not None and self._cancel.is_set():
            self.cancelled = True
            self.model.stop_training = True
        self.recording_seconds += time.perf_counter() - now

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        steps = self.step - self._epoch_first_step
        self.epochs.append({
            "epoch": epoch + 1, "steps": steps,
            "complete": steps == self.params.get("steps") or not self.cancelled,
            "seconds": time.perf_counter() - self._epoch_start,
            "train_seconds": float(sum(self.step_seconds[self._epoch_first_step:])),
            **{key: float(logs[key]) for key in ("loss", "accuracy", "val_loss", "val_accuracy")
               if key in logs}})
        if "val_accuracy" in logs:
            self._note = f"epoch {epoch + 1}: held-out accuracy {float(logs['val_accuracy']):.1%}"
            if self._progress is not None:
                self._progress(self.step, self.total_steps, self._note)

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._steps[-1] != self.step:  # the last state is always kept (a cancel's too)
            self._snapshot()

    def _snapshot(self) -> None:
        kernels, biases = self.model.get_layer(self._kernel_layer).get_weights()[:2]
        maps = self._stem_model(self._probe_batch, training=False)
        self._steps.append(self.step)
        self._kernels.append(np.asarray(kernels, np.float32))
        self._biases.append(np.asarray(biases, np.float32))
        self._maps.append(np.asarray(maps)[0].astype(np.float16))
        if self._on_snapshot is not None:
            self._on_snapshot(Snapshot(self.step, self._kernels[-1], self._biases[-1],
                                       self._maps[-1]))

    def arrays(self) -> dict[str, np.ndarray]:
        """What was recorded, as `vggviz.sources.runs` stores it."""
        return {"steps": np.asarray(self._steps, np.int64), "kernels": np.stack(self._kernels),
                "biases": np.stack(self._biases), "probe_maps": np.stack(self._maps),
                "probe_image": np.asarray(self.probe, np.uint8),
                "step_seconds": np.asarray(self.step_seconds, np.float32)}
