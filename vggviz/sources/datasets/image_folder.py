"""A folder of one's own images, one subfolder a class (as Keras' `image_dataset_from_directory`
reads one), with its held-out images in train/ and val/ (or test/) subfolders if it has them.

Every file is read with the project's own image loading (`images.load_image`: size and pixel
limits, EXIF orientation, RGB) and fitted to the run's size; a file that cannot be read is named
and skipped, where Keras' reader fails the whole run when it meets it. Subfolders named by a
WordNet id (as ImageNet's and Imagenette's are) are called by ImageNet's name for the class.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from vggviz.sources.imagenet_classes import imagenet_classes
from vggviz.sources.images import ImageError, load_image
from vggviz.sources.shapes import Shapes

SPLITS = ("val", "test")
"""Names of a held-out subfolder beside train/ (Imagenette's is val/)."""

Note = Callable[[str], None]
"""Told, in one line each, what was skipped and why."""


def to_stderr(line: str) -> None:
    """The default `note`: the line on stderr, as "vggviz: …"."""
    print(f"vggviz: {line}", file=sys.stderr)


def class_files(folder: Path) -> dict[str, list[Path]]:
    """Each subfolder of `folder` (a class, sorted by name) and the files in it (sorted; hidden
    ones and subfolders left out)."""
    return {sub.name: sorted(f for f in sub.iterdir() if f.is_file() and not f.name.startswith("."))
            for sub in sorted(folder.iterdir(), key=lambda p: p.name)
            if sub.is_dir() and not sub.name.startswith(".")}


def image_folder(folder: str | Path, size: int, train_images: int, test_images: int, *,
                 seed: int = 0, note: Note = to_stderr) -> tuple[Shapes, Shapes]:
    """Training and held-out images from `folder`, fitted to `size`×`size` (centre crop), boxes
    None: from its train/ and val/ (or test/) subfolders if it has them, else a seeded draw of
    a fifth of each class's files (at least one) held out. At most `train_images` and `test_images`,
    drawn at random with `seed`. A ValueError says what is wrong with the folder."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder")
    held = next((folder / s for s in SPLITS if (folder / s).is_dir()), None)
    rng = np.random.default_rng(seed)
    if (folder / "train").is_dir() and held is not None:
        train, test = class_files(folder / "train"), class_files(held)
        names = list(train)
        unknown = sorted(set(test) - set(train))
        if unknown:
            raise ValueError(f"{held} has classes that {folder / 'train'} has not: "
                             f"{', '.join(unknown)}")
        train_pairs = _pairs(train, names)
        test_pairs = _pairs(test, names)
    else:
        train, names = class_files(folder), []
        train_pairs, test_pairs = [], []
        for name, files in train.items():
            names.append(name)
            order = rng.permutation(len(files))
            cut = max(1, len(files) // 5) if len(files) > 1 else 0
            test_pairs += [(files[i], len(names) - 1) for i in order[:cut]]
            train_pairs += [(files[i], len(names) - 1) for i in order[cut:]]
    if len(names) < 2:
        raise ValueError(f"{folder} needs one subfolder a class, at least two of them; it has "
                         f"{len(names)}")
    if not train_pairs or not test_pairs:
        raise ValueError(f"{folder} has too few images to hold some out (one class needs two)")
    words = {c.wnid: c.words for c in imagenet_classes()}
    class_names = tuple(words.get(name, name) for name in names)
    return (_read(_draw(train_pairs, train_images, rng), size, folder, class_names, note),
            _read(_draw(test_pairs, test_images, rng), size, folder, class_names, note))


def _pairs(classes: dict[str, list[Path]], names: Sequence[str]) -> list[tuple[Path, int]]:
    """(file, label) for every file of every class."""
    return [(f, names.index(name)) for name, files in classes.items() for f in files]


def _draw(pairs: list[tuple[Path, int]], count: int,
          rng: np.random.Generator) -> list[tuple[Path, int]]:
    """At most `count` of `pairs`, in a random order."""
    return [pairs[i] for i in rng.permutation(len(pairs))[:count]]


def _read(pairs: list[tuple[Path, int]], size: int, folder: Path, class_names: tuple[str, ...],
          note: Note) -> Shapes:
    """The images of `pairs`, fitted; the ones that cannot be read named through `note`."""
    images, labels = [], []
    for path, label in pairs:
        try:
            image = load_image(path, size=size, fit="crop", name=str(path.relative_to(folder)))
        except ImageError as exc:
            note(f"skipped {exc}")
            continue
        images.append(np.asarray(image))
        labels.append(label)
    if not images:
        raise ValueError(f"no image in {folder} could be read")
    return Shapes(np.stack(images), np.asarray(labels, np.int64), None, class_names)
