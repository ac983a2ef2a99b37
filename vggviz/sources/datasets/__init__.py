"""The data a run trains on: the built-in set, CIFAR-10, Imagenette or a folder of one's own."""

from __future__ import annotations

from vggviz.plan.training import TrainSettings
from vggviz.sources.datasets import cifar10, image_folder, imagenette
from vggviz.sources.datasets.archives import DataUnavailable
from vggviz.sources.datasets.image_folder import Note, to_stderr
from vggviz.sources.downloads import ProgressCallback
from vggviz.sources.shapes import Shapes

__all__ = ["DataUnavailable", "load_data"]


def load_data(settings: TrainSettings, *, note: Note = to_stderr,
              progress: ProgressCallback | None = None) -> tuple[Shapes, Shapes]:
    """The training and held-out images `settings.data` names, at `settings.size` px: "cifar10",
    "imagenette" (downloaded into Keras' cache if need be; DataUnavailable saying what to put
    where if they cannot be) or a folder (unreadable files named through `note` and skipped).
    The built-in set is `network.training.training_data`'s."""
    size, train, test, seed = (settings.size, settings.train_images, settings.test_images,
                               settings.seed)
    if settings.data == "cifar10":
        return cifar10.cifar10(size, train, test, progress=progress)
    if settings.data == "imagenette":
        return imagenette.imagenette(size, train, test, seed=seed, note=note,
                                     progress=progress)
    if settings.data == "shapes":
        raise ValueError("the built-in set is drawn by network.training.training_data")
    return image_folder.image_folder(settings.data, size, train, test, seed=seed, note=note)
