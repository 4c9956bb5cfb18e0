"""Shading, the camera pipeline, and the public render functions.

Order of operations (physical, as a camera forms an image): scene (geometry, texture, metallic
shading) -> lighting (key-light coverage and shadow on the object) -> defocus of the background
layer (``camera_focus``) and compositing of the sharp object with a soft edge -> lens softness over
the whole image (``resolution``) -> exposure and white balance -> sensor noise -> JPEG round trip.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import cv2
import numpy as np

from gapviz._checks import check_choice, check_int, check_number
from gapviz._errors import GapvizError
from gapviz.scenes._background import make_background, smooth_noise
from gapviz.scenes._geometry import (
    STREAM_LIGHT,
    STREAM_NOISE,
    STREAM_TEXTURE,
    WEAR_MAX,
    Geometry,
    build_geometry,
    stream,
)
from gapviz.scenes._knobs import resolve_settings
from gapviz.scenes._scene import Scene
from gapviz.scenes.blender import DEFAULT_SAMPLES, BlenderRequest, render_requests

MIN_SIZE, MAX_SIZE = 32, 8192
_SHADOW_LEVEL = 0.3  # light left in the key light's shadow (sky fill), relative to uniform ambient
_GAMMA = 2.2


def _check_seed(seed: Any) -> int:
    return check_int("seed", seed, low=0)


def _check_size(size: Any) -> int:
    return check_int("size", size, low=MIN_SIZE, high=MAX_SIZE, hint="it is the image side in pixels")


def _check_wear(wear: Any) -> float | None:
    if wear is None:
        return None
    return check_number("wear", wear, low=0.0, high=WEAR_MAX, hint="it is the wear in percent of the wire diameter")


#: rendering engines: the 2D compositor of this module, or Cycles via `gapviz.scenes.blender`
ENGINES = ("2d", "blender")


def _check_engine(engine: Any) -> str:
    return check_choice("engine", engine, ENGINES)


def _blender(requests: list, size: int, samples: int | None) -> list:

    scenes, _ = render_requests(requests, size, samples=DEFAULT_SAMPLES if samples is None else samples)
    return scenes


def _smoothstep(lo: float, hi: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _texture_maps(seed: int, size: int, texture: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Albedo modulation (H, W) and rust coverage (H, W) or None, from the scene's texture stream."""
    rng = stream(seed, STREAM_TEXTURE)
    s = size / 512.0
    fine = smooth_noise(rng, size, 0.6 * s)
    if texture == "clean":
        return 1.0 + 0.02 * fine, None
    if texture == "scratched":
        canvas = np.zeros((size, size), dtype=np.float32)
        n_lines = 260
        starts = rng.uniform(0, size, size=(n_lines, 2))
        angles = rng.uniform(0, np.pi, size=n_lines)
        lengths = rng.uniform(0.02, 0.1, size=n_lines) * size
        values = rng.choice([-1.0, 1.0], size=n_lines, p=[0.35, 0.65]) * rng.uniform(0.5, 1.0, size=n_lines)
        ends = starts + lengths[:, None] * np.stack([np.cos(angles), np.sin(angles)], axis=1)
        for p0, p1, v in zip(starts.astype(int), ends.astype(int), values, strict=True):
            cv2.line(canvas, (int(p0[0]), int(p0[1])), (int(p1[0]), int(p1[1])), float(v), 1, cv2.LINE_AA)
        return 1.0 + 0.4 * np.clip(canvas, -1, 1) + 0.08 * fine, None
    # rusty: blotches of oxide where a low-frequency field is high, rough everywhere
    blotch = smooth_noise(rng, size, size / 40.0) + 0.35 * smooth_noise(rng, size, size / 150.0)
    rust = _smoothstep(-0.25, 0.35, blotch).astype(np.float32)
    return 1.0 + 0.15 * fine, rust


def _shade(geo: Geometry, settings: Mapping[str, Any], seed: int, size: int) -> np.ndarray:
    """Metallic shading of the links under the ``lighting`` and ``texture`` knobs (float RGB).

    Zero off the object. The per-pixel work runs on the object's bounding box only.
    """
    out = np.zeros((size, size, 3), dtype=np.float32)
    rows, cols = np.flatnonzero(geo.mask.any(axis=1)), np.flatnonzero(geo.mask.any(axis=0))
    if rows.size == 0:
        return out
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    mask = geo.mask[box]
    n = geo.normal[box]
    nx, ny, nz = n[..., 0], n[..., 1], n[..., 2]
    # mirror direction of the view ray (0, 0, 1); "up" is -y in image coordinates
    rx, ry, rz = 2 * nz * nx, 2 * nz * ny, 2 * nz * nz - 1
    up = -ry
    sky = _smoothstep(-0.2, 0.5, up)
    env = 0.2 + 0.6 * sky + 0.35 * np.exp(-(((up - 0.02) / 0.08) ** 2)) + 0.06 * rx
    env_rgb = (1 - sky)[..., None] * np.array([0.62, 0.56, 0.50]) + sky[..., None] * np.array(
        [0.88, 0.93, 1.0]
    )
    metal_albedo = np.array([0.70, 0.71, 0.74])
    albedo, rust = _texture_maps(seed, size, settings["texture"])
    albedo = albedo[box]
    colour = metal_albedo * env_rgb * (0.3 + 0.7 * env)[..., None] * albedo[..., None]
    metal = 1.0
    if rust is not None:
        rust = rust[box]
        metal = 1.0 - rust
        rust_rgb = np.array([0.47, 0.25, 0.11]) * (0.55 + 0.45 * nz)[..., None] * albedo[..., None]
        colour = metal[..., None] * colour + rust[..., None] * rust_rgb
    # worn steel is freshly polished: bright and mirror-like, with no coating, rust or scratches left
    polish = np.minimum(geo.worn[box] / 0.8, 1.0)  # grows with the material removed
    bright = np.array([0.93, 0.93, 0.95]) * (0.5 + 0.6 * env)[..., None]
    colour = (1 - polish)[..., None] * colour + polish[..., None] * bright
    metal = metal * (1 - polish) + polish

    coverage = float(settings["lighting"])
    if coverage < 1.0:
        theta = stream(seed, STREAM_LIGHT).uniform(0, 2 * np.pi)
        d = np.array([np.cos(theta), np.sin(theta)])
        yy, xx = np.mgrid[box]
        along = xx * d[0] + yy * d[1]
        if coverage <= 0.0:
            lit = np.zeros_like(nz)
        else:
            # the shadow edge sits where a share `coverage` of the object (along d) is lit
            edge = np.quantile(along[mask], coverage)
            soft = max(1.0, 0.015 * size)
            lit = 1.0 / (1.0 + np.exp(-np.clip((edge - along) / soft, -50, 50)))
        light = np.array([-d[0] * 0.75, -d[1] * 0.75, 0.66])
        light /= np.linalg.norm(light)
        lambert = np.clip(nx * light[0] + ny * light[1] + nz * light[2], 0, None)
        mirror = np.clip(rx * light[0] + ry * light[1] + rz * light[2], 0, None)
        key = coverage + (1 - coverage) * (0.3 + 1.2 * lambert)
        illum = lit * key + (1 - lit) * _SHADOW_LEVEL
        spec = lit * (1 - coverage) * 0.9 * metal * mirror**30
        colour = colour * illum[..., None] + spec[..., None]
    out[box] = np.where(mask[..., None], colour, 0.0)
    return out


def _object_layer(obj: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The object's colours extended one pixel out, and its soft alpha (independent of focus)."""
    m = mask.astype(np.float32)
    # extend the object's colours one pixel out so the soft edge never blends with black
    wsum = cv2.GaussianBlur(m, (0, 0), 0.8)
    spread = cv2.GaussianBlur(obj * m[..., None], (0, 0), 0.8) / np.maximum(wsum, 1e-6)[..., None]
    obj_ext = np.where(mask[..., None], obj, spread)
    alpha = cv2.GaussianBlur(m, (0, 0), 0.5)[..., None]
    return obj_ext, alpha


def _composite(obj: np.ndarray, mask: np.ndarray, background: np.ndarray, focus: float) -> np.ndarray:
    """The sharp object over the (possibly defocused) background layer.

    `gapviz.scenes.FinishedImage` computes the same blend with its focus-free terms kept.
    """
    if focus <= 0:
        return np.where(mask[..., None], obj, background)
    blurred = cv2.GaussianBlur(background, (0, 0), focus, borderType=cv2.BORDER_REFLECT)
    obj_ext, alpha = _object_layer(obj, mask)
    return alpha * obj_ext + (1 - alpha) * blurred


def _camera(
    img: np.ndarray, settings: Mapping[str, Any], seed: int, unit_noise: np.ndarray | None = None
) -> np.ndarray:
    """Lens softness, exposure, white balance, sensor noise and JPEG on a float RGB image.

    ``unit_noise`` is the seed's standard-normal noise field when the caller has it already.
    """
    return _sensor(_lens(img, float(settings["resolution"])), settings, seed, unit_noise)


def _lens(img: np.ndarray, softness: float) -> np.ndarray:
    """Lens softness: a Gaussian blur of ``softness`` px (none at 0)."""
    if softness > 0:
        img = cv2.GaussianBlur(img, (0, 0), softness, borderType=cv2.BORDER_REFLECT)
    return img


def _sensor(
    img: np.ndarray,
    settings: Mapping[str, Any],
    seed: int,
    unit_noise: np.ndarray | None = None,
    linear: np.ndarray | None = None,
) -> np.ndarray:
    """Exposure, white balance, sensor noise and JPEG on a float RGB image (after the lens).

    ``unit_noise`` is the seed's standard-normal noise field and ``linear`` is
    ``np.clip(img, 0, 1) ** _GAMMA``, when the caller has them already (calibration applies many
    settings to one image). The arithmetic runs in place on one working copy: the same values
    as the plain expressions, without a temporary image per step.
    """
    ev, cast = float(settings["exposure"]), float(settings["color"])
    if ev != 0 or cast != 0:
        gains = np.array([1 + 0.3 * cast, 1 + 0.03 * cast, 1 - 0.3 * cast], dtype=np.float32) * 2.0**ev
        if linear is None:
            linear = np.clip(img, 0, 1) ** _GAMMA
        # per-channel gains as one row-long vector: numpy's broadcast over a last axis of 3 is slow
        rows = np.ascontiguousarray(linear).reshape(linear.shape[0], -1)
        out = np.multiply(rows, np.tile(gains, rows.shape[1] // 3)).reshape(linear.shape)
        np.clip(out, 0, 1, out=out)
        np.power(out, 1 / _GAMMA, out=out)
        np.clip(out, 0, 1, out=out)
    else:
        out = np.clip(img, 0, 1)
    out *= 255.0
    sigma = float(settings["sensor_noise"])
    if sigma > 0:
        if unit_noise is None:
            unit_noise = stream(seed, STREAM_NOISE).standard_normal(out.shape, dtype=np.float32)
        out += np.multiply(unit_noise, sigma)
    np.rint(out, out=out)
    np.clip(out, 0, 255, out=out)
    out = out.astype(np.uint8)
    quality = int(settings["compression"])
    if quality > 0:
        ok, buf = cv2.imencode(
            ".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
        )
        if not ok:  # pragma: no cover - OpenCV always has a JPEG codec
            raise GapvizError("OpenCV could not JPEG-encode the scene")
        out = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return out


def _render(
    geo: Geometry, seed: int, size: int, preset: str, settings: dict[str, Any], bg_cache: dict
) -> Scene:
    kind = settings["background"]
    if kind not in bg_cache:
        bg_cache[kind] = make_background(seed, size, kind)
    background, content = bg_cache[kind]
    obj = _shade(geo, settings, seed, size)
    img = _composite(obj, geo.mask, background, float(settings["camera_focus"]))
    image = _camera(img, settings, seed)
    mask = geo.mask.copy()
    image.setflags(write=False)
    mask.setflags(write=False)
    return Scene(image, mask, geo.wear, seed, preset, dict(settings), content)


def render_scene(
    seed: int,
    settings: Mapping[str, Any] | Iterable[str] | None = None,
    *,
    preset: str = "dataset1",
    size: int = 512,
    wear: float | None = None,
    engine: str = "2d",
    samples: int | None = None,
) -> Scene:
    """Render one scene of two interlocked chain links.

    Parameters
    ----------
    seed : int
        Scene seed (>= 0). It fixes the pose, proportions, placement, wear label, background
        content, texture pattern, light direction and noise; with the settings and size it
        determines every byte of the result.
    settings : mapping or iterable of "knob=value" strings, optional
        Knob overrides on top of ``preset`` (see `KNOBS`).
    preset : str, default "dataset1"
        Starting settings: ``"field"``, ``"dataset1"`` or ``"dataset2"`` (see `PRESETS`).
    size : int, default 512
        Image side in pixels; the geometry is size-free, so one seed gives the same picture at
        every size (knob values in px are taken at this size).
    wear : float, optional
        Wear label in percent (0-95) instead of the seed's own; the pose stays the same.
    engine : str, default "2d"
        ``"2d"``: this module's compositor. ``"blender"``: the same seed, pose, wear, background and
        knobs in a 3D scene rendered by Cycles (`gapviz.scenes.blender`; needs a Python with bpy).
    samples : int, optional
        Cycles samples per pixel for ``engine="blender"`` (default 16); ignored by the 2D engine.

    Returns
    -------
    Scene
        ``image`` (H, W, 3) uint8, ``mask`` (H, W) bool, ``wear`` percent, and the settings used.

    Raises
    ------
    GapvizError
        For an unknown preset or knob, a bad knob value, or a bad seed, size or wear.

    Examples
    --------
    >>> from gapviz.scenes import render_scene
    >>> scene = render_scene(7, {"camera_focus": 3}, preset="dataset1", size=128)
    >>> scene.image.shape, scene.mask.dtype.name, 0 <= scene.wear <= 95
    ((128, 128, 3), 'bool', True)
    """
    seed, size, wear = _check_seed(seed), _check_size(size), _check_wear(wear)
    resolved = resolve_settings(preset, settings)
    if _check_engine(engine) == "blender":
        return _blender([BlenderRequest(seed, preset, resolved, wear)], size, samples)[0]
    geo = build_geometry(seed, size, wear=wear)
    return _render(geo, seed, size, preset, resolved, {})


def render_pair(
    seed: int,
    real: str = "field",
    synth: str = "dataset1",
    *,
    size: int = 512,
    real_overrides: Mapping[str, Any] | Iterable[str] | None = None,
    synth_overrides: Mapping[str, Any] | Iterable[str] | None = None,
    wear: float | None = None,
    engine: str = "2d",
    samples: int | None = None,
) -> tuple[Scene, Scene]:
    """Render one scene under two presets: a true real/synthetic pair.

    Both sides share the geometry, pose, wear and background content (when both use the same
    ``background`` value); only the rendering knobs differ.

    Parameters
    ----------
    seed : int
        Scene seed (>= 0).
    real, synth : str
        Presets of the "real" (photo-like) and "synthetic" sides.
    size : int, default 512
        Image side in pixels.
    real_overrides, synth_overrides : mapping or iterable of "knob=value" strings, optional
        Knob overrides for each side.
    wear : float, optional
        Wear label in percent (0-95) instead of the seed's own.
    engine : str, default "2d"
        ``"2d"`` or ``"blender"`` (see `render_scene`).
    samples : int, optional
        Cycles samples per pixel for ``engine="blender"``.

    Returns
    -------
    (Scene, Scene)
        The real side and the synthetic side; their masks are identical.

    Examples
    --------
    >>> import numpy as np
    >>> from gapviz.scenes import render_pair
    >>> real, synth = render_pair(3, "field", "dataset1", size=96)
    >>> bool(np.array_equal(real.mask, synth.mask)), real.wear == synth.wear
    (True, True)
    """
    seed, size, wear = _check_seed(seed), _check_size(size), _check_wear(wear)
    real_settings = resolve_settings(real, real_overrides)
    synth_settings = resolve_settings(synth, synth_overrides)
    if _check_engine(engine) == "blender":
        pair = [
            BlenderRequest(seed, real, real_settings, wear),
            BlenderRequest(seed, synth, synth_settings, wear),
        ]
        first, second = _blender(pair, size, samples)
        return first, second
    geo = build_geometry(seed, size, wear=wear)
    cache: dict = {}
    return (
        _render(geo, seed, size, real, real_settings, cache),
        _render(geo, seed, size, synth, synth_settings, cache),
    )
