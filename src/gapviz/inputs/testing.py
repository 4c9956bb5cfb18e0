"""Testing helpers: small generated scenes with a known object mask, and tiny image folders (no downloads).

These stand in for real data in tests of pairing, decoding and mask estimation: two dark,
shaded, interlocked rings (a chain link pair) on a cluttered background that is either sharp
(like a render) or blurred (like a photograph with a shallow depth of field), or plain.
:func:`write_images` writes a folder of small images named by stem, for pairing examples.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import cv2
import numpy as np

from gapviz._errors import GapvizError

BACKGROUNDS = ("sharp", "blur", "plain")


def _clutter(rng: np.random.Generator, size: int) -> np.ndarray:
    base = rng.uniform(60, 200, 3)
    img = np.empty((size, size, 3), np.float32)
    img[:] = base
    # a smooth colour gradient plus random rectangles, lines and blobs of random colours
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    img += rng.uniform(-40, 40, 3) * yy[..., None] + rng.uniform(-40, 40, 3) * xx[..., None]
    for _ in range(int(rng.integers(25, 45))):
        colour = tuple(float(c) for c in rng.uniform(20, 235, 3))
        kind = rng.integers(3)
        p = rng.integers(0, size, 2)
        if kind == 0:
            q = p + rng.integers(-size // 4, size // 4, 2)
            cv2.rectangle(img, (int(p[0]), int(p[1])), (int(q[0]), int(q[1])), colour, -1)
        elif kind == 1:
            q = rng.integers(0, size, 2)
            cv2.line(
                img,
                (int(p[0]), int(p[1])),
                (int(q[0]), int(q[1])),
                colour,
                int(rng.integers(1, max(2, size // 60))),
            )
        else:
            cv2.circle(img, (int(p[0]), int(p[1])), int(rng.integers(2, size // 10)), colour, -1)
    img += rng.normal(0, 6, img.shape).astype(np.float32)
    return img


def ring_scene(seed: int, *, size: int = 256, background: str = "sharp") -> tuple[np.ndarray, np.ndarray]:
    """Two interlocked dark metallic rings on a background, with their true mask.

    Parameters
    ----------
    seed : int
        Everything (pose, sizes, background) follows from it.
    size : int
        Side of the square image in pixels.
    background : {"sharp", "blur", "plain"}
        Clutter in focus (a render), clutter blurred (a photo), or a smooth plain backdrop.

    Returns
    -------
    image : numpy.ndarray
        ``(size, size, 3)`` uint8.
    mask : numpy.ndarray
        ``(size, size)`` bool, True on the rings.

    Examples
    --------
    >>> img, mask = ring_scene(0, size=64)
    >>> img.shape, mask.dtype, bool(0.02 < mask.mean() < 0.6)
    ((64, 64, 3), dtype('bool'), True)
    """
    if background not in BACKGROUNDS:
        raise GapvizError(f"background must be one of {BACKGROUNDS}, got {background!r}")
    rng = np.random.default_rng(seed)
    s = size
    if background == "plain":
        img = np.empty((s, s, 3), np.float32)
        img[:] = rng.uniform(120, 220, 3)
        yy = np.linspace(-25, 25, s, dtype=np.float32)[:, None, None]
        img += yy
        img += rng.normal(0, 3, img.shape).astype(np.float32)
    else:
        img = _clutter(rng, s)
        if background == "blur":
            img = cv2.GaussianBlur(img, (0, 0), s / 40)
    mask = np.zeros((s, s), np.uint8)
    metal = np.zeros((s, s), np.float32)
    centre = np.array([s / 2, s / 2]) + rng.uniform(-0.08, 0.08, 2) * s
    angle = rng.uniform(0, 180)
    a, b = s * rng.uniform(0.16, 0.22), s * rng.uniform(0.09, 0.13)
    thick = max(2, int(s * rng.uniform(0.035, 0.055)))
    d = np.array([np.cos(np.radians(angle)), np.sin(np.radians(angle))]) * a * 1.25
    for k, c in enumerate((centre - d / 2, centre + d / 2)):
        layer = np.zeros((s, s), np.uint8)
        ang = angle + (0 if k == 0 else rng.uniform(-20, 20))
        axes = (int(a), int(b if k == 0 else b * 0.6))
        cv2.ellipse(layer, (int(c[0]), int(c[1])), axes, ang, 0, 360, 255, thick, cv2.LINE_AA)
        mask = np.maximum(mask, layer)
    m = mask.astype(np.float32) / 255
    # metallic shading: a dark base, a directional gradient and a soft highlight ridge
    light = rng.uniform(-1, 1, 2)
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32) / s
    shade = 45 + 35 * (light[0] * (xx - 0.5) + light[1] * (yy - 0.5))
    ridge = cv2.GaussianBlur(m, (0, 0), max(0.8, thick / 4))
    metal = shade + 70 * np.clip(ridge - 0.6, 0, 1) * 2.5
    tint = rng.uniform(0.9, 1.1, 3).astype(np.float32)
    obj = metal[..., None] * tint + rng.normal(0, 3, (s, s, 3)).astype(np.float32)
    out = img * (1 - m[..., None]) + obj * m[..., None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8), m >= 0.5


def write_images(
    folder: str | os.PathLike, stems: Iterable[str], *, size: int = 16, ext: str = ".png"
) -> str:
    """Write one small grey image ``<stem><ext>`` per stem into ``folder`` (created if missing).

    Returns
    -------
    str
        ``folder`` as a string, ready to pass to `gapviz.inputs.build_pairs`.

    Examples
    --------
    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = write_images(os.path.join(tmp, "real"), ["a", "b"])
    ...     sorted(os.listdir(folder))
    ['a.png', 'b.png']
    """
    os.makedirs(folder, exist_ok=True)
    for k, stem in enumerate(stems):
        image = np.full((size, size, 3), 64 + (16 * k) % 128, np.uint8)
        if not cv2.imwrite(os.path.join(folder, f"{stem}{ext}"), image):  # pragma: no cover
            raise GapvizError(f"could not write {stem}{ext} into {os.fspath(folder)!r}")
    return os.fspath(folder)
