"""The classifier's panel when its file comes or fails while the page is open, without a model:
a stand-in extractor, the answer and heat stubbed, and a real download from a folder mirror."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from vggviz.network.class_heat import ClassHeat
from vggviz.network.predictions import ClassScore
from vggviz.sources import imagenet
from vggviz.ui.panels import classifier_view
from vggviz.ui.panels.classifier_view import ClassifierView

WAIT = 60
TOP = imagenet._IMAGENET_FILES[("vgg16", True)][0]


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """An empty Keras cache and a folder mirror (empty until a test puts the top file in it)."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv(imagenet.WEIGHTS_URL_SETTING, str(folder))
    return folder


@pytest.fixture
def stubbed_answer(monkeypatch):
    """Five classes and a heat, as a classifier would give them; the calls are counted."""
    asked = []

    def top_classes(fx, image, k=5):
        asked.append("top")
        return [ClassScore(i, f"n{i:08d}", f"class_{i}", p)
                for i, p in enumerate([0.5, 0.2, 0.1, 0.05, 0.01])]

    def attribute(self, image, stage, target):
        asked.append("heat")
        heat = np.zeros((14, 14), np.float32)
        heat[3, 4] = 1.0
        return ClassHeat(heat, 2.0, target, f"class_{target}", stage, "block5_conv3")

    monkeypatch.setattr(classifier_view, "top_classes", top_classes)
    monkeypatch.setattr(classifier_view.GradCam, "attribute", attribute)
    return asked


def extractor() -> SimpleNamespace:
    """What the panel reads of a VGG16 extractor on ImageNet weights."""
    pixels = np.zeros((224, 224, 3), np.uint8)
    return SimpleNamespace(variant="vgg16", weights="imagenet", stem="vgg", size=224,
                           fitted=lambda image: (pixels, "digest"))


def opened(errors: list[str]) -> tuple[ClassifierView, SimpleNamespace]:
    view = ClassifierView(errors.append)
    fx = extractor()
    view.update(fx, Image.new("RGB", (224, 224)))
    assert "not downloaded yet" in view.answer.value
    assert view.fetch.layout.display is None  # offered
    return view, fx


def test_the_answer_and_heat_come_by_themselves_when_the_file_arrives(mirror, stubbed_answer,
                                                                      monkeypatch):
    data = b"the classifier's file, as the mirror holds it"
    (mirror / TOP).write_bytes(data)
    monkeypatch.setitem(imagenet._IMAGENET_FILES, ("vgg16", True),
                        (TOP, hashlib.md5(data).hexdigest()))
    errors: list[str] = []
    view, _ = opened(errors)
    view.fetch.click()
    assert view.downloads.join(WAIT)
    view.wait(WAIT)
    assert errors == []
    assert view.answer.value.count("<tr>") == 5 and "class 0" in view.answer.value
    assert stubbed_answer == ["top", "heat"]
    assert view.heat_box.layout.display is None and view.heat_image.value
    assert view.fetch.layout.display == "none"


def test_a_failed_download_brings_the_button_back_with_the_reason(mirror, stubbed_answer):
    errors: list[str] = []
    view, _ = opened(errors)
    view.fetch.click()
    assert view.fetch.layout.display == "none"  # while it runs
    assert view.downloads.join(WAIT)
    view.wait(WAIT)
    (reason,) = errors
    assert "could not be downloaded" in reason, reason
    assert view.fetch.layout.display is None
    assert "The last try failed: ImageNet weights could not be downloaded" in view.answer.value
    assert stubbed_answer == []  # no file, no answer asked for


def test_a_file_for_another_variant_leaves_the_view_as_it_is(mirror, stubbed_answer):
    errors: list[str] = []
    view, _ = opened(errors)
    before = view.answer.value
    view._arrived("vgg19", None)
    view.wait(WAIT)
    assert view.answer.value == before and stubbed_answer == []
