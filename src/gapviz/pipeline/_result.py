"""`compare`'s last phase: the model impact, the pair table and thumbnails, and the `GapResult`.

Everything here reads what the earlier phases made (`Setup`, the pass's `ShardRun`, the
finalised statistics, the recommendations); nothing changes a number of the comparison.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np

from gapviz._environment import environment
from gapviz._errors import GapvizError
from gapviz._paths import run_inputs
from gapviz._run_warnings import accidental_unpaired
from gapviz.impact import ATTRIBUTION_AUTO_PIXELS, measure_model_impact
from gapviz.inputs import decode_image, resize_image
from gapviz.inputs._channels import GREY_NOTE
from gapviz.inputs._provenance import provenance_record
from gapviz.models._layers import architecture
from gapviz.pairs import PairTable, furthest_pairs
from gapviz.pipeline._finalise import Final
from gapviz.pipeline._setup import Setup
from gapviz.pipeline._stream import ShardRun, ref_path
from gapviz.recommend._renderer import with_renderer_settings
from gapviz.result import GapResult

__all__ = ["FURTHEST_PAIRS", "THUMBNAIL_SIZE", "build_result", "thumbnails"]

#: pairs per recommendation that the report lists as furthest from their partner, with thumbnails
FURTHEST_PAIRS = 3
#: longer side of those thumbnails, in pixels
THUMBNAIL_SIZE = 128


def _pair_table(acc: Any, pairset: Any) -> PairTable:
    """`GapResult.pairs`: the accumulator's per-pair scalars with each pair's source files."""
    ids, columns = acc.pair_columns()
    paths = {p.stem: (ref_path(p.real) or "", ref_path(p.synth) or "") for p in pairset.pairs}
    return PairTable.from_accumulator(ids, columns, paths=paths if pairset.paired else None)


def thumbnails(pairset: Any, table: Any, recs: Sequence[Mapping]) -> tuple[dict, list[str]]:
    """Small images of the pairs furthest from their partner, read again from their sources, and a
    note for each pair whose files could not be read again (the report then lists it without)."""
    wanted = {row["pair"] for item in furthest_pairs(table, recs, k=FURTHEST_PAIRS) for row in item["rows"]}
    by_stem = {p.stem: p for p in pairset.pairs}
    out, notes = {}, []
    for stem in sorted(wanted):
        pair = by_stem.get(stem)
        if pair is None:
            continue
        images = []
        for side, ref in (("real", pair.real), ("synth", pair.synth)):
            try:
                image = pairset.arrays[side][ref] if isinstance(ref, (int, np.integer)) else decode_image(ref)
            except (GapvizError, OSError) as exc:  # changed since the pass: the numbers stand
                notes.append(f"no thumbnail for pair {stem!r}: {side} image could not be read again ({exc})")
                break
            image = np.clip(np.asarray(image, np.float32), 0, 255).astype(np.uint8)
            h, w = image.shape[:2]
            scale = THUMBNAIL_SIZE / max(h, w)
            images.append(resize_image(image, (max(1, round(h * scale)), max(1, round(w * scale)))))
        if len(images) == 2:
            out[stem] = tuple(images)
    return out, notes


def _model_impact(setup: Setup, run: ShardRun, recs: list) -> tuple[dict, list, list]:
    """`gapviz.impact.measure_model_impact` on the kept pairs: the ``model_impact`` block, the
    recommendations with their impact, the attribution maps; ({}, recs, []) when it is off."""
    o, sample = setup.opts, run.impact_sample
    if not o.impact:
        return {}, recs, []
    if not setup.paired or sample is None or len(sample) < 2:
        return {"notes": ["the sets are not paired, so no model impact was measured"]}, recs, []
    attribution = o.attribution
    if attribution is None:
        attribution = setup.model_size[0] * setup.model_size[1] <= ATTRIBUTION_AUTO_PIXELS
    new_recs, block, maps = measure_model_impact(
        setup.keras_model, sample, recs, model_size=setup.model_size, labels=o.labels, attribution=bool(attribution),
        layers=setup.tapper.layers, targets=setup.tapper._targets, keep_maps=len(run.kept), preprocess=o.preprocess,
        batch_size=2 * o.batch_size, seed=o.seed, n_boot=o.n_boot, label_scale=o.label_scale,
        model_path=setup.source.path, attribution_pairs=o.attribution_pairs,
    )  # fmt: skip
    return block, new_recs, maps


def _data(setup: Setup, run: ShardRun, thumbnail_notes: list) -> dict:
    """`GapResult.data`: the pair set, what the pass skipped and noted, masks, sizes, examples, warnings."""
    o, pairset = setup.opts, setup.pairset
    data = pairset.to_dict()
    data.update(
        n_pairs=int(run.acc.n_pairs) if setup.paired else 0,
        skipped=[*data["skipped"], *run.skipped],
        notes=[*run.notes, *thumbnail_notes],
        masks=run.mask_counts,
        analysis_size=list(run.analysis_size),
        model_size=list(setup.model_size),
        examples=[{"stem": e.stem, "real": e.real_path, "synth": e.synth_path} for e in run.kept],
        warnings=setup.warns,
        **({"recommendations_withheld": "nothing is paired"} if accidental_unpaired(pairset, o.pairing)
           else {}),
        mask_provenance=provenance_record(
            setup.mask_provenance, run.mask_counts, run.mask_used,
            {s: [(iou, bnd) for _, iou, bnd in rows] for s, rows in run.mask_quality.items()},
            coverage=setup.provided,
        ),
    )  # fmt: skip
    return data


def _model_info(setup: Setup) -> dict:
    """`GapResult.model`: the model's source, architecture, input, preprocessing and taps."""
    source, tapper, size = setup.source, setup.tapper, setup.model_size
    return {
        **source.to_dict(),
        "architecture": architecture(setup.keras_model, tapper.preset),
        "input_shape": [size[0], size[1], tapper.input_shape[2]],
        **({"notes": [*source.notes, GREY_NOTE]} if setup.channels == 1 else {}),
        "preprocess": setup.pre_name,
        "preset": tapper.preset,
        "layers": list(tapper.layers),
        "tap_mode": tapper.mode,
    }


def _parameters(setup: Setup, run: ShardRun, model_impact: dict, calibration: Any) -> dict:
    """`GapResult.parameters`: every argument that shaped the numbers, and the calibration's settings."""
    o = setup.opts
    parameters = {
        "seed": o.seed, "n_boot": o.n_boot, "batch_size": o.batch_size, "examples": o.examples,
        "pairing": o.pairing, "sample_cap": o.sample_cap, "image_size": list(setup.model_size),
        "analysis_size": list(run.analysis_size), "layers_requested": o.layers, "safe_mode": o.safe_mode,
        "mask_provenance": setup.mask_provenance,
    }  # fmt: skip
    if o.impact:
        parameters["impact"] = {
            "impact_pairs": o.impact_pairs, "attribution": "attribution" in model_impact,
            "attribution_pairs": o.attribution_pairs, "label_scale": o.label_scale,
            "labels": {k: (os.fspath(v) if isinstance(v, (str, os.PathLike)) else type(v).__name__)
                       for k, v in (o.labels or {}).items() if v is not None},
        }  # fmt: skip
    if calibration is not None:
        parameters["calibration"] = {
            "pairs": len(run.calib.images),
            "settings": calibration.settings,
            "objective_before": calibration.objective_before,
            "objective_after": calibration.objective_after,
            "share": calibration.share,
        }
    if setup.profile is not None:
        parameters["camera"] = setup.profile.to_dict()
    return parameters


def build_result(setup: Setup, run: ShardRun, final: Final, recs: list, calibration: Any) -> GapResult:
    """The `GapResult`: model impact on the recommendations, pair table, thumbnails, and every record."""
    o = setup.opts
    model_impact, recs, attribution_maps = _model_impact(setup, run, recs)
    pair_table = _pair_table(run.acc, setup.pairset)
    thumbs, thumbnail_notes = thumbnails(setup.pairset, pair_table, recs)
    data = _data(setup, run, thumbnail_notes)
    model_info = _model_info(setup)
    parameters = _parameters(setup, run, model_impact, calibration)
    if setup.profile is not None:
        recs = with_renderer_settings(recs, setup.profile, analysis_width=int(run.analysis_size[1]))
    canny = run.canny
    return GapResult(
        model=model_info,
        data=data,
        layers=final.layers,
        image_stats=final.stats["image_stats"],
        decay=final.stats["decay"],
        canny={**canny.to_dict(), "source": run.canny_source} if canny else {},
        recommendations=tuple(recs),
        parameters=parameters,
        environment=environment(),
        examples=tuple(run.kept),
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        pairs=pair_table,
        thumbnails=thumbs,
        model_impact=model_impact,
        attribution_examples=tuple(attribution_maps),
        inputs=tuple(run_inputs(setup.source.path, o.real, o.synth, o.masks, o.pairing, setup.pairset)
                     + [os.fspath(v) for v in (*(o.labels or {}).values(), *(o.boxes or {}).values())
                        if isinstance(v, (str, os.PathLike))]),
        execution=dict(run.execution),
    )  # fmt: skip
