"""Capturing layer outputs of models that have no symbolic graph (subclassed models).

A subclassed model's layers are called from Python, so there is no tensor to wire into a tap model.
Instead each target layer's ``call`` is shadowed, for the duration of one (traced) forward pass,
by a wrapper that records what it returns; the original method is restored afterwards.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from gapviz._errors import GapvizError


@contextmanager
def capturing(targets: Sequence[Any], *, allow_repeat: bool = False) -> Iterator[dict[int, Any]]:
    """Record the first output of each target layer, keyed by ``id(layer)``, while the block runs.

    With ``allow_repeat=False`` a layer called twice in one pass is an error: which of its outputs
    is "the" activation would be a guess.
    """
    store: dict[int, Any] = {}
    restore: list[tuple[Any, Any, bool]] = []
    try:
        for layer in targets:
            had_own = "call" in vars(layer)
            original = layer.call
            # object.__setattr__ bypasses Keras attribute tracking: this is not a sublayer or weight
            object.__setattr__(layer, "call", _recorder(layer, original, store, allow_repeat))
            restore.append((layer, original, had_own))
        yield store
    finally:
        for layer, original, had_own in reversed(restore):
            if had_own:
                object.__setattr__(layer, "call", original)
            else:
                object.__delattr__(layer, "call")


def _recorder(layer: Any, original: Any, store: dict[int, Any], allow_repeat: bool) -> Any:
    key = id(layer)

    @functools.wraps(original)  # keeps the signature Keras inspects (training=, mask=)
    def call(*args: Any, **kwargs: Any) -> Any:
        out = original(*args, **kwargs)
        if key in store:
            if not allow_repeat:
                raise GapvizError(
                    f"layer {layer.name!r} is called more than once in one forward pass, so its activation "
                    "is ambiguous; tap the layer or block that calls it instead"
                )
            return out
        store[key] = out
        return out

    return call


def capture_outputs(model: Any, targets: Sequence[Any], batch: Any, *, allow_repeat: bool = False) -> dict[int, Any]:
    """Run ``model`` eagerly on ``batch`` once and return the targets' outputs by ``id(layer)``."""
    with capturing(targets, allow_repeat=allow_repeat) as store:
        model(batch, training=False)
        return dict(store)
