"""Shared fixtures. Model fixtures are named ``model_*``; TensorFlow is imported inside them only.

Every model is built with ``weights=None`` at small inputs (no downloads) and built once per session.
"""

from __future__ import annotations

import os
import warnings

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

MODEL_SIZE = 64  # input side of the application models in tests: small, but deep enough for 5 stages


def _application(name: str):
    import keras

    build = {
        "vgg16": keras.applications.VGG16,
        "mobilenetv2": keras.applications.MobileNetV2,
        "resnet50": keras.applications.ResNet50,
        "resnet50v2": keras.applications.ResNet50V2,
    }[name]
    keras.utils.set_random_seed(0)
    return build(include_top=False, weights=None, input_shape=(MODEL_SIZE, MODEL_SIZE, 3))


@pytest.fixture(scope="session")
def model_vgg16():
    return _application("vgg16")


@pytest.fixture(scope="session")
def model_mobilenetv2():
    return _application("mobilenetv2")


@pytest.fixture(scope="session")
def model_resnet50():
    return _application("resnet50")


@pytest.fixture(scope="session")
def model_resnet50v2():
    return _application("resnet50v2")


@pytest.fixture(scope="session")
def model_batch():
    """A reproducible float32 image batch at the application models' input size."""
    import numpy as np

    return np.random.default_rng(0).uniform(0, 1, (2, MODEL_SIZE, MODEL_SIZE, 3)).astype("float32")


@pytest.fixture(scope="session")
def model_tf_keras_resnet50v2_h5(tmp_path_factory):
    """The study's regressor written by tf.keras (Keras 2) as .h5: ``(in-memory model, path)``.

    Keras 3 cannot read this file (BatchNormalization ``axis=[3]`` fails to deserialise).
    """
    import tf_keras

    tf_keras.utils.set_random_seed(0)
    base = tf_keras.applications.ResNet50V2(include_top=False, weights=None, input_shape=(MODEL_SIZE, MODEL_SIZE, 3))
    model = tf_keras.Sequential([base, tf_keras.layers.GlobalAveragePooling2D(), tf_keras.layers.Dense(1)])
    path = tmp_path_factory.mktemp("tf_keras_h5") / "resnet50v2_regressor.h5"
    with warnings.catch_warnings():  # "HDF5 ... is considered legacy": writing one is the point
        warnings.simplefilter("ignore", UserWarning)
        model.save(path)
    return model, path


@pytest.fixture(scope="session")
def model_keras_resnet50v2_files(tmp_path_factory, model_resnet50v2):
    """The study's regressor around ``model_resnet50v2`` saved by Keras 3: ``{"keras": path, "h5": path}``."""
    folder = tmp_path_factory.mktemp("keras3_files")
    import keras

    model = keras.Sequential(
        [model_resnet50v2, keras.layers.GlobalAveragePooling2D(name="gap"), keras.layers.Dense(1, name="wear")]
    )  # named: auto names depend on which models the session built before
    paths = {"keras": folder / "resnet50v2_regressor.keras", "h5": folder / "resnet50v2_regressor.h5"}
    for path in paths.values():
        model.save(path)
    return paths


@pytest.fixture(scope="session")
def model_subclassed():
    """A tiny hand-built ResNet like the study's: bottleneck layers in Sequential blocks in a Model subclass.

    Built by one call on a 32x32 batch. Sublayers have explicit names so tests can tap them.
    """
    import keras

    class Bottleneck(keras.layers.Layer):
        def __init__(self, filters, stride=1, **kwargs):
            super().__init__(**kwargs)
            self.reduce = keras.layers.Conv2D(filters, 1, strides=stride, name="reduce")
            self.conv = keras.layers.Conv2D(filters, 3, padding="same", name="conv")
            self.shortcut = keras.layers.Conv2D(filters, 1, strides=stride, name="shortcut")

        def call(self, x, training=None):
            y = self.conv(keras.ops.relu(self.reduce(x)))
            return keras.ops.relu(y + self.shortcut(x))

    class HandResNet(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.stem = keras.layers.Conv2D(8, 3, strides=2, padding="same", name="stem")
            self.stage1 = keras.Sequential([Bottleneck(8, name="b1"), Bottleneck(8, name="b2")], name="stage1")
            self.stage2 = keras.Sequential([Bottleneck(16, 2, name="b3")], name="stage2")
            self.pool = keras.layers.GlobalAveragePooling2D(name="pool")
            self.head = keras.layers.Dense(1, name="head")

        def call(self, x, training=None):
            return self.head(self.pool(self.stage2(self.stage1(self.stem(x)))))

    import numpy as np

    keras.utils.set_random_seed(0)
    model = HandResNet(name="hand_resnet")
    model(np.zeros((1, 32, 32, 3), "float32"))
    return model


@pytest.fixture(scope="session")
def model_tf_keras_subclassed():
    """A tiny tf.keras (Keras 2) subclassed model, built by one call on a 32x32 batch."""
    import numpy as np
    import tf_keras

    class Tiny(tf_keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.c1 = tf_keras.layers.Conv2D(4, 3, padding="same", name="c1")
            self.c2 = tf_keras.layers.Conv2D(8, 3, strides=2, padding="same", name="c2")
            self.pool = tf_keras.layers.GlobalAveragePooling2D(name="pool")
            self.head = tf_keras.layers.Dense(1, name="head")

        def call(self, x, training=None):
            return self.head(self.pool(self.c2(tf_keras.activations.relu(self.c1(x)))))

    tf_keras.utils.set_random_seed(0)
    model = Tiny(name="tiny_tfk")
    model(np.zeros((1, 32, 32, 3), "float32"))
    return model


@pytest.fixture(scope="session")
def model_lambda_files(tmp_path_factory):
    """A tiny model with a Lambda layer ``x * 2`` saved as Keras 3 .keras/.h5 and tf.keras .h5."""
    import keras
    import tf_keras

    folder = tmp_path_factory.mktemp("lambda")
    inp = keras.Input((16, 16, 3))
    x = keras.layers.Lambda(lambda t: t * 2.0, name="double")(inp)
    model = keras.Model(inp, keras.layers.Conv2D(2, 3, name="conv")(x))
    paths = {"keras": folder / "lambda.keras", "keras-h5": folder / "lambda.h5"}
    model.save(paths["keras"])
    model.save(paths["keras-h5"])

    tinp = tf_keras.Input((16, 16, 3))
    tx = tf_keras.layers.Lambda(lambda t: t * 2.0, name="double")(tinp)
    tmodel = tf_keras.Model(tinp, tf_keras.layers.Conv2D(2, 3, name="conv")(tx))
    paths["tf_keras-h5"] = folder / "lambda_tf_keras.h5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        tmodel.save(paths["tf_keras-h5"])
    return paths


@pytest.fixture(scope="session")
def model_tiny_files(tmp_path_factory):
    """Small files around one tiny CNN: a tf.keras SavedModel, a Keras 3 export, weights-only .h5 files."""
    import keras
    import tf_keras

    folder = tmp_path_factory.mktemp("tiny")
    tmodel = tf_keras.Sequential(
        [tf_keras.Input((16, 16, 3)), tf_keras.layers.Conv2D(2, 3, name="conv"), tf_keras.layers.Flatten()]
    )
    kmodel = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(2, 3, name="conv")])
    paths = {
        "savedmodel": folder / "tf_keras_savedmodel",
        "export": folder / "keras3_export",
        "weights-tf_keras": folder / "weights_tf_keras.h5",
        "weights-keras": folder / "tiny.weights.h5",
        "keras": folder / "tiny.keras",
    }
    tmodel.save(paths["savedmodel"], save_format="tf")
    kmodel.export(paths["export"], verbose=False)
    tmodel.save_weights(paths["weights-tf_keras"])
    kmodel.save_weights(paths["weights-keras"])
    kmodel.save(paths["keras"])
    return {"tf_keras_model": tmodel, **paths}


# ----------------------------------------------------------------------------- built-in scenes
SCENE_SIZE = 128  # side of the rendered test scenes
SCENE_N = 16  # pairs per scene set


@pytest.fixture(scope="session")
def edge_model():
    """A tiny regressor whose convolutions have zero-mean kernels (edge detectors): its activation
    energy is 0 on flat regions and grows with local contrast, like trained early layers."""
    import keras
    import numpy as np

    keras.utils.set_random_seed(0)
    inp = keras.Input((SCENE_SIZE, SCENE_SIZE, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="c1")(inp)
    x = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu", name="c2")(x)
    x = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu", name="c3")(x)
    out = keras.layers.Dense(1)(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inp, out)
    for name in ("c1", "c2", "c3"):
        layer = model.get_layer(name)
        kernel, bias = layer.get_weights()
        layer.set_weights([kernel - kernel.mean(axis=(0, 1, 2), keepdims=True), np.zeros_like(bias)])
    return model


@pytest.fixture(scope="session")
def scenes(tmp_path_factory):
    """``scenes(name, *overrides)`` -> folder with real/ and synth/ (images + masks), rendered once per session."""
    from gapviz.scenes import write_scenes

    cache: dict = {}

    def make(name: str, *overrides: str, preset: str = "dataset1", pair_with: str = "dataset1", seed: int = 0):
        key = (name, overrides, preset, pair_with, seed)
        if key not in cache:
            out = tmp_path_factory.mktemp(name)
            write_scenes(out, preset=preset, pair_with=pair_with, n=SCENE_N, seed=seed, size=SCENE_SIZE,
                         overrides=list(overrides))  # fmt: skip
            cache[key] = out
        return cache[key]

    return make


