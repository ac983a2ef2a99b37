"""vggviz: see how a VGG network works, from its stem's 64 feature maps to its classifier.

Importing the package is light (no TensorFlow): `build_vgg` loads Keras on first use.
"""

from vggviz.accounting import summarize
from vggviz.architecture import STAGES, STEMS, VARIANTS

__all__ = ["STAGES", "STEMS", "VARIANTS", "build_vgg", "summarize"]
__version__ = "0.1.0"


def __getattr__(name: str):
    """Import Keras only when a model is asked for (PEP 562 lazy attribute)."""
    if name == "build_vgg":
        from vggviz.models import build_vgg

        return build_vgg
    raise AttributeError(f"module 'vggviz' has no attribute {name!r}")
