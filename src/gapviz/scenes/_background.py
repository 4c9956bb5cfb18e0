"""Backgrounds: plain gradients, procedural clutter, and scikit-image sample photos.

A background depends only on the scene seed, the image size and the ``background`` knob, never
on the other knobs, so both sides of a real/synthetic pair get the same content.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from gapviz._errors import GapvizError
from gapviz.scenes._geometry import STREAM_BACKGROUND, stream
from gapviz.scenes._knobs import PHOTO_BACKGROUNDS


def smooth_noise(rng: np.random.Generator, size: int, sigma: float) -> np.ndarray:
    """Gaussian-filtered white noise rescaled to zero mean and unit standard deviation."""
    field = rng.standard_normal((size, size)).astype(np.float32)
    if sigma > 0:
        field = cv2.GaussianBlur(field, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    field -= field.mean()
    return field / (field.std() + 1e-6)


@lru_cache(maxsize=len(PHOTO_BACKGROUNDS))
def _photo(name: str) -> np.ndarray:
    from skimage import data

    try:
        img = np.asarray(getattr(data, name)())
    except Exception as exc:  # a broken scikit-image install; say which photo and why
        raise GapvizError(f"background photo {name!r} could not be loaded from scikit-image: {exc}") from exc
    img = img.astype(np.float32) / 255.0
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    img = np.ascontiguousarray(img[:, :, :3])
    img.setflags(write=False)
    return img


# foliage, bark, soil, stone and concrete shades for the clutter blobs
_PALETTE = np.array(
    [
        [0.22, 0.33, 0.12],
        [0.30, 0.42, 0.18],
        [0.15, 0.22, 0.10],
        [0.38, 0.30, 0.20],
        [0.28, 0.22, 0.15],
        [0.50, 0.48, 0.44],
        [0.62, 0.60, 0.56],
        [0.42, 0.40, 0.30],
    ]
)


def _plain(rng: np.random.Generator, size: int) -> np.ndarray:
    top = rng.uniform(0.45, 0.85, size=3)
    bottom = top * rng.uniform(0.6, 1.0, size=3)
    t = np.linspace(0.0, 1.0, size, dtype=np.float32)[:, None, None]
    img = (1 - t) * top + t * bottom
    return np.broadcast_to(img, (size, size, 3)).astype(np.float32)


def _clutter(rng: np.random.Generator, size: int) -> np.ndarray:
    """Sky over textured ground, with poles, wires, foliage blobs and stones (all hard-edged)."""
    s = size / 512.0
    img = np.empty((size, size, 3), dtype=np.float32)
    sky_top = np.array([0.55, 0.68, 0.85]) * rng.uniform(0.8, 1.1)
    sky_low = np.array([0.80, 0.85, 0.90]) * rng.uniform(0.85, 1.05)
    ground = rng.uniform([0.25, 0.28, 0.15], [0.50, 0.48, 0.32])
    horizon = rng.uniform(0.25, 0.7) * size
    slope = rng.uniform(-0.3, 0.3)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    below = yy > horizon + slope * (xx - size / 2)
    t = np.clip(yy / max(horizon, 1.0), 0, 1)[..., None]
    clouds = smooth_noise(rng, size, size / 25.0)
    img[:] = ((1 - t) * sky_top + t * sky_low) * (1.0 + 0.04 * clouds[..., None])
    # ground detail at 1.5 px and coarser: texture a defocus removes, yet not mistaken for sensor noise
    grain = 0.55 * smooth_noise(rng, size, max(1.5 * s, 1.2)) + 0.45 * smooth_noise(
        rng, size, max(6 * s, 2.5)
    )
    ground_img = ground * (1.0 + 0.25 * grain[..., None])
    img[below] = ground_img[below]

    # stones / foliage: filled ellipses with their own shade
    for _ in range(int(rng.integers(25, 60))):
        centre = (int(rng.uniform(0, size)), int(rng.uniform(0, size)))
        axes = (max(1, int(rng.uniform(4, 40) * s)), max(1, int(rng.uniform(3, 25) * s)))
        colour = tuple(float(c) for c in _PALETTE[rng.integers(len(_PALETTE))] * rng.uniform(0.6, 1.3))
        cv2.ellipse(img, centre, axes, float(rng.uniform(0, 180)), 0, 360, colour, -1, cv2.LINE_8)
    # poles, beams and wires: straight dark or bright lines
    for _ in range(int(rng.integers(6, 18))):
        p0 = (int(rng.uniform(-0.2, 1.2) * size), int(rng.uniform(-0.2, 1.2) * size))
        p1 = (int(rng.uniform(-0.2, 1.2) * size), int(rng.uniform(-0.2, 1.2) * size))
        shade = float(rng.uniform(0.05, 0.9))
        width = max(1, int(rng.choice([1, 1, 2, 4, 8, 14]) * s))
        cv2.line(img, p0, p1, (shade, shade * 0.97, shade * 0.93), width, cv2.LINE_8)
    return np.clip(img, 0.0, 1.0)


def _from_photo(rng: np.random.Generator, name: str, size: int) -> np.ndarray:
    photo = _photo(name)
    h, w = photo.shape[:2]
    side = int(min(h, w) * rng.uniform(0.55, 1.0))
    y0 = int(rng.integers(0, h - side + 1))
    x0 = int(rng.integers(0, w - side + 1))
    crop = photo[y0 : y0 + side, x0 : x0 + side]
    if rng.uniform() < 0.5:
        crop = crop[:, ::-1]
    interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    img = cv2.resize(np.ascontiguousarray(crop), (size, size), interpolation=interp)
    tint = rng.uniform(0.9, 1.1, size=3).astype(np.float32)
    return np.clip(img * tint, 0.0, 1.0)


def make_background(seed: int, size: int, kind: str) -> tuple[np.ndarray, str]:
    """Background of scene ``seed`` (float32 RGB in [0, 1]) and the content actually used.

    ``kind`` is a validated ``background`` knob value; ``"mixed"`` resolves per seed to
    ``"clutter"`` or one photo name, returned as the second item.
    """
    rng = stream(seed, STREAM_BACKGROUND)
    pick = rng.uniform()  # drawn first and always, so "mixed" never shifts the other draws
    choice = rng.integers(0, len(PHOTO_BACKGROUNDS))
    if kind == "mixed":
        kind = "clutter" if pick < 0.4 else PHOTO_BACKGROUNDS[int(choice)]
    if kind == "plain":
        return _plain(rng, size), kind
    if kind == "clutter":
        return _clutter(rng, size), kind
    return _from_photo(rng, kind, size), kind
