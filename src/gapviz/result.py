"""`GapResult`: what `gapviz.compare` returns.

A frozen record of every number the comparison measured (in the JSON shapes of
docs/architecture.md; the statistics typed as `gapviz.stats.Stat` and `gapviz.stats.SetStat`),
the example pairs the report shows, and the recommendations. It recomputes nothing: the figures
and the report (`gapviz.report`, one floor above) only draw what is stored here.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from gapviz._errors import GapvizError
from gapviz._paths import check_outputs, write_atomic
from gapviz._version import __version__
from gapviz.recommend._recommendation import Recommendation
from gapviz.stats.inference import SetStat, Stat, as_stat

__all__ = ["ExamplePair", "FeatureExample", "GapResult", "LayerResult", "example_result", "write_atomic"]


def _presentation():
    """`gapviz.report`, imported on first use: the one import from this module upwards.

    The report and the figures sit above the result: they draw a `GapResult` and import it for
    their types only. `GapResult.save_report`, ``_repr_html_`` and the ``plot_*`` methods offer
    them for convenience, so they reach up through this one function. Importing on the first
    call, not at the top, keeps ``import gapviz.result`` free of Jinja2 and matplotlib and the
    import graph free of a cycle when modules load.
    """
    import gapviz.report

    return gapviz.report


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
        Statistic name -> `gapviz.stats.Stat` or `gapviz.stats.SetStat` (read-only mappings of
        the JSON shapes of docs/architecture.md), and ``nonfinite`` counts per side.

    Examples
    --------
    >>> layer = example_result().layer("conv1")
    >>> layer.stats["background_ratio"].verdict, layer.to_dict()["shape"]
    ('gap', [16, 16, 4])
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

    Examples
    --------
    >>> feat = example_result().examples[0].features[1]
    >>> feat.layer, feat.channels, feat.real.shape, feat.real_energy.shape
    ('demo/conv2', (0, 3), (8, 8, 2), (8, 8))
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

    Examples
    --------
    >>> pair = example_result().examples[0]
    >>> pair.stem, pair.real_image.shape, pair.real_mask.dtype, len(pair.features)
    ('pair_0', (32, 32, 3), dtype('bool'), 2)
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
        Per-image statistic name -> `gapviz.stats.Stat` (Canny baseline, sharpness, noise,
        lighting, ...); ``stat.verdict`` says "gap", "within noise" or "below floor".
    decay : dict
        Across-layer statistics (`gapviz.stats.Stat`), e.g. ``background_ratio_slope``.
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
        which shards came from the cache, and per-shard rows, seconds, worker and peak RSS;
        ``timings``: wall seconds of compare's phases (setup, stream, finalise, recommend, result).
        Not a number of the comparison: a sharded and a one-process run differ only here (and
        in ``created``).

    Examples
    --------
    ``gapviz.compare(model, real_folder, synth_folder)`` returns one; `example_result` builds a
    small one with made-up numbers and no model:

    >>> result = example_result()
    >>> result.image_stats["brightness"]["ci95"], result.image_stats["brightness"].verdict
    ([0.06, 0.1], 'gap')
    >>> [rec["knob"] for rec in result.recommendations], result.layer("conv2").name
    (['exposure'], 'demo/conv2')
    >>> "gapviz-summary" in result._repr_html_()  # what Jupyter shows
    True
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
        """All numbers as plain JSON-compatible Python objects (NaN becomes ``None``).

        Examples
        --------
        >>> d = example_result().to_dict()
        >>> d["image_stats"]["brightness"]["ci95"], type(d["image_stats"]["brightness"]).__name__
        ([0.06, 0.1], 'dict')
        """
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
        """Return the JSON text; when ``path`` is given, also write it there atomically.

        Examples
        --------
        >>> import json, tempfile, pathlib
        >>> result = example_result()
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     text = result.to_json(pathlib.Path(tmp) / "gap.json")
        ...     json.loads((pathlib.Path(tmp) / "gap.json").read_text()) == result.to_dict()
        True
        """
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False, ensure_ascii=False)
        if path is not None:
            check_outputs([path], self.inputs)
            write_atomic(path, text.encode("utf-8"))
        return text

    def save_report(self, path: str | os.PathLike, **kwargs: Any) -> str:
        """Write the self-contained HTML report to ``path`` (atomically) and return the path.

        ``kwargs`` go to `gapviz.report.render_report` (``title``, ``before``, ``dpi``, ``progress``).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = example_result().save_report(pathlib.Path(tmp) / "report.html", title="run 3")
        ...     pathlib.Path(path).read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
        True
        """
        check_outputs([path], self.inputs)
        html = _presentation().render_report(self, **kwargs)
        write_atomic(path, html.encode("utf-8"))
        return str(path)

    # -- display ---------------------------------------------------------------------------------
    def __repr__(self) -> str:
        n = self.data.get("n_pairs", 0)
        top = ", ".join(f"{r['knob']}({r['severity']})" for r in self.recommendations[:3]) or "none"
        arch = self.model.get("architecture") or "model"
        return f"<GapResult {arch}: {n} pairs, {len(self.layers)} layers, recommendations: {top}>"

    def _repr_html_(self) -> str:
        """Jupyter's view: `gapviz.report.render_summary` (a summary line and the recommendation cards)."""
        return _presentation().render_summary(self)

    # -- figures ---------------------------------------------------------------------------------
    def plot_feature_maps(self, example: int = 0, layer: str | int = 0, **kwargs: Any):
        """Side-by-side feature maps (real | synthetic) of an example pair at one layer.

        `gapviz.report.plot_feature_maps` draws it; ``kwargs`` go there.

        Examples
        --------
        >>> fig = example_result().plot_feature_maps(example=0, layer="conv2")
        >>> len(fig.axes)  # input and energy overlay, then the two stored channels; real and synthetic
        8
        """
        return _presentation().plot_feature_maps(self, example=example, layer=layer, **kwargs)

    def plot_layer_curves(self, **kwargs: Any):
        """Background-noise decay, edge sharpness and CKA across layers, with 95 % CI bands.

        `gapviz.report.plot_layer_curves` draws it; ``kwargs`` go there.

        Examples
        --------
        >>> len(example_result().plot_layer_curves().axes)
        5
        """
        return _presentation().plot_layer_curves(self, **kwargs)

    def plot_canny(self, example: int = 0, **kwargs: Any):
        """Canny edge maps of an example pair with the shared absolute thresholds.

        `gapviz.report.plot_canny` draws it; ``kwargs`` go there.

        Examples
        --------
        >>> len(example_result().plot_canny(example=1).axes)
        4
        """
        return _presentation().plot_canny(self, example=example, **kwargs)

    def plot_image_stats(self, **kwargs: Any):
        """Image statistics as paired effect sizes with 95 % CIs, sorted by size.

        `gapviz.report.plot_image_stats` draws it; ``kwargs`` go there.

        Examples
        --------
        >>> fig = example_result().plot_image_stats()
        >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
        ['canny_edge_agreement', 'brightness', 'noise_sigma.background']
        """
        return _presentation().plot_image_stats(self, **kwargs)

    # -- lookups ---------------------------------------------------------------------------------
    def layer(self, name: str) -> LayerResult:
        """The `LayerResult` of a tapped layer, by canonical path or bare name.

        Examples
        --------
        >>> example_result().layer("conv2").name
        'demo/conv2'
        """
        for layer in self.layers:
            if layer.name == name or layer.name.rsplit("/", 1)[-1] == name:
                return layer
        names = ", ".join(layer.name for layer in self.layers)
        raise GapvizError(f"layer {name!r} was not tapped in this result; tapped layers: {names}")

    def stat(self, statistic: str, layer: str | None = None) -> Stat | SetStat | None:
        """A stored statistic, typed: a layer's when ``layer`` names a tapped layer, else an image or
        across-layer statistic (``decay``); None when there is none.

        Plain JSON dicts (a result built by hand) are read as their `Stat` or `SetStat`.

        Examples
        --------
        >>> result = example_result()
        >>> result.stat("brightness").verdict, result.stat("noise_sigma.background").verdict
        ('gap', 'within noise')
        >>> result.stat("kid", layer="conv1")["value"], result.stat("background_ratio_slope").verdict
        (0.004, 'gap')
        """
        if layer:
            bare = str(layer).rsplit("/", 1)[-1]
            for item in self.layers:
                if item.name == layer or item.name.rsplit("/", 1)[-1] == bare:
                    return as_stat(item.stats.get(statistic))
        # image statistics, and across-layer statistics (evidence layer "across layers")
        return as_stat(self.image_stats.get(statistic) or self.decay.get(statistic))


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):  # dicts, and the typed statistics (read-only mappings of their JSON)
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


def check_output_paths(outputs: list, inputs: list) -> None:
    """Refuse to write an output into an input folder or over an input file (see `gapviz._paths.check_outputs`).

    Raises
    ------
    GapvizError
        Naming the output and the input it would touch.

    Examples
    --------
    >>> check_output_paths(["out/report.html"], ["data/real"])  # nothing is overwritten: no error
    """
    check_outputs(outputs, inputs)


# -- a small result for examples ---------------------------------------------------------------------
def _example_stat(real: float, synth: float, half: float, floor: float, n: int) -> Stat:
    diff = round(synth - real, 6)
    return Stat(real=real, synth=synth, diff=diff, effect_size=round(diff / (half / 1.2), 6),
                ci95=(round(diff - half, 6), round(diff + half, 6)), noise_floor=floor, n=n, paired=True, dropped=0)


def example_result(n_examples: int = 2, *, size: int = 32, seed: int = 0) -> GapResult:
    """A small made-up `GapResult` for examples and tests: no model, no files, in milliseconds.

    Its numbers are invented (in the shapes `compare` stores): a brightness gap, sensor noise
    within noise, two layers ``demo/conv1`` and ``demo/conv2`` with two stored channels each, and
    one recommendation. Use `gapviz.compare` for measured numbers.

    Parameters
    ----------
    n_examples : int, default 2
        Example pairs with images, masks, edge maps and feature maps.
    size : int, default 32
        Side of the square example images, in pixels.
    seed : int, default 0
        Seed of the random images.

    Returns
    -------
    GapResult

    Examples
    --------
    >>> result = example_result()
    >>> result
    <GapResult demo: 12 pairs, 2 layers, recommendations: exposure(medium)>
    >>> result.image_stats["brightness"].verdict, len(result.examples)
    ('gap', 2)
    """
    rng = np.random.default_rng(seed)
    n = 12
    layers = []
    for i, name in enumerate(("demo/conv1", "demo/conv2")):
        stats: dict[str, Any] = {
            "background_ratio": _example_stat(0.5 / (i + 1), 0.7 / (i + 1), 0.05, 0.02, n),
            "edge_sharpness": _example_stat(1.2, 1.1, 0.2, 0.05, n),
            "cka_gap": SetStat(value=0.9 - 0.1 * i, ci95=(0.85 - 0.1 * i, 0.95 - 0.1 * i), noise_floor=None, n=n),
            "kid": SetStat(value=0.004 * (i + 1), ci95=(0.002 * (i + 1), 0.006 * (i + 1)), noise_floor=0.001, n=n),
            "nonfinite": {"real": 0, "synth": 0},
        }
        layers.append(LayerResult(name=name, depth=i + 1, shape=(size // 2 ** (i + 1),) * 2 + (4,), stats=stats))
    brightness = _example_stat(0.42, 0.5, 0.02, 0.01, n)
    examples = tuple(_example_pair(rng, f"pair_{j}", size, layers) for j in range(n_examples))
    evidence = {"statistic": "brightness", **{k: brightness[k] for k in ("real", "synth", "diff", "effect_size",
                                                                          "ci95", "noise_floor", "n")}}
    rec = {"knob": "exposure", "action": "lower the exposure by about 0.25 EV", "severity": "medium",
           "effect_size": brightness.effect_size, "ci95": list(brightness.ci95), "evidence": [evidence],
           "suggested": -0.25, "parameter": "exposure", "unit": "EV stops", "magnitude": 0.6, "direction": "add",
           "priority": 0.6, "notes": []}
    return GapResult(
        model={"path": None, "sha256": "", "loader": "in-memory", "format": "in-memory", "architecture": "demo",
               "input_shape": [size, size, 3], "preprocess": "unit", "preset": None},
        data={"n_pairs": n, "pairing": "stem", "paired": True, "unmatched": {"real": [], "synth": []},
              "skipped": [], "masks": {"real": {"given": n, "estimated": 0}, "synth": {"given": n, "estimated": 0}},
              "analysis_size": [size, size]},
        layers=tuple(layers),
        image_stats={"brightness": brightness,
                     "noise_sigma.background": _example_stat(2.0, 2.1, 0.3, 0.2, n),
                     "canny_edge_agreement": replace(_example_stat(1.0, 0.6, 0.05, 0.0, n), noise_floor=None)},
        decay={"background_ratio_slope": _example_stat(-0.69, -0.5, 0.05, 0.03, n)},
        canny={"low": 20.0, "high": 50.0, "sigma": 1.0, "source": "example"},
        recommendations=(rec,),
        parameters={"seed": seed, "n_boot": 1000},
        environment={"numpy": np.__version__, "gapviz": __version__},
        examples=examples,
        created="2026-01-01T00:00:00+00:00",
    )


def _example_pair(rng: np.random.Generator, stem: str, size: int, layers: list) -> ExamplePair:
    real = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    synth = np.clip(real.astype(np.int16) + 20, 0, 255).astype(np.uint8)
    mask = np.zeros((size, size), bool)
    mask[size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = True
    features = []
    for layer in layers:
        h = layer.shape[0]
        r, s = (rng.random((h, h, 2)).astype(np.float32) for _ in range(2))
        features.append(FeatureExample(layer=layer.name, channels=(0, 3), real=r, synth=s,
                                       real_energy=r.mean(axis=-1), synth_energy=s.mean(axis=-1)))
    return ExamplePair(stem=stem, real_path=None, synth_path=None, real_image=real, synth_image=synth,
                       real_mask=mask, synth_mask=mask, real_edges=mask ^ np.roll(mask, 1, axis=0),
                       synth_edges=mask ^ np.roll(mask, 2, axis=0), features=tuple(features))
