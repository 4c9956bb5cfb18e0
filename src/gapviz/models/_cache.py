"""Things traced for a model, kept on the model object itself (Tappers, prediction functions)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

from gapviz.models._tap import tap


def cached_on_model(model: Any, attr: str, key: Hashable, make: Callable[[], Any]) -> Any:
    """``make()`` once per model object, ``attr`` and ``key``; later calls return the same object.

    Tracing a model's functions costs seconds; a notebook that calls `gapviz.compare` again on the
    same in-memory model (or the demo's before/after runs) reuses them. The dict lives in the
    model's ``attr`` attribute, set past Keras' attribute tracking (so it is neither saved nor
    counted as a sublayer), and goes away with the model.

    Examples
    --------
    >>> class M: pass
    >>> m = M()
    >>> cached_on_model(m, "_demo_cache", "k", list) is cached_on_model(m, "_demo_cache", "k", list)
    True
    """
    cache = model.__dict__.get(attr) if hasattr(model, "__dict__") else None
    if cache is None:
        cache = {}
        try:
            object.__setattr__(model, attr, cache)
        except (AttributeError, TypeError):  # pragma: no cover - objects without a __dict__
            return make()
    if key not in cache:
        cache[key] = make()
    return cache[key]


#: attribute on an in-memory model holding its Tappers by requested layers (traced functions included)
TAPPERS = "_gapviz_tappers"


def cached_tapper(model: Any, layers: str | Sequence[str] | None) -> Any:
    """The model's `Tapper` for ``layers``, reused across calls on the same model object.

    Tracing the forward pass with the reductions costs about 2 s on ResNet50; a notebook that
    calls `gapviz.compare` again on the same model (or the demo's before/after runs) reuses the
    trace. The cache lives on the model object itself (`cached_on_model`) and goes away with it.
    """
    key = layers if layers is None or isinstance(layers, str) else tuple(layers)
    return cached_on_model(model, TAPPERS, key, lambda: tap(model, layers))
