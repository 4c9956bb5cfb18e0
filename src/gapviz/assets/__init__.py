"""Package data: the shipped demo wear regressor and its card.

The model is a small MobileNetV2 (alpha 0.35) trained from scratch on ``dataset1`` scenes by
``scripts/train_demo_model.py``; ``demo_model_card()`` records how (input size, preprocessing,
label unit, data, epochs) and how well it does on held-out ``dataset1`` and ``field`` scenes.
Nothing here imports TensorFlow: loading the file is the caller's business.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gapviz._errors import GapvizError

_HERE = Path(__file__).resolve().parent
_MODEL = _HERE / "demo_model.keras"
_CARD = _HERE / "demo_model.json"

__all__ = ["demo_model", "demo_model_card"]


def demo_model() -> str:
    """Path of the shipped demo model (a plain Keras 3 ``.keras`` file, safe to load).

    Returns
    -------
    str
        Absolute path of ``demo_model.keras``.

    Raises
    ------
    GapvizError
        If the file is missing (a broken install, or a source tree where it was never trained).

    Examples
    --------
    >>> from gapviz.assets import demo_model
    >>> demo_model().endswith("demo_model.keras")
    True
    """
    if not _MODEL.is_file():
        raise GapvizError(
            f"the demo model is missing at {str(_MODEL)!r}; reinstall gapviz or run scripts/train_demo_model.py"
        )
    return str(_MODEL)


def demo_model_card() -> dict[str, Any]:
    """The demo model's card: architecture, input size, preprocessing, label unit, training and MAE.

    Returns
    -------
    dict
        The parsed ``demo_model.json`` (a fresh copy on every call).

    Raises
    ------
    GapvizError
        If the card is missing or is not valid JSON.

    Examples
    --------
    >>> from gapviz.assets import demo_model_card
    >>> card = demo_model_card()
    >>> card["preprocess"], card["label_unit"]
    ('unit', 'fraction')
    """
    try:
        return json.loads(_CARD.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GapvizError(
            f"the demo model card is missing at {str(_CARD)!r}; reinstall gapviz or run scripts/train_demo_model.py"
        ) from None
    except json.JSONDecodeError as exc:
        raise GapvizError(f"the demo model card {str(_CARD)!r} is not valid JSON: {exc}") from None
