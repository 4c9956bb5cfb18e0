"""`gapviz.compare` (defined here, in `gapviz.comparison`): one streaming pass over paired real and synthetic images.

Orchestration only: the maths lives in `gapviz.stats`, the input side in `gapviz.inputs`, the
model side in `gapviz.models`, the rules in `gapviz.recommend`. Data flows one way::

    build_pairs -> iter_batches (decode, resize, masks; prefetched threads)
      -> Tapper.reduce (forward pass + in-graph reductions, real and synth in one batch)
      -> PairAccumulator.add_layer
      -> image statistics (in a second thread, overlapping the forward pass)
      -> PairAccumulator.add_images
    -> finalize -> recommend -> GapResult
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np

from gapviz import _run_warnings
from gapviz._errors import GapvizError
from gapviz._paths import run_inputs
from gapviz._progress import NoBar, progress_bar
from gapviz._threads import yield_to_model
from gapviz.impact import ATTRIBUTION_PAIRS, IMPACT_PAIRS
from gapviz.result import ExamplePair, FeatureExample, GapResult, LayerResult

__all__ = ["compare"]

#: channels shown per layer in the feature-map galleries
TOP_CHANNELS = 8
#: synthetic images kept for calibrating recommended amounts
CALIBRATION_PAIRS = 8


def _model_size(tapper: Any, image_size: int | Sequence[int] | None) -> tuple[int, int]:
    if image_size is not None:
        if isinstance(image_size, (int, np.integer)) and not isinstance(image_size, bool):
            size = (int(image_size), int(image_size))
        else:
            size = tuple(int(v) for v in image_size)
        if len(size) != 2 or min(size) < 8:
            raise GapvizError(f"Argument 'image_size' must be an int or (height, width) >= 8 but got {image_size!r}")
        fixed = tapper.input_shape[:2]
        if None not in fixed and tuple(fixed) != size:
            raise GapvizError(
                f"the model takes {fixed[0]}x{fixed[1]} images but image_size={image_size!r} was given; "
                "leave image_size out to use the model's own input size"
            )
        return size  # type: ignore[return-value]
    h, w = tapper.input_shape[:2]
    if h is None or w is None:
        raise GapvizError(
            "the model accepts images of any size, so gapviz cannot tell which size it was trained on; "
            "pass image_size= (e.g. image_size=512, or --image-size 512 on the command line)"
        )
    return int(h), int(w)


def _environment() -> dict:
    import keras
    import tensorflow as tf

    from gapviz._version import __version__

    env = {
        "gapviz": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "devices": [d.name for d in tf.config.list_logical_devices()],
    }
    if "tf_keras" in sys.modules:
        env["tf_keras"] = sys.modules["tf_keras"].__version__
    return env


def _architecture(model: Any, preset: str | None) -> str:
    names = {"vgg16": "VGG16", "mobilenetv2": "MobileNetV2", "resnet50": "ResNet50", "resnet50v2": "ResNet50V2"}
    if preset in names:
        return names[preset]
    return f"{type(model).__name__} {getattr(model, 'name', '')}".strip()


def _feature_examples(acts_real: Mapping[str, np.ndarray], acts_synth: Mapping[str, np.ndarray], i: int) -> tuple:
    """Top channels by energy over the pair, and the energy maps, for row ``i`` of each layer."""
    out = []
    for layer in acts_real:
        r = np.nan_to_num(np.asarray(acts_real[layer][i], np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        s = np.nan_to_num(np.asarray(acts_synth[layer][i], np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        abs_r, abs_s = np.abs(r), np.abs(s)
        energy = abs_r.mean(axis=(0, 1)) + abs_s.mean(axis=(0, 1))
        top = np.argsort(-energy, kind="stable")[: min(TOP_CHANNELS, energy.size)]
        out.append(
            FeatureExample(
                layer=layer,
                channels=tuple(int(c) for c in top),
                real=r[..., top],
                synth=s[..., top],
                real_energy=abs_r.mean(axis=-1),
                synth_energy=abs_s.mean(axis=-1),
            )
        )
    return tuple(out)


def _ref_path(ref: Any) -> str | None:
    return None if isinstance(ref, (int, np.integer)) else os.fspath(ref)


def compare(
    model: Any,
    real: Any,
    synth: Any,
    *,
    layers: str | Sequence[str] | None = None,
    masks: Mapping[str, Any] | None = None,
    image_size: int | Sequence[int] | None = None,
    analysis_size: int | Sequence[int] | None = None,
    preprocess: str | Callable = "unit",
    batch_size: int = 8,
    examples: int = 5,
    pairing: str = "auto",
    seed: int = 0,
    n_boot: int = 1000,
    sample_cap: int = 500,
    workers: int = 2,
    progress: bool | None = None,
    safe_mode: bool = True,
    recommendations: bool = True,
    calibration_pairs: int = CALIBRATION_PAIRS,
    camera: Any = None,
    impact: bool = True,
    impact_pairs: int = IMPACT_PAIRS,
    labels: Mapping[str, Any] | None = None,
    label_scale: float | None = None,
    attribution: bool | None = None,
    attribution_pairs: int = ATTRIBUTION_PAIRS,
    mask_provenance: str = "match",
    boxes: Mapping[str, Any] | None = None,
    cluster: Any = None,
    shard_size: int | None = None,
    cache: str | os.PathLike | None = None,
) -> GapResult:
    """Measure how a model sees real images differently from synthetic ones.

    Parameters
    ----------
    model : str, os.PathLike, keras.Model or tf_keras.Model
        A model file (``.keras``, Keras 3 or tf.keras ``.h5``, tf.keras SavedModel folder) or an
        in-memory model. Files load with ``compile=False`` and Keras ``safe_mode``.
    real, synth : folder, list of paths, or array (N, H, W, 3)
        The two image sets. Folders pair by file stem; see ``pairing``.
    layers : str or sequence of str, optional
        Layers to tap (exact names, nested paths such as ``"resnet50v2/conv1_conv"``, or bare
        names unique inside nested models). Default: the architecture's preset, detected from
        layer names, or one conv layer per resolution stage.
    masks : dict, optional
        ``dict(real=folder, synth=folder)`` of object masks matched by stem (either may be
        missing). Absent masks are estimated; the result records which were given.
    image_size : int or (h, w), optional
        Model input size; required only for models that accept any size.
    analysis_size : int or (H, W), optional
        Size for the image statistics (Canny baseline, sharpness, noise). Default, by rule: the
        real images' median long side (headers of up to 64 images spread over the set), capped at
        512, at the model input's aspect ratio. Every image is centre-cropped to that aspect and
        resized (never stretched; masks alike); images under 8 pixels a side are skipped, large
        files are decoded at reduced size; all of it is recorded (docs/bad-inputs.md).
    preprocess : str or callable
        ``"unit"`` (x/255, the case study's training), ``"caffe"``, ``"tf"``, ``"torch"``,
        ``"raw"``, or a callable on a float32 batch in 0..255.
    batch_size : int
        Pairs per forward pass (each pass holds ``2 * batch_size`` images).
    examples : int
        Pairs kept with images, edge maps and feature maps for display.
    pairing : str
        ``"auto"``, ``"stem"``, ``"order"``, ``"unpaired"``, or a CSV manifest path
        (columns ``real,synth[,mask_real,mask_synth]``).
    seed : int
        Seeds the bootstrap, the vector sample and the calibration; same seed, same JSON.
    n_boot : int
        Bootstrap resamples for every confidence interval.
    sample_cap : int
        Pairs kept (a seeded uniform sample) for CKA and KID.
    workers : int
        Decoder threads.
    progress : bool or None
        Progress bar: True forces it on, False off; None (default) shows it in Jupyter (tqdm's
        notebook widget) and on a terminal, not in pipes or CI (`gapviz._progress`).
    safe_mode : bool
        Refuse model files with Lambda layers (they run code stored in the file).
    recommendations : bool
        Compute recommendations (with calibrated amounts).
    calibration_pairs : int, default 8 (``CALIBRATION_PAIRS``)
        Synthetic images (of the first pairs) on which recommended amounts are calibrated. The
        calibration is a fixed cost of about 4 CPU-s for 8 images at 512x512 (1.7-3.1 s of wall
        time on two busy CPU cores, see docs/performance.md). It starts in a background thread
        once those pairs' statistics are in, beside the forward pass; fewer images make it
        cheaper and the amounts noisier, 0 gives recommendations without ``suggested`` amounts.
    camera : str, os.PathLike, dict or CameraProfile, optional
        A camera profile (``camera.json``, see `gapviz.load_camera`): every recommendation then also
        carries ``renderer_settings``, its amount said in the engine's own properties (f-number,
        filter width, exposure, ...) with a ready Blender or Unreal snippet. Validated first.
    impact : bool
        Measure what each gap does to the model (`gapviz.impact`, paired sets only): every
        recommended camera-knob amount is applied to the first ``impact_pairs`` synthetic images
        with the calibration's operators and the whole model (head included) predicts again; the
        change of the prediction is stored on each recommendation (``impact``, ``impact_rank``)
        and in ``GapResult.model_impact``. Costs (1 + knobs + 1) forward passes over
        ``impact_pairs`` images after the pass (docs/model-impact.md).
    impact_pairs : int, default 16 (``gapviz.impact.IMPACT_PAIRS``)
        Pairs kept for the impact, label and attribution measurements (the first of the pass; the
        first ``calibration_pairs`` of them are the calibration's images).
    labels : dict, optional
        ``dict(synth=csv, real=csv)`` (either may be missing): CSV files with a ``stem`` column and
        a label column (``label``, else ``wear`` as in the built-in scenes' labels.csv, else the
        second column), or mappings stem -> label. With synthetic labels, the MAE of the renders as
        they are and adjusted by all amounts (an estimate of the error on photos like the real
        set); with real labels too, the measured real MAE and the share of the penalty explained.
    label_scale : float, optional
        Labels are multiplied by it to reach the model's output unit. Default 1, except 0.01 for a
        ``wear`` column (percent) with the shipped demo model (which predicts fractions).
    attribution : bool, optional
        Measure where the model looks: per tapped layer, the share of gradient x activation of the
        output on the background, real vs synthetic (a backward pass over 2 x ``attribution_pairs``
        images). Default: on when the model input has at most 256 x 256 pixels.
    attribution_pairs : int, default 8
        Pairs (the first of the impact sample) whose attribution is measured.
    mask_provenance : {"match", "as_given"}, default "match"
        ``"match"``: statistics that split object from background use masks of one provenance on
        both sides. Unless every image on both sides has a given mask, all masks are estimated
        (given ones then measure the estimator: IoU and boundary error in
        ``result.data["mask_provenance"]``), because a given mask against an estimated one
        creates object/background gaps that do not exist. ``"as_given"``: use each given mask
        as it is; the result and report then warn when the sides' sources differ. Where every
        image has a given mask or a box, ``"match"`` estimates every mask from its box (a given
        mask's own bounding box where it has none).
    boxes : dict, optional
        ``dict(real=csv, synth=csv)``: bounding boxes (``stem,x0,y0,x1,y1`` rows, pixels of the
        original image; or a ``{stem: (x0, y0, x1, y1)}`` dict, keyed by row index for arrays)
        that seed the mask estimator (`gapviz.inputs._boxes.estimate_mask_in_box`) where no mask
        is given. Either side may be missing.
    cluster : int, str or dask.distributed.Client, optional
        Run the pairs as shards on Dask workers: a worker count (a local cluster of that many
        processes, started for this call), a scheduler address (``"tcp://host:8786"``), or a
        ``Client``. The model must be a file the workers can read; each worker loads it itself.
        Needs ``pip install 'gapviz[dask]'``. Default: one process. Same numbers either way, for
        a one-process run with the workers' OpenCV thread count (docs/performance.md).
    shard_size : int, optional
        Pairs per shard (rounded up to whole batches; default 256). Does not change the numbers.
    cache : str or path, optional
        Folder for finished shards' states: a rerun of the same model, parameters and files
        (after Ctrl-C or a lost worker) computes only the shards not found there. Works with or
        without ``cluster``; ``result.execution`` says which shards were reused.

    Returns
    -------
    GapResult

    Examples
    --------
    >>> import gapviz
    >>> result = gapviz.compare(gapviz.demo_model(), "photos/", "renders/")  # doctest: +SKIP
    >>> result.recommendations[0]["knob"]  # doctest: +SKIP
    'camera_focus'
    """
    from gapviz import _shards, inputs, stats
    from gapviz.inputs._channels import GREY_NOTE
    from gapviz.models import list_layers, load_model, model_source
    from gapviz.recommend import knobs_to_calibrate

    for name, value, low in (("batch_size", batch_size, 1), ("examples", examples, 0), ("n_boot", n_boot, 10),
                           ("calibration_pairs", calibration_pairs, 0), ("impact_pairs", impact_pairs, 2),
                           ("attribution_pairs", attribution_pairs, 2)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
            raise GapvizError(f"Argument {name!r} must be an int >= {low} but got {value!r}")

    profile = None
    if camera is not None:
        from gapviz.recommend._camera import load_camera

        profile = load_camera(camera)
    _shards.check_options(cluster, shard_size)
    keras_model = load_model(model, safe_mode=safe_mode)
    source = model_source(keras_model)
    tapper = _tapper(keras_model, layers)
    model_size = _model_size(tapper, image_size)
    depth = {info.path: info.depth for info in list_layers(keras_model)}
    pre_name = inputs.preprocess_name(preprocess)
    if isinstance(analysis_size, (int, np.integer)) and not isinstance(analysis_size, bool):
        analysis_size = (int(analysis_size), int(analysis_size))

    from gapviz.inputs._boxes import check_boxes_arg, coverage
    from gapviz.inputs._provenance import check_mask_provenance, choose_policy, provenance_record

    mask_provenance = check_mask_provenance(mask_provenance)
    box_tables = check_boxes_arg(boxes)
    pairset = inputs.build_pairs(real, synth, pairing=pairing, masks=masks)
    provided = coverage(pairset, box_tables)
    paired = pairset.paired
    if labels:
        _check_labels(labels, impact=impact, paired=paired)
    warns = _run_warnings.data_warnings(pairset, pairing, masks)
    channels = tapper.input_shape[2]
    if _run_warnings.accidental_unpaired(pairset, pairing):
        recommendations = False
    reducer = _WithMaps(stats.make_layer_reducer())

    total = len(pairset.pairs) if paired else len(pairset.real_items) + len(pairset.synth_items)
    bar = _progress(total, progress, "pairs" if paired else "images")
    sample_size = calibration_pairs if recommendations and paired else 0
    policy = choose_policy(mask_provenance, provided)

    def guess(pair_values: Mapping) -> list[str]:
        return knobs_to_calibrate(pair_values, paired=True, seed=seed, n_boot=n_boot)

    # the background calibration (entered into ``finish`` by the stream) lives until the
    # recommendations have taken its result
    finish = contextlib.ExitStack()
    try:
        if cluster is None and cache is None:
            stream = _shards.run_stream(
                pairset, tapper=tapper, reducer=reducer, model_size=model_size, analysis_size=analysis_size,
                preprocess=preprocess, batch_size=batch_size, workers=workers, sample_cap=sample_cap, seed=seed,
                examples=examples, calibration_pairs=sample_size, cleanup=finish, guess=guess, bar=bar,
                mask_policy=policy, boxes=box_tables, channels=channels, impact_pairs=impact_pairs if impact else 0,
            )  # fmt: skip
            # no timings here: two plain runs of the same inputs give the same JSON (but ``created``)
            stream.execution = {"mode": "one process", "workers": 1, "shards": 1}
        else:
            stream = _shards.run_sharded(
                pairset, spec_args=_shard_spec(source, keras_model, safe_mode, tapper, model_size, analysis_size,
                                               preprocess, batch_size, workers, sample_cap, seed, cluster, cache,
                                               policy, box_tables, channels, impact_pairs if impact else 0),
                tapper=tapper, reducer=reducer, shard_size=shard_size, cluster=cluster, cache=cache,
                cache_key=_cache_key(source, tapper, pre_name, model_size, batch_size, sample_cap, seed, paired,
                                     safe_mode, policy, channels) if cache is not None else None,
                examples=examples, calibration_pairs=sample_size, cleanup=finish, guess=guess, bar=bar,
            )  # fmt: skip
    except BaseException:
        bar.close()
        finish.close()
        raise
    bar.close()
    acc, kept, calib, ahead = stream.acc, stream.kept, stream.calib, stream.ahead
    canny, canny_source = stream.canny, stream.canny_source

    # the background calibration lives until the recommendations have taken its result
    with finish:
        # every decoded row got exactly one mask (given or estimated), so the mask counts are the usable rows
        usable = acc.n_pairs if paired else min(sum(stream.mask_counts[side].values()) for side in ("real", "synth"))
        if usable < 2:
            reasons = "; ".join(f"{s['path']}: {s['reason']}" for s in stream.skipped[:5])
            raise GapvizError(
                f"fewer than 2 usable {'pairs' if paired else 'images per side'} ({usable}); "
                + (f"skipped: {reasons}" if reasons else "give at least two images on each side")
            )

        final = acc.finalize(seed=seed, n_boot=n_boot)
        warns += _run_warnings.layer_warnings(final["layers"])
        layer_results = tuple(
            sorted(
                (
                    LayerResult(
                        name=name,
                        depth=int(depth.get(name, i)),
                        shape=tuple(tapper.layer_shapes.get(name) or ())[1:],
                        stats={**final["layers"][name]["stats"], "nonfinite": final["layers"][name]["nonfinite"]},
                    )
                    for i, name in enumerate(tapper.layers)
                ),
                key=lambda layer: layer.depth,
            )
        )

        recs: list[dict] = []
        calibration = None
        if recommendations:
            recs, calibration = _recommend(final, acc, layer_results, paired, calib, ahead, stream.analysis_size,
                                           canny, seed)

    model_impact, attribution_maps = _model_impact(
        keras_model, tapper, stream.impact_sample, recs, impact=impact, paired=paired, model_size=model_size,
        preprocess=preprocess, batch_size=2 * batch_size, seed=seed, n_boot=n_boot, labels=labels,
        label_scale=label_scale, model_path=source.path, attribution=attribution,
        attribution_pairs=attribution_pairs, examples=len(kept),
    )  # fmt: skip
    if model_impact.get("recommendations") is not None:
        recs = model_impact.pop("recommendations")

    pair_table = _pair_table(acc, pairset)
    thumbnails, thumbnail_notes = _thumbnails(pairset, pair_table, recs)
    data = pairset.to_dict()
    data.update(
        n_pairs=int(acc.n_pairs) if paired else 0,
        skipped=[*data["skipped"], *stream.skipped],
        notes=[*stream.notes, *thumbnail_notes],
        masks=stream.mask_counts,
        analysis_size=list(stream.analysis_size),
        model_size=list(model_size),
        examples=[{"stem": e.stem, "real": e.real_path, "synth": e.synth_path} for e in kept],
        warnings=warns,
        **({"recommendations_withheld": "nothing is paired"} if _run_warnings.accidental_unpaired(pairset, pairing)
           else {}),
        mask_provenance=provenance_record(
            mask_provenance, stream.mask_counts, stream.mask_used,
            {s: [(iou, bnd) for _, iou, bnd in rows] for s, rows in stream.mask_quality.items()},
            coverage=provided,
        ),
    )
    _run_warnings.emit(warns)
    model_info = {
        **source.to_dict(),
        "architecture": _architecture(keras_model, tapper.preset),
        "input_shape": [model_size[0], model_size[1], tapper.input_shape[2]],
        **({"notes": [*source.notes, GREY_NOTE]} if channels == 1 else {}),
        "preprocess": pre_name,
        "preset": tapper.preset,
        "layers": list(tapper.layers),
        "tap_mode": tapper.mode,
    }
    parameters = {
        "seed": seed, "n_boot": n_boot, "batch_size": batch_size, "examples": examples, "pairing": pairing,
        "sample_cap": sample_cap, "image_size": list(model_size),
        "analysis_size": list(stream.analysis_size), "layers_requested": layers, "safe_mode": safe_mode,
        "mask_provenance": mask_provenance,
    }  # fmt: skip
    if impact:
        parameters["impact"] = {
            "impact_pairs": impact_pairs, "attribution": "attribution" in model_impact,
            "attribution_pairs": attribution_pairs, "label_scale": label_scale,
            "labels": {k: (os.fspath(v) if isinstance(v, (str, os.PathLike)) else type(v).__name__)
                       for k, v in (labels or {}).items() if v is not None},
        }  # fmt: skip
    if calibration is not None:
        parameters["calibration"] = {
            "pairs": len(calib.images),
            "settings": calibration.settings,
            "objective_before": calibration.objective_before,
            "objective_after": calibration.objective_after,
            "share": calibration.share,
        }
    if profile is not None:
        from gapviz.recommend._renderer import with_renderer_settings

        recs = with_renderer_settings(recs, profile, analysis_width=int(stream.analysis_size[1]))
        parameters["camera"] = profile.to_dict()
    return GapResult(
        model=model_info,
        data=data,
        layers=layer_results,
        image_stats=final["image_stats"],
        decay=final["decay"],
        canny={"low": canny[0], "high": canny[1], "sigma": canny[2], "source": canny_source} if canny else {},
        recommendations=tuple(recs),
        parameters=parameters,
        environment=_environment(),
        examples=tuple(kept),
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        pairs=pair_table,
        thumbnails=thumbnails,
        model_impact=model_impact,
        attribution_examples=tuple(attribution_maps),
        inputs=tuple(run_inputs(source.path, real, synth, masks, pairing, pairset)
                     + [os.fspath(v) for v in (*(labels or {}).values(), *(boxes or {}).values())
                        if isinstance(v, (str, os.PathLike))]),
        execution=stream.execution,
    )


#: pairs per recommendation that the report lists as furthest from their partner, with thumbnails
FURTHEST_PAIRS = 3
#: longer side of those thumbnails, in pixels
THUMBNAIL_SIZE = 128


def _pair_table(acc: Any, pairset: Any) -> Any:
    """`GapResult.pairs`: the accumulator's per-pair scalars with each pair's source files."""
    from gapviz.pairs import PairTable

    ids, columns = acc.pair_columns()
    paths = {p.stem: (_ref_path(p.real) or "", _ref_path(p.synth) or "") for p in pairset.pairs}
    return PairTable.from_accumulator(ids, columns, paths=paths if pairset.paired else None)


def _thumbnails(pairset: Any, table: Any, recs: Sequence[Mapping]) -> tuple[dict, list[str]]:
    """Small images of the pairs furthest from their partner, read again from their sources, and a
    note for each pair whose files could not be read again (the report then lists it without)."""
    from gapviz import inputs
    from gapviz.pairs import furthest_pairs

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
                image = pairset.arrays[side][ref] if isinstance(ref, (int, np.integer)) else inputs.decode_image(ref)
            except (GapvizError, OSError) as exc:  # changed since the pass: the numbers stand
                notes.append(f"no thumbnail for pair {stem!r}: {side} image could not be read again ({exc})")
                break
            image = np.clip(np.asarray(image, np.float32), 0, 255).astype(np.uint8)
            h, w = image.shape[:2]
            scale = THUMBNAIL_SIZE / max(h, w)
            images.append(inputs.resize_image(image, (max(1, round(h * scale)), max(1, round(w * scale)))))
        if len(images) == 2:
            out[stem] = tuple(images)
    return out, notes


def _model_impact(model, tapper, sample, recs, *, impact, paired, model_size, attribution, labels, examples,
                  **kwargs) -> tuple[dict, list]:
    """`gapviz.impact.measure_model_impact` on the kept pairs; ({}, []) when it is off."""
    if not impact:
        return {}, []
    if not paired or sample is None or len(sample) < 2:
        return {"notes": ["the sets are not paired, so no model impact was measured"]}, []
    from gapviz.impact import ATTRIBUTION_AUTO_PIXELS, measure_model_impact

    if attribution is None:
        attribution = model_size[0] * model_size[1] <= ATTRIBUTION_AUTO_PIXELS
    new_recs, block, maps = measure_model_impact(
        model, sample, recs, model_size=model_size, labels=labels, attribution=bool(attribution),
        layers=tapper.layers, targets=tapper._targets, keep_maps=examples, **kwargs,
    )  # fmt: skip
    return {**block, "recommendations": new_recs}, maps


def _check_labels(labels: Any, *, impact: bool, paired: bool) -> None:
    """Fail before the pass on labels that the model-impact step could not use."""
    from gapviz.impact import read_labels

    if not isinstance(labels, Mapping) or set(labels) - {"real", "synth"}:
        raise GapvizError(f"Argument 'labels' must be a dict with keys 'synth' and/or 'real' but got {labels!r}")
    if not impact:
        raise GapvizError("labels= needs impact=True: the errors are measured on the model-impact sample")
    if not paired:
        raise GapvizError("labels= needs paired sets: the errors are measured on pairs (pair the files by stem)")
    for value in labels.values():
        if value is not None:
            read_labels(value)


def _shard_spec(source, model, safe_mode, tapper, model_size, analysis_size, preprocess, batch_size, workers,
                sample_cap, seed, cluster, cache, mask_policy=None, boxes=None, channels=None,
                impact_pairs=0) -> dict:
    """The `gapviz._shards.StreamSpec` fields of a sharded run (analysis size and Canny come later)."""
    path = source.path
    if cluster is not None and path is None:
        raise GapvizError(
            "cluster= needs the model as a file that the workers load themselves; save it first "
            "(model.save('model.keras')) and pass the path"
        )
    if cluster is not None and not isinstance(preprocess, str):
        raise GapvizError("cluster= needs a named preprocess ('unit', 'caffe', 'tf', 'torch', 'raw'), not a callable")
    return {
        "model_path": path, "model_sha256": source.sha256, "safe_mode": safe_mode,
        "layers": tuple(tapper.layers), "model_size": tuple(model_size),
        "analysis_size": tuple(analysis_size) if analysis_size is not None else None, "preprocess": preprocess,
        "batch_size": int(batch_size), "workers": int(workers), "sample_cap": int(sample_cap), "seed": int(seed),
        "mask_policy": mask_policy, "boxes": boxes, "channels": channels, "impact_pairs": int(impact_pairs),
    }  # fmt: skip


def _cache_key(source, tapper, pre_name, model_size, batch_size, sample_cap, seed, paired, safe_mode,
               mask_policy=None, channels=None) -> dict:
    """What a cached shard state must have been computed with (besides its files)."""
    from gapviz._version import __version__

    if source.sha256 is None:
        raise GapvizError("cache= needs the model as a file (its sha256 keys the cache); pass the model's path")
    if pre_name.startswith("callable:"):
        raise GapvizError("cache= needs a named preprocess ('unit', 'caffe', 'tf', 'torch', 'raw'), not a callable")
    return {
        "gapviz": __version__, "model_sha256": source.sha256, "layers": list(tapper.layers), "tap_mode": tapper.mode,
        "model_size": list(model_size), "preprocess": pre_name, "batch_size": int(batch_size),
        "sample_cap": int(sample_cap), "seed": int(seed), "paired": bool(paired), "safe_mode": bool(safe_mode),
        "mask_policy": mask_policy, "channels": channels,
    }  # fmt: skip


#: attribute on an in-memory model holding its Tappers by requested layers (traced functions included)
_TAPPERS = "_gapviz_tappers"


def _tapper(model: Any, layers: str | Sequence[str] | None) -> Any:
    """The model's Tapper for ``layers``, reused across calls on the same model object.

    Tracing the forward pass with the reductions costs about 2 s on ResNet50; a notebook that
    calls `compare` again on the same model (or the demo's before/after runs) reuses the trace.
    The cache lives on the model object itself (set past Keras' attribute tracking, so it is
    neither saved nor counted as a sublayer) and goes away with it.
    """
    from gapviz.models import tap
    from gapviz.models._cache import cached_on_model

    key = layers if layers is None or isinstance(layers, str) else tuple(layers)
    return cached_on_model(model, _TAPPERS, key, lambda: tap(model, layers))


def _side_stats(side: str, images: np.ndarray, masks: np.ndarray, canny: tuple) -> dict:
    from gapviz import stats

    return {side: stats.image_stats_batch(images, masks, canny=canny)}


#: reducer output key of the example rows' full activations (popped before accumulation)
_MAPS = "_example_maps"


@dataclass(frozen=True)
class _WithMaps:
    """The layer reducer, plus the full activations of the rows flagged in ``aux[_MAPS]`` ((B,) bool).

    The example pairs' feature maps ride on their batch's one forward pass instead of a second
    pass over their images; batches without examples flag no row (an empty, free gather) and run
    the same traced function. Plain TensorFlow ops, so it runs wherever the model does.
    """

    base: Any

    def __call__(self, name: str, activation: Any, aux: Any) -> dict:
        import tensorflow as tf

        out = dict(self.base(name, activation, aux))
        out[_MAPS] = tf.boolean_mask(activation, aux[_MAPS])
        return out


def _examples(k: int, batch: Any, maps: Mapping[str, np.ndarray], canny: tuple) -> list[ExamplePair]:
    """The batch's first ``k`` pairs with full feature maps (``maps``: rows real[:k] + synth[:k])."""
    from gapviz import stats

    real_acts = {name: a[:k] for name, a in maps.items()}
    synth_acts = {name: a[k:] for name, a in maps.items()}
    low, high, sigma = canny
    kept = []
    for i in range(k):
        kept.append(
            ExamplePair(
                stem=batch.stems[i],
                real_path=_ref_path(batch.refs["real"][i]),
                synth_path=_ref_path(batch.refs["synth"][i]),
                real_image=batch.real_analysis[i].copy(),
                synth_image=batch.synth_analysis[i].copy(),
                real_mask=batch.real_mask_analysis[i].copy(),
                synth_mask=batch.synth_mask_analysis[i].copy(),
                real_edges=stats.canny_edges(batch.real_analysis[i], low, high, sigma=sigma),
                synth_edges=stats.canny_edges(batch.synth_analysis[i], low, high, sigma=sigma),
                features=_feature_examples(real_acts, synth_acts, i),
            )
        )
    return kept


def _yielding(fn: Callable) -> Callable:
    """``fn`` run after lowering the thread's priority (`gapviz._threads.yield_to_model`).

    The statistics thread starts at normal priority: its first jobs feed the calibration sample,
    whose fit should start while TensorFlow traces the model on one core. Every other job lowers
    the thread for good, so the forward pass keeps its cores.
    """

    def run(*args: Any, **kwargs: Any) -> Any:
        yield_to_model()
        return fn(*args, **kwargs)

    return run


def _measure(canny: tuple) -> Callable:
    """``measure(images, masks, names)`` for calibration: only the producers of the named statistics."""
    from gapviz import stats

    def measure(images, masks, names):
        return stats.image_stats_batch(images, masks, canny=canny, stats=stats.REGISTRY.producers(names, kind="image"))

    return measure


class _CalibrationSampler:
    """The first ``size`` synthetic images of the pass, their masks, and their real partners' statistics.

    `then_begin` wraps a batch's image-statistics job: the job records the real side's values of
    the rows it took, and the job that completes the sample starts the background calibration
    (`gapviz.recommend.BackgroundCalibration.begin`) with the knob set expected from the pairs of
    the sample's batches, from the statistics thread, before its result reaches the pass.
    """

    def __init__(self, size: int) -> None:
        self.size = int(size)
        self.images: list[np.ndarray] = []
        self.masks: list[np.ndarray] = []
        # the real partners too, for amounts fitted the other way round (renders softer or noisier than photos)
        self.real_images: list[np.ndarray] = []
        self.real_masks: list[np.ndarray] = []
        self._synth: list[dict] = []
        self.reverse_sample: Any = None
        self._real: list[dict] = []
        self._pairs: list[dict] = []
        self.sample: Any = None

    def then_begin(self, fn: Callable, batch: Any, ids: Sequence, ahead: Any, guess: Callable) -> Callable:
        """``fn`` wrapped to record (and, completing the sample, to begin); other batches' jobs yield first."""
        take = min(self.size - len(self.images), len(ids))
        if take <= 0:
            return _yielding(fn)
        self.images.extend(batch.synth_analysis[:take])
        self.masks.extend(batch.synth_mask_analysis[:take])
        self.real_images.extend(batch.real_analysis[:take])
        self.real_masks.extend(batch.real_mask_analysis[:take])
        complete = len(self.images) == self.size

        def job(*args: Any, **kwargs: Any) -> dict:
            out = fn(*args, **kwargs)
            self._real.append({key: np.asarray(v)[:take] for key, v in out["real"].items()})
            self._synth.append({key: np.asarray(v)[:take] for key, v in out["synth"].items()})
            self._pairs.append(out)
            if complete and ahead is not None:
                keys = set(out["real"]) & set(out["synth"])
                pair_values = {key: tuple(np.concatenate([p[side][key] for p in self._pairs]) for side in ("real", "synth"))
                               for key in keys}  # fmt: skip
                ahead.begin(self.build(), guess(pair_values))
            return out

        return job

    def build(self) -> Any:
        """The `CalibrationSample` (None without images); call once every job that took rows is done."""
        if self.sample is None and self.images:
            from gapviz.recommend import CalibrationSample

            keys = set.intersection(*(set(r) for r in self._real))
            real = {key: np.concatenate([r[key] for r in self._real]) for key in keys}
            self.sample = CalibrationSample(synth_images=self.images, synth_masks=self.masks, real_values=real)
        return self.sample

    def build_reverse(self) -> Any:
        """The sample the other way round: the real images, to be matched to their synthetic partners."""
        if self.reverse_sample is None and self.real_images and self._synth:
            from gapviz.recommend import CalibrationSample

            keys = set.intersection(*(set(r) for r in self._synth))
            synth = {key: np.concatenate([r[key] for r in self._synth]) for key in keys}
            self.reverse_sample = CalibrationSample(synth_images=self.real_images, synth_masks=self.real_masks,
                                                    real_values=synth)  # fmt: skip
        return self.reverse_sample


def _recommend(final, acc, layer_results, paired, calib, ahead, analysis_size, canny=None, seed=0):
    from gapviz.recommend import recommend

    sample = calib.build()
    calibrator = reverse_calibrator = None
    if sample is not None and ahead is not None:
        if not ahead.ready:  # fewer pairs than the sample's size: nothing was fitted ahead
            ahead.begin(sample, ())
        calibrator = ahead.result
        reverse = calib.build_reverse()
        if reverse is not None and canny is not None:
            from gapviz.recommend import calibrate
            from gapviz.scenes._post import FinishedImage

            def reverse_calibrator(knobs):
                return calibrate(reverse, knobs, measure=_measure(canny), prepare=FinishedImage, seed=seed)
    return recommend(
        image_stats=final["image_stats"],
        pair_values=acc.pair_values(),
        layers=[layer.to_dict() for layer in layer_results],
        decay=final["decay"],
        paired=paired,
        calibrator=calibrator,
        width=int(analysis_size[1]),
        reverse_calibrator=reverse_calibrator,
    )


class _NoBar(NoBar):
    pass


def _progress(total: int, enabled: bool | None, unit: str):
    return progress_bar(total, progress=enabled, unit=unit, desc="gapviz")
