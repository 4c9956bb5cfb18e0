"""`compare`'s third and fourth phases: accumulators -> statistics, and statistics -> recommendations.

`finalise` turns the merged accumulator into the statistics (once, however the pass ran);
`recommend` takes the background calibration's result (fitted beside the pass) and asks the
rules (`gapviz.recommend.recommend`) for the recommendations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gapviz._errors import GapvizError
from gapviz._run_warnings import layer_warnings
from gapviz.pipeline._setup import Setup
from gapviz.pipeline._stream import ShardRun
from gapviz.recommend import Recommendation, calibrate
from gapviz.recommend import recommend as recommend_rules
from gapviz.recommend._sampler import calibration_measure
from gapviz.result import LayerResult
from gapviz.scenes._post import FinishedImage

__all__ = ["Final", "finalise", "recommend"]


@dataclass
class Final:
    """The finalised statistics (`PairAccumulator.finalize`) and the layers as `LayerResult`, shallow first."""

    stats: dict
    layers: tuple


def _usable(setup: Setup, run: ShardRun) -> None:
    """At least two usable pairs (or images per side), else the error naming the skipped files."""
    # every decoded row got exactly one mask (given or estimated), so the mask counts are the usable rows
    paired = setup.paired
    usable = run.acc.n_pairs if paired else min(sum(run.mask_counts[side].values()) for side in ("real", "synth"))
    if usable < 2:
        reasons = "; ".join(f"{s['path']}: {s['reason']}" for s in run.skipped[:5])
        raise GapvizError(
            f"fewer than 2 usable {'pairs' if paired else 'images per side'} ({usable}); "
            + (f"skipped: {reasons}" if reasons else "give at least two images on each side")
        )


def finalise(setup: Setup, run: ShardRun) -> Final:
    """The statistics of the run; appends the layers' warnings to ``setup.warns``."""
    _usable(setup, run)
    final = run.acc.finalize(seed=setup.opts.seed, n_boot=setup.opts.n_boot)
    setup.warns += layer_warnings(final["layers"])
    tapper = setup.tapper
    layer_results = tuple(
        sorted(
            (
                LayerResult(
                    name=name,
                    depth=int(setup.depth.get(name, i)),
                    shape=tuple(tapper.layer_shapes.get(name) or ())[1:],
                    stats={**final["layers"][name]["stats"], "nonfinite": final["layers"][name]["nonfinite"]},
                )
                for i, name in enumerate(tapper.layers)
            ),
            key=lambda layer: layer.depth,
        )
    )
    return Final(stats=final, layers=layer_results)


def recommend(setup: Setup, run: ShardRun, final: Final) -> tuple[list[Recommendation], Any]:
    """The recommendations and the calibration behind their amounts (([], None) when they are off)."""
    if not setup.recommendations:
        return [], None
    calib, ahead, canny, seed = run.calib, run.ahead, run.canny, setup.opts.seed
    sample = calib.build()
    calibrator = reverse_calibrator = None
    if sample is not None and ahead is not None:
        if not ahead.ready:  # fewer pairs than the sample's size: nothing was fitted ahead
            ahead.begin(sample, ())
        calibrator = ahead.result
        reverse = calib.build_reverse()
        if reverse is not None and canny is not None:

            def reverse_calibrator(knobs):
                return calibrate(reverse, knobs, measure=calibration_measure(canny), prepare=FinishedImage, seed=seed)

    return recommend_rules(
        image_stats=final.stats["image_stats"],
        pair_values=run.acc.pair_values(),
        layers=[layer.to_dict() for layer in final.layers],
        decay=final.stats["decay"],
        paired=setup.paired,
        calibrator=calibrator,
        width=int(run.analysis_size[1]),
        reverse_calibrator=reverse_calibrator,
    )
