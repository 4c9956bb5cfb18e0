"""What each gap does to the model: prediction impact, estimated real-domain error, where the model looks.

Three measurements on a small sample of pairs kept during the pass (`ImpactSample`: the first
``impact_pairs`` pairs; its first ``calibration_pairs`` synthetic images are the calibration's):

1. **Prediction impact** (`prediction_impact`, no labels). Each recommended camera knob's
   calibrated amount is applied to the sample's synthetic images with the operators the
   calibration uses (`gapviz.scenes.FinishedImage`, noise seeded ``seed + i`` per image as in
   `gapviz.recommend.calibrate`), the adjusted images go through the *whole* model (head
   included), and the change of the prediction is summarised over images: the mean signed change
   and the mean absolute change, each with a 95 % percentile-bootstrap CI, in the model's output
   unit. "All" applies every recommended amount at once.
2. **Estimated real-domain error** (`label_errors`, with labels). With labels for the synthetic
   images, the MAE of the renders as they are and of the renders adjusted by all amounts: the
   second estimates the error on photos that look like the real set. With labels for the real
   images too, the measured MAE on their real partners and the share of the real-minus-synthetic
   penalty that the adjustments account for.
3. **Where the model looks** (`attribution_shares`). Per tapped layer, gradient times activation
   of the output, summed over channels, gives a map ``M`` (the first-order contribution of each
   position to the output; Grad-CAM family, signed because a regression output has no class).
   The background share is ``sum |M| over background / sum |M|`` with the object mask resized to
   the layer's map, so the background and object shares of an image sum to exactly 1. Real and
   synthetic images of the same pairs are compared paired, with bootstrap CIs.

Everything here runs after the pass on the kept sample; `compare` calls `measure_model_impact`.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gapviz._errors import GapvizError
from gapviz.assets import demo_model, demo_model_card
from gapviz.inputs import resize_image, resize_mask
from gapviz.inputs._channels import model_input
from gapviz.models._cache import cached_on_model
from gapviz.models._capture import capturing
from gapviz.recommend import Recommendation
from gapviz.scenes._post import FinishedImage
from gapviz.stats import paired_stat
from gapviz.stats.inference import bootstrap_paired, derive_seed, percentile_ci
from gapviz.vocabulary import CAMERA_KNOBS

__all__ = [
    "IMPACT_PAIRS",
    "ImpactSample",
    "attribution_shares",
    "label_errors",
    "make_predictor",
    "measure_model_impact",
    "prediction_impact",
    "read_labels",
]

#: pairs kept for the model-impact measurements (the first ones of the pass)
IMPACT_PAIRS = 16
#: pairs (of the impact sample) whose attribution is measured when attribution is on
ATTRIBUTION_PAIRS = 8
#: attribution is on by default when the model input has at most this many pixels (a backward
#: pass over 2 x ATTRIBUTION_PAIRS images is then about a second on two CPU cores, docs/model-impact.md)
ATTRIBUTION_AUTO_PIXELS = 256 * 256


@dataclass
class ImpactSample:
    """The first ``size`` pairs of the pass, as the model and the calibration see them.

    Attributes
    ----------
    stems : list of str
    synth_images, synth_masks : list of ndarray
        ``(H, W, 3)`` uint8 and ``(H, W)`` bool at the analysis size (what calibration adjusts).
    real_inputs, synth_inputs : list of ndarray
        ``(h, w, 3)`` uint8 at the model size, exactly as the pass fed them to the model.
    real_masks, synth_input_masks : list of ndarray
        ``(h, w)`` bool object masks at the model size.

    Examples
    --------
    The first ``size`` rows of the paired batches, as `compare` keeps them during the pass:

    >>> from gapviz.inputs import build_pairs, iter_batches
    >>> from gapviz.scenes import render_pair
    >>> scenes = [render_pair(seed, "field", "dataset1", size=64) for seed in range(4)]
    >>> masks = np.stack([real.mask for real, _ in scenes])
    >>> real, synth = (np.stack([scene.image for scene in side]) for side in zip(*scenes))
    >>> ps = build_pairs(real, synth, masks={"real": masks, "synth": masks})
    >>> sample = ImpactSample(size=3)
    >>> with iter_batches(ps, model_size=(32, 32), batch_size=2) as stream:
    ...     for batch in stream:
    ...         sample.add(batch)
    >>> len(sample), sample.stems
    (3, ['00000', '00001', '00002'])
    >>> sample.synth_images[0].shape, sample.synth_inputs[0].shape, sample.real_masks[0].shape
    ((64, 64, 3), (32, 32, 3), (32, 32))
    """

    size: int = IMPACT_PAIRS
    stems: list = field(default_factory=list)
    synth_images: list = field(default_factory=list)
    synth_masks: list = field(default_factory=list)
    real_inputs: list = field(default_factory=list)
    synth_inputs: list = field(default_factory=list)
    real_masks: list = field(default_factory=list)
    synth_input_masks: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.stems)

    def add(self, batch: Any) -> None:
        """Keep rows of a paired batch until the sample is full (copies: batches are reused)."""
        take = min(self.size - len(self.stems), len(batch))
        if take <= 0 or batch.side != "pair":
            return
        self.stems.extend(str(s) for s in batch.stems[:take])
        self.synth_images.extend(np.array(a) for a in batch.synth_analysis[:take])
        self.synth_masks.extend(np.array(a, bool) for a in batch.synth_mask_analysis[:take])
        self.real_inputs.extend(np.array(a) for a in batch.real[:take])
        self.synth_inputs.extend(np.array(a) for a in batch.synth[:take])
        self.real_masks.extend(np.array(a, bool) for a in batch.real_mask[:take])
        self.synth_input_masks.extend(np.array(a, bool) for a in batch.synth_mask[:take])

    def extend(self, other: ImpactSample) -> None:
        """Append another sample's rows (a later shard's) until this one is full."""
        take = max(0, min(self.size - len(self.stems), len(other)))
        for name in ("stems", "synth_images", "synth_masks", "real_inputs", "synth_inputs", "real_masks",
                     "synth_input_masks"):  # fmt: skip
            getattr(self, name).extend(getattr(other, name)[:take])


# -- the model's output ------------------------------------------------------------------------------
def _first_output(out: Any) -> Any:
    """The first output tensor of a model call (a model with several outputs: the first)."""
    while isinstance(out, (list, tuple)):
        out = out[0]
    if isinstance(out, Mapping):
        out = next(iter(out.values()))
    return out


def _scalar_output(out: Any) -> Any:
    """``(N,)``: unit 0 of the first output, flattened (a regressor's one linear unit)."""
    import tensorflow as tf

    out = _first_output(out)
    out = tf.reshape(tf.cast(out, tf.float32), (tf.shape(out)[0], -1))
    return out[:, 0]


def make_predictor(model: Any, *, preprocess: Any = "unit", batch_size: int = 16) -> Callable[[np.ndarray], np.ndarray]:
    """``predict(images)``: the whole model's output (unit 0 of its first output) for uint8 images.

    Parameters
    ----------
    model : keras.Model or tf_keras.Model
        The full model (not a Tapper: the head must run).
    preprocess : str or callable
        As for `gapviz.compare`.
    batch_size : int
        Images per forward pass.

    Returns
    -------
    callable
        ``predict((N, h, w, 3) uint8 at the model size) -> (N,) float64``.

    Examples
    --------
    >>> import keras
    >>> m = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.GlobalAveragePooling2D(),
    ...                       keras.layers.Dense(1, kernel_initializer="ones")])
    >>> make_predictor(m)(np.full((2, 8, 8, 3), 255, np.uint8)).round(3).tolist()
    [3.0, 3.0]
    """
    import tensorflow as tf


    channels = _channels(model)
    fn = _cached(model, ("predict",), lambda: tf.function(lambda x: _scalar_output(model(x, training=False)),
                                                          reduce_retracing=True))  # fmt: skip

    def predict(images: np.ndarray) -> np.ndarray:
        images = np.asarray(images)
        out = []
        for start in range(0, len(images), batch_size):
            x = model_input(images[start : start + batch_size], preprocess, channels)
            out.append(np.asarray(fn(tf.convert_to_tensor(x, tf.float32)), np.float64))
        return np.concatenate(out) if out else np.zeros(0)

    return predict


def _channels(model: Any) -> int | None:
    """Channels of the model's (first) input: 1-channel models are fed luminance, as in the pass."""
    try:
        shape = model.inputs[0].shape
    except (AttributeError, IndexError, TypeError, ValueError):  # subclassed models have no symbolic inputs
        return None
    return shape[-1]


#: attribute on an in-memory model holding its traced prediction and attribution functions
_FUNCTIONS = "_gapviz_impact_functions"


def _cached(model: Any, key: tuple, make: Callable[[], Any]) -> Any:
    """``make()`` once per model object and key: a second `compare` on the same model skips the trace."""

    return cached_on_model(model, _FUNCTIONS, key, make)


def _to_model(images: Sequence[np.ndarray], model_size: tuple[int, int]) -> np.ndarray:
    return np.stack([img if img.shape[:2] == tuple(model_size) else resize_image(img, tuple(model_size))
                     for img in images])  # fmt: skip


# -- summaries ----------------------------------------------------------------------------------------
def _mean_ci(x: np.ndarray, *, seed: int, n_boot: int) -> tuple[float | None, list]:
    """Mean and 95 % percentile-bootstrap CI of ``x`` over its rows."""

    x = np.asarray(x, np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return None, [None, None]
    return float(x.mean()), bootstrap_paired(np.zeros_like(x), x, seed=seed, n_boot=n_boot)


def _change(base: np.ndarray, adjusted: np.ndarray, *, seed: int, n_boot: int) -> dict:
    d = np.asarray(adjusted, np.float64) - np.asarray(base, np.float64)
    mean, ci = _mean_ci(d, seed=seed, n_boot=n_boot)
    mean_abs, abs_ci = _mean_ci(np.abs(d), seed=seed + 1, n_boot=n_boot)
    return {"mean_change": mean, "ci95": ci, "mean_abs_change": mean_abs, "abs_ci95": abs_ci, "n": int(d.size),
            "excludes_zero": bool(ci[0] is not None and (ci[0] > 0 or ci[1] < 0))}  # fmt: skip


# -- 1. prediction impact -------------------------------------------------------------------------------
def _amounts(recommendations: Sequence[Mapping]) -> dict[str, float]:
    """Knob -> suggested amount for every recommendation with one whose knob acts on a finished image."""
    return {r["knob"]: r["suggested"] for r in recommendations
            if r.get("suggested") is not None and r.get("knob") in CAMERA_KNOBS}  # fmt: skip


def prediction_impact(
    sample: ImpactSample,
    amounts: Mapping[str, float],
    predict: Callable[[np.ndarray], np.ndarray],
    *,
    model_size: tuple[int, int],
    seed: int = 0,
    n_boot: int = 1000,
) -> dict:
    """The change of the model's prediction when each amount (and all of them) is applied to the sample.

    Parameters
    ----------
    sample : ImpactSample
    amounts : dict
        Knob -> amount to add on top of the render (the recommendations' ``suggested``).
    predict : callable
        `make_predictor`'s function.
    model_size : (h, w)
        The adjusted images (analysis size) are resized to it as the pass resizes its inputs.
    seed : int
        Sensor noise of image ``i`` is seeded ``seed + i`` (as in the calibration); also seeds the bootstrap.
    n_boot : int

    Returns
    -------
    dict
        ``baseline`` (N,) predictions on the images as they are, ``adjusted`` {knob or "all": (N,)},
        ``knobs`` {knob: summary} and ``all`` (summary; None without amounts). A summary holds
        ``amount``, ``mean_change`` with ``ci95``, ``mean_abs_change`` with ``abs_ci95``, ``n``
        and ``excludes_zero`` (the signed change's CI excludes 0).

    Examples
    --------
    A sample of three built-in scene pairs (see `ImpactSample`) and a tiny model whose output
    grows with brightness:

    >>> from gapviz.inputs import build_pairs, iter_batches
    >>> from gapviz.scenes import render_pair
    >>> scenes = [render_pair(seed, "field", "dataset1", size=64) for seed in range(4)]
    >>> masks = np.stack([real.mask for real, _ in scenes])
    >>> real, synth = (np.stack([scene.image for scene in side]) for side in zip(*scenes))
    >>> ps = build_pairs(real, synth, masks={"real": masks, "synth": masks})
    >>> sample = ImpactSample(size=3)
    >>> with iter_batches(ps, model_size=(32, 32), batch_size=2) as stream:
    ...     for batch in stream:
    ...         sample.add(batch)
    >>> import keras
    >>> model = keras.Sequential([
    ...     keras.Input((32, 32, 3)),
    ...     keras.layers.Conv2D(1, 3, kernel_initializer="ones", name="conv"),
    ...     keras.layers.GlobalAveragePooling2D(),
    ...     keras.layers.Dense(1, kernel_initializer="ones"),
    ... ])
    >>> impact = prediction_impact(sample, {"exposure": 0.5, "sensor_noise": 4.0}, make_predictor(model),
    ...                            model_size=(32, 32), n_boot=200)
    >>> impact["baseline"].round(3).tolist(), sorted(impact["adjusted"])
    ([11.595, 9.076, 11.127], ['all', 'exposure', 'sensor_noise'])
    >>> brighter = impact["knobs"]["exposure"]
    >>> brighter["amount"], round(brighter["mean_change"], 3), brighter["n"], brighter["excludes_zero"]
    (0.5, 1.798, 3, True)
    >>> impact["all"]["amount"]
    {'exposure': 0.5, 'sensor_noise': 4.0}
    """

    finished = [FinishedImage(img, m, seed + i) for i, (img, m) in enumerate(zip(sample.synth_images, sample.synth_masks,
                                                                                   strict=True))]  # fmt: skip
    base = predict(_to_model(sample.synth_images, model_size))
    settings = {knob: {knob: value} for knob, value in amounts.items()}
    if len(amounts) > 1:
        settings["all"] = dict(amounts)
    adjusted, summaries = {}, {}
    for name, setting in settings.items():
        preds = predict(_to_model([f.apply(setting) for f in finished], model_size))
        adjusted[name] = preds
        summaries[name] = {"amount": setting if name == "all" else setting[name],
                           **_change(base, preds, seed=derive_seed(seed, "impact." + name), n_boot=n_boot)}  # fmt: skip
    if len(amounts) == 1:  # all adjustments together = the one adjustment
        only = next(iter(amounts))
        adjusted["all"] = adjusted[only]
        summaries["all"] = {**summaries[only], "amount": dict(amounts)}
    return {
        "baseline": base,
        "adjusted": adjusted,
        "knobs": {k: v for k, v in summaries.items() if k != "all"},
        "all": summaries.get("all"),
    }


# -- 2. labels and errors ----------------------------------------------------------------------------
def read_labels(source: Any, *, column: str | None = None) -> tuple[dict[str, float], str]:
    """Labels by file stem, and the column they came from.

    Parameters
    ----------
    source : path or mapping
        A CSV with a header: a ``stem`` column and a label column (``label``, else ``wear``, as in
        the built-in scenes' ``labels.csv``, else the second column), or a mapping stem -> label.
    column : str, optional
        The label column to use.

    Raises
    ------
    GapvizError
        A missing file, no ``stem`` column, an unknown column, or a label that is not a number.

    Examples
    --------
    >>> read_labels({"a": 1, "b": 2.5})
    ({'a': 1.0, 'b': 2.5}, 'label')
    """
    if isinstance(source, Mapping):
        return {str(k): float(v) for k, v in source.items()}, column or "label"
    path = Path(os.fspath(source))
    if not path.is_file():
        raise GapvizError(f"labels file {str(path)!r} does not exist; give a CSV with columns stem,label")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        names = reader.fieldnames or []
        if "stem" not in names:
            raise GapvizError(f"labels file {str(path)!r} has no 'stem' column (columns: {', '.join(names) or 'none'}); "
                              "give a CSV with columns stem,label")  # fmt: skip
        if column is None:
            column = "label" if "label" in names else "wear" if "wear" in names else (names[1] if len(names) > 1 else None)
        if column not in names:
            raise GapvizError(f"labels file {str(path)!r} has no column {column!r}; columns: {', '.join(names)}")
        out = {}
        for row in reader:
            try:
                out[Path(row["stem"]).stem] = float(row[column])
            except (TypeError, ValueError):
                raise GapvizError(f"labels file {str(path)!r}: {column} of {row['stem']!r} is {row[column]!r}, "
                                  "not a number") from None  # fmt: skip
    return out, column


def _aligned(stems: Sequence[str], labels: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the stems with a label, and those labels."""
    idx = [i for i, s in enumerate(stems) if s in labels]
    return np.asarray(idx, int), np.asarray([labels[stems[i]] for i in idx], np.float64)


def label_errors(
    stems: Sequence[str],
    *,
    synth_base: np.ndarray,
    synth_adjusted: np.ndarray | None,
    synth_labels: Mapping[str, float] | None,
    real_pred: np.ndarray | None = None,
    real_labels: Mapping[str, float] | None = None,
    seed: int = 0,
    n_boot: int = 1000,
) -> dict:
    """MAE of the renders as they are, adjusted by all amounts, and (with real labels) of the photos.

    Returns
    -------
    dict
        ``synth_mae`` and ``estimated_real_mae`` (the adjusted renders' MAE), each ``{"value", "ci95",
        "n"}``; with real labels ``real_mae`` and ``penalty_explained``: (estimated - synth) /
        (real - synth) on the pairs labelled on both sides, with a bootstrap CI (None when the
        measured penalty is 0). Units: the labels' (after ``label_scale``).

    Examples
    --------
    Predictions of three pairs (renders as they are, adjusted renders, photos), labelled on both sides:

    >>> labels = {"a": 1.0, "b": 2.0, "c": 4.0}
    >>> errors = label_errors(["a", "b", "c"], synth_base=np.array([1.0, 2.0, 3.0]),
    ...                       synth_adjusted=np.array([1.5, 2.5, 3.5]), synth_labels=labels,
    ...                       real_pred=np.array([2.0, 3.0, 5.0]), real_labels=labels, n_boot=200)
    >>> {key: round(errors[key]["value"], 3) for key in errors}
    {'synth_mae': 0.333, 'estimated_real_mae': 0.5, 'real_mae': 1.0, 'penalty_explained': 0.25}
    >>> explained = errors["penalty_explained"]
    >>> round(explained["penalty"], 3), round(explained["estimated_penalty"], 3)
    (0.667, 0.167)
    """
    out: dict[str, Any] = {}
    rng = np.random.default_rng(seed)

    def mae(err: np.ndarray) -> dict:
        value, ci = _mean_ci(err, seed=int(rng.integers(2**31)), n_boot=n_boot)
        return {"value": value, "ci95": ci, "n": int(err.size)}

    def aligned(labels: Mapping[str, float], side: str) -> tuple[np.ndarray, np.ndarray]:
        idx, y = _aligned(stems, labels)
        if idx.size == 0:
            raise GapvizError(f"no {side} image of the impact sample has a label: the labels' stems must match the "
                              f"image stems (first ones: {', '.join(list(stems)[:3])})")  # fmt: skip
        return idx, y

    def errors(pred: Any, idx: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Absolute errors per sample row, NaN where a row has no label."""
        err = np.full(len(stems), np.nan)
        err[idx] = np.abs(np.asarray(pred)[idx] - y)
        return err

    err_s = err_a = err_r = None
    if synth_labels:
        idx, y = aligned(synth_labels, "synthetic")
        err_s = errors(synth_base, idx, y)
        out["synth_mae"] = mae(err_s[idx])
        if synth_adjusted is not None:
            err_a = errors(synth_adjusted, idx, y)
            out["estimated_real_mae"] = mae(err_a[idx])
    if real_labels and real_pred is not None:
        idx, y = aligned(real_labels, "real")
        err_r = errors(real_pred, idx, y)
        out["real_mae"] = mae(err_r[idx])
    if err_s is not None and err_a is not None and err_r is not None:
        both = np.isfinite(err_s) & np.isfinite(err_a) & np.isfinite(err_r)
        s, a, r = err_s[both], err_a[both], err_r[both]
        share, ci = None, [None, None]
        if s.size >= 2 and abs(r.mean() - s.mean()) > 0:
            share = float((a.mean() - s.mean()) / (r.mean() - s.mean()))
            boots = []
            for _ in range(n_boot):
                i = rng.integers(0, s.size, s.size)
                den = r[i].mean() - s[i].mean()
                boots.append((a[i].mean() - s[i].mean()) / den if den != 0 else np.nan)

            ci = percentile_ci(np.asarray(boots))
        out["penalty_explained"] = {"value": share, "ci95": ci, "n": int(s.size),
                                    "penalty": float(r.mean() - s.mean()) if s.size else None,
                                    "estimated_penalty": float(a.mean() - s.mean()) if s.size else None}  # fmt: skip
    return out


# -- 3. attribution ----------------------------------------------------------------------------------
def attribution_function(model: Any, targets: Sequence[Any]) -> Callable[[np.ndarray], list[np.ndarray]]:
    """``maps(x)``: per target layer, ``(N, h, w)`` gradient-times-activation maps of the output.

    The maps are summed over channels. The whole model runs under a gradient tape with the target
    layers' calls recorded (`gapviz.models._capture.capturing`), so nested bases and subclassed
    models work alike; forward and backward pass are traced together into one ``tf.function``.
    """
    import tensorflow as tf


    def maps(x: Any) -> list[Any]:
        with tf.GradientTape() as tape, capturing(targets) as store:
            y = tf.reduce_sum(_scalar_output(model(x, training=False)))
            missing = [layer.name for layer in targets if id(layer) not in store]
            if missing:
                raise GapvizError(f"layer(s) {', '.join(missing)} were not called by the model's forward pass, so "
                                  "their attribution cannot be measured")  # fmt: skip
            acts = [_first_output(store[id(layer)]) for layer in targets]
        grads = tape.gradient(y, acts)
        out = []
        for layer, act, grad in zip(targets, acts, grads, strict=True):
            if grad is None:
                raise GapvizError(f"the model's output does not depend on layer {layer.name!r}, so it has no "
                                  "attribution; tap layers on the path to the output")  # fmt: skip
            if act.shape.rank != 4:
                raise GapvizError(f"layer {layer.name!r} gives {act.shape.rank}-D activations; attribution maps "
                                  "need (N, h, w, c)")  # fmt: skip
            out.append(tf.reduce_sum(tf.cast(grad, tf.float32) * tf.cast(act, tf.float32), axis=-1))
        return out

    fn = _cached(model, ("attribution", *(id(t) for t in targets)), lambda: tf.function(maps, reduce_retracing=True))

    def run(x: np.ndarray) -> list[np.ndarray]:
        return [np.asarray(m, np.float64) for m in fn(tf.convert_to_tensor(np.asarray(x, np.float32)))]

    return run


def background_share(maps: np.ndarray, masks: np.ndarray, *, region: str = "background") -> np.ndarray:
    """``(N,)`` share of ``sum |M|`` on the background (masks ``(N, H, W)`` resized to the maps).

    ``region="object"`` gives the object's share; the two sum to 1 (an all-zero map gets NaN for both).

    Examples
    --------
    >>> m = np.ones((1, 4, 4)); mask = np.zeros((1, 4, 4), bool); mask[0, :1] = True
    >>> background_share(m, mask).tolist(), background_share(m, mask, region="object").tolist()
    ([0.75], [0.25])
    """

    maps = np.abs(np.asarray(maps, np.float64))
    out = np.full(len(maps), np.nan)
    for i, (m, mask) in enumerate(zip(maps, masks, strict=True)):
        obj = resize_mask(np.asarray(mask, bool), m.shape) if mask.shape != m.shape else np.asarray(mask, bool)
        total = m.sum()
        if total > 0:
            out[i] = float(m[obj if region == "object" else ~obj].sum() / total)
    return out


def attribution_shares(
    model: Any,
    layers: Sequence[str],
    targets: Sequence[Any],
    sample: ImpactSample,
    *,
    preprocess: Any = "unit",
    pairs: int = ATTRIBUTION_PAIRS,
    batch_size: int = 8,
    keep_maps: int = 0,
    seed: int = 0,
    n_boot: int = 1000,
) -> tuple[dict, list[dict]]:
    """Background share of the attribution per layer, real vs synthetic, on the sample's first ``pairs``.

    Returns
    -------
    (dict, list of dict)
        ``{"layers": {layer: Stat of the background share (real, synth, diff, ci95, ...) plus
        ``background_area`` (mean background fraction of the map) and ``object_share`` (mean share
        on the object; real + object share = 1 per image), each for real and synth}, "pairs": n}``,
        and for the first ``keep_maps`` pairs ``{"stem", "maps": {layer: (real (h, w), synth (h, w))}}``.

    Examples
    --------
    A sample of three built-in scene pairs (see `ImpactSample`) and a tiny model:

    >>> from gapviz.inputs import build_pairs, iter_batches
    >>> from gapviz.scenes import render_pair
    >>> scenes = [render_pair(seed, "field", "dataset1", size=64) for seed in range(4)]
    >>> masks = np.stack([real.mask for real, _ in scenes])
    >>> real, synth = (np.stack([scene.image for scene in side]) for side in zip(*scenes))
    >>> ps = build_pairs(real, synth, masks={"real": masks, "synth": masks})
    >>> sample = ImpactSample(size=3)
    >>> with iter_batches(ps, model_size=(32, 32), batch_size=2) as stream:
    ...     for batch in stream:
    ...         sample.add(batch)
    >>> import keras
    >>> model = keras.Sequential([
    ...     keras.Input((32, 32, 3)),
    ...     keras.layers.Conv2D(1, 3, kernel_initializer="ones", name="conv"),
    ...     keras.layers.GlobalAveragePooling2D(),
    ...     keras.layers.Dense(1, kernel_initializer="ones"),
    ... ])
    >>> shares, kept = attribution_shares(model, ["conv"], [model.get_layer("conv")], sample, pairs=3,
    ...                                   keep_maps=1, n_boot=200)
    >>> conv = shares["layers"]["conv"]  # the background's share of the attribution, real vs synthetic
    >>> shares["pairs"], round(conv["real"], 3), round(conv["synth"], 3), round(conv["diff"], 3)
    (3, 0.846, 0.814, -0.032)
    >>> round(conv["background_area"]["real"], 3)  # the background's share of the map's area
    0.813
    >>> kept[0]["stem"], kept[0]["maps"]["conv"][0].shape
    ('00000', (30, 30))
    """

    n = min(int(pairs), len(sample))
    attribution = attribution_function(model, targets)
    channels = _channels(model)
    shares = {side: {layer: [] for layer in layers} for side in ("real", "synth")}
    areas = {side: {layer: [] for layer in layers} for side in ("real", "synth")}
    objects = {side: {layer: [] for layer in layers} for side in ("real", "synth")}
    kept: list[dict] = []
    for start in range(0, n, batch_size):
        stop = min(n, start + batch_size)
        for side, images, masks in (("real", sample.real_inputs, sample.real_masks),
                                    ("synth", sample.synth_inputs, sample.synth_input_masks)):  # fmt: skip
            x = model_input(np.stack(images[start:stop]), preprocess, channels)
            mk = np.stack(masks[start:stop])
            maps = attribution(x)
            for layer, m in zip(layers, maps, strict=True):
                shares[side][layer].extend(background_share(m, mk))
                objects[side][layer].extend(background_share(m, mk, region="object"))
                areas[side][layer].extend(1.0 - resize_mask(mask, m.shape[1:]).mean() for mask in mk)
                for j in range(start, min(stop, keep_maps)):
                    if len(kept) <= j:
                        kept.append({"stem": sample.stems[j], "maps": {}})
                    pair = kept[j]["maps"].setdefault(layer, [None, None])
                    pair[0 if side == "real" else 1] = m[j - start].astype(np.float32)
    out = {}
    for layer in layers:
        stat = dict(paired_stat(np.asarray(shares["real"][layer]), np.asarray(shares["synth"][layer]),
                                seed=derive_seed(seed, "attribution." + layer), n_boot=n_boot))  # fmt: skip
        stat["background_area"] = {side: float(np.mean(areas[side][layer])) if n else None for side in ("real", "synth")}
        stat["object_share"] = {side: float(np.nanmean(objects[side][layer])) if n else None for side in ("real", "synth")}
        out[layer] = stat
    for pair in kept:
        pair["maps"] = {layer: tuple(v) for layer, v in pair["maps"].items()}
    return {"layers": out, "pairs": n}, kept


# -- orchestration -----------------------------------------------------------------------------------
def _scale_note(labels: Mapping[str, float], preds: np.ndarray, side: str) -> str | None:
    """A note when the labels' range and the predictions' range differ by more than 10x (a unit mismatch)."""
    y = np.asarray(list(labels.values()), np.float64)
    p = np.asarray(preds, np.float64)
    ry, rp = float(np.ptp(y)) if y.size > 1 else 0.0, float(np.ptp(p)) if p.size > 1 else 0.0
    my, mp = float(np.abs(y).max(initial=0)), float(np.abs(p).max(initial=0))
    big, small = max(my, mp), min(my, mp)
    if small > 0 and big / small > 10 and (ry == 0 or rp == 0 or max(ry, rp) / min(ry, rp) > 10):
        return (f"{side} labels reach {my:.3g} while predictions reach {mp:.3g}: they may be in different units; "
                "pass label_scale= (e.g. 0.01 for percent labels and a model that predicts fractions)")  # fmt: skip
    return None


def default_label_scale(model_path: str | None, column: str) -> tuple[float, str | None]:
    """1, or 0.01 for the built-in scenes' ``wear`` (percent) with the shipped demo model (fractions)."""
    if column != "wear" or not model_path:
        return 1.0, None
    try:
        same = Path(model_path).resolve() == Path(demo_model()).resolve()
        unit = demo_model_card().get("label_unit")
    except GapvizError:  # pragma: no cover - a broken install
        return 1.0, None
    if same and unit == "fraction":
        return 0.01, "labels in the 'wear' column (percent) scaled by 0.01 to the demo model's output (a fraction, " \
                     "its model card)"
    return 1.0, None


def _ranked(recommendations: Sequence[Mapping], result: dict, n_images: int) -> tuple[list[Recommendation], dict]:
    """The recommendations with ``impact``, ``impact_rank`` and ``severity_rank``, and the impact block."""
    ranked = sorted(result["knobs"], key=lambda k: -(result["knobs"][k]["mean_abs_change"] or 0.0))
    rank = {k: i + 1 for i, k in enumerate(ranked)}
    recs = []
    for severity_rank, rec in enumerate(recommendations, start=1):
        rec = dict(rec)
        if rec.get("knob") in result["knobs"]:
            rec["impact"] = result["knobs"][rec["knob"]]
            rec["impact_rank"] = rank[rec["knob"]]
        rec["severity_rank"] = severity_rank
        recs.append(Recommendation.from_dict(rec))
    block: dict[str, Any] = {
        "unit": "model output (unit 0 of the first output)",
        "n_images": n_images,
        "images": f"the first {n_images} synthetic images of the pass, adjusted with the calibration's camera operators",
        "baseline_mean_prediction": float(np.mean(result["baseline"])) if n_images else None,
        "ranking": [{"knob": k, "impact_rank": rank[k],
                     "severity": next(r.get("severity") for r in recs if r.get("knob") == k),
                     "severity_rank": next(r["severity_rank"] for r in recs if r.get("knob") == k),
                     **result["knobs"][k]} for k in ranked],  # fmt: skip
        "all": result["all"],
    }
    return recs, block


def _labels_block(sample: ImpactSample, result: dict, predict: Callable, labels: Mapping[str, Any],
                  label_scale: float | None, model_path: str | None, notes: list[str], *, seed: int,
                  n_boot: int) -> dict:  # fmt: skip
    """``model_impact["labels"]``: the label scales and errors; appends the scale notes to ``notes``."""
    real_pred = None
    scales = {}
    label_maps = {}
    for side in ("synth", "real"):
        if labels.get(side) is None:
            continue
        values, column = read_labels(labels[side])
        scale, note = (float(label_scale), None) if label_scale is not None else default_label_scale(model_path, column)
        if note:
            notes.append(f"{side}: {note}")
        scales[side] = scale
        label_maps[side] = {k: v * scale for k, v in values.items()}
    if "real" in label_maps:
        real_pred = predict(np.stack(sample.real_inputs))
    for side, preds in (("synth", result["baseline"]), ("real", real_pred)):
        if side in label_maps and preds is not None:
            note = _scale_note(label_maps[side], preds, side)
            if note:
                notes.append(note)
    return {
        "label_scale": scales,
        **label_errors(sample.stems, synth_base=result["baseline"], synth_adjusted=result["adjusted"].get("all"),
                       synth_labels=label_maps.get("synth"), real_pred=real_pred,
                       real_labels=label_maps.get("real"), seed=seed, n_boot=n_boot),
    }  # fmt: skip


def measure_model_impact(
    model: Any,
    sample: ImpactSample,
    recommendations: Sequence[Mapping],
    *,
    model_size: tuple[int, int],
    preprocess: Any = "unit",
    batch_size: int = 16,
    seed: int = 0,
    n_boot: int = 1000,
    labels: Mapping[str, Any] | None = None,
    label_scale: float | None = None,
    model_path: str | None = None,
    attribution: bool = False,
    layers: Sequence[str] = (),
    targets: Sequence[Any] = (),
    attribution_pairs: int = ATTRIBUTION_PAIRS,
    keep_maps: int = 0,
) -> tuple[list[Recommendation], dict, list[dict]]:
    """The recommendations with their prediction impact, the ``model_impact`` block, and attribution maps.

    Each recommendation with an amount gets ``impact`` (see `prediction_impact`) and
    ``impact_rank`` (1 = the largest mean absolute change); the list keeps its severity order.

    Examples
    --------
    The sample and tiny model of `prediction_impact`, and two recommendations, one with an amount:

    >>> from gapviz.inputs import build_pairs, iter_batches
    >>> from gapviz.recommend import Recommendation
    >>> from gapviz.scenes import render_pair
    >>> scenes = [render_pair(seed, "field", "dataset1", size=64) for seed in range(4)]
    >>> masks = np.stack([real.mask for real, _ in scenes])
    >>> real, synth = (np.stack([scene.image for scene in side]) for side in zip(*scenes))
    >>> sample = ImpactSample(size=3)
    >>> with iter_batches(build_pairs(real, synth, masks={"real": masks, "synth": masks}),
    ...                   model_size=(32, 32), batch_size=2) as stream:
    ...     for batch in stream:
    ...         sample.add(batch)
    >>> import keras
    >>> model = keras.Sequential([keras.Input((32, 32, 3)),
    ...                           keras.layers.Conv2D(1, 3, kernel_initializer="ones", name="conv"),
    ...                           keras.layers.GlobalAveragePooling2D(),
    ...                           keras.layers.Dense(1, kernel_initializer="ones")])
    >>> recs = [Recommendation(knob="exposure", action="Raise the exposure.", severity="high", effect_size=-2.0,
    ...                        ci95=[-0.12, -0.08], evidence=[], suggested=0.5),
    ...         Recommendation(knob="lighting", action="Use partial light.", severity="low", effect_size=0.4,
    ...                        ci95=[-0.1, 0.3], evidence=[])]
    >>> recs, block, maps = measure_model_impact(model, sample, recs, model_size=(32, 32), n_boot=200)
    >>> [(r["knob"], r.get("impact_rank"), r["severity_rank"]) for r in recs]
    [('exposure', 1, 1), ('lighting', None, 2)]
    >>> block["n_images"], [(k["knob"], k["impact_rank"]) for k in block["ranking"]], maps
    (3, [('exposure', 1)], [])
    """
    notes: list[str] = []
    predict = make_predictor(model, preprocess=preprocess, batch_size=batch_size)
    amounts = _amounts(recommendations)
    result = prediction_impact(sample, amounts, predict, model_size=model_size, seed=seed, n_boot=n_boot)
    recs, block = _ranked(recommendations, result, len(sample))
    if not amounts:
        notes.append("no recommendation has a calibrated amount of a camera knob, so no prediction impact was measured")
    unmeasured = [r.get("knob") for r in recommendations if r.get("knob") not in amounts]
    if amounts and unmeasured:
        notes.append(f"not measured (no calibrated amount, or a knob that changes the scene rather than the finished "
                     f"image): {', '.join(map(str, unmeasured))}")  # fmt: skip
    if labels:
        block["labels"] = _labels_block(sample, result, predict, labels, label_scale, model_path, notes,
                                        seed=seed, n_boot=n_boot)  # fmt: skip
    maps: list[dict] = []
    if attribution and layers:
        block["attribution"], maps = attribution_shares(
            model, layers, targets, sample, preprocess=preprocess, pairs=attribution_pairs,
            batch_size=min(batch_size, 8), keep_maps=keep_maps, seed=seed, n_boot=n_boot,
        )  # fmt: skip
        block["attribution"]["definition"] = (
            "per layer, M = sum over channels of d(output)/d(activation) x activation; background share = "
            "sum |M| on the background / sum |M| (object mask resized to the map); object share = 1 - background share"
        )
    block["notes"] = notes
    return recs, block, maps

