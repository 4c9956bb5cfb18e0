"""Jupyter's view of a `GapResult` (``GapResult._repr_html_``): a compact HTML fragment."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gapviz.report._html import environment
from gapviz.report._view import build_view

if TYPE_CHECKING:  # pragma: no cover
    from gapviz.result import GapResult

__all__ = ["render_summary"]


def render_summary(result: GapResult) -> str:
    """A compact HTML fragment for Jupyter: one summary line and the recommendation cards.

    Parameters
    ----------
    result : GapResult
        The comparison to summarise.

    Returns
    -------
    str
        An HTML fragment without images; its CSS is scoped to the ``gapviz-summary`` class.

    Examples
    --------
    >>> from gapviz.result import example_result
    >>> html = render_summary(example_result())  # what Jupyter shows for a result
    >>> 'class="gapviz-summary' in html, "exposure" in html, "<img" in html
    (True, True, False)
    """
    view = build_view(result, title=None, before=None, dpi=0, figures=False)
    return environment().get_template("summary.html").render(r=view)
