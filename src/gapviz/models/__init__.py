"""Loading models, listing and resolving their layers, and tapping activations.

Imported lazily by ``gapviz`` (TensorFlow is imported only inside the functions that need it).
"""

from __future__ import annotations

from gapviz.models._layers import (
    PRESETS,
    LayerInfo,
    detect_preset,
    format_layer_table,
    list_layers,
    resolve_layers,
)
from gapviz.models._load import ModelSource, load_model, model_source
from gapviz.models._tap import Tapper, tap

__all__ = [
    "PRESETS",
    "LayerInfo",
    "ModelSource",
    "Tapper",
    "detect_preset",
    "format_layer_table",
    "list_layers",
    "load_model",
    "model_source",
    "resolve_layers",
    "tap",
]
