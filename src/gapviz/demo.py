"""The whole job on built-in data: render pairs, compare, recommend, re-render, compare again.

`run_demo` is what ``gapviz demo`` and ``make demo`` run. It closes the loop the case study
closed by hand: the recommendations' suggested amounts go back into the renderer, the adjusted
synthetic set is rendered from the same seeds, and the gap is measured again.
"""

from __future__ import annotations

import math
import shutil
import time
from pathlib import Path

from gapviz._errors import GapvizError
from gapviz._progress import resolve_progress
from gapviz.assets import demo_model
from gapviz.comparison import compare
from gapviz.recommend import RULES
from gapviz.recommend._rules import REVERSE_CALIBRATED
from gapviz.scenes import write_scenes
from gapviz.scenes.blender._demo import renderer_settings_lines, write_camera

__all__ = ["loop_summary", "run_demo"]

_MARKER = ".gapviz-demo"


def _prepare(out: Path) -> None:
    if out.exists() and any(out.iterdir()) and not (out / _MARKER).exists():
        raise GapvizError(
            f"demo output folder {str(out)!r} exists and was not made by 'gapviz demo'; choose an empty or new folder"
        )
    for sub in ("scenes", "adjusted"):
        shutil.rmtree(out / sub, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / _MARKER).write_text("made by gapviz demo; its contents are replaced on the next run\n")


def _gap(stat: dict | None) -> float | None:
    if not stat or stat.get("diff") is None:
        return None
    return abs(float(stat["diff"]))


def _settable(rec: dict) -> bool:
    """Whether a recommendation's amount is a knob value to render with (not the renders' excess)."""

    reverse = rec.get("direction") == "reverse" and rec.get("knob") in REVERSE_CALIBRATED
    return rec.get("suggested") is not None and not reverse


def loop_summary(recommendations: list, before: dict, after: dict) -> list[dict]:
    """Per recommended knob with an amount: the gap on its primary statistic before and after.

    Parameters
    ----------
    recommendations : list of dict
        The recommendations of the comparison before the adjustment.
    before, after : dict
        ``image_stats`` of the comparison before and after the adjustment (``GapResult.image_stats``
        or the JSON ``image_stats``).

    Returns
    -------
    list of dict
        ``{"knob", "statistic", "suggested", "gap_before", "gap_after", "remaining"}`` where the
        gaps are ``|mean synth - mean real|`` and ``remaining = gap_after / gap_before``.

    Examples
    --------
    Only recommendations whose amount is a knob value to render with are followed (not
    ``sensor_noise`` in reverse, whose amount is the renders' excess, nor one without an amount):

    >>> recommendations = [{"knob": "exposure", "direction": "forward", "suggested": 0.4},
    ...                    {"knob": "sensor_noise", "direction": "reverse", "suggested": 3.0},
    ...                    {"knob": "lighting", "suggested": None}]
    >>> before = {"brightness": {"diff": -0.08}, "noise_sigma.background": {"diff": 2.0}}
    >>> after = {"brightness": {"diff": 0.02}, "noise_sigma.background": {"diff": 1.0}}
    >>> loop_summary(recommendations, before, after)
    [{'knob': 'exposure', 'statistic': 'brightness', 'suggested': 0.4, 'gap_before': 0.08, 'gap_after': 0.02,
      'remaining': 0.25}]
    """

    primary = {rule.knob: rule.primary for rule in RULES}
    rows = []
    for rec in recommendations:
        if not _settable(rec):
            continue
        statistic = primary[rec["knob"]]
        b, a = _gap(before.get(statistic)), _gap(after.get(statistic))
        remaining = None if b in (None, 0.0) or a is None else a / b
        rows.append(
            {
                "knob": rec["knob"],
                "statistic": statistic,
                "suggested": rec["suggested"],
                "gap_before": b,
                "gap_after": a,
                "remaining": remaining,
            }
        )
    return rows


def run_demo(
    out: str | Path = "gapviz-demo",
    *,
    n: int = 24,
    size: int = 512,
    seed: int = 0,
    progress: bool | None = None,
    engine: str = "2d",
    samples: int | None = None,
) -> str:
    """Render field/dataset1 pairs, compare them with the demo model, and close the loop.

    Parameters
    ----------
    out : path
        Output folder (created; a previous demo run in it is replaced).
    n : int
        Pairs to render.
    size : int
        Rendered image side in pixels.
    seed : int
        Seed of the first scene.
    progress : bool or None
        Progress bars: True on, False off, None (default) in Jupyter and on a terminal only.
    engine : str
        ``"2d"`` (the compositor) or ``"blender"``: the pairs and the re-render come from Cycles, the
        suggested amounts are applied as Blender settings (`gapviz.scenes.blender.physical_settings`:
        f-stop, pixel filter, light strengths, exposure, illuminant tint, grain, JPEG quality), and
        ``camera.json`` (the scene's own camera) and ``renderer-settings.json`` (the settings before
        and after) are written next to the reports.
    samples : int, optional
        Cycles samples per pixel for ``engine="blender"`` (default 16).

    Returns
    -------
    str
        A short summary: where the reports are, and how much of each recommended gap remains.

    Examples
    --------
    ``print(run_demo("gapviz-demo"))`` renders 24 pairs, writes ``report.html`` and
    ``report-adjusted.html`` there and prints a summary such as (about a minute on two CPU cores)::

        report: /.../gapviz-demo/report.html
        <GapResult MobileNetV2: 24 pairs, 6 layers, recommendations: ...>
        ...
        re-rendered dataset1 with ...
        report after adjustment: /.../gapviz-demo/report-adjusted.html
          ...                                       ... % of the gap remains
        done in ... s

    Its arguments are checked before anything is rendered or written:

    >>> try:
    ...     run_demo("gapviz-demo", n=2)
    ... except GapvizError as exc:
    ...     print(exc)
    the demo needs at least 4 pairs, got n=2
    """

    if n < 4:
        raise GapvizError(f"the demo needs at least 4 pairs, got n={n}")
    out = Path(out)
    progress = resolve_progress(progress)
    _prepare(out)
    t0 = time.perf_counter()
    render = {"engine": engine, "samples": samples} if engine != "2d" else {}
    write_scenes(out / "scenes", preset="field", pair_with="dataset1", n=n, seed=seed, size=size, progress=progress,
                 **render)  # fmt: skip
    t_render = time.perf_counter() - t0
    real = out / "scenes" / "real" / "images"
    model = demo_model()
    camera = None
    if engine == "blender":  # the scene's own camera, so the cards say the amounts in Blender's settings
        camera = write_camera(out, size, samples)
    # the renderer knows its masks; the photographs' masks are estimated, as for a real user
    before = compare(model, real, out / "scenes" / "synth" / "images",
                     masks={"synth": out / "scenes" / "synth" / "masks"}, seed=seed, progress=progress,
                     camera=camera,
                     labels={"synth": out / "scenes" / "labels.csv", "real": out / "scenes" / "labels.csv"})  # fmt: skip
    before.save_report(out / "report.html", progress=progress)
    before.to_json(out / "report.json")
    before.pairs.to_csv(out / "pairs.csv")

    adjust = {r["parameter"]: r["suggested"] for r in before.recommendations if _settable(r)}
    lines = [f"report: {(out / 'report.html').resolve()}", repr(before)]
    errors = before.model_impact.get("labels") or {}
    if "estimated_real_mae" in errors and "real_mae" in errors:
        lines.append(f"demo model MAE: renders {errors['synth_mae']['value']:.3f}, estimated on photo-like images "
                     f"{errors['estimated_real_mae']['value']:.3f}, measured on the field scenes {errors['real_mae']['value']:.3f}")
    if not adjust:
        lines.append("no recommendation with a calibrated amount; nothing to re-render")
        return "\n".join(lines)
    overrides = [f"{k}={v}" for k, v in adjust.items()]
    if engine == "blender":
        lines += renderer_settings_lines(out, adjust, size, samples)
    write_scenes(out / "adjusted", preset="dataset1", n=n, seed=seed, size=size, overrides=overrides, progress=progress,
                 **render)  # fmt: skip
    after = compare(model, real, out / "adjusted" / "images", masks={"synth": out / "adjusted" / "masks"},
                    seed=seed, progress=progress)  # fmt: skip
    after.save_report(out / "report-adjusted.html", before=before, progress=progress)
    after.to_json(out / "report-adjusted.json")
    rows = loop_summary(list(before.recommendations), before.image_stats, after.image_stats)
    lines.append(f"re-rendered dataset1 with {', '.join(overrides)}")
    lines.append(f"report after adjustment: {(out / 'report-adjusted.html').resolve()}")
    for row in rows:
        rem = row["remaining"]
        rem_text = "n/a" if rem is None or not math.isfinite(rem) else f"{100 * rem:.0f} % of the gap remains"
        if engine != "2d":
            gaps = "  ".join("   n/a" if g is None else f"{g:9.4g}" for g in (row["gap_before"], row["gap_after"]))
            rem_text = f"gap before/after {gaps}  {rem_text}"
        lines.append(f"  {row['knob']:<13} {row['statistic']:<28} {rem_text}")
    if engine != "2d":
        lines.append(f"rendered {2 * n} {engine} scenes in {t_render:.0f} s ({t_render / (2 * n):.2f} s per scene)")
    lines.append(f"done in {time.perf_counter() - t0:.0f} s")
    return "\n".join(lines)
