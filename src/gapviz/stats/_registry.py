"""A registry of statistics by name.

Each statistic is registered once, under the name that becomes its JSON key, with a ``kind``
that says what it consumes:

``"image"``
    ``fn(ctx: ImageContext) -> dict[str, float]`` on one uint8 RGB image and its object mask.
``"pair"``
    ``fn(real: ImageContext, synth: ImageContext) -> dict[str, float]`` on an aligned pair.
``"layer"``
    ``fn(ops, ctx: LayerContext) -> dict[str, tensor]``: an in-graph reduction of one layer's
    activation (TensorFlow inside the tapped graph, numpy in the twin).
``"set"``
    ``fn(x: ndarray, y: ndarray) -> float`` comparing two paired samples of vectors (CKA, KID).

A name can be registered once only; looking up an unknown name lists the valid ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gapviz._checks import check_choice
from gapviz._errors import GapvizError

KINDS = ("image", "pair", "layer", "set")


@dataclass(frozen=True)
class Entry:
    """One registered statistic.

    Attributes
    ----------
    name : str
        The registered name (a JSON key, or the prefix of the keys in ``outputs``).
    kind : str
        One of ``KINDS``.
    fn : callable
        The function computing it.
    outputs : tuple of str
        The names of the scalars it returns (``(name,)`` when it returns one).
    """

    name: str
    kind: str
    fn: Callable
    outputs: tuple[str, ...]


class Registry:
    """Statistics by name; refuses duplicates, lists the valid names on a miss.

    Examples
    --------
    >>> reg = Registry()
    >>> @reg.register("answer", kind="set")
    ... def answer(x, y):
    ...     return 42.0
    >>> reg.get("answer").fn(None, None)
    42.0
    >>> reg.names(kind="set")
    ['answer']
    """

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}

    def register(
        self, name: str, *, kind: str, outputs: tuple[str, ...] | None = None
    ) -> Callable[[Callable], Callable]:
        """Decorator registering ``fn`` under ``name``; the function itself is returned unchanged.

        Parameters
        ----------
        name : str
            The statistic's name.
        kind : {"image", "pair", "layer", "set"}
            What the function consumes (see the module docstring).
        outputs : tuple of str, optional
            The keys of the dict the function returns; defaults to ``(name,)``.

        Raises
        ------
        GapvizError
            If ``name`` is already registered or ``kind`` is unknown.
        """
        check_choice("kind", kind, KINDS)

        def decorator(fn: Callable) -> Callable:
            old = self._entries.get(name)
            if old is not None:
                where = f"{old.fn.__module__}.{old.fn.__qualname__}"
                raise GapvizError(
                    f"statistic {name!r} is already registered (kind {old.kind!r}, by {where}); "
                    "choose another name"
                )
            self._entries[name] = Entry(name, kind, fn, tuple(outputs) if outputs else (name,))
            return fn

        return decorator

    def get(self, name: str, *, kind: str | None = None) -> Entry:
        """The entry registered as ``name`` (of ``kind``, when given).

        Raises
        ------
        GapvizError
            If there is no such statistic; the message lists the valid names.
        """
        entry = self._entries.get(name)
        if entry is None or (kind is not None and entry.kind != kind):
            what = "statistic" if kind is None else f"{kind} statistic"
            valid = ", ".join(self.names(kind=kind)) or "(none)"
            raise GapvizError(f"unknown {what} {name!r}; valid names: {valid}")
        return entry

    def entries(self, *, kind: str | None = None) -> list[Entry]:
        """Registered entries in registration order, optionally of one kind."""
        return [e for e in self._entries.values() if kind is None or e.kind == kind]

    def names(self, *, kind: str | None = None) -> list[str]:
        """Registered names in registration order, optionally of one kind."""
        return [e.name for e in self.entries(kind=kind)]

    def outputs(self, *, kind: str | None = None) -> list[str]:
        """Every output key of the registered statistics (of ``kind``), in order."""
        return [key for e in self.entries(kind=kind) for key in e.outputs]

    def producers(self, outputs, *, kind: str | None = None) -> list[str]:
        """Names of the statistics that compute the given output keys (each once, in registry order).

        Raises
        ------
        GapvizError
            For an output key no registered statistic produces; the message lists the valid keys.
        """
        wanted = set(outputs)
        names = [e.name for e in self.entries(kind=kind) if wanted & set(e.outputs)]
        known = set(self.outputs(kind=kind))
        missing = sorted(wanted - known)
        if missing:
            raise GapvizError(f"no registered statistic computes {missing}; valid keys: {', '.join(sorted(known))}")
        return names

    def __contains__(self, name: object) -> bool:
        return name in self._entries


REGISTRY = Registry()
register = REGISTRY.register
get = REGISTRY.get
names = REGISTRY.names
