"""A synthetic `GapResult` for testing the report and the plots without TensorFlow.

The numbers follow the JSON shapes of docs/architecture.md (paired ``Stat`` dicts, set statistics,
recommendations with evidence); the images, masks, edge maps and feature maps have the sizes a
ResNet50 at 512x512 would produce, and photo-like texture, so that measured report sizes are
realistic rather than flattered by flat test images.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gapviz.result import ExamplePair, FeatureExample, GapResult, LayerResult

__all__ = ["make_fake_result", "make_stat", "make_set_stat"]

# Output stride of the ResNet50 preset taps (a 512x512 input gives 256, 128, 64, 32, 16 px maps).
_STRIDES = {
    "conv1_conv": (2, 64),
    "conv2_block3_3_conv": (4, 256),
    "conv3_block4_3_conv": (8, 512),
    "conv4_block6_3_conv": (16, 1024),
    "conv5_block3_3_conv": (32, 2048),
}
RESNET50_LAYERS = tuple(f"resnet50/{name}" for name in _STRIDES)


def make_stat(real: float, synth: float, sd: float, *, n: int = 40, noise_floor: float | None = None,
              paired: bool = True) -> dict:
    """A paired ``Stat`` dict with a normal-theory CI (stands in for the bootstrap).

    Parameters
    ----------
    real, synth : float
        Means over the real and the synthetic set.
    sd : float
        Standard deviation of the paired differences.
    n : int, optional
        Number of pairs.
    noise_floor : float or None, optional
        Split-half noise floor of the real set; defaults to ``sd / 4``.
    paired : bool, optional
        Whether the difference is paired.

    Returns
    -------
    dict
        ``{"real", "synth", "diff", "effect_size", "ci95", "noise_floor", "n", "paired"}``.
    """
    diff = synth - real
    half = 1.96 * sd / np.sqrt(n)
    return {
        "real": float(real),
        "synth": float(synth),
        "diff": float(diff),
        "effect_size": float(diff / sd),
        "ci95": [float(diff - half), float(diff + half)],
        "noise_floor": float(sd / 4 if noise_floor is None else noise_floor),
        "n": int(n),
        "paired": bool(paired),
    }


def make_set_stat(value: float, half_width: float, *, n: int = 40, noise_floor: float | None = 0.02) -> dict:
    """A set statistic (CKA, KID): ``{"value", "ci95", "noise_floor", "n"}``."""
    return {
        "value": float(value),
        "ci95": [float(value - half_width), float(value + half_width)],
        "noise_floor": noise_floor,
        "n": int(n),
    }


def _blur(img: np.ndarray, radius: int) -> np.ndarray:
    """Separable box blur (twice, close to Gaussian) along the first two axes."""
    if radius <= 0:
        return img
    out = img.astype(np.float32)
    for _ in range(2):
        for axis in (0, 1):
            pad = [(0, 0)] * out.ndim
            pad[axis] = (radius + 1, radius)
            c = np.cumsum(np.pad(out, pad, mode="edge"), axis=axis)
            size = 2 * radius + 1
            out = (np.take(c, np.arange(size, c.shape[axis]), axis=axis)
                   - np.take(c, np.arange(0, c.shape[axis] - size), axis=axis)) / size
    return out


def _pair_images(rng: np.random.Generator, size: int) -> tuple[np.ndarray, ...]:
    """A shackle-like ring on a textured background: (real, synth, mask)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    cy, cx = size * rng.uniform(0.4, 0.6), size * rng.uniform(0.4, 0.6)
    r = np.hypot((yy - cy) / 1.3, xx - cx)
    outer, inner = size * 0.3, size * 0.2
    mask = (r < outer) & (r > inner)
    texture = rng.normal(0, 1, (size, size, 3)).astype(np.float32)
    background = 110 + 45 * _blur(texture, 2) * 3 + 25 * _blur(rng.normal(0, 1, (size, size, 1)), 16) * 12
    metal = (150 + 60 * np.cos((xx - cx) / size * 6))[..., None] * np.array([1.0, 0.97, 0.92])
    synth = np.where(mask[..., None], metal, background)
    real = np.where(mask[..., None], metal * (0.6 + 0.4 * (xx / size))[..., None], _blur(background, 4))
    real = _blur(real, 1) + rng.normal(0, 4, real.shape)
    return (np.clip(real, 0, 255).astype(np.uint8), np.clip(synth, 0, 255).astype(np.uint8), mask)


def _edges(img: np.ndarray) -> np.ndarray:
    grey = img.astype(np.float32).mean(axis=2)
    gy, gx = np.gradient(_blur(grey, 1))
    mag = np.hypot(gx, gy)
    return mag > np.percentile(mag, 92)


def _features(rng: np.random.Generator, layer: str, img: np.ndarray, stride: int, k: int,
              channels: tuple) -> tuple[np.ndarray, np.ndarray]:
    h = img.shape[0] // stride
    small = img.astype(np.float32).mean(axis=2)[: h * stride, : h * stride]
    small = small.reshape(h, stride, h, stride).mean(axis=(1, 3)) / 255.0
    gy, gx = np.gradient(small)
    base = np.hypot(gx, gy) * 8
    maps = np.stack([np.maximum(0, base * rng.uniform(0.5, 2) + rng.normal(0, 0.05, (h, h)) + small * c / 10)
                     for c in range(k)], axis=-1).astype(np.float32)
    return maps, np.abs(maps).mean(axis=2).astype(np.float32)


def make_fake_result(
    n_examples: int = 2,
    layers: Sequence[str] = ("base/conv1_conv", "base/conv2_block3_3_conv"),
    names: Sequence[str] | None = None,
    *,
    size: int = 512,
    n_channels: int = 8,
    seed: int = 0,
    gap_scale: float = 1.0,
    recommendations: bool = True,
) -> GapResult:
    """A `GapResult` of synthetic numbers in the documented shapes.

    Parameters
    ----------
    n_examples : int, optional
        Number of example pairs with images and feature maps.
    layers : sequence of str, optional
        Tapped layer paths, shallow first. Bare names of the ResNet50 preset get that layer's
        stride and channel count; other names get stride ``2 ** (i + 1)``.
    names : sequence of str, optional
        File stems of the example pairs (to test escaping); defaults to ``chain_000`` ...
    size : int, optional
        Analysis size of the example images (square).
    n_channels : int, optional
        Top channels kept per example and layer (``compare`` keeps 8).
    seed : int, optional
        Seed of all random numbers.
    gap_scale : float, optional
        Multiplies every synth - real gap (a "fixed" renderer gives a smaller scale).
    recommendations : bool, optional
        Whether to include the three recommendations.

    Returns
    -------
    GapResult

    Examples
    --------
    >>> result = make_fake_result(n_examples=1)
    >>> result.data["n_pairs"]
    40
    """
    rng = np.random.default_rng(seed)
    names = list(names) if names is not None else []
    names += [f"chain_{i:03d}" for i in range(len(names), max(n_examples, 1))]
    g = gap_scale
    n = 40

    layer_results = []
    geometry = []
    for i, path in enumerate(layers):
        stride, channels = _STRIDES.get(path.rsplit("/", 1)[-1], (2 ** (i + 1), 64 * 2**i))
        h = size // stride
        geometry.append((stride, channels))
        real_ratio = 0.9 * 0.55**i
        stats = {
            "background_ratio": make_stat(real_ratio, real_ratio * (1 + g * (0.35 + 0.15 * i)), 0.08 * 0.7**i, n=n),
            "edge_sharpness": make_stat(1.2 - 0.15 * i, (1.2 - 0.15 * i) * (1 + g * 0.4 / (1 + i)), 0.2, n=n),
            "dead_fraction": make_stat(0.02 * i, 0.02 * i + 0.003, 0.01 + 0.005 * i, n=n),
            "cka_gap": make_set_stat(min(1.0, 1 - g * (0.08 + 0.09 * i)), 0.03 + 0.01 * i, n=n),
            "cka_pooled": make_set_stat(min(1.0, 1 - g * (0.04 + 0.05 * i)), 0.02 + 0.01 * i, n=n),
            "kid": make_set_stat(g * 0.004 * (1 + i), 0.002, n=n, noise_floor=0.001),
        }
        layer_results.append(LayerResult(name=path, depth=3 + 40 * i, shape=(h, h, channels), stats=stats))

    image_stats = {
        "canny_edge_density.object": make_stat(0.081, 0.081 + g * 0.012, 0.02, n=n),
        "canny_edge_density.background": make_stat(0.034, 0.034 + g * 0.041, 0.015, n=n),
        "canny_edge_density.whole": make_stat(0.046, 0.046 + g * 0.031, 0.014, n=n),
        "canny_straightness": make_stat(0.61, 0.61 + g * 0.14, 0.09, n=n),
        "canny_edge_agreement": make_stat(0.42, 0.42 - g * 0.05, 0.1, n=n),
        "laplacian_var.object": make_stat(310.0, 310 + g * 420, 260, n=n, noise_floor=40),
        "laplacian_var.background": make_stat(95.0, 95 + g * 610, 300, n=n, noise_floor=25),
        "blur_effect": make_stat(0.38, 0.38 - g * 0.09, 0.05, n=n),
        "noise_sigma.background": make_stat(3.9, 3.9 - g * 3.1, 1.2, n=n, noise_floor=0.4),
        "brightness": make_stat(0.47, 0.47 + g * 0.012, 0.06, n=n),
        "rms_contrast": make_stat(0.21, 0.21 + g * 0.008, 0.05, n=n),
        "rgb_relative.r": make_stat(0.352, 0.352 - g * 0.004, 0.01, n=n),
        "rgb_relative.g": make_stat(0.336, 0.336 + g * 0.001, 0.01, n=n),
        "rgb_relative.b": make_stat(0.312, 0.312 + g * 0.003, 0.01, n=n),
        "illumination_cv": make_stat(0.34, 0.34 - g * 0.19, 0.11, n=n),
        "jpeg_blockiness": make_stat(1.18, 1.18 - g * 0.16, 0.09, n=n, noise_floor=0.02),
    }
    decay = {"background_ratio_slope": make_stat(-0.52, -0.52 + g * 0.31, 0.15, n=n)}
    first = layer_results[0]
    recs: list[dict] = []
    if recommendations:
        def evidence(stat: str, layer: str | None = None) -> dict:
            if layer == "across layers":
                s = decay[stat]
            elif layer is None:
                s = image_stats[stat]
            else:
                s = next(x for x in layer_results if x.name == layer).stats[stat]
            item = {"statistic": stat}
            if layer is not None:
                item["layer"] = layer
            item.update({k: s[k] for k in ("real", "synth", "diff", "effect_size", "ci95", "noise_floor", "n")})
            return item

        last = layer_results[-1]
        recs = [
            {
                "knob": "camera_focus",
                "action": "Blur the background: add depth of field so the background is out of focus, "
                          "as in the field photographs.",
                "severity": "high",
                "effect_size": image_stats["laplacian_var.background"]["effect_size"],
                "ci95": image_stats["laplacian_var.background"]["ci95"],
                "evidence": [evidence("laplacian_var.background"), evidence("background_ratio_slope", "across layers"),
                             evidence("background_ratio", last.name), evidence("background_ratio", first.name)],
                "suggested": 3.5,
                "parameter": "camera_focus",
                "unit": "px (Gaussian sigma)",
                "magnitude": 2.03, "direction": "add", "priority": 2.03, "notes": [],
            },
            {
                "knob": "resolution",
                "action": "Soften the render: lower the render resolution or add lens blur so object edges "
                          "are as wide as in the photographs.",
                "severity": "medium",
                "effect_size": first.stats["edge_sharpness"]["effect_size"],
                "ci95": first.stats["edge_sharpness"]["ci95"],
                "evidence": [evidence("edge_sharpness", first.name), evidence("canny_straightness")],
                "suggested": 1.2,
                "parameter": "resolution",
                "unit": "px (Gaussian sigma)",
                "magnitude": 2.4, "direction": "add", "priority": 1.1, "notes": [],
            },
            {
                "knob": "lighting",
                "action": "Light the shackle partially: use a directional key light with shadows instead of "
                          "uniform ambient light.",
                "severity": "low",
                "effect_size": image_stats["illumination_cv"]["effect_size"],
                "ci95": image_stats["illumination_cv"]["ci95"],
                "evidence": [evidence("illumination_cv")],
                "suggested": None,
                "parameter": None,
                "unit": None,
                "magnitude": 1.73, "direction": "add", "priority": 0.4,
                "notes": ["calibration finds no amount of this knob that closes the gap; other knobs explain it"],
            },
        ]

    examples = []
    for j in range(n_examples):
        real, synth, mask = _pair_images(rng, size)
        features = []
        for (stride, channels), path in zip(geometry, layers, strict=True):
            top = tuple(int(c) for c in sorted(rng.choice(channels, n_channels, replace=False)))
            rf, re = _features(rng, path, real, stride, n_channels, top)
            sf, se = _features(rng, path, synth, stride, n_channels, top)
            features.append(FeatureExample(layer=path, channels=top, real=rf, synth=sf,
                                           real_energy=re, synth_energy=se))
        stem = names[j]
        examples.append(ExamplePair(
            stem=stem, real_path=f"/data/field photos/{stem}.jpg", synth_path=f"/data/renders/{stem}.png",
            real_image=real, synth_image=synth, real_mask=mask, synth_mask=mask,
            real_edges=_edges(real), synth_edges=_edges(synth), features=tuple(features),
        ))

    arch_layers = ", ".join(f'"{name}"' for name in layers)
    return GapResult(
        model={"path": "/models/resnet50_shackle.h5", "sha256": "9f2c4e1ab07d" + "0" * 52, "loader": "tf_keras",
               "format": "h5", "architecture": "ResNet50", "input_shape": [512, 512, 3], "notes": [],
               "preprocess": "rescale 1/255", "preset": "resnet50"},
        data={
            "n_pairs": n, "n_real": n + 2, "n_synth": n + 1, "kinds": {"real": "folder", "synth": "folder"},
            "pairing": "stem", "paired": True, "unpaired_reason": None,
            "notes": [f"{n} real masks were estimated (no mask folder given for the real set)"],
            "unmatched": {"real": [f"{names[0]}_extra.jpg"], "synth": ["render_9999.png"]},
            "skipped": [{"path": f"/data/field photos/{names[-1]}_broken.jpg", "side": "real",
                         "reason": "cannot decode image: truncated JPEG"}],
            "masks": {"real": {"given": 0, "estimated": n, "method": "GrabCut from the synthetic mask",
                               "quality_iou": 0.87},
                      "synth": {"given": n, "estimated": 0}},
            "analysis_size": [size, size],
            "examples": [{"real": e.real_path, "synth": e.synth_path, "stem": e.stem} for e in examples],
        },
        layers=tuple(layer_results),
        image_stats=image_stats,
        decay=decay,
        canny={"low": 0.041, "high": 0.112, "sigma": 2.0, "source": "70th/90th percentile of gradient magnitude, real set"},
        recommendations=tuple(recs),
        parameters={"seed": seed, "n_boot": 1000, "batch_size": 16, "layers": list(layers), "n_examples": n_examples,
                    "command": f"gapviz report --model resnet50_shackle.h5 --real field --synth renders "
                               f"--layers {arch_layers} --out report.html"},
        environment={"python": "3.11.2", "tensorflow": "2.21.0", "keras": "3.12.0", "tf_keras": "2.21.0",
                     "numpy": np.__version__, "gapviz": "0.1.0", "platform": "Linux-x86_64"},
        examples=tuple(examples),
        created="2025-11-26T12:00:00+00:00",
    )
