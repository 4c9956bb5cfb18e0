"""Everything gapviz shows of a `GapResult`: the HTML report, the Jupyter summary and the figures.

The report draws only what the result holds; it never recomputes a statistic. One module per job:

``_html``
    The self-contained HTML page (`render_report`), from the Jinja2 templates shipped in
    ``gapviz/report/templates`` (package data), rendered with autoescape on: every file name,
    layer name and path from the user is escaped.
``_jupyter``
    The compact fragment Jupyter shows for a result (`render_summary`, ``GapResult._repr_html_``).
``_view``, ``_rows``, ``_format``
    The view model the templates print, built in named steps; table rows and cards; numbers as
    printed. A statistic's status is its `gapviz.stats.Stat.verdict`.
``_fig_maps``, ``_fig_stats``, ``_fig_common``
    The matplotlib figures (feature maps, Canny edges; curves across layers, image statistics)
    on the Agg canvas, never ``pyplot``'s global state.
``_panels``
    The report's image panels (inputs, Canny edges, feature maps, thumbnails) drawn with numpy and
    PIL: photos as JPEG at the size shown, each embedded once as a CSS class that every panel
    showing it reuses, feature maps as PNG at their native resolution.
``_impact``, ``_notes``, ``_provenance``, ``_renderer``
    The model-impact section, notes and warnings, mask provenance, renderer settings.

Everything is a base64 data URI, the CSS is inline, and there is no script and no external
request, so the file opens offline and can be mailed around. A section is a template plus a
context entry: ``report.html`` includes the section's template (e.g. ``{% include
"_furthest.html" %}``), `gapviz.report._view.build_view` puts the section's data under one key of
``r`` (e.g. ``r.furthest``), and its ``_sections`` lists it in the navigation.

This package sits above `gapviz.result` and imports it for types only; `GapResult`'s own
``save_report``, ``_repr_html_`` and ``plot_*`` methods reach this package through one lazy
import (`gapviz.result._presentation`).
"""

from __future__ import annotations

from gapviz.report._fig_common import short_layer_name
from gapviz.report._fig_maps import plot_canny, plot_feature_maps
from gapviz.report._fig_stats import plot_image_stats, plot_layer_curves
from gapviz.report._format import format_ci, format_number
from gapviz.report._html import render_report
from gapviz.report._impact import plot_attribution_maps, plot_impact
from gapviz.report._jupyter import render_summary

__all__ = [
    "format_ci",
    "format_number",
    "plot_attribution_maps",
    "plot_canny",
    "plot_feature_maps",
    "plot_image_stats",
    "plot_impact",
    "plot_layer_curves",
    "render_report",
    "render_summary",
    "short_layer_name",
]
