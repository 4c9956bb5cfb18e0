"""Image panels of the report drawn with numpy and PIL: photos, energy maps, channels, edges.

Matplotlib draws the two charts (curves across layers, image statistics); every image panel is
an array turned into a small embedded file here, which is both faster (no subplot layout) and
lighter:

* photographs (the example pairs' inputs, the outlier thumbnails) are JPEG at the size they are
  shown, and each input is embedded **once** as a CSS class and reused by every panel that shows
  it (the Canny grid, the pair header, each layer's energy overlay);
* feature maps (top channels, energy maps) are lossless PNG at their native resolution when that
  is no larger than the panel (the browser scales them up, pixel for pixel for channels,
  smoothly for the energy overlay); larger maps are area-averaged down to the panel size first;
* Canny edge maps are area-averaged to the panel size (thin edges stay visible as grey) and
  stored as grey PNG.

Colour scales follow :func:`gapviz.report.plot_feature_maps`: one energy scale shared by the real
and the synthetic row of a layer, and one scale per channel shared by both rows.
"""

from __future__ import annotations

import base64
import io
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from gapviz.result import ExamplePair, FeatureExample

#: CSS pixels of one feature-map cell (channel or energy overlay)
CELL = 100
#: CSS pixels of an input image in the Canny grid and the pair header; JPEGs are stored at this size
PHOTO = 224
#: CSS pixels of an outlier thumbnail
THUMB = 96
JPEG_QUALITY = 85
ENERGY_ALPHA = 0.6


@lru_cache(maxsize=4)
def colormap_lut(name: str = "inferno") -> np.ndarray:
    """A ``(256, 3)`` uint8 lookup table of a matplotlib colormap (matplotlib's data, no figure)."""
    from matplotlib import colormaps

    rgba = colormaps[name](np.linspace(0.0, 1.0, 256))
    return np.round(rgba[:, :3] * 255).astype(np.uint8)


def shrink(a: np.ndarray, size: int) -> np.ndarray:
    """``a`` (H, W[, C]) area-averaged so that its longer side is at most ``size``; float32."""
    a = np.asarray(a, dtype=np.float32)
    h, w = a.shape[:2]
    if max(h, w) <= size:
        return a
    import cv2

    scale = size / max(h, w)
    out = cv2.resize(a, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return out.reshape(out.shape[:2] + a.shape[2:])


def _uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


def _encode(image: Any, fmt: str) -> tuple[str, int, int]:
    buf = io.BytesIO()
    if fmt == "JPEG":
        image.save(buf, format="JPEG", quality=JPEG_QUALITY, optimize=True)
        mime = "image/jpeg"
    else:
        image.save(buf, format="PNG", compress_level=6)  # level 9: 3x the time for 0.4 % less
        mime = "image/png"
    return _uri(buf.getvalue(), mime), image.width, image.height


def photo(image: np.ndarray, size: int = PHOTO) -> dict:
    """An RGB uint8 image as a JPEG data URI, area-averaged to ``size`` px on its longer side."""
    from PIL import Image

    small = np.clip(np.round(shrink(image, size)), 0, 255).astype(np.uint8)
    if small.ndim == 2:
        small = np.repeat(small[..., None], 3, axis=2)
    src, w, h = _encode(Image.fromarray(np.ascontiguousarray(small[..., :3])), "JPEG")
    return {"src": src, "width": w, "height": h}


def _scaled(a: np.ndarray, lo: float, hi: float) -> np.ndarray:
    a = np.nan_to_num(np.asarray(a, dtype=np.float32), nan=lo, posinf=hi, neginf=lo)
    span = hi - lo if hi > lo else 1.0
    return np.clip(np.round((a - lo) / span * 255.0), 0, 255).astype(np.uint8)


def grey_map(a: np.ndarray, lo: float, hi: float, size: int = CELL) -> dict:
    """A 2-D map on the scale ``[lo, hi]`` as a grey PNG (native size, or ``size`` if larger)."""
    from PIL import Image

    src, w, h = _encode(Image.fromarray(_scaled(shrink(a, size), lo, hi), mode="L"), "PNG")
    return {"src": src, "width": w, "height": h}


def color_map(a: np.ndarray, lo: float, hi: float, size: int = CELL, cmap: str = "inferno") -> dict:
    """A 2-D map through a colormap as an RGB PNG (native size, or ``size`` if larger)."""
    from PIL import Image

    rgb = colormap_lut(cmap)[_scaled(shrink(a, size), lo, hi)]
    src, w, h = _encode(Image.fromarray(rgb, mode="RGB"), "PNG")
    return {"src": src, "width": w, "height": h}


def edges(edge_map: np.ndarray, size: int = PHOTO) -> dict:
    """Black edges on white at the panel size: area-averaging keeps thin edges visible as grey."""
    inverted = 1.0 - np.asarray(edge_map, dtype=np.float32)
    return grey_map(inverted, 0.0, 1.0, size=size)


def _range(*arrays: np.ndarray) -> tuple[float, float]:
    """The finite min and max over ``arrays``; (0, 1) when none is finite."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN maps
        los = [float(np.nanmin(a)) for a in arrays if np.size(a)]
        his = [float(np.nanmax(a)) for a in arrays if np.size(a)]
    los, his = [v for v in los if np.isfinite(v)], [v for v in his if np.isfinite(v)]
    if not los or not his:
        return 0.0, 1.0
    return min(los), max(his)


def layer_panels(feat: FeatureExample, *, size: int = CELL) -> dict:
    """The energy maps and top channels of one layer of a pair, real and synthetic rows."""
    real, synth = np.asarray(feat.real, np.float32), np.asarray(feat.synth, np.float32)
    energies = (np.asarray(feat.real_energy, np.float32), np.asarray(feat.synth_energy, np.float32))
    e_hi = _range(*energies)[1] or 1.0
    channels = list(feat.channels)
    rows = {}
    for side, fmap, energy in (("real", real, energies[0]), ("synth", synth, energies[1])):
        cells = []
        for c in range(len(channels)):
            lo, hi = _range(real[..., c], synth[..., c])
            cells.append(grey_map(fmap[..., c], lo, hi if hi > lo else lo + 1, size=size))
        rows[side] = {"energy": color_map(energy, 0.0, e_hi, size=size), "channels": cells}
    shape = real.shape[:2] if real.ndim >= 2 else energies[0].shape[:2]
    return {
        "channels": [int(c) for c in channels],
        "native": f"{shape[0]}x{shape[1]}" if len(shape) == 2 else "",
        "upscaled": bool(shape and max(shape) < size),
        "real": rows["real"],
        "synth": rows["synth"],
    }


def pair_panels(pair: ExamplePair, index: int) -> dict:
    """Every panel of one example pair: the two inputs (shared), Canny edges, layer panels."""
    return {
        "css": {f"gv-in-{index}-real": photo(pair.real_image), f"gv-in-{index}-synth": photo(pair.synth_image)},
        "real_class": f"gv-in-{index}-real",
        "synth_class": f"gv-in-{index}-synth",
        "real_edges": edges(pair.real_edges),
        "synth_edges": edges(pair.synth_edges),
    }
