"""The `vggviz` command line: summaries of the variants, stem maps and activations of images."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from functools import wraps
from pathlib import Path

from vggviz.accounting import BYTES_PER_VALUE, Summary, summarize, summarize_all
from vggviz.architecture import COMPONENTS, STAGES, STEMS, VARIANTS


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the problem (exit code 2)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


class CommandError(Exception):
    """A bad input the user can fix: printed as one line, exit code 1."""


def _mb(values: int) -> str:
    return f"{values * BYTES_PER_VALUE / 1e6:,.1f} MB"


def _print_summary(s: Summary) -> None:
    h, w, c = s.input_shape
    print(f"{VARIANTS[s.variant].title} · {STEMS[s.stem].title} · input {h}×{w}×{c}"
          f"{'' if s.include_top else ' · no top'}")
    header = f"{'layer':<14}{'component':<12}{'output':>16}{'params':>14}{'values':>12}{'MACs':>16}"
    print(header)
    print("-" * len(header))
    for r in s.layers:
        shape = "×".join(map(str, r.output_shape))
        print(f"{r.name:<14}{r.component:<12}{shape:>16}{r.params:>14,}{r.activation_values:>12,}"
              f"{r.macs:>16,}")
    print("-" * len(header))
    for comp in s.components:
        share = comp.params / s.total_params
        print(f"{comp.name:<12} {comp.params:>14,} params ({share:6.1%})  "
              f"{_mb(comp.activation_values):>10} activations  {comp.macs / 1e9:8.3f} GMACs")
    print(f"{'total':<12} {s.total_params:>14,} params            {_mb(s.activation_values):>10} "
          f"activations  {s.total_macs / 1e9:8.3f} GMACs")
    print(f"values entering the learner: {s.values_entering_learner:,} "
          f"({_mb(s.values_entering_learner)})")


def cmd_summary(args: argparse.Namespace) -> None:
    n = args.input_size
    s = summarize(args.variant, stem=args.stem, input_shape=(n, n, 3),
                  include_top=not args.no_top)
    if args.json:
        print(json.dumps(s.to_dict(), indent=2))
    else:
        _print_summary(s)


def cmd_variants(args: argparse.Namespace) -> None:
    n = args.input_size
    names = list(COMPONENTS)
    print(f"Every variant, {STEMS[args.stem].title}, input {n}×{n}×3; parameters per component; "
          f"activations in float32, batch 1")
    header = (f"{'variant':<15}" + "".join(f"{c:>13}" for c in names)
              + f"{'total':>14}{'activations':>13}{'GMACs':>8}")
    print(header)
    print("-" * len(header))
    for s in summarize_all(stem=args.stem, input_shape=(n, n, 3)):
        params = {c.name: c.params for c in s.components}
        print(f"{s.variant:<15}" + "".join(f"{params[c]:>13,}" for c in names)
              + f"{s.total_params:>14,}{_mb(s.activation_values):>13}{s.total_macs / 1e9:>8.2f}")


def _extractor(args: argparse.Namespace):
    """A FeatureExtractor for the command's options; "auto" weights say what they fell back to."""
    from vggviz.features import FeatureExtractor

    fx = FeatureExtractor(args.variant, weights=args.weights, stem=args.stem, seed=args.seed)
    if fx.notice:
        print(f"vggviz: note: {fx.notice}", file=sys.stderr)
    return fx


def _model_command(fn: Callable[[argparse.Namespace], None]):
    """Run a command that reads images and weights; their errors become one-line CommandErrors.

    The imports stay inside, so `vggviz summary` and `vggviz variants` start in a blink.
    """

    @wraps(fn)
    def run(args: argparse.Namespace) -> None:
        from vggviz.images import ImageError
        from vggviz.weights import WeightsMismatch, WeightsUnavailable

        try:
            fn(args)
        except (ImageError, WeightsUnavailable, WeightsMismatch, OSError) as exc:
            raise CommandError(str(exc)) from None

    return run


@_model_command
def cmd_stem(args: argparse.Namespace) -> None:
    import numpy as np

    from vggviz.render import render_grid

    if not (args.out or args.npy):
        args.out = f"{Path(args.image).stem}_stem.png"
    maps = _extractor(args).activations(args.image, "stem")
    if args.out:
        Path(args.out).write_bytes(render_grid(maps, cmap=args.cmap))
        print(f"wrote {args.out}: the {maps.shape[-1]} stem feature maps")
    if args.npy:
        np.save(args.npy, maps)
        print(f"wrote {args.npy}: array {maps.shape} float32")


@_model_command
def cmd_activations(args: argparse.Namespace) -> None:
    import numpy as np
    from tqdm import tqdm

    from vggviz.images import ImageError

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fx = _extractor(args)
    failed = 0
    for image in tqdm(args.images, desc=f"{args.stage} activations", unit="image",
                      file=sys.stderr):
        try:
            maps = fx.activations(image, args.stage)
        except ImageError as exc:
            failed += 1
            tqdm.write(f"vggviz: skipped {image}: {exc}", file=sys.stderr)
            continue
        np.save(out / f"{Path(image).stem}_{args.stage}.npy", maps)
    done = len(args.images) - failed
    print(f"wrote {done} of {len(args.images)} arrays to {out}/")
    if failed:
        raise CommandError(f"{failed} of {len(args.images)} images could not be read")


def _size(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = _Parser(prog="vggviz", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("summary", help="layers and components of one variant, with their cost")
    p.add_argument("variant", choices=list(VARIANTS), metavar="VARIANT",
                   help=f"one of {', '.join(VARIANTS)}")
    p.add_argument("--stem", choices=list(STEMS), default="vgg")
    p.add_argument("--input-size", type=_size, default=224, metavar="N", help="N×N input")
    p.add_argument("--no-top", action="store_true", help="without the classifier")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_summary)

    model_options = _Parser(add_help=False)
    model_options.add_argument("--variant", choices=list(VARIANTS), default="vgg16")
    model_options.add_argument("--weights", default="auto", metavar="auto|imagenet|random|PATH",
                               help="auto: ImageNet where available, else random (default)")
    model_options.add_argument("--stem", choices=list(STEMS), default="vgg")
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

    p = sub.add_parser("variants", help="every variant side by side")
    p.add_argument("--stem", choices=list(STEMS), default="vgg")
    p.add_argument("--input-size", type=_size, default=224, metavar="N")
    p.set_defaults(func=cmd_variants)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; exit code 0, 1 (bad input) or 2 (usage error)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ logs are not for users
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except CommandError as exc:
        print(f"vggviz: error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:  # bad option values found by the model code, e.g. input size
        parser.exit(2, f"vggviz: error: {exc}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
