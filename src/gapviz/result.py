"""`GapResult`: what `gapviz.compare` returns.

A frozen record of every number the comparison measured (in the JSON shapes of
docs/architecture.md), the example pairs the report shows, and the recommendations.
It recomputes nothing: plots and the report only draw what is stored here.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gapviz.recommend._recommendation import Recommendation

__all__ = ["ExamplePair", "FeatureExample", "GapResult", "LayerResult", "write_atomic"]


@dataclass(frozen=True)
class LayerResult:
    """Statistics of one tapped layer.

    Attributes
    ----------
    name : str
        Canonical layer path, e.g. ``"resnet50v2/conv1_conv"``.
    depth : int
        Position of the layer in the model's layer order (shallow first).
    shape : tuple
        Output shape of the layer for one image, ``(h, w, channels)``.
    stats : dict
        Statistic name -> ``Stat`` or set-statistic dict (see docs/architecture.md).
    """

    name: str
    depth: int
    shape: tuple
    stats: dict

    def to_dict(self) -> dict:
        return {"name": self.name, "depth": self.depth, "shape": list(self.shape), "stats": self.stats}


@dataclass(frozen=True)
class FeatureExample:
    """Feature maps of one example pair at one layer (only for the few pairs the report shows).

    Attributes
    ----------
    layer : str
        Canonical layer path.
    channels : tuple of int
        Indices of the channels shown: the top channels by activation energy over the pair.
    real, synth : np.ndarray
        ``(h, w, len(channels))`` activations of those channels.
    real_energy, synth_energy : np.ndarray
        ``(h, w)`` channel-mean absolute activation (the energy map drawn over the image).
    """

    layer: str
    channels: tuple
    real: np.ndarray
    synth: np.ndarray
    real_energy: np.ndarray
    synth_energy: np.ndarray


@dataclass(frozen=True)
class ExamplePair:
    """One real/synthetic example pair kept for display.

    Attributes
    ----------
    stem : str
        The shared file stem (or index) of the pair.
    real_path, synth_path : str or None
        Source files, when the inputs were files.
    real_image, synth_image : np.ndarray
        ``(H, W, 3)`` uint8 at the analysis size.
    real_mask, synth_mask : np.ndarray
        ``(H, W)`` bool object masks (given or estimated, see ``GapResult.data["masks"]``).
    real_edges, synth_edges : np.ndarray
        ``(H, W)`` bool Canny edge maps with the shared absolute thresholds.
    features : tuple of FeatureExample
        One per tapped layer, shallow first.
    """

    stem: str
    real_path: str | None
    synth_path: str | None
    real_image: np.ndarray
    synth_image: np.ndarray
    real_mask: np.ndarray
    synth_mask: np.ndarray
    real_edges: np.ndarray
    synth_edges: np.ndarray
    features: tuple = ()


@dataclass(frozen=True)
class GapResult:
    """The measured synthetic gap between a real and a synthetic image set, seen by one model.

    Attributes
    ----------
    model : dict
        Path, sha256, loader, format, architecture, input shape, preprocessing, preset.
    data : dict
        Pairs, pairing mode, unmatched and skipped inputs with reasons, mask sources.
    layers : tuple of LayerResult
        Tapped layers ordered by depth (shallow first).
    image_stats : dict
        Per-image statistic name -> ``Stat`` (Canny baseline, sharpness, noise, lighting, ...).
    decay : dict
        Across-layer statistics, e.g. ``background_ratio_slope``.
    canny : dict
        The shared absolute Canny thresholds and where they came from.
    recommendations : tuple of Recommendation
        Rendering recommendations, highest priority first (each also a read-only mapping of its
        JSON fields; mappings given here are turned into `Recommendation` objects).
    parameters : dict
        Every argument that shaped the numbers (seed, batch size, bootstrap count, ...).
    environment : dict
        Versions of Python, TensorFlow, Keras, numpy and gapviz.
    examples : tuple of ExamplePair
        Images, masks, edge maps and feature maps of the example pairs (not in the JSON).
    created : str
        ISO timestamp of the run (excluded from equality checks of numbers).
    pairs : gapviz.pairs.PairTable or None
        Per-pair values of every image statistic and per-layer scalar (not in the JSON; write
        them with ``pairs.to_csv(path)`` or load them with ``pairs.to_pandas()``).
    thumbnails : dict
        ``{pair: (real, synth)}`` small uint8 images of the pairs the report lists as furthest
        from their partner (`gapviz.pairs.furthest_pairs`); not in the JSON.
    model_impact : dict
        What each gap does to the model (`gapviz.impact`): prediction impact of the recommended
        amounts, estimated real-domain error with labels, attribution on the background. Empty
        when not measured.
    attribution_examples : tuple of dict
        ``{"stem", "maps": {layer: (real (h, w), synth (h, w))}}`` gradient-times-activation maps
        of the first example pairs (not in the JSON).
    inputs : tuple of str
        Every file and folder the run read (images, masks, model, manifest); `save_report` and
        `to_json` refuse to write over or inside any of them (not in the JSON).
    execution : dict
        How the run went: ``mode`` (one process, sharded, dask), workers, shards, shard size,
        which shards came from the cache, and per-shard rows, seconds, worker and peak RSS.
        Not a number of the comparison: a sharded and a one-process run differ only here (and
        in ``created``).
    """

    model: dict
    data: dict
    layers: tuple
    image_stats: dict
    decay: dict
    canny: dict
    recommendations: tuple
    parameters: dict
    environment: dict
    examples: tuple = field(default=(), repr=False)
    created: str = ""
    pairs: Any = field(default=None, repr=False, compare=False)
    thumbnails: dict = field(default_factory=dict, repr=False, compare=False)
    model_impact: dict = field(default_factory=dict)
    attribution_examples: tuple = field(default=(), repr=False)
    inputs: tuple = field(default=(), repr=False, compare=False)
    execution: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        recs = tuple(Recommendation.from_dict(r) for r in self.recommendations)
        object.__setattr__(self, "recommendations", recs)

    # -- serialisation ---------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """All numbers as plain JSON-compatible Python objects (NaN becomes ``None``)."""
        from gapviz._version import __version__

        out = {
            "gapviz_version": __version__,
            "created": self.created,
            "model": self.model,
            "data": self.data,
            "layers": [layer.to_dict() for layer in self.layers],
            "decay": self.decay,
            "image_stats": self.image_stats,
            "canny": self.canny,
            "recommendations": [r.to_dict() for r in self.recommendations],
            "parameters": self.parameters,
            "environment": self.environment,
        }
        if self.model_impact:
            out["model_impact"] = self.model_impact
        if self.execution:
            out["execution"] = self.execution
        return _jsonable(out)

    def to_json(self, path: str | os.PathLike | None = None, *, indent: int = 2) -> str:
        """Return the JSON text; when ``path`` is given, also write it there atomically."""
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False, ensure_ascii=False)
        if path is not None:
            from gapviz._paths import check_outputs

            check_outputs([path], self.inputs)
            write_atomic(path, text.encode("utf-8"))
        return text

    def save_report(self, path: str | os.PathLike, **kwargs: Any) -> str:
        """Write the self-contained HTML report to ``path`` (atomically) and return the path.

        ``kwargs`` go to `gapviz.report.render_report` (``title``, ``before``, ``dpi``, ``progress``).
        """
        from gapviz._paths import check_outputs
        from gapviz.report import render_report

        check_outputs([path], self.inputs)
        html = render_report(self, **kwargs)
        write_atomic(path, html.encode("utf-8"))
        return str(path)

    # -- display ---------------------------------------------------------------------------------
    def __repr__(self) -> str:
        n = self.data.get("n_pairs", 0)
        top = ", ".join(f"{r['knob']}({r['severity']})" for r in self.recommendations[:3]) or "none"
        arch = self.model.get("architecture") or "model"
        return f"<GapResult {arch}: {n} pairs, {len(self.layers)} layers, recommendations: {top}>"

    def _repr_html_(self) -> str:
        from gapviz.report import render_summary

        return render_summary(self)

    # -- figures ---------------------------------------------------------------------------------
    def plot_feature_maps(self, example: int = 0, layer: str | int = 0, **kwargs: Any):
        """Side-by-side feature maps (real | synthetic) of an example pair at one layer."""
        from gapviz.plots import plot_feature_maps

        return plot_feature_maps(self, example=example, layer=layer, **kwargs)

    def plot_layer_curves(self, **kwargs: Any):
        """Background-noise decay, edge sharpness and CKA across layers, with 95 % CI bands."""
        from gapviz.plots import plot_layer_curves

        return plot_layer_curves(self, **kwargs)

    def plot_canny(self, example: int = 0, **kwargs: Any):
        """Canny edge maps of an example pair with the shared absolute thresholds."""
        from gapviz.plots import plot_canny

        return plot_canny(self, example=example, **kwargs)

    def plot_image_stats(self, **kwargs: Any):
        """Image statistics as paired effect sizes with 95 % CIs, sorted by size."""
        from gapviz.plots import plot_image_stats

        return plot_image_stats(self, **kwargs)

    # -- lookups ---------------------------------------------------------------------------------
    def layer(self, name: str) -> LayerResult:
        """The `LayerResult` of a tapped layer, by canonical path or bare name."""
        for layer in self.layers:
            if layer.name == name or layer.name.rsplit("/", 1)[-1] == name:
                return layer
        from gapviz._errors import GapvizError

        names = ", ".join(layer.name for layer in self.layers)
        raise GapvizError(f"layer {name!r} was not tapped in this result; tapped layers: {names}")


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        if not math.isfinite(value):
            return None
        # 10 significant digits: the image statistics come from float32 OpenCV kernels whose
        # multi-threaded sums differ run to run in the 12th digit; the same seed must give the same JSON
        return float(f"{value:.10g}")
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        # mkstemp creates 0600; give the file the mode a plain open() would have
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_output_paths(outputs: list, inputs: list) -> None:
    """Refuse to write an output into an input folder or over an input file (see `gapviz._paths.check_outputs`).

    Raises
    ------
    GapvizError
        Naming the output and the input it would touch.
    """
    from gapviz._paths import check_outputs

    check_outputs(outputs, inputs)
