"""Watch it learn: train a small VGG here and see its stem's 64 kernels form, one held-out
image's stem maps change, and loss and accuracy per epoch, one line per stem; then replay the
recorded steps with a slider. Training runs in a background thread (progress bar, time left,
Cancel) so the page keeps answering; a run already in the cache (a teacher's) replays at once,
with numpy alone."""

from __future__ import annotations

import html
import threading
import time
from dataclasses import replace

import ipywidgets as w
import numpy as np

from vggviz.plan.architecture import STEMS, VARIANTS
from vggviz.plan.training import DATA, TrainSettings, for_comparison
from vggviz.sources.runs import Run, RunDamaged, Snapshot, cannot_keep, list_runs, read_run
from vggviz.sources.shapes import shapes
from vggviz.ui.panels.learning_view import LearningView
from vggviz.ui.parts.controls import LABEL_WIDTH, StatusLine
from vggviz.ui.parts.kernel_watch import Dashboard
from vggviz.ui.parts.legibility import live

DATA_TITLES = {"shapes": "Built-in shapes (no download)"}
"""How the data list names each data set the training code supports (`plan.training.DATA`)."""

WIDTHS = {  # the learner's filters per group (the stem keeps its 64)
    "narrow": (16, 16, 32, 64, 64),
    "default": TrainSettings.widths,
    "wide": (64, 64, 128, 256, 256),
}
TRAINABLE_STEMS = ("vgg", "pooled")
MIN_IMAGES = 64  # one batch at least
UPDATE_EVERY = 0.25  # s between progress messages to the page


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def run_label(run: Run) -> str:
    """A run in the list: when, what, how far and how well."""
    s = run.settings
    accuracy = run.held_out_accuracy()
    reached = "no epoch done" if accuracy is None else f"held-out {accuracy:.0%}"
    return (f"{run.name[:15]} · {s.get('variant')} {s.get('stem')} stem · "
            f"{len(run.epochs)} epoch{'s' * (len(run.epochs) != 1)} · {reached}"
            + (" · cancelled" if run.status == "cancelled" else ""))


class WatchItLearn:
    """Widget app: choose, train (in a thread) and watch; replay any recorded run."""

    def __init__(self, base: TrainSettings | None = None):
        """`base` gives what the controls do not (image counts, batch, size, seed); the
        default run's settings if None."""
        self.base = base or TrainSettings()
        label = {"description_width": LABEL_WIDTH}
        self.status = StatusLine()
        self.data = w.Dropdown(options=[(DATA_TITLES.get(d, d), d) for d in DATA],
                               value=self.base.data, description="Data", style=label,
                               layout=w.Layout(width="320px"))
        self.variant = w.Dropdown(options=[(v.title, k) for k, v in VARIANTS.items()],
                                  value=self.base.variant, description="Variant", style=label,
                                  layout=w.Layout(width="250px"))
        self.width = w.ToggleButtons(
            options=[(name, name) for name in WIDTHS], value="default", description="Learner",
            style=label | {"button_width": "72px"},
            tooltips=[f"groups of {', '.join(map(str, v))} filters" for v in WIDTHS.values()])
        self.stems = {k: w.Checkbox(value=k == self.base.stem, description=STEMS[k].title,
                                    indent=False, layout=w.Layout(width="130px"))
                      for k in TRAINABLE_STEMS}
        self.size_note = w.HTML()
        for box in self.stems.values():
            box.observe(lambda _: self._say_size(), "value")
        self._say_size()
        self.epochs = w.BoundedIntText(value=self.base.epochs, min=1, max=200,
                                       description="Epochs", style=label,
                                       layout=w.Layout(width="170px"))
        self.images = w.BoundedIntText(value=self.base.train_images, min=MIN_IMAGES,
                                       max=100_000, step=1000, description="Images",
                                       style=label, layout=w.Layout(width="170px"),
                                       tooltip="training images (held-out ones: a sixth as "
                                               f"many, up to {self.base.test_images})")
        self.train_button = w.Button(description="Train", icon="play", button_style="primary",
                                     layout=w.Layout(width="110px"))
        self.train_button.on_click(lambda _: self.train())
        self.cancel_button = w.Button(description="Cancel", icon="times",
                                      layout=w.Layout(width="90px", display="none"))
        self.cancel_button.on_click(lambda _: self.cancel())
        self.bar = w.IntProgress(value=0, min=0, max=1, tooltip="training progress",
                                 layout=w.Layout(width="220px", display="none"))
        self.progress_text = live(w.HTML())
        self.runs = w.Dropdown(description="Replay run", style={"description_width": "90px"},
                               layout=w.Layout(width="600px"))
        self.damaged = w.HTML()
        self.slider = w.IntSlider(value=0, min=0, max=0, description="Step",
                                  style=label, continuous_update=True, readout=False,
                                  layout=w.Layout(width="420px"))
        self.slider_text = live(w.HTML())
        self.view = LearningView()
        self._lock = threading.RLock()
        self._cancel: threading.Event | None = None
        self._thread: threading.Thread | None = None
        self._run: Run | None = None  # the run the slider replays
        self._live: dict[str, list[dict]] = {}  # stem → epochs of the runs being trained
        self._session: dict[str, Run] = {}  # stem → run trained together, last Train
        self._start: Snapshot | None = None
        self._start_stem: str | None = None  # the stem whose start `_start` is
        self._probe: tuple = (None, None)  # (settings' key, the probe image being trained on)
        self._listing = False
        self.runs.observe(self._on_run, "value")
        self.slider.observe(lambda _: self._replay(), "value")
        stems = w.HBox([w.Label("Stems", layout=w.Layout(width=LABEL_WIDTH)),
                        *self.stems.values()])
        controls = w.VBox([self.data, self.variant, self.width, stems, self.size_note,
                           w.HBox([self.epochs, self.images]),
                           w.HBox([self.train_button, self.cancel_button, self.bar,
                                   self.progress_text],
                                  layout=w.Layout(align_items="center", grid_gap="0 8px"))],
                          layout=w.Layout(align_items="flex-start"))
        replay = w.VBox([self.runs, self.damaged,
                         w.HBox([self.slider, self.slider_text],
                                layout=w.Layout(align_items="center")),
                         self.view.chart],
                        layout=w.Layout(align_items="flex-start", margin="0 0 0 24px"))
        self.widget = Dashboard([
            w.HBox([controls, replay], layout=w.Layout(align_items="flex-start",
                                                       flex_flow="row wrap")),
            self.status.widget, self.view.widget,
        ], layout=w.Layout(align_items="flex-start"))
        self.widget.add_class("vggviz-watch-it-learn")
        self.list_runs()

    # ------------------------------------------------------------------ settings

    def settings(self) -> list[TrainSettings]:
        """One run's settings per chosen stem, as the controls say (checked)."""
        chosen = [k for k, box in self.stems.items() if box.value]
        if not chosen:
            raise ValueError("choose at least one stem to train")
        images = self.images.value
        held_out = min(self.base.test_images, max(MIN_IMAGES // 2, images // 6))
        base = replace(self.base, data=self.data.value, variant=self.variant.value,
                       widths=WIDTHS[self.width.value], size=self.size(),
                       epochs=self.epochs.value, train_images=images, test_images=held_out)
        if len(chosen) > 1:  # stems compared: the comparison's stabiliser, the same for each
            base = for_comparison(base)
        return [replace(base, stem=stem).check() for stem in chosen]

    def size(self) -> int:
        """The images' side: the base size, or the least every chosen stem takes (stems are
        compared on the same images)."""
        return max([self.base.size, *(STEMS[k].min_input for k, box in self.stems.items()
                                      if box.value)])

    def _say_size(self) -> None:
        size = self.size()
        why = "" if size == self.base.size else (
            f" (the {STEMS['pooled'].title} needs at least {STEMS['pooled'].min_input} px; "
            f"every chosen stem trains on the same images)")
        self.size_note.value = f"<small>{size}×{size} px images{html.escape(why)}</small>"

    # ------------------------------------------------------------------ runs in the cache

    def list_runs(self, choose: Run | None = None) -> None:
        """List the runs in the cache (a damaged one named apart) and replay `choose`, or the
        newest when none is shown yet."""
        runs, damaged = list_runs()
        self.damaged.value = "".join(
            f"<div><small class='vggviz-error' style='color:#b00020'>⚠ {html.escape(d)}"
            f"</small></div>" for d in damaged)
        options = [(run_label(r), str(r.path)) for r in runs]
        self._listing = True
        try:
            self.runs.options = options or [("no run yet: Train makes one", None)]
            self.runs.value = None
        finally:
            self._listing = False
        self.runs.disabled = not options
        target = choose or (runs[0] if runs and self._run is None else self._run)
        if target is not None and str(target.path) in dict(options).values():
            self.runs.value = str(target.path)  # replays it

    def _on_run(self, change) -> None:
        if self._listing or change["new"] is None:
            return
        try:
            run = read_run(change["new"])
        except RunDamaged as exc:
            self.status.error(f"{exc}. The last view stays.")
            return
        self.open_run(run)

    def open_run(self, run: Run) -> None:
        """Replay `run`: its last step shown, the slider over its snapshots, its curves (with
        the other stems trained beside it)."""
        with self._lock:
            t0 = time.perf_counter()
            self._run = run
            self._start = run.snapshot(0)
            together = list(self._session.values())
            self.view.show_curves({r.settings["stem"]: r.epochs
                                   for r in (together if run in together else [run])})
            self.slider.max = len(run) - 1
            self.slider.disabled = len(run) < 2
            if self.slider.value != len(run) - 1:
                self.slider.value = len(run) - 1  # draws it
            else:
                self._replay()
            ms = (time.perf_counter() - t0) * 1e3
            self.status.show(f"{run.name}: {len(run)} snapshots, {run.status}, opened in "
                             f"{ms:.0f} ms")

    def _replay(self) -> None:
        """Draw the slider's snapshot of the run being replayed."""
        with self._lock:
            run = self._run
            if run is None or self._thread is not None:
                return
            index = min(self.slider.value, len(run) - 1)
            now = run.snapshot(index)
            steps = int(run.arrays["steps"][-1])
            self.slider_text.value = html.escape(
                f"step {now.step} of {steps} (snapshot {index + 1} of {len(run)})")
            self.view.show(now, self._start, run.settings["stem"], run.arrays["probe_image"],
                           self._probe_name(run.manifest), steps)

    @staticmethod
    def _probe_name(manifest: dict) -> str:
        probe = manifest.get("probe") or {}
        names = manifest.get("class_names") or []
        label = probe.get("label")
        what = names[label] if isinstance(label, int) and 0 <= label < len(names) else None
        return f"a held-out image of {what}" if what else "a held-out image"

    # ------------------------------------------------------------------ training

    def train(self) -> None:
        """Train the chosen stems one after the other in a background thread."""
        with self._lock:
            if self._thread is not None:
                return
            try:
                runs = self.settings()
            except ValueError as exc:
                self.status.error(f"{exc}.")
                return
            problem = cannot_keep()
            if problem:
                self.status.error(problem)
                return
            self._cancel = threading.Event()
            self._live = {s.stem: [] for s in runs}
            self._session = {}
            self.view.show_curves(self._live)
            self._busy(True)
            self.status.show(f"training {len(runs)} run{'s' * (len(runs) > 1)}: importing "
                             f"TensorFlow…")
            self._thread = threading.Thread(target=self._train_all, args=(runs, self._cancel),
                                            daemon=True, name="vggviz-watch-train")
            self._thread.start()

    def cancel(self) -> None:
        """Stop training after the current step; what was done is kept as a run."""
        if self._cancel is not None:
            self._cancel.set()
            self.progress_text.value = "cancelling after this step…"

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the training thread to end (for tests); whether it has."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self._thread is None

    def _busy(self, busy: bool) -> None:
        for control in (self.data, self.variant, self.width, self.epochs, self.images,
                        self.train_button,
                        self.runs, self.slider, *self.stems.values()):
            control.disabled = busy
        self.cancel_button.layout.display = None if busy else "none"
        self.bar.layout.display = None if busy else "none"
        if busy:
            self.bar.value = 0

    def _train_all(self, runs: list[TrainSettings], cancel: threading.Event) -> None:
        started, shown = time.monotonic(), [0.0]
        total = sum(s.epochs * s.steps_per_epoch for s in runs)
        error, last = None, None
        try:
            import keras

            from vggviz.network.training import hardware, hardware_words, train
            where = hardware()
            done_before = 0
            for number, settings in enumerate(runs, 1):
                if cancel.is_set():
                    break
                stem, title = settings.stem, STEMS[settings.stem].title
                what = f"{title} ({number} of {len(runs)})" if len(runs) > 1 else title
                what += f" {hardware_words(where)}"

                def progress(done: int, _all: int, note: str, what=what, before=done_before):
                    now = time.monotonic()
                    if now - shown[0] < UPDATE_EVERY and before + done < total:
                        return
                    shown[0] = now
                    self._progress(before + done, total, now - started, what, note)

                def epoch_end(epoch: int, logs: dict, stem=stem) -> None:
                    with self._lock:
                        self._live[stem].append({"epoch": epoch + 1, **{
                            k: float(v) for k, v in (logs or {}).items()}})
                        self.view.show_curves(self._live)

                trained = train(settings, cancel=cancel, progress=progress, where=where,
                                on_snapshot=lambda s, st=settings: self._live_snapshot(s, st),
                                callbacks=[keras.callbacks.LambdaCallback(
                                    on_epoch_end=epoch_end)])
                done_before += settings.epochs * settings.steps_per_epoch
                self._session[stem] = last = trained.run
        except Exception as exc:  # noqa: BLE001  (in a thread: a traceback would reach the page)
            error = f"training failed ({type(exc).__name__}: {exc})"
        with self._lock:
            self._thread = None
            self._busy(False)
            seconds = time.monotonic() - started
            if error:
                self.status.error(error + ". What was finished is kept.")
            else:
                word = "cancelled: what was done is kept" if cancel.is_set() else "finished"
                accuracy = last.held_out_accuracy() if last is not None else None
                self.progress_text.value = html.escape(
                    f"{word} in {_duration(seconds)}"
                    + (f"; held-out accuracy {accuracy:.1%}" if accuracy is not None else ""))
            self.list_runs(choose=last)

    def _progress(self, done: int, total: int, spent: float, what: str, note: str) -> None:
        self.bar.max, self.bar.value = max(total, 1), min(done, total)
        left = spent * (total - done) / done if done and spent > 1 else None
        self.progress_text.value = html.escape(
            f"training the {what}: {done * 100 // max(total, 1)} %"
            + (f", about {_duration(left)} left" if left is not None and done < total else "")
            + (f"; {note}" if note else ""))

    def _live_snapshot(self, snapshot: Snapshot, settings: TrainSettings) -> None:
        """Draw a snapshot as training records it (in the training thread)."""
        with self._lock:
            if snapshot.step == 0 or self._start is None or \
                    self._start_stem != settings.stem:
                self._start, self._start_stem = snapshot, settings.stem
            self.status.show(f"training: step {snapshot.step} of "
                             f"{settings.epochs * settings.steps_per_epoch} recorded")
            self.view.show(snapshot, self._start, settings.stem, self._probe_image(settings),
                           "a held-out image", settings.epochs * settings.steps_per_epoch)

    def _probe_image(self, settings: TrainSettings) -> np.ndarray:
        """The probe image of a run being trained (its first held-out image), drawn once."""
        from vggviz.network.training import HELD_OUT_SEED

        key = (settings.size, settings.seed, settings.test_images)
        if self._probe[0] != key:
            self._probe = (key, shapes(settings.test_images, settings.size,
                                       seed=settings.seed + HELD_OUT_SEED).images[0])
        return self._probe[1]


def watch_it_learn(base: TrainSettings | None = None) -> w.Widget:
    """The "Watch it learn" dashboard as a widget (the app object is at `.app`)."""
    app = WatchItLearn(base)
    app.widget.app = app
    return app.widget
