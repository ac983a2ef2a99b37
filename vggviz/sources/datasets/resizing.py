"""Images of a data set brought to the size a run trains at, with the project's image fitting."""

from __future__ import annotations

import numpy as np
from PIL import Image

from vggviz.sources.images import fit_image


def fitted(images: np.ndarray, size: int) -> np.ndarray:
    """`images` (N, H, W, 3) uint8 fitted to (N, size, size, 3) as `images.fit_image` fits one
    (fill, then centre crop; Lanczos); the same array when they are that size already."""
    if images.shape[1:3] == (size, size):
        return images
    out = np.empty((len(images), size, size, 3), np.uint8)
    for i, image in enumerate(images):
        out[i] = np.asarray(fit_image(Image.fromarray(image), size))
    return out
