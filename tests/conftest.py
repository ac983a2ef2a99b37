"""Shared fixtures: quiet TensorFlow, Keras reference models and their weight files."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_keras_session(request):
    """Free the graphs of models built by a test (keeps the suite's memory flat)."""
    yield
    if "keras" in __import__("sys").modules:
        import keras

        keras.backend.clear_session()


@pytest.fixture(scope="session")
def keras_vgg16_notop_file(tmp_path_factory):
    """A weights file saved from Keras' own VGG16 (random weights, no top), 64×64 input."""
    import keras

    model = keras.applications.VGG16(weights=None, include_top=False, input_shape=(64, 64, 3))
    path = tmp_path_factory.mktemp("weights") / "vgg16_notop.weights.h5"
    model.save_weights(path)
    return path
