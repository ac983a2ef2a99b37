"""Imagenette: ten easy classes of ImageNet (fast.ai), at 160 px on the shorter side.

The archive holds imagenette2-160/train/ and val/ with one subfolder a class, named by its
WordNet id; it is downloaded into Keras' cache with the weights' rules and read as a folder of
one's own images (`image_folder`), whose held-out images are Imagenette's val/.
"""

from __future__ import annotations

from pathlib import Path

from vggviz.sources.datasets.archives import unpacked
from vggviz.sources.datasets.image_folder import Note, image_folder, to_stderr
from vggviz.sources.downloads import ProgressCallback
from vggviz.sources.shapes import Shapes

URL = "https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-160.tgz"
MD5 = "e793b78cc4c9e9a4ccc0c1155377a412"
"""The archive's md5, as torchvision's `Imagenette` pins it."""
NAME = "imagenette2-160"
"""The archive's top folder, and its folder in Keras' cache's datasets/."""


def _ready(folder: Path) -> bool:
    """Whether the unpacked `folder` has Imagenette's train/ and val/."""
    return all((folder / NAME / split).is_dir() for split in ("train", "val"))


def imagenette(size: int = 160, train_images: int = 9469, test_images: int = 3925, *,
               seed: int = 0, note: Note = to_stderr,
               progress: ProgressCallback | None = None) -> tuple[Shapes, Shapes]:
    """At most `train_images` of Imagenette's training and `test_images` of its validation
    images, drawn with `seed`, fitted to `size`×`size`; boxes None. Downloads the archive into
    Keras' cache first if it is not there (DataUnavailable saying which file to put where if
    it cannot)."""
    folder = unpacked(URL, MD5, NAME, "Imagenette", _ready, progress=progress)
    return image_folder(folder / NAME, size, train_images, test_images, seed=seed, note=note)
