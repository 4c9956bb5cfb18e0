"""`compare`'s first phase: check the arguments, load the model and its Tapper, pair the inputs.

`set_up` does everything that can fail on the arguments before the pass starts (so a wrong
argument costs no forward pass) and hands the later phases one `Setup`. `timed` records each
phase's wall time into the result's ``execution["timings"]``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from gapviz._checks import check_int, check_size, is_int
from gapviz._errors import GapvizError
from gapviz._progress import progress_bar
from gapviz._run_warnings import accidental_unpaired, data_warnings
from gapviz.impact import read_labels
from gapviz.inputs import build_pairs, preprocess_name
from gapviz.inputs._boxes import check_boxes_arg, coverage
from gapviz.inputs._provenance import check_mask_provenance, choose_policy
from gapviz.models import list_layers, load_model, model_source
from gapviz.models._cache import cached_tapper
from gapviz.pipeline._shard import check_options
from gapviz.recommend import knobs_to_calibrate
from gapviz.recommend._camera import load_camera
from gapviz.stats import make_layer_reducer
from gapviz.stats.examples import WithMaps

__all__ = ["Setup", "model_size", "progress", "set_up", "timed"]

#: compare's integer arguments and their lowest values
_INT_ARGS = (("batch_size", 1), ("examples", 0), ("n_boot", 10), ("calibration_pairs", 0), ("impact_pairs", 2),
             ("attribution_pairs", 2))  # fmt: skip


@dataclass
class Setup:
    """What the later phases need: compare's arguments (``opts``), the model side and the pairs."""

    opts: SimpleNamespace
    keras_model: Any
    source: Any
    tapper: Any
    model_size: tuple[int, int]
    depth: dict
    pre_name: str
    analysis_size: Any
    mask_provenance: str
    box_tables: Any
    pairset: Any
    provided: Any
    warns: list
    channels: int | None
    recommendations: bool
    reducer: Any
    policy: Any
    profile: Any

    @property
    def paired(self) -> bool:
        return self.pairset.paired

    @property
    def calibration_size(self) -> int:
        """Synthetic images the calibration takes (0 without recommendations or pairs)."""
        return self.opts.calibration_pairs if self.recommendations and self.paired else 0

    @property
    def impact_size(self) -> int:
        """Pairs kept for the model-impact measurements (0 when impact is off)."""
        return self.opts.impact_pairs if self.opts.impact else 0

    def guess(self, pair_values: Mapping) -> list[str]:
        """The knob set the calibration is expected to fit, on the pairs seen so far."""
        return knobs_to_calibrate(pair_values, paired=True, seed=self.opts.seed, n_boot=self.opts.n_boot)


def model_size(tapper: Any, image_size: int | Sequence[int] | None) -> tuple[int, int]:
    """The model input size: ``image_size`` where given (checked against a fixed input), else the model's."""
    if image_size is not None:
        size = check_size("image_size", image_size, low=8)
        fixed = tapper.input_shape[:2]
        if None not in fixed and tuple(fixed) != size:
            raise GapvizError(
                f"the model takes {fixed[0]}x{fixed[1]} images but image_size={image_size!r} was given; "
                "leave image_size out to use the model's own input size"
            )
        return size
    h, w = tapper.input_shape[:2]
    if h is None or w is None:
        raise GapvizError(
            "the model accepts images of any size, so gapviz cannot tell which size it was trained on; "
            "pass image_size= (e.g. image_size=512, or --image-size 512 on the command line)"
        )
    return int(h), int(w)


def _check_labels(labels: Any, *, impact: bool, paired: bool) -> None:
    """Fail before the pass on labels that the model-impact step could not use."""
    if not isinstance(labels, Mapping) or set(labels) - {"real", "synth"}:
        raise GapvizError(f"Argument 'labels' must be a dict with keys 'synth' and/or 'real' but got {labels!r}")
    if not impact:
        raise GapvizError("labels= needs impact=True: the errors are measured on the model-impact sample")
    if not paired:
        raise GapvizError("labels= needs paired sets: the errors are measured on pairs (pair the files by stem)")
    for value in labels.values():
        if value is not None:
            read_labels(value)


def set_up(opts: SimpleNamespace) -> Setup:
    """Check ``opts`` (compare's arguments), load the model, tap it, pair the inputs: the run's `Setup`."""
    for name, low in _INT_ARGS:
        check_int(name, getattr(opts, name), low=low)
    profile = load_camera(opts.camera) if opts.camera is not None else None
    check_options(opts.cluster, opts.shard_size)
    keras_model = load_model(opts.model, safe_mode=opts.safe_mode)
    source = model_source(keras_model)
    tapper = cached_tapper(keras_model, opts.layers)
    size = model_size(tapper, opts.image_size)
    depth = {info.path: info.depth for info in list_layers(keras_model)}
    pre_name = preprocess_name(opts.preprocess)
    analysis_size = opts.analysis_size
    if is_int(analysis_size):
        analysis_size = (int(analysis_size), int(analysis_size))
    mask_provenance = check_mask_provenance(opts.mask_provenance)
    box_tables = check_boxes_arg(opts.boxes)
    pairset = build_pairs(opts.real, opts.synth, pairing=opts.pairing, masks=opts.masks)
    provided = coverage(pairset, box_tables)
    if opts.labels:
        _check_labels(opts.labels, impact=opts.impact, paired=pairset.paired)
    return Setup(
        opts=opts, keras_model=keras_model, source=source, tapper=tapper, model_size=size, depth=depth,
        pre_name=pre_name, analysis_size=analysis_size,
        mask_provenance=mask_provenance, box_tables=box_tables, pairset=pairset, provided=provided,
        warns=data_warnings(pairset, opts.pairing, opts.masks), channels=tapper.input_shape[2],
        recommendations=opts.recommendations and not accidental_unpaired(pairset, opts.pairing),
        reducer=WithMaps(make_layer_reducer()), policy=choose_policy(mask_provenance, provided), profile=profile,
    )  # fmt: skip


def progress(total: int, enabled: bool | None, unit: str):
    """The run's progress bar (`gapviz._progress.progress_bar`, shared with the report)."""
    return progress_bar(total, progress=enabled, unit=unit, desc="gapviz")


@contextlib.contextmanager
def timed(timings: dict, phase: str) -> Iterator[None]:
    """Add the wall time of the ``with`` body to ``timings[phase]`` (seconds, rounded to 0.1 ms)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[phase] = round(timings.get(phase, 0.0) + time.perf_counter() - start, 4)
