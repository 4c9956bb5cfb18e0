"""`PairTable`: the per-pair values behind every paired statistic (``GapResult.pairs``).

One row per pair (per image when the sets are unpaired), one column per side of every image
statistic and per-layer scalar, plus the paired difference. It is a light column store on numpy:
``to_records()``, ``to_csv()``, ``to_pandas()`` and the dataframe interchange protocol
(``__dataframe__``) when pandas is installed; pandas is not a dependency.

Column names
------------
``pair``, ``real``, ``synth``
    The pair's id (file stem) and its two source files (empty for array inputs).
``{statistic}.real``, ``{statistic}.synth``, ``{statistic}.diff``
    An image statistic of ``GapResult.image_stats`` on each side, and ``synth - real``.
``{statistic}``
    A pair statistic (``canny_edge_agreement``: the synthetic edge map against the real one).
``{layer}/{statistic}.real`` (``.synth``, ``.diff``)
    A per-layer scalar (``background_ratio``, ``edge_sharpness``, ...) at a tapped layer path.

`furthest_pairs` picks, for each recommendation, the pairs whose difference on the
recommendation's main statistic is largest in the direction of the measured gap: the pairs to
look at first.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from gapviz._errors import GapvizError
from gapviz._paths import write_atomic

__all__ = ["PairTable", "furthest_pairs"]

_TEXT = ("pair", "real", "synth")


class PairTable:
    """Per-pair values of every image statistic and per-layer scalar, as named columns.

    Parameters
    ----------
    columns : mapping of str to sequence
        Equal-length columns. ``pair``, ``real``, ``synth`` (and ``side`` for unpaired sets)
        hold text; every other column is converted to float64 (NaN = not measured).

    Examples
    --------
    >>> t = PairTable({"pair": ["a", "b"], "brightness.real": [0.4, 0.5], "brightness.synth": [0.6, 0.5]})
    >>> t.with_diffs()["brightness.diff"].round(3).tolist()
    [0.2, 0.0]
    >>> t.to_records()[0]["pair"], len(t), t.statistics
    ('a', 2, ['brightness'])
    """

    def __init__(self, columns: Mapping[str, Sequence[Any]]) -> None:
        cols: dict[str, np.ndarray] = {}
        n = None
        for name, values in columns.items():
            text = name in _TEXT or name == "side"
            a = np.asarray(["" if v is None else str(v) for v in values], dtype=object) if text \
                else np.asarray(values, dtype=np.float64).reshape(-1)  # fmt: skip
            if n is not None and len(a) != n:
                raise GapvizError(f"column {name!r} has {len(a)} values but the table has {n} rows")
            n = len(a)
            a.flags.writeable = False
            cols[str(name)] = a
        self._columns = cols
        self._n = n or 0

    # -- construction ----------------------------------------------------------------------------
    @classmethod
    def from_accumulator(cls, ids: np.ndarray, columns: Mapping[str, np.ndarray], *,
                         paths: Mapping[str, tuple[str, str]] | None = None) -> PairTable:
        """The table of `gapviz.stats.PairAccumulator.pair_columns` output, with diffs and paths."""
        paths = paths or {}
        head: dict[str, Any] = {"pair": [str(i) for i in ids.tolist()]}
        if paths:
            head["real"] = [paths.get(p, ("", ""))[0] for p in head["pair"]]
            head["synth"] = [paths.get(p, ("", ""))[1] for p in head["pair"]]
        return cls({**head, **columns}).with_diffs()

    def with_diffs(self) -> PairTable:
        """The table with a ``.diff`` (synth - real) column after each real/synth pair of columns."""
        out: dict[str, np.ndarray] = {}
        cols = self._columns
        for name, col in cols.items():
            if name.endswith(".diff") or name in out:
                continue
            out[name] = col
            base = name[: -len(".real")] if name.endswith(".real") else None
            if base is not None and f"{base}.synth" in cols:
                out[f"{base}.synth"] = cols[f"{base}.synth"]
                with np.errstate(invalid="ignore"):
                    out[f"{base}.diff"] = cols[f"{base}.synth"] - col
        return PairTable(out)

    # -- access ----------------------------------------------------------------------------------
    @property
    def columns(self) -> list[str]:
        """Column names in order."""
        return list(self._columns)

    @property
    def statistics(self) -> list[str]:
        """Names with a real and a synthetic column (``brightness``, ``base/conv1/background_ratio``)."""
        return [name[: -len(".real")] for name in self._columns
                if name.endswith(".real") and name[: -len(".real")] + ".synth" in self._columns]

    def __len__(self) -> int:
        return self._n

    def __contains__(self, name: object) -> bool:
        return name in self._columns

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self._columns[name]
        except KeyError:
            import difflib

            close = difflib.get_close_matches(str(name), self._columns, n=3) or self.columns[:5]
            raise GapvizError(f"no column {name!r} in this pair table; closest: {', '.join(close)}") from None

    def __repr__(self) -> str:
        return f"<PairTable {self._n} rows x {len(self._columns)} columns>"

    def _repr_html_(self) -> str:
        from html import escape

        shown = self.columns[:8]
        head = "".join(f"<th>{escape(c)}</th>" for c in shown)
        body = "".join(
            "<tr>" + "".join(f"<td>{escape(_cell(self._columns[c][i]))}</td>" for c in shown) + "</tr>"
            for i in range(min(self._n, 5))
        )
        return (f"<p>PairTable: {self._n} rows x {len(self._columns)} columns (first 5 rows, 8 columns; "
                f"<code>.to_pandas()</code> for all)</p><table><tr>{head}</tr>{body}</table>")

    # -- conversion ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, list]:
        """Column name -> list of values (NaN stays NaN)."""
        return {name: col.tolist() for name, col in self._columns.items()}

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per row."""
        names = self.columns
        cols = [self._columns[n].tolist() for n in names]
        return [dict(zip(names, row, strict=True)) for row in zip(*cols, strict=True)]

    def to_csv(self, path: str | os.PathLike | None = None) -> str:
        """CSV text (10 significant digits, empty cell = not measured); written atomically to ``path``.

        Examples
        --------
        >>> PairTable({"pair": ["a"], "brightness.real": [0.25]}).to_csv().splitlines()
        ['pair,brightness.real', 'a,0.25']
        """
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        names = self.columns
        writer.writerow(names)
        cols = [self._columns[n].tolist() for n in names]
        writer.writerows([_cell(v) for v in row] for row in zip(*cols, strict=True))
        text = buf.getvalue()
        if path is not None:
            write_atomic(path, text.encode("utf-8"))
        return text

    def to_pandas(self):
        """A pandas DataFrame (pandas must be installed; it is not a gapviz dependency)."""
        try:
            import pandas as pd
        except ImportError:
            raise GapvizError("to_pandas() needs pandas, which gapviz does not install; "
                              "pip install pandas, or use to_records() / to_csv()") from None
        return pd.DataFrame({name: col.copy() for name, col in self._columns.items()})

    def __dataframe__(self, nan_as_null: bool = False, allow_copy: bool = True):
        """The dataframe interchange protocol, through pandas (for polars, pyarrow, ...)."""
        return self.to_pandas().__dataframe__(nan_as_null=nan_as_null, allow_copy=allow_copy)


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return "" if not math.isfinite(v) else f"{v:.10g}"
    return str(v)


# -- the pairs to look at first --------------------------------------------------------------------
def _column_for(table: PairTable, statistic: str, layer: str | None) -> str | None:
    """The table's statistic for an evidence item: an image statistic, or a layer scalar at ``layer``."""
    if layer and layer not in ("–", "across layers"):
        bare = str(layer).rsplit("/", 1)[-1]
        for name in table.statistics:
            path, _, key = name.rpartition("/")
            if key == statistic and (path == layer or path.rsplit("/", 1)[-1] == bare):
                return name
    return statistic if f"{statistic}.real" in table else None


def furthest_pairs(table: PairTable | None, recommendations: Iterable[Mapping], *, k: int = 3) -> list[dict]:
    """For each recommendation, the ``k`` pairs furthest from their partner on its main statistic.

    The main statistic is the recommendation's first evidence item (as in the report's cards).
    Pairs are ranked by ``diff * sign(mean diff)``: the pairs that show the measured gap most.

    Parameters
    ----------
    table : PairTable or None
        ``GapResult.pairs``.
    recommendations : iterable of dict
        ``GapResult.recommendations``.
    k : int
        Pairs per recommendation.

    Returns
    -------
    list of dict
        ``{"knob", "statistic", "layer", "column", "rows": [{"pair", "real", "synth", "diff"}]}``;
        recommendations whose main statistic has no per-pair column (set statistics such as CKA)
        are left out.

    Examples
    --------
    >>> t = PairTable({"pair": ["a", "b", "c"], "noise.real": [1, 1, 1], "noise.synth": [0.5, 0.9, 0.1]}).with_diffs()
    >>> rec = {"knob": "sensor_noise", "evidence": [{"statistic": "noise", "diff": -0.5}]}
    >>> [r["pair"] for r in furthest_pairs(t, [rec], k=2)[0]["rows"]]
    ['c', 'a']
    """
    if table is None or not len(table):
        return []
    out = []
    for rec in recommendations:
        evidence = rec.get("evidence") or ()
        if not evidence:
            continue
        main = evidence[0]
        statistic, layer = str(main.get("statistic", "")), main.get("layer")
        column = _column_for(table, statistic, layer)
        if column is None or f"{column}.diff" not in table:
            continue
        diff = table[f"{column}.diff"]
        try:
            sign = math.copysign(1.0, float(main.get("diff")))
        except (TypeError, ValueError):
            sign = math.copysign(1.0, float(np.nanmean(diff))) if np.isfinite(diff).any() else 1.0
        score = np.where(np.isfinite(diff), diff * sign, -np.inf)
        order = np.argsort(-score, kind="stable")[: max(int(k), 0)]
        rows = [{"pair": str(table["pair"][i]), "real": float(table[f"{column}.real"][i]),
                 "synth": float(table[f"{column}.synth"][i]), "diff": float(diff[i])}
                for i in order if np.isfinite(score[i])]
        if rows:
            out.append({"knob": str(rec.get("knob", "")), "statistic": statistic,
                        "layer": None if column == statistic else column.rsplit("/", 1)[0],
                        "column": column, "rows": rows})
    return out
