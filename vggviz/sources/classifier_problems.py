"""Why a network gives no classifier answer, in words said before anything is downloaded or
built: random weights, an ImageNet top that cannot take this variant, stem or size, a file
saved without its top, a last pool the classifier does not fit, ImageNet's file not here yet."""

from __future__ import annotations

from vggviz.sources.imagenet import WeightsUnavailable
from vggviz.sources.weights import imagenet_top_problem

HEAD = ("fc1", "fc2", "predictions")
"""The dense layers of the fc head, named as Keras names them."""
TOP_FILE_MB = {"vgg16": 553, "vgg19": 575}
"""Size of Keras' ImageNet files with the classifier in MB (10^6 bytes, as a download counts
them): 553,467,096 and 574,710,816 bytes."""
class NoClassifier(WeightsUnavailable):
    """This extractor's weights give no classifier answer; the message says why in words."""


def imagenet_missing(variant: str) -> str:
    """That ImageNet's classifier file is not downloaded yet, its size, and how to get it."""
    title = variant.upper()
    return (f"ImageNet's classifier for {title} is not downloaded yet ({TOP_FILE_MB[variant]} "
            f"MB): `vggviz fetch-weights {variant} --top` fetches it")


def pooled_shape(fx) -> tuple[int, int, int]:
    """The (h, w, c) of fx's last pool, which the classifier flattens (7×7×512 at 224 px)."""
    from vggviz.plan.accounting import summarize

    return summarize(fx.variant, stem=fx.stem, input_shape=(fx.size, fx.size, 3),
                     include_top=False).component("group5").output_shape


def weights_problem(fx) -> str | None:
    """Why fx's kind of weights gives no answer whatever the files hold: random weights, or an
    ImageNet top that cannot take this variant, stem or size; None otherwise."""
    if fx.weights == "random":
        return "the weights are random, never trained on any classes"
    if fx.weights == "imagenet":
        return imagenet_top_problem(fx.variant, fx.stem, fx.size)
    return None


def fit_problem(what: str, rows: int, fx) -> str | None:
    """Why `what` (a classifier taking `rows` values) does not fit fx's last pool; None if it
    does."""
    h, w, c = pooled_shape(fx)
    if rows == h * w * c:
        return None
    return (f"{what} takes {rows:,} values, but {fx.variant} with the {fx.stem} stem at "
            f"{fx.size} px gives {h}×{w}×{c} = {h * w * c:,} from its last pool")


def head_problem(layers: dict, name: str, fx) -> str | None:
    """Why the layers of weights file `name` (by layer name, as `weight_datasets` gives them)
    hold no fc classifier for fx's input; None when they hold one that fits."""
    missing = [layer for layer in HEAD if len(layers.get(layer, [])) != 2]
    if missing == ["fc1", "fc2"]:
        return (f"{name} holds the GAP classifier (avg_pool, predictions); predictions here run "
                f"the paper's fc head (fc1, fc2, predictions)")
    if missing:
        return f"{name} has no classifier: it was saved without the top ({', '.join(missing)})"
    return fit_problem(f"{name}'s classifier", layers["fc1"][0].shape[0], fx)
