"""`gapviz.compare` (defined here, in `gapviz.comparison`): one streaming pass over paired real and synthetic images.

Orchestration only: `compare` runs the pipeline's phases (`gapviz.pipeline`) in order and times
each; the maths lives in `gapviz.stats`, the input side in `gapviz.inputs`, the model side in
`gapviz.models`, the rules in `gapviz.recommend`. Data flows one way::

    set up      check arguments, load model and Tapper, build_pairs, mask provenance, camera profile
    stream      iter_batches (decode, resize, masks; prefetched threads)
                  -> Tapper.reduce (forward pass + in-graph reductions, real and synth in one batch)
                  -> PairAccumulator.add_layer
                  -> image statistics (in a second thread, overlapping the forward pass)
                  -> PairAccumulator.add_images          (one stream, or shards merged in a tree)
    finalise    PairAccumulator.finalize -> statistics, layers
    recommend   background calibration's result -> recommend
    result      model impact, pair table, thumbnails -> GapResult

Each phase's wall time is in ``result.execution["timings"]``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping, Sequence
from types import SimpleNamespace
from typing import Any

from gapviz._run_warnings import emit
from gapviz.impact import ATTRIBUTION_PAIRS, IMPACT_PAIRS
from gapviz.pipeline._finalise import finalise, recommend
from gapviz.pipeline._pass import stream
from gapviz.pipeline._result import build_result
from gapviz.pipeline._setup import set_up, timed
from gapviz.recommend._sampler import CALIBRATION_PAIRS
from gapviz.result import GapResult

__all__ = ["compare"]


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
    Two small sets of built-in scenes, the "real" ones with a defocused background, through the
    shipped demo model:

    >>> import tempfile
    >>> import gapviz
    >>> from gapviz.scenes import write_scenes
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = write_scenes(tmp, preset="dataset1", pair_with="dataset1", n=8, size=96,
    ...                      overrides=["real.camera_focus=3"])
    ...     result = gapviz.compare(gapviz.demo_model(), f"{tmp}/real/images", f"{tmp}/synth/images",
    ...                             masks={"real": f"{tmp}/real/masks", "synth": f"{tmp}/synth/masks"},
    ...                             n_boot=200, examples=1, impact=False)
    >>> result.data["n_pairs"]
    8
    >>> result.recommendations[0]["knob"]
    'camera_focus'
    >>> sorted(result.execution["timings"])
    ['finalise', 'recommend', 'result', 'setup', 'stream']
    """
    opts = SimpleNamespace(**locals())  # every argument, by name, for the phases
    timings: dict[str, float] = {}
    with timed(timings, "setup"):
        setup = set_up(opts)
    # the background calibration (entered into ``finish`` by the stream) lives until the
    # recommendations have taken its result
    finish = contextlib.ExitStack()
    with timed(timings, "stream"):
        run = stream(setup, finish)
    with finish:
        with timed(timings, "finalise"):
            final = finalise(setup, run)
        with timed(timings, "recommend"):
            recs, calibration = recommend(setup, run, final)
    with timed(timings, "result"):
        result = build_result(setup, run, final, recs, calibration)
    emit(setup.warns)  # from here, so that each warning points at compare's caller
    result.execution["timings"] = timings
    return result
