"""Which weights a view gets (ImageNet when it can be had, else random with the reason), and
how that reads in words: labels, notices and credits."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from vggviz.plan.architecture import STEMS, get_stem, get_variant
from vggviz.sources.imagenet import (
    IMAGENET_CREDIT,
    WeightsUnavailable,
    fetch_imagenet,
    imagenet_cached,
    imagenet_supported,
)
from vggviz.sources.weight_files import WeightsMismatch

T = TypeVar("T")


class RandomWeightsWarning(UserWarning):
    """Weights asked for as "auto" fell back to random filters: what they show means nothing
    learnt (the message says why ImageNet's could not be had)."""


def resolve_weights(requested: str | os.PathLike, variant: str = "vgg16", stem: str = "vgg", *,
                    download: bool = True) -> tuple[str | os.PathLike, str | None]:
    """Turn "auto" into "imagenet" where those weights can be had, else "random" plus a notice.

    With `download=False` only Keras' cache is consulted (instant: for opening a dashboard).
    Other requests are returned as they are, with no notice.
    """
    if requested != "auto":
        return requested, None
    if imagenet_supported(variant, stem):
        if imagenet_cached(variant):
            return "imagenet", None
        if download:
            try:
                fetch_imagenet(variant)
                return "imagenet", None
            except WeightsUnavailable as exc:
                return "random", f"{exc}: showing randomly initialised filters"
        return "random", ("ImageNet weights are not downloaded yet: showing randomly "
                          "initialised filters")
    return "random", (f"Keras has no ImageNet weights for {variant} with the {stem} stem: "
                      f"showing randomly initialised filters")


def default_weights(variant: str = "vgg16") -> str:
    """ImageNet when Keras' cache holds it, else random: opening never waits on a download."""
    return "imagenet" if imagenet_cached(variant) else "random"


def with_fallback(load: Callable[[str | os.PathLike], T],
                  weights: str | os.PathLike) -> tuple[T, str | None]:
    """`load(weights)`; if trained weights cannot be had or their file is damaged, `load("random")`
    and the reason in words, so a view always opens."""
    try:
        return load(weights), None
    except (WeightsUnavailable, WeightsMismatch) as exc:
        if weights == "random":
            raise
        return load("random"), f"{exc}: showing randomly initialised filters"


def weights_label(weights: str | os.PathLike, seed: int = 0) -> str:
    """How the weights read in a status line: "ImageNet", "random (seed 0)" or the file name."""
    if weights == "imagenet":
        return "ImageNet"
    if weights == "random":
        return f"random (seed {seed})"
    return Path(weights).name


def weights_notice(weights: str | os.PathLike, variant: str, stem: str = "vgg", seed: int = 0,
                   reason: str | None = None) -> str | None:
    """Why the maps come from random filters, in words (`reason` if a fallback gave one); None
    when the weights are trained."""
    if weights != "random":
        return None
    if reason:
        return reason
    if not imagenet_supported(variant, stem):
        return (f"Keras publishes ImageNet weights for VGG16 and VGG19 with the VGG or pooled "
                f"stem only: showing randomly initialised filters (seed {seed})")
    if not imagenet_cached(variant):
        return ("ImageNet weights are not downloaded yet: showing randomly initialised filters "
                "(`vggviz fetch-weights` or the stem explorer downloads them, 58 MB)")
    return f"Showing randomly initialised filters (seed {seed}); ImageNet has trained ones."


def weights_credit(weights: str | os.PathLike) -> str | None:
    """The credit to show beside maps made with `weights` (ImageNet's authors); else None."""
    return IMAGENET_CREDIT if weights == "imagenet" else None


def foreign_stem_note(weights: str | os.PathLike, variant: str, stem: str) -> str | None:
    """That trained weights sit in a stem they were not trained with, in words; else None.

    Keras' ImageNet weights were trained with the VGG stem. The pooled stem has the same layers
    plus a 2×2 max-pool, so they load, but every layer after the pool sees maps it never saw in
    training: trained filters in an architecture they were never trained in.
    """
    if weights != "imagenet" or stem == "vgg":
        return None
    return (f"{get_variant(variant).title}'s ImageNet weights were trained with the VGG stem; "
            f"here they sit in the {STEMS[stem].title.lower()} ({STEMS[stem].description}), "
            f"which they were not trained with: trained filters, but from group 1 on every "
            f"layer sees max-pooled maps it never saw in training")


def imagenet_top_problem(variant: str, stem: str = "vgg", size: int = 224) -> str | None:
    """Why Keras' ImageNet classifier cannot run on this model, in words; None when it can.

    Its fc1 was trained on the 7×7×512 values of the last pool, so only inputs that pool down
    to 7×7 fit: 224–255 px with the VGG stem, 448–511 px with the pooled one. The shapes fit
    there, but the pooled stem is not what the weights were trained in (`foreign_stem_note`).
    """
    from vggviz.plan.accounting import summarize

    if not imagenet_supported(variant, stem):
        return (f"Keras publishes ImageNet weights for vgg16 and vgg19 with the VGG or pooled "
                f"stem only, not {variant} with the {stem} stem")

    def last_pool(n: int) -> tuple[int, ...]:
        return summarize(variant, stem=stem, input_shape=(n, n, 3),
                         include_top=False).component("group5").output_shape

    h, w, c = last_pool(size)
    if (h, w) == (7, 7):
        return None
    fits = [n for n in range(get_stem(stem).min_input, 1025) if last_pool(n)[:2] == (7, 7)]
    return (f"Keras' ImageNet classifier takes the 7×7×512 values of the last pool; {variant} "
            f"with the {stem} stem at {size} px gives {h}×{w}×{c}: use an input of "
            f"{fits[0]}–{fits[-1]} px")
