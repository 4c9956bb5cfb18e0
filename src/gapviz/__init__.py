"""gapviz: measure and explain the synthetic-to-real gap of Keras image regressors.

The public names are listed in ``__all__``. They load lazily, so ``import gapviz`` does not
import TensorFlow: that cost is paid the first time a model is touched.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from gapviz._errors import GapvizError
from gapviz._version import __version__

# public name -> module that defines it
_LAZY = {
    "load_model": "gapviz.models",
    "list_layers": "gapviz.models",
    "tap": "gapviz.models",
    "Tapper": "gapviz.models",
    "LayerInfo": "gapviz.models",
    "compare": "gapviz.comparison",
    "GapResult": "gapviz.result",
    "demo_model": "gapviz.assets",
    "render_scene": "gapviz.scenes",
    "render_pair": "gapviz.scenes",
    "load_camera": "gapviz.recommend._camera",
    "renderer_settings": "gapviz.recommend._renderer",
}

__all__ = [
    "GapResult",
    "GapvizError",
    "LayerInfo",
    "Tapper",
    "__version__",
    "compare",
    "demo_model",
    "list_layers",
    "load_camera",
    "load_model",
    "render_pair",
    "render_scene",
    "renderer_settings",
    "tap",
]
assert set(__all__) == {*_LAZY, "GapvizError", "__version__"}

if TYPE_CHECKING:  # pragma: no cover
    from gapviz.assets import demo_model
    from gapviz.comparison import compare
    from gapviz.models import LayerInfo, Tapper, list_layers, load_model, tap
    from gapviz.recommend._camera import load_camera
    from gapviz.recommend._renderer import renderer_settings
    from gapviz.result import GapResult
    from gapviz.scenes import render_pair, render_scene


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gapviz' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
