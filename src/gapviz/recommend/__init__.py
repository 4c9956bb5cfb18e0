"""Recommendations for the rendering team, in the fixed knob vocabulary of `gapviz.vocabulary`.

`recommend` applies the rules in `RULES` to the measured statistics and returns `Recommendation`
objects (frozen, and read-only mappings of their JSON fields); amounts are calibrated by
`calibrate`, which re-applies the renderer's camera operators to a sample of synthetic images
and measures again.
"""

from gapviz.recommend._calibrate import (
    CALIBRATED_KNOBS,
    OWN_STATISTIC,
    BackgroundCalibration,
    Calibration,
    CalibrationSample,
    calibrate,
)
from gapviz.recommend._recommendation import Recommendation
from gapviz.recommend._rules import KNOBS, RULES, Rule, knobs_to_calibrate, recommend

__all__ = [
    "CALIBRATED_KNOBS",
    "KNOBS",
    "OWN_STATISTIC",
    "RULES",
    "BackgroundCalibration",
    "Calibration",
    "CalibrationSample",
    "Recommendation",
    "Rule",
    "calibrate",
    "knobs_to_calibrate",
    "recommend",
]
