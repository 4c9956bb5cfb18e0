"""`Recommendation`: one instruction for the rendering team, as it reaches users and the JSON."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from gapviz._errors import GapvizError

__all__ = ["Recommendation"]

#: fields added after the rules (prediction impact, renderer settings): in the JSON only when set
_OPTIONAL = ("impact", "impact_rank", "severity_rank", "renderer_settings")


@dataclass(frozen=True, eq=False)
class Recommendation(Mapping):
    """One instruction for the rendering team (an item of the JSON ``recommendations``).

    A frozen dataclass that is also a read-only mapping of its JSON fields, so that
    ``rec.knob`` and ``rec["knob"]`` are the same and ``dict(rec) == rec.to_dict()``. It equals any
    mapping with the same items (a JSON item loaded back, for instance). The optional fields
    ``impact``, ``impact_rank``, ``severity_rank`` and ``renderer_settings`` are keys only when set.

    Attributes
    ----------
    knob : str
        The knob (`gapviz.vocabulary.KNOBS`).
    action : str
        The instruction, in plain language.
    severity : str
        ``"high"``, ``"medium"`` or ``"low"`` (`gapviz.vocabulary.SEVERITIES`).
    effect_size : float or None
        Paired effect size of the knob's primary statistic.
    ci95 : list
        95 % bootstrap CI of that statistic's mean difference (synthetic - real).
    evidence : list of dict
        The measurements behind it, the primary statistic first.
    suggested : float, int or None
        Calibrated amount (``parameter`` in ``unit``), when one could be estimated.
    parameter, unit : str or None
        The knob the amount sets and its unit.
    magnitude : float or None
        Mean paired difference in real-set standard deviations.
    direction : str
        ``"add"`` (the renders need more of the knob's effect), ``"reverse"`` (they carry too much)
        or ``"revealed"`` (uncovered by the calibration).
    priority : float
        Ordering weight within a severity.
    notes : list of str
        Why a severity was lowered or an amount withheld.
    impact : dict or None
        What the amount does to the model's prediction (`gapviz.impact`).
    impact_rank, severity_rank : int or None
        Rank by impact (1 = the largest) and by severity order.
    renderer_settings : dict or None
        The amount in the renderer's own settings (`gapviz.recommend.renderer_settings`).

    Examples
    --------
    >>> rec = Recommendation(knob="exposure", action="Lower the exposure.", severity="high",
    ...                      effect_size=2.0, ci95=[0.08, 0.12], evidence=[])
    >>> rec["knob"], rec.severity, "impact" in rec
    ('exposure', 'high', False)
    >>> dict(rec) == rec.to_dict() and Recommendation.from_dict(rec.to_dict()) == rec
    True
    >>> rec.replace(severity_rank=1)["severity_rank"]
    1
    """

    knob: str
    action: str
    severity: str
    effect_size: float | None
    ci95: list
    evidence: list
    suggested: float | int | None = None
    parameter: str | None = None
    unit: str | None = None
    magnitude: float | None = None
    direction: str = "add"
    priority: float = 0.0
    notes: list = field(default_factory=list)
    impact: dict | None = None
    impact_rank: int | None = None
    severity_rank: int | None = None
    renderer_settings: dict | None = None

    def to_dict(self) -> dict:
        """The JSON item: every field, the optional ones only when set (copies, not views)."""
        out = asdict(self)
        for name in _OPTIONAL:
            if out[name] is None:
                del out[name]
        return out

    @classmethod
    def from_dict(cls, item: Mapping[str, Any]) -> Recommendation:
        """The recommendation of a JSON item (or any mapping with the same keys).

        Raises
        ------
        GapvizError
            For a key that is not a field, or a missing required field.
        """
        if isinstance(item, cls):
            return item
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(item) - names)
        if unknown:
            raise GapvizError(
                f"Argument 'item' must have only the keys of a recommendation ({', '.join(sorted(names))}) "
                f"but got {unknown}"
            )
        try:
            return cls(**item)
        except TypeError as exc:
            raise GapvizError(
                f"Argument 'item' must be a whole recommendation but got the keys {sorted(item)}: {exc}"
            ) from None

    def replace(self, **changes: Any) -> Recommendation:
        """A copy with ``changes`` applied (the instance itself is frozen)."""
        return replace(self, **changes)

    # -- read-only mapping of the JSON fields ----------------------------------------------------
    def _keys(self) -> list[str]:
        return [f.name for f in fields(self) if f.name not in _OPTIONAL or getattr(self, f.name) is not None]

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    def __repr__(self) -> str:
        amount = "" if self.suggested is None else f", suggested={self.suggested!r}"
        return f"Recommendation(knob={self.knob!r}, severity={self.severity!r}, direction={self.direction!r}{amount})"
