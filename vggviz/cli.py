"""The `vggviz` command line: summaries of the variants, stem maps and activations of images."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import sys
import threading
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from functools import wraps
from pathlib import Path

from vggviz.plan.accounting import Summary, summarize, summarize_all
from vggviz.plan.architecture import CLASSIFIERS, STAGES, STEMS, VARIANTS
from vggviz.plan.lessons import LESSONS
from vggviz.plan.training import COMPARISON, DATA, SCHEDULES, TrainSettings, for_comparison


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the problem (exit code 2)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


class CommandError(Exception):
    """A bad input the user can fix: printed as one line, exit code 1."""


def _print_summary(s: Summary) -> None:
    from vggviz.plan import formatting as fmt

    h, w, c = s.input_shape
    print(f"{VARIANTS[s.variant].title} · {STEMS[s.stem].title} · input {h}×{w}×{c}"
          f"{(' · ' + s.classifier + ' classifier') if s.include_top else ' · no top'}")
    print(fmt.text_table(*fmt.layer_table(s)))
    print()
    print(fmt.text_table(*fmt.component_table(s)))
    print(f"values entering the learner: {s.values_entering_learner:,} "
          f"({fmt.megabytes(s.values_entering_learner)})")


def cmd_summary(args: argparse.Namespace) -> None:
    n = args.input_size
    s = summarize(args.variant, stem=args.stem, input_shape=(n, n, 3),
                  include_top=not args.no_top, classifier=args.classifier)
    if args.json:
        print(json.dumps(s.to_dict(), indent=2))
    else:
        _print_summary(s)


def cmd_variants(args: argparse.Namespace) -> None:
    from vggviz.plan import formatting as fmt

    n = args.input_size
    print(f"Every variant, {STEMS[args.stem].title}, input {n}×{n}×3, {args.classifier} "
          f"classifier; parameters per component; memory in float32, batch 1")
    summaries = summarize_all(stem=args.stem, input_shape=(n, n, 3), classifier=args.classifier)
    print(fmt.text_table(*fmt.variants_table(summaries, names=True)))


def _extractor(args: argparse.Namespace):
    """A FeatureExtractor for the command's options; "auto" weights say what they fell back to
    (as a note here, not also as the API's warning), trained weights in a stem they were not
    trained with say so."""
    from vggviz.network.features import FeatureExtractor
    from vggviz.sources.weights import RandomWeightsWarning, foreign_stem_note

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RandomWeightsWarning)
        fx = FeatureExtractor(args.variant, weights=args.weights, stem=args.stem, seed=args.seed)
    for note in (fx.notice, foreign_stem_note(fx.weights, fx.variant, fx.stem)):
        if note:
            print(f"vggviz: note: {note}", file=sys.stderr)
    return fx


_NATIVE_LOG = re.compile(r"([IWEF])\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.]+:\d+\] ")
"""The head of a line of absl's C++ logging: severity letter, date, time, thread, file:line."""
_ABSL_PREAMBLE = "WARNING: All log messages before absl::InitializeLog() is called are written"
_NATIVE_START = re.compile(_NATIVE_LOG.pattern.encode() + b"|"
                           + re.escape(_ABSL_PREAMBLE.encode()))
_NATIVE_PREFIX = re.compile(rb"[IWEF](\d{0,4}|\d{4} [\d:.]*|\d{4} \d\d:\d\d:\d+\.\d+ +\d*"
                            rb"|\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.]*(:\d*\]?)?)")
"""What the first bytes of a native line's head may look like while the rest has not come."""
SEVERITIES = "IWEF"
"""absl's severities in TF_CPP_MIN_LOG_LEVEL's order: 0 info, 1 warning, 2 error, 3 fatal."""


def native_line_shown(line: str, min_level: int) -> bool:
    """Whether a line TensorFlow's C++ side wrote to stderr passes TF_CPP_MIN_LOG_LEVEL: its
    absl lines (oneDNN, CUDA stubs) are written before TensorFlow reads that variable."""
    if line.startswith(_ABSL_PREAMBLE):
        return min_level < 2  # a warning about info lines to come
    found = _NATIVE_LOG.match(line)
    return found is None or SEVERITIES.index(found.group(1)) >= min_level


class NativeLogFilter:
    """Drops, from a stream of stderr bytes, absl's lines below TF_CPP_MIN_LOG_LEVEL wherever
    they start (a progress bar's line has no end when TensorFlow's import writes into it);
    everything else passes in order, held back only while it may be the head of such a line."""

    def __init__(self, min_level: int):
        self.min_level = min_level
        self._held = b""

    def feed(self, data: bytes) -> bytes:
        """The bytes of `data` (after any held back) that may be shown now."""
        held, shown = self._held + data, bytearray()
        while found := _NATIVE_START.search(held):
            end = held.find(b"\n", found.start())
            shown += held[:found.start()]
            if end < 0:  # the line has not ended yet
                self._held = held[found.start():]
                return bytes(shown)
            line = held[found.start():end + 1]
            if native_line_shown(line.decode("utf-8", "replace"), self.min_level):
                shown += line
            held = held[end + 1:]
        cut = next((i for i in range(max(0, len(held) - 80), len(held))
                    if _ABSL_PREAMBLE.encode().startswith(held[i:])
                    or _NATIVE_PREFIX.fullmatch(held[i:])), len(held))
        self._held = held[cut:]
        return bytes(shown + held[:cut])

    def close(self) -> bytes:
        """What is held back when the stream ends."""
        held, self._held = self._held, b""
        return held if native_line_shown(held.decode("utf-8", "replace"), self.min_level) else b""


@contextlib.contextmanager
def native_stderr_filtered() -> Iterator[None]:
    """Pass what is written to file descriptor 2 through a NativeLogFilter, in order: Python's
    own lines (errors, notes, progress bars) go on as they are.

    TensorFlow's import writes its oneDNN and CUDA lines twice (two of its libraries each log
    before absl is initialised), whatever TF_CPP_MIN_LOG_LEVEL says; no variable turns them off.
    """
    try:
        level = int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0"))
        terminal = os.dup(2)
    except (ValueError, OSError):
        yield  # no stderr to filter, or a level that is not a number: nothing is hidden
        return
    read, write = os.pipe()
    sys.stderr.flush()
    os.dup2(write, 2)
    os.close(write)
    kept = NativeLogFilter(level)

    def forward() -> None:
        with open(read, "rb", buffering=0) as stream:
            while data := stream.read(65536):
                os.write(terminal, kept.feed(data))
            os.write(terminal, kept.close())

    reader = threading.Thread(target=forward, name="vggviz-native-stderr", daemon=True)
    reader.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(terminal, 2)  # the pipe's last writer closes: the reader reads to its end
        reader.join(timeout=10)
        os.close(terminal)


def _model_command(fn: Callable[[argparse.Namespace], None]):
    """Run a command that reads images and weights; their errors become one-line CommandErrors,
    and TensorFlow's start-up lines obey TF_CPP_MIN_LOG_LEVEL.

    The imports stay inside, so `vggviz summary` and `vggviz variants` start in a blink.
    """

    @wraps(fn)
    def run(args: argparse.Namespace) -> None:
        from vggviz.sources.imagenet import WeightsUnavailable
        from vggviz.sources.images import ImageError
        from vggviz.sources.runs import RunDamaged
        from vggviz.sources.weight_files import WeightsMismatch

        try:
            with native_stderr_filtered():
                fn(args)
        except (ImageError, WeightsUnavailable, WeightsMismatch, RunDamaged, OSError) as exc:
            raise CommandError(str(exc)) from None

    return run


def _check_images(images: Sequence[str]) -> None:
    """Refuse, before any weights are fetched or models built, inputs that name no readable
    file: all of them if there are several (those that can be read go on)."""
    from vggviz.sources.images import ImageError, check_image_path

    problems = []
    for image in images:
        try:
            check_image_path(image)
        except ImageError as exc:
            problems.append(str(exc))
    if problems and len(problems) == len(images):
        raise CommandError(problems[0] if len(problems) == 1 else
                           f"none of the {len(images)} images can be read: {problems[0]}; …")


def _writable_file(path: str) -> Path:
    """`path` as a file this command may write, checked before any model work."""
    target = Path(path)
    if target.is_dir():
        raise CommandError(f"{path} is a directory; give a file name to write")
    if not target.parent.is_dir():
        raise CommandError(f"cannot write {path}: the folder {target.parent} does not exist")
    if not os.access(target.parent, os.W_OK) or (target.exists()
                                                 and not os.access(target, os.W_OK)):
        raise CommandError(f"cannot write {path}: permission denied")
    return target


def output_names(images: Sequence[str], stage: str) -> dict[str, Path]:
    """Where each image's array goes, relative to the output folder: `photo_stem.npy`, unless
    two inputs share a name (a/photo.jpg, b/photo.jpg, photo.png): then the inputs' folders are
    mirrored and the extension kept (a/photo.jpg_stem.npy), so no array overwrites another."""
    paths = {image: Path(os.path.abspath(image)) for image in images}
    stems = Counter(p.stem for p in set(paths.values()))
    root = Path(os.path.commonpath([p.parent for p in paths.values()])) if paths else Path()
    names = {}
    for image, path in paths.items():
        if stems[path.stem] == 1:
            names[image] = Path(f"{path.stem}_{stage}.npy")
        else:
            names[image] = path.parent.relative_to(root) / f"{path.name}_{stage}.npy"
    return names


@_model_command
def cmd_stem(args: argparse.Namespace) -> None:
    import numpy as np

    from vggviz.render import render_grid

    if not (args.out or args.npy):
        args.out = f"{Path(args.image).stem}_stem.png"
    out = _writable_file(args.out) if args.out else None
    npy = _writable_file(args.npy) if args.npy else None
    _check_images([args.image])
    maps = _extractor(args).activations(args.image, "stem")
    if out:
        out.write_bytes(render_grid(maps, cmap=args.cmap))
        print(f"wrote {out}: the {maps.shape[-1]} stem feature maps")
    if npy:
        with open(npy, "wb") as file:
            np.save(file, maps)
        print(f"wrote {npy}: array {maps.shape} float32")


@_model_command
def cmd_activations(args: argparse.Namespace) -> None:
    import numpy as np
    from tqdm import tqdm

    from vggviz.sources.images import ImageError

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CommandError(f"{out} is a file; --out needs a folder")
    names = output_names(args.images, args.stage)
    _check_images(args.images)
    out.mkdir(parents=True, exist_ok=True)
    fx = _extractor(args)
    failed = replaced = 0
    for image, name in tqdm(names.items(), desc=f"{args.stage} activations", unit="image",
                            file=sys.stderr):
        try:
            maps = fx.activations(image, args.stage)
        except ImageError as exc:
            failed += 1
            tqdm.write(f"vggviz: skipped {image}: {exc}", file=sys.stderr)
            continue
        target = out / name
        replaced += target.exists()
        target.parent.mkdir(parents=True, exist_ok=True)
        np.save(target, maps)
    done = len(names) - failed
    mirrored = [f"{image} → {out / name}" for image, name in names.items()
                if name.name != f"{Path(image).stem}_{args.stage}.npy"]
    print(f"wrote {done} of {len(names)} arrays to {out}/"
          + (f" (replacing {replaced} from an earlier run)" if replaced else "")
          + (f"; same names kept apart by folder: {', '.join(mirrored)}" if mirrored else ""))
    if failed:
        raise CommandError(f"{failed} of {len(names)} images could not be read")


def _answerable(fx, download: bool) -> None:
    """Refuse, in one line, an extractor whose weights give no classifier answer (ImageNet's
    classifier file not downloaded yet is no refusal when the command may download it)."""
    from vggviz.network.predictions import classifier_problem
    from vggviz.sources.classifier_problems import weights_problem

    may_fetch = download and fx.weights == "imagenet"
    problem = weights_problem(fx) if may_fetch else classifier_problem(fx)
    if problem:
        raise CommandError(problem)


@_model_command
def cmd_predict(args: argparse.Namespace) -> None:
    from vggviz.network.predictions import top_classes
    from vggviz.plan.architecture import whole_number
    from vggviz.plan.formatting import probability

    k = whole_number(args.top, "--top", 1)
    _check_images([args.image])
    fx = _extractor(args)
    _answerable(fx, args.download)
    scores = top_classes(fx, args.image, k=k, download=args.download)
    if args.json:
        print(json.dumps([{"index": c.index, "wnid": c.wnid, "name": c.name,
                           "probability": c.probability} for c in scores], indent=2))
        return
    print(f"{VARIANTS[fx.variant].title}: "
          + " · ".join(f"{c.words} {probability(c.probability)}" for c in scores))


@_model_command
def cmd_cam(args: argparse.Namespace) -> None:
    from vggviz.network.class_heat import GradCam
    from vggviz.render.heat import heat_overlay

    out = _writable_file(args.out)
    _check_images([args.image])
    fx = _extractor(args)
    _answerable(fx, args.download)
    heat = GradCam(fx).attribute(args.image, args.stage, args.class_index,
                                 download=args.download)
    pixels, _ = fx.fitted(args.image)
    out.write_bytes(heat_overlay(pixels, heat.heat))
    print(f"wrote {out}: Grad-CAM of class {heat.class_index} ({heat.words})")


def channel_list(text: str) -> list[int]:
    """Maps named as "0-63", "1,5,9" or a mix ("0-3,8"), in the order given."""
    channels = []
    try:
        for part in text.split(","):
            first, _, last = part.strip().partition("-")
            channels += range(int(first), int(last or first) + 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"maps are numbers and ranges such as 0-63 or 1,5,9, "
                                         f"got {text!r}") from None
    if not channels:
        raise argparse.ArgumentTypeError(f"no maps in {text!r}")
    return channels


@_model_command
def cmd_patterns(args: argparse.Namespace) -> None:
    """Compute (or read from the shared cache) the patterns of a stage's maps; write a PNG per
    map and a grid, so a teacher can fill the cache before class."""
    from tqdm import tqdm

    from vggviz.network.patterns import ActivationPatterns, PatternSettings, patterns_caption
    from vggviz.render import encode_png
    from vggviz.render.patterns import render_patterns

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CommandError(f"{out} is a file; --out needs a folder")
    fx = _extractor(args)
    settings = PatternSettings(steps=args.steps)
    with tqdm(total=len(args.channels) * settings.steps, desc=f"{args.stage} patterns",
              unit="map-step", file=sys.stderr) as bar:
        found = ActivationPatterns(fx).attribute_all(
            None, args.stage, args.channels, settings=settings,
            progress=lambda done, total: bar.update(done - bar.n))
    out.mkdir(parents=True, exist_ok=True)
    for p in found:
        (out / f"{args.stage}_{p.channel:03d}.png").write_bytes(encode_png(p.pixels))
    grid = out / f"{args.stage}_patterns.png"
    grid.write_bytes(render_patterns([p.pixels for p in found]))
    cached = sum(p.cached for p in found)
    not_kept = [p.not_kept for p in found if p.not_kept]
    side = found[0].pixels.shape[0]
    print(f"wrote {len(found)} patterns of {side}×{side} px and {grid.name} to {out}/ "
          f"({cached} from the cache, {len(found) - cached} computed"
          f"{', not cached' if not_kept else ' and cached'})")
    if not_kept:
        print(f"not cached: {not_kept[0]}")
    print(patterns_caption(fx, args.stage))


def cmd_fetch_weights(args: argparse.Namespace) -> None:
    """Put Keras' ImageNet weights into its cache, with a progress bar and the md5 checked;
    files already there cost no network call."""
    from vggviz.sources.imagenet import (
        WeightsUnavailable,
        fetch_imagenet,
        imagenet_cached,
        imagenet_path,
    )

    variants = ["vgg16", "vgg19"] if args.variant == "all" else [args.variant]
    wanted = [(v, top) for v in variants for top in ([False, True] if args.top else [False])]
    failures = []
    for variant, top in wanted:
        path = imagenet_path(variant, include_top=top)
        if imagenet_cached(variant, include_top=top):
            print(f"{path.name}: already in Keras' cache ({path})")
            continue
        try:
            fetch_imagenet(variant, include_top=top)
        except WeightsUnavailable as exc:
            failures.append(str(exc))
            continue
        except KeyboardInterrupt:
            raise CommandError(f"interrupted: {path.name} was not kept") from None
        print(f"{path.name}: downloaded to {path} (md5 checked)")
    if failures:
        raise CommandError("\nvggviz: error: ".join(failures))


def cmd_measure_stems(args: argparse.Namespace) -> None:
    """Time the whole model with each stem design on this machine (see vggviz.network.measure)."""
    from tqdm import tqdm

    from vggviz.network.measure import ACCURACY_NOTE, MeasureError, Settings, measure_stems
    from vggviz.plan import formatting as fmt

    settings = Settings(args.variant, args.batch, args.train, args.size, args.repeats,
                        args.classifier).check()
    with tqdm(total=len(STEMS) * settings.steps_per_stem, desc="measuring stems", unit="step",
              file=sys.stderr) as bar:
        def progress(done: int, total: int, what: str) -> None:
            bar.set_postfix_str(what, refresh=False)
            bar.update(done - bar.n)

        try:
            m = measure_stems(settings, progress=progress)
        except MeasureError as exc:
            raise CommandError(str(exc)) from None
    if args.json:
        print(json.dumps(m.to_dict(), indent=2))
        return
    print(f"Measured on this machine: {fmt.measured_settings(m)}")
    print(fmt.text_table(*fmt.measured_table(m)))
    print(f"peak MB: {m.memory_source}.")
    print("params and counted activations: arithmetic on the plan (vggviz summary); the whole "
          "model, so fc1 shrinks with the stem's reduction too.")
    print(ACCURACY_NOTE)


@contextlib.contextmanager
def cancel_on_interrupt(cancel: threading.Event) -> Iterator[None]:
    """While inside, the first Ctrl-C sets `cancel` (training stops after its step and keeps
    what was done); a second one interrupts at once, as Ctrl-C always does."""
    def first(signum, frame) -> None:
        cancel.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    before = signal.signal(signal.SIGINT, first)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


@contextlib.contextmanager
def training_bar(total: int) -> Iterator[tuple[Callable[[int, int, str], None], threading.Event]]:
    """A tqdm bar of `total` training steps on stderr, and the `progress` callback that moves
    it, with the `cancel` event the first Ctrl-C sets while inside (`cancel_on_interrupt`)."""
    from tqdm import tqdm  # imported where used, as the other commands do

    cancel = threading.Event()
    with tqdm(total=total, desc="training", unit="step", file=sys.stderr) as bar, \
            cancel_on_interrupt(cancel):
        def progress(done: int, total: int, note: str) -> None:
            bar.set_postfix_str(note, refresh=False)
            bar.update(done - bar.n)

        yield progress, cancel


def widths_list(text: str) -> tuple[int, ...]:
    """The groups' filters as "32,32,64,128,128"."""
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"widths are five whole numbers such as "
                                         f"32,32,64,128,128, got {text!r}") from None


def stems_list(text: str) -> list[str]:
    """Two or more stem designs to compare, as "vgg,pooled"."""
    stems = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [s for s in stems if s not in STEMS]
    if unknown or len(stems) < 2:
        raise argparse.ArgumentTypeError(f"--stems takes two or more of {', '.join(STEMS)}, "
                                         f"comma-separated, got {text!r}")
    return stems


def epochs_done(epochs: list[dict]) -> str:
    """"12 epochs", or "1 epoch and 11 steps" when the last was cut short by a cancel."""
    whole = sum(1 for e in epochs if e.get("complete", True))
    steps = sum(e["steps"] for e in epochs if not e.get("complete", True))
    return f"{whole} epoch{'' if whole == 1 else 's'}" + (f" and {steps} steps" if steps else "")


def train_settings(args: argparse.Namespace) -> TrainSettings:
    """The training settings `vggviz train`'s options ask for (not yet checked); with --stems,
    the comparison's stabiliser unless an option says otherwise."""
    from dataclasses import replace

    settings = TrainSettings(variant=args.variant, stem=args.stem, size=args.size,
                             widths=args.widths, data=args.data, epochs=args.epochs,
                             batch=args.batch, train_images=args.train_images,
                             test_images=args.test_images, learning_rate=args.lr,
                             seed=args.seed)
    given = {name: value for name, value in (("schedule", args.schedule),
                                             ("warmup_epochs", args.warmup),
                                             ("clip_norm", args.clip_norm)) if value is not None}
    return for_comparison(settings, **given) if args.stems else replace(settings, **given)


def cmd_train(args: argparse.Namespace) -> None:
    """Train a VGG on `--data` with a progress bar; print the held-out accuracy and
    where the run is kept. Ctrl-C stops after the current step and keeps what was done."""
    from dataclasses import replace

    import numpy as np

    from vggviz.by_hand.kernel_structure import kernel_structure
    from vggviz.network.training import hardware, hardware_words, train, training_data
    from vggviz.sources.datasets import DataUnavailable
    from vggviz.sources.runs import cannot_keep

    if args.stems:
        return train_stems(args)
    settings = train_settings(args).check()
    problem = cannot_keep()
    if problem:  # said before any training, not after it
        raise CommandError(problem)
    try:
        data = training_data(settings)
    except (DataUnavailable, ValueError) as exc:
        raise CommandError(str(exc)) from None
    settings = replace(settings, train_images=len(data[0]), test_images=len(data[1]))
    total = settings.epochs * settings.steps_per_epoch
    where = hardware()
    print(f"training {settings.variant}, {settings.stem} stem, {settings.size} px, "
          f"{settings.optimiser_words}, {hardware_words(where)}", file=sys.stderr)
    with training_bar(total) as (progress, cancel):
        trained = train(settings, cancel=cancel, progress=progress, data=data, where=where)
    run = trained.run
    if run.status == "cancelled":
        print(f"cancelled after {trained.recorder.step} of {total} steps; kept what was done")
    start, end = (kernel_structure(run.snapshot(i).kernels) for i in (0, -1))
    accuracy = run.held_out_accuracy()
    print(f"held-out accuracy {accuracy:.1%} on {settings.test_images} images "
          f"({len(run.class_names)} classes, chance {1 / len(run.class_names):.0%}) after "
          f"{epochs_done(run.epochs)}, {sum(e['seconds'] for e in run.epochs):.0f} s")
    print(f"stem kernels, share of energy a plane explains (edge and colour detectors → 1): "
          f"{np.nanmean(start.smooth):.2f} at the start → {np.nanmean(end.smooth):.2f} "
          f"(random weights: {start.smooth_chance:.2f})")
    print(f"run kept in {run.path}")


def train_stems(args: argparse.Namespace) -> None:
    """Train each stem of --stems on the same data, seed, image order and budget (each in a
    fresh process), then print the comparison's table and where its runs are kept."""
    from dataclasses import replace

    from vggviz.network.stem_race import race
    from vggviz.network.training import hardware, hardware_words
    from vggviz.plan.stem_race import format_table
    from vggviz.sources.runs import cannot_keep, comparison_table

    settings = train_settings(args)
    for stem in args.stems:  # every stem refused before any training
        replace(settings, stem=stem).check()
    problem = cannot_keep()
    if problem:
        raise CommandError(problem)
    total = len(args.stems) * settings.epochs * settings.steps_per_epoch
    where = hardware()
    print(f"training the {', '.join(args.stems)} stems one after the other, each "
          f"{settings.optimiser_words}, {hardware_words(where)}", file=sys.stderr)
    with training_bar(total) as (progress, cancel):
        runs = race(settings, args.stems, progress=progress, cancel=cancel, where=where)
    if len(runs) < len(args.stems) or any(run.status != "finished" for run in runs):
        print(f"cancelled; kept the runs done: {', '.join(str(r.path) for r in runs)}")
        return
    print(format_table(comparison_table(runs)))
    for run in runs:
        print(f"{run.settings['stem']} stem's run kept in {run.path}")


def cmd_runs(args: argparse.Namespace) -> None:
    """List the training runs in the cache, newest first; damaged ones apart, with the reason."""
    from vggviz.sources.runs import list_runs, runs_dirs

    runs, damaged = list_runs()
    for problem in damaged:
        print(f"vggviz: {problem}", file=sys.stderr)
    if not runs:
        print(f"no runs in {runs_dirs()[0]} (vggviz train makes one)")
        return
    for run in runs:
        s, accuracy = run.settings, run.held_out_accuracy()
        print(f"{run.name}  {s['variant']} {s['stem']} stem, {s['size']} px, {s['data']}, "
              f"{epochs_done(run.epochs)}, held-out accuracy "
              f"{'–' if accuracy is None else f'{accuracy:.1%}'}"
              f"{'' if run.status == 'finished' else f' ({run.status})'}")


def cmd_dashboard(args: argparse.Namespace) -> None:
    """Serve the stem explorer (or, with --all, every dashboard) with Voilà until Ctrl-C."""
    from vggviz.server.dashboards import DashboardError, serve

    try:
        serve(args.path, everything=args.all, port=args.port, pool=args.pool,
              extra=args.voila or ())
    except DashboardError as exc:
        raise CommandError(str(exc)) from None


def cmd_notebooks(args: argparse.Namespace) -> None:
    """Copy the packaged notebooks into a folder, to open in JupyterLab and edit."""
    from vggviz.server.dashboards import STEM_EXPLORER, DashboardError, copy_notebooks

    try:
        copied = copy_notebooks(args.folder, overwrite=args.force)
    except DashboardError as exc:
        raise CommandError(str(exc)) from None
    print(f"copied {len(copied)} notebooks to {Path(args.folder).resolve()}/: "
          f"{', '.join(p.name for p in copied)}")
    print(f"serve your copy: vggviz dashboard {Path(args.folder) / STEM_EXPLORER}  "
          f"(or open the folder in JupyterLab)")


def cmd_handout(args: argparse.Namespace) -> None:
    """Write a lesson's handout: every step's question, pictures and answer, one HTML file."""
    from vggviz.network.handout import handout_html

    lesson = LESSONS[args.lesson]
    out = Path(args.output or f"{lesson.name}-handout.html")
    try:
        out.write_text(handout_html(lesson, answers=not args.without_answers), encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot write {out}: {exc.strerror or exc}") from None
    print(f"{lesson.title}: {len(lesson.steps)} steps written to {out} "
          f"({out.stat().st_size / 1e6:.1f} MB; open it in a browser to read or print)")


def _size(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = _Parser(prog="vggviz", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    classifier_option = {"choices": list(CLASSIFIERS), "default": "fc",
                         "help": "; ".join(f"{k}: {v}" for k, v in CLASSIFIERS.items())}

    p = sub.add_parser("summary", help="layers and components of one variant, with their cost")
    p.add_argument("variant", choices=list(VARIANTS), metavar="VARIANT",
                   help=f"one of {', '.join(VARIANTS)}")
    p.add_argument("--stem", choices=list(STEMS), default="vgg")
    p.add_argument("--input-size", type=_size, default=224, metavar="N", help="N×N input")
    p.add_argument("--no-top", action="store_true", help="without the classifier")
    p.add_argument("--classifier", **classifier_option)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_summary)

    model_options = _Parser(add_help=False)
    model_options.add_argument("--variant", choices=list(VARIANTS), default=None,
                               help="vgg16 unless given (a run: the run's own)")
    model_options.add_argument("--weights", default="auto",
                               metavar="auto|imagenet|random|PATH|RUN",
                               help="auto: ImageNet where available, else random (default); RUN: "
                                    "a training run's name (`vggviz runs`) or folder")
    model_options.add_argument("--stem", choices=list(STEMS), default=None,
                               help="vgg unless given (a run: the run's own)")
    model_options.add_argument("--seed", type=int, default=0, help="seed of random weights")

    p = sub.add_parser("stem", parents=[model_options],
                       help="the stem's feature maps of an image, as a picture and/or .npy")
    p.add_argument("image")
    p.add_argument("--out", metavar="PNG", help="picture of the maps (default IMAGE_stem.png)")
    p.add_argument("--npy", metavar="NPY", help="the raw (H, W, 64) float32 array")
    p.add_argument("--cmap", default="viridis", help="matplotlib colormap name")
    p.set_defaults(func=cmd_stem)

    p = sub.add_parser("activations", parents=[model_options],
                       help="one .npy of a stage's activations per image")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--stage", choices=list(STAGES), default="stem")
    p.add_argument("--out", required=True, metavar="DIR")
    p.set_defaults(func=cmd_activations)

    p = sub.add_parser("predict", parents=[model_options],
                       help="the classifier's top classes for an image")
    p.add_argument("image")
    p.add_argument("--top", type=_size, default=5, metavar="K", help="classes shown (5)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--download", action="store_true",
                   help="fetch ImageNet's classifier file (553-575 MB) if it is not cached")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("cam", parents=[model_options],
                       help="Grad-CAM: where the image shows evidence for a class, as a PNG")
    p.add_argument("image")
    p.add_argument("--class", dest="class_index", type=int, default=None, metavar="N",
                   help="ImageNet class index (default: the top class)")
    p.add_argument("--stage", choices=["group3", "group4", "group5"], default="group5")
    p.add_argument("--out", required=True, metavar="PNG")
    p.add_argument("--download", action="store_true",
                   help="fetch ImageNet's classifier file (553-575 MB) if it is not cached")
    p.set_defaults(func=cmd_cam)


    p = sub.add_parser("patterns", parents=[model_options],
                       help="what each map of a stage responds to most, as PNGs (fills the "
                       "shared cache)")
    p.add_argument("--stage", choices=list(STAGES), default="stem")
    p.add_argument("--channels", type=channel_list, default=list(range(64)), metavar="0-63|1,5,9",
                   help="the maps (default 0-63, the first page)")
    p.add_argument("--steps", type=_size, default=30, metavar="N",
                   help="gradient-ascent steps (30)")
    p.add_argument("--out", required=True, metavar="DIR")
    p.set_defaults(func=cmd_patterns)

    p = sub.add_parser("fetch-weights", help="download Keras' ImageNet weights into its cache",
                       description="Download Keras' ImageNet weights (K. Simonyan and A. "
                       "Zisserman, arXiv:1409.1556, CC BY 4.0) into Keras' cache, checking "
                       "their md5; VGGVIZ_WEIGHTS_URL names a mirror or a folder to copy from.")
    p.add_argument("variant", nargs="?", choices=["vgg16", "vgg19", "all"], default="vgg16",
                   help="vgg16 (default), vgg19 or all")
    p.add_argument("--top", action="store_true",
                   help="also the file with the classifier (for predict and cam; 553-575 MB)")
    p.set_defaults(func=cmd_fetch_weights)

    p = sub.add_parser("measure-stems", help="time the whole model with each stem design here",
                       description="Time a forward pass (and with --train one SGD step on "
                       "random data) of the whole model with each stem design, each in a fresh "
                       "process, and report the median time and the peak memory. Accuracy is "
                       "not measured.")
    p.add_argument("--variant", choices=list(VARIANTS), default="vgg16")
    p.add_argument("--batch", type=_size, default=8, metavar="N", help="images per batch (8)")
    p.add_argument("--size", type=_size, default=224, metavar="N", help="N×N input (224)")
    p.add_argument("--train", action="store_true", help="also time one SGD step")
    p.add_argument("--repeats", type=_size, default=5, metavar="N",
                   help="timed runs after a warm-up (5)")
    p.add_argument("--classifier", **classifier_option)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_measure_stems)

    p = sub.add_parser("train", help="train a VGG (on the built-in data by default) and keep "
                       "the run",
                       description="Train a VGG (a narrower learner; the stem keeps its 64 "
                       "filters) with Keras' model.fit on the built-in data set (or CIFAR-10, "
                       "Imagenette, a folder of your own), record its "
                       "stem's kernels as they form, and keep the run in the cache. Ctrl-C "
                       "stops after the current step and keeps what was done.")
    d = TrainSettings()
    p.add_argument("--data", default=d.data, metavar="|".join(DATA) + "|FOLDER",
                   help="shapes: the built-in set (ten classes of patterns and shapes); "
                   "cifar10 or imagenette (downloaded into Keras' cache, or "
                   "$VGGVIZ_DATA_URL's mirror); or a folder of images, one subfolder a class "
                   "(with train/ and val/ in it, those are the splits)")
    p.add_argument("--variant", choices=list(VARIANTS), default=d.variant)
    p.add_argument("--stem", choices=list(STEMS), default=d.stem)
    p.add_argument("--stems", type=stems_list, default=None, metavar="S1,S2",
                   help="compare stems by training (e.g. vgg,pooled): each on the same data, "
                   "seed, image order and budget; prints the table")
    p.add_argument("--size", type=_size, default=d.size, metavar="N",
                   help=f"N×N images ({d.size})")
    p.add_argument("--widths", type=widths_list, default=d.widths, metavar="W1,…,W5",
                   help=f"filters of the five groups ({','.join(map(str, d.widths))})")
    p.add_argument("--epochs", type=_size, default=d.epochs, metavar="N",
                   help=f"epochs ({d.epochs})")
    p.add_argument("--batch", type=_size, default=d.batch, metavar="N",
                   help=f"batch size ({d.batch})")
    p.add_argument("--train-images", type=_size, default=d.train_images, metavar="N",
                   help=f"training images ({d.train_images})")
    p.add_argument("--test-images", type=_size, default=d.test_images, metavar="N",
                   help=f"held-out images ({d.test_images})")
    p.add_argument("--lr", type=float, default=d.learning_rate,
                   help=f"SGD learning rate ({d.learning_rate})")
    p.add_argument("--schedule", choices=SCHEDULES, default=None,
                   help=f"the learning rate's course: constant, or cosine decay to 0 after the "
                   f"warm-up ({d.schedule}; with --stems {COMPARISON['schedule']})")
    p.add_argument("--warmup", type=int, default=None, metavar="N",
                   help=f"epochs of linear warm-up, with the cosine schedule ({d.warmup_epochs}; "
                   f"with --stems {COMPARISON['warmup_epochs']})")
    p.add_argument("--clip-norm", type=float, default=None, metavar="X",
                   help=f"clip the gradients to this global norm, 0 for none ({d.clip_norm:g}; "
                   f"with --stems {COMPARISON['clip_norm']:g})")
    p.add_argument("--seed", type=int, default=d.seed, help="seed of the data and the weights")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("runs", help="list the training runs in the cache")
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("dashboard", help="serve the stem explorer (--all: every dashboard) "
                       "with Voilà on 127.0.0.1", description="Serve a dashboard with Voilà "
                       "and vggviz's settings (127.0.0.1, sources stripped, no tracebacks, a "
                       "closed tab's kernel freed, idle kernels culled); needs "
                       'pip install "vggviz[dashboard]".')
    p.add_argument("path", nargs="?", default=None, metavar="NOTEBOOK|FOLDER",
                   help="a notebook or folder of your own (default: the packaged stem explorer)")
    p.add_argument("--all", action="store_true",
                   help="the packaged dashboards behind their landing page")
    p.add_argument("--port", type=_size, default=8866, metavar="N", help="port (8866)")
    p.add_argument("--pool", type=_size, default=None, metavar="K",
                   help="kernels kept ready in all, each having run the stem explorer (with a "
                   "folder or --all, its 01_stem_explorer.ipynb; the other notebooks start a "
                   "kernel when opened); 1, about 165 MB each")
    p.add_argument("--voila", action="append", metavar="OPTION",
                   help="a Voilà option passed on, e.g. --voila=--VoilaConfiguration."
                   "preheat_kernel=False (repeatable)")
    p.set_defaults(func=cmd_dashboard)

    p = sub.add_parser("notebooks", help="copy the notebooks into a folder, to edit")
    p.add_argument("folder", metavar="FOLDER")
    p.add_argument("--force", action="store_true", help="replace notebooks already there")
    p.set_defaults(func=cmd_notebooks)

    p = sub.add_parser("handout", help="a guided lesson's handout to print: its steps, "
                                       "questions, pictures and answers as one HTML file")
    p.add_argument("lesson", choices=list(LESSONS), metavar="LESSON",
                   help=f"one of {', '.join(LESSONS)}")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="where to write it (default LESSON-handout.html here)")
    p.add_argument("--without-answers", action="store_true",
                   help="leave the answers out (a copy for students)")
    p.set_defaults(func=cmd_handout)

    p = sub.add_parser("variants", help="every variant side by side")
    p.add_argument("--stem", choices=list(STEMS), default="vgg")
    p.add_argument("--input-size", type=_size, default=224, metavar="N")
    p.add_argument("--classifier", **classifier_option)
    p.set_defaults(func=cmd_variants)
    return parser


def check_options(args: argparse.Namespace) -> None:
    """Refuse, before any work, option values that argparse cannot judge one by one (an input
    size too small for the stem, an unknown colormap, a map the stage has not): these are usage
    errors (exit 2). A ValueError raised later, by the work itself, is a bug and says so."""
    from vggviz.plan.architecture import WIDTHS, check_input_shape, stage_maps

    size = getattr(args, "input_size", None)
    if size is not None:
        check_input_shape((size, size, 3), getattr(args, "stem", None) or "vgg")
    if getattr(args, "cmap", None) is not None:
        from vggviz.render import palette

        palette(args.cmap)
    if getattr(args, "func", None) is cmd_measure_stems:
        from vggviz.network.measure import Settings

        Settings(args.variant, args.batch, args.train, args.size, args.repeats,
                 args.classifier).check()
    if getattr(args, "func", None) is cmd_train:
        from dataclasses import replace

        for stem in args.stems or [args.stem]:  # with --stems, each stem it compares
            replace(train_settings(args), stem=stem).check()
    run = None
    if getattr(args, "weights", None) not in (None, "auto", "imagenet", "random"):
        from vggviz.sources.runs import RunDamaged, find_run

        try:
            run = find_run(args.weights)
        except RunDamaged:
            run = None  # the command names the damage, as a bad input (exit 1)
    for what in ("variant", "stem"):
        asked = getattr(args, what, None)
        if run is not None and asked is not None and asked != run.settings[what]:
            raise ValueError(f"run {run.name} trained {what} {run.settings[what]!r}, not "
                             f"{asked!r}: leave --{what} out")
    if getattr(args, "channels", None) is not None and getattr(args, "stage", None):
        widths = run.settings["widths"] if run is not None else WIDTHS
        variant = run.settings["variant"] if run is not None else args.variant or "vgg16"
        count = stage_maps(variant, args.stage, tuple(widths))
        if bad := [c for c in args.channels if not 0 <= c < count]:
            raise ValueError(f"{args.stage} has maps 0–{count - 1}; no map {bad[0]}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; exit code 0, 1 (bad input) or 2 (usage error)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ logs are not for users
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check_options(args)
    except ValueError as exc:  # values argparse cannot judge alone, e.g. an input size per stem
        print(f"vggviz: error: {exc}", file=sys.stderr)
        return 2
    try:
        args.func(args)
    except CommandError as exc:
        print(f"vggviz: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
