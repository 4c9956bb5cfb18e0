"""The HTML page of a `GapResult`: one self-contained file.

Everything is a base64 data URI, the CSS is inline, and there is no script and no external
request, so the file opens offline and can be mailed around. Templates are Jinja2 files shipped in
``gapviz/report/templates`` and rendered with autoescape on: every file name, layer name and path
from the user is escaped.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from gapviz._progress import progress_bar
from gapviz.report._format import format_ci, format_number
from gapviz.report._view import build_view

if TYPE_CHECKING:  # pragma: no cover
    import jinja2

    from gapviz.result import GapResult

__all__ = ["environment", "render_report"]


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The Jinja2 environment of the package's templates (autoescape on, undefined names fail).

    Examples
    --------
    >>> environment().get_template("summary.html").name
    'summary.html'
    """
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("gapviz.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = format_number
    env.filters["ci"] = format_ci
    return env


def render_report(
    result: GapResult,
    *,
    title: str | None = None,
    before: GapResult | None = None,
    dpi: float = 80,
    progress: bool | None = False,
) -> str:
    """The self-contained HTML report of a comparison.

    Sections: summary, recommendations with their evidence, (before/after), curves across
    layers, the Canny baseline, feature-map galleries of the example pairs, image properties,
    per-layer statistics, skipped and unpaired inputs, methods and reproducibility.

    Parameters
    ----------
    result : GapResult
        The comparison to report.
    title : str, optional
        Page title (escaped like every other string).
    before : GapResult, optional
        An earlier comparison, e.g. before the renderer was changed. Adds a section comparing
        the gap |mean synth - mean real| of each recommended knob's main statistic (its first evidence item) before
        and after.
    dpi : float, optional
        Resolution of the two embedded charts; lower gives a smaller file. Image panels are
        stored at the size they are shown (photos as JPEG, feature maps as PNG at native size).
    progress : bool or None, default False
        A progress bar over the figures and panels: True on, False off, None where the user
        sees it (Jupyter, a terminal; see `gapviz._progress`).

    Returns
    -------
    str
        The HTML document. It makes no network request and runs no script.

    Examples
    --------
    >>> from gapviz.result import example_result
    >>> html = render_report(example_result(), title="shackles, run 3")
    >>> html.startswith("<!DOCTYPE html>"), "<script" in html, "shackles, run 3" in html
    (True, False, True)

    ``GapResult.save_report(path)`` writes the same page, atomically.
    """
    steps = 3 + sum(1 + len(pair.features) for pair in result.examples)
    with progress_bar(steps, progress=progress, unit="figure", desc="report") as bar:
        view = build_view(result, title=title, before=before, dpi=dpi, figures=True, bar=bar)
        html = environment().get_template("report.html").render(r=view)
        bar.update(1)
    return html
