"""The versions and devices a run used (`GapResult.environment`)."""

from __future__ import annotations

import platform
import sys

import numpy as np

from gapviz._version import __version__

__all__ = ["environment"]


def environment() -> dict:
    """Versions of gapviz, Python, numpy, TensorFlow and Keras (tf_keras where loaded), and TF's devices.

    Imports TensorFlow (a run has already loaded it).
    """
    import keras
    import tensorflow as tf

    env = {
        "gapviz": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "devices": [d.name for d in tf.config.list_logical_devices()],
    }
    if "tf_keras" in sys.modules:
        env["tf_keras"] = sys.modules["tf_keras"].__version__
    return env
