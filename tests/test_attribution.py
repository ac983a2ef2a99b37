"""The interpretation methods share one calling convention (`Method(fx).attribute(image, stage,
target)`, answers with `stage`, `target` and `attribution`) and one table of compiled gradient
functions, whose entries live as long as their model, for all three methods alike."""

import gc
import weakref

import numpy as np
import pytest

from vggviz.network import class_heat, compiled
from vggviz.network.attribution import Attributed, Attribution
from vggviz.network.class_heat import GradCam
from vggviz.network.effective_field import EffectiveField
from vggviz.network.features import FeatureExtractor
from vggviz.network.patterns import ActivationPatterns, PatternSettings
from vggviz.sources.imagenet_classes import ImageNetClass

SIZE = 64
QUICK = PatternSettings(steps=1)


class StandInHead:
    """A linear head of 10 classes over the last pool (what `SharedClassifier` answers), so the
    class heat needs no classifier file."""

    classes = 10

    def __init__(self, fx):
        cells = int(np.prod(fx.model("group5").outputs[-1].shape[1:]))
        self.kernel = np.random.default_rng(0).normal(size=(cells, self.classes))

    def logits(self, pooled):
        return np.asarray(pooled).reshape(len(pooled), -1) @ self.kernel

    def class_of(self, index):
        return ImageNetClass(index, "", f"class {index}")

    def logit_gradient(self, pooled, class_index):
        upstream = self.kernel[:, class_index].reshape(np.shape(pooled)).astype(np.float32)
        return upstream, self.logits(pooled)


@pytest.fixture
def stand_in_head(monkeypatch):
    monkeypatch.setattr(class_heat, "classifier_for",
                        lambda fx, download=False: StandInHead(fx))


def picture() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)


# each method: its class, an image (None: the patterns start from noise), a stage, two targets
METHODS = [
    pytest.param(GradCam, picture, "group3", [3, 7], {}, id="class_heat"),
    pytest.param(EffectiveField, picture, "group1", [(2, 5, 6), (9, 1, 3)], {},
                 id="effective_field"),
    pytest.param(ActivationPatterns, lambda: None, "group1", [4, 11], {"settings": QUICK},
                 id="patterns"),
]


@pytest.mark.usefixtures("stand_in_head", "isolated_cache")
@pytest.mark.parametrize(("method", "image", "stage", "targets", "options"), METHODS)
def test_every_method_answers_one_convention(method, image, stage, targets, options):
    fx = FeatureExtractor("vgg11", weights="random", seed=0, size=SIZE)
    made = method(fx)
    assert isinstance(made, Attribution) and made.fx is fx
    one = made.attribute(image(), stage, targets[0], **options)
    assert isinstance(one, Attributed)
    assert (one.stage, one.target) == (stage, targets[0])
    assert isinstance(one.attribution, np.ndarray) and one.attribution.size > 0
    several = made.attribute_all(image(), stage, targets, **options)
    assert [a.target for a in several] == targets
    assert all(isinstance(a, Attributed) and a.stage == stage for a in several)
    np.testing.assert_array_equal(several[0].attribution, one.attribution)


def test_patterns_take_no_image(isolated_cache):
    fx = FeatureExtractor("vgg11", weights="random", seed=0, size=SIZE)
    with pytest.raises(ValueError, match="start from noise"):
        ActivationPatterns(fx).attribute(picture(), "stem", 0, settings=QUICK)


@pytest.mark.usefixtures("stand_in_head", "isolated_cache")
def test_one_table_holds_every_methods_compiled_functions_as_long_as_their_model():
    """Functions made for the stem's model go when the extractor replaces it with a deeper
    one, the class heat's when the extractor itself goes: one rule, for all three."""
    gc.collect()
    before = compiled.held()

    def more() -> dict[str, int]:
        now = compiled.held()
        return {k: now.get(k, 0) - before.get(k, 0) for k in ("class_heat", "effective_field",
                                                              "patterns")}

    fx = FeatureExtractor("vgg11", weights="random", seed=0, size=SIZE)
    EffectiveField(fx).attribute(picture(), "stem", (0, 3, 3))
    ActivationPatterns(fx).attribute(None, "stem", 0, settings=QUICK)
    stem_model = weakref.ref(fx.model("stem"))
    assert more() == {"class_heat": 0, "effective_field": 1, "patterns": 1}
    heat = GradCam(fx).attribute(picture(), "group5", 2)  # builds group 5: the stem's goes
    gc.collect()
    assert stem_model() is None
    assert more() == {"class_heat": 1, "effective_field": 0, "patterns": 0}
    deepest = weakref.ref(fx.model("group5"))
    del fx, heat
    gc.collect()
    assert deepest() is None
    assert more() == {"class_heat": 0, "effective_field": 0, "patterns": 0}
