"""Recommendations for the rendering team, in the fixed knob vocabulary of DESIGN.md.

`recommend` applies the rules in `RULES` to the measured statistics; amounts are calibrated by
`calibrate`, which re-applies the renderer's camera operators to a sample of synthetic images
and measures again.
"""

from gapviz.recommend._calibrate import (
    CALIBRATED_KNOBS,
    BackgroundCalibration,
    Calibration,
    CalibrationSample,
    calibrate,
)
from gapviz.recommend._rules import KNOBS, RULES, Recommendation, Rule, knobs_to_calibrate, recommend

__all__ = [
    "CALIBRATED_KNOBS",
    "KNOBS",
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
