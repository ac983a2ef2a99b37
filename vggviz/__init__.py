"""vggviz: see how a VGG network works, from its stem's 64 feature maps to its classifier.

Importing the package is light (no TensorFlow, numpy or PIL): the names below that need them
are imported on first use, and TensorFlow only when a model is built.

    from vggviz import FeatureExtractor, load_image, render_grid
    from vggviz import stem_explorer; stem_explorer()   # the main dashboard, in a notebook
"""

from __future__ import annotations

import importlib

from vggviz.plan.accounting import summarize
from vggviz.plan.architecture import STAGES, STEMS, VARIANTS

_LAZY = {  # name → module that defines it, imported when the name is first asked for
    "build_vgg": "vggviz.network.models",
    "preprocess_input": "keras.applications.vgg16",  # Keras' own, beside build_vgg
    "decode_predictions": "vggviz.sources.imagenet_classes",  # Keras', with offline names
    "FeatureExtractor": "vggviz.network.features",
    "ImageError": "vggviz.sources.images",
    "load_image": "vggviz.sources.images",
    "sample_image": "vggviz.sources.images",
    "render_grid": "vggviz.render",
    "render_map": "vggviz.render",
    "render_kernels": "vggviz.render",
    "stem_explorer": "vggviz.ui.dashboards.stem_explorer",
}

__all__ = ["STAGES", "STEMS", "VARIANTS", "summarize", *_LAZY]
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """Import what a lazy name needs on first use (PEP 562)."""
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'vggviz' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
