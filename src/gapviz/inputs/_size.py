"""The analysis size rule and the geometry every image goes through, so no single file decides it.

The rule (also in docs/bad-inputs.md and the `compare` docstring):

- ``analysis_size`` given: that size (an int N means N x N).
- otherwise: the **median long side** of up to ``PROBE_SAMPLE`` real images spread evenly over
  the set in name order (headers only, EXIF orientation applied; unreadable headers ignored),
  clamped to ``[MIN_SIDE, ANALYSIS_MAX]``, with the **model input's aspect ratio** (so the model
  input and the statistics see the same undistorted region). Without a model size (plain
  `iter_batches`), the median aspect ratio of the same sample is used instead.

Every image is then **centre-cropped to the analysis aspect ratio** (the largest centred window
of that ratio; nothing is stretched) and resized: to the analysis size for the statistics and to
the model size for the forward pass. Masks get the same crop and resize. Images whose shorter
side is below ``MIN_SIDE`` pixels are skipped and recorded; upscaling and cropping are recorded.
Images larger than needed are decoded at reduced size (JPEG through Pillow's ``draft``, other
formats through ``reduce`` right after decoding, one large image at a time), so memory does not
grow with the size of the files.
"""

from __future__ import annotations

import math
from typing import Any

from gapviz._checks import argument_error, check_size
from gapviz._errors import GapvizError

#: long-side cap of the default analysis size (the design's default work size)
ANALYSIS_MAX = 512
#: images (and analysis sizes) with a shorter side below this many pixels are skipped / refused
MIN_SIDE = 8
#: the largest analysis size side accepted
MAX_SIDE = 8192
#: real images whose headers are read to choose the default analysis size
PROBE_SAMPLE = 64
#: a crop or an upscale smaller than this fraction of a side is not worth a note
_TOLERANCE = 0.01


def parse_size(value: Any, what: str = "analysis_size") -> tuple[int, int] | None:
    """``None``, an int N (N x N), a ``(H, W)`` pair, or text ``"N"`` / ``"HxW"`` -> ``(H, W)``.

    ``what`` names the argument (``"--analysis-size"`` on the command line) in the error.

    Examples
    --------
    >>> parse_size("384x512"), parse_size(256), parse_size(None)
    ((384, 512), (256, 256), None)
    >>> parse_size("4x4", "--analysis-size")
    Traceback (most recent call last):
    ...
    gapviz._errors.GapvizError: --analysis-size must be an int or (height, width) in [8, 8192] but got (4, 4); the default is the real images' median size capped at 512
    """
    if value is None:
        return None
    if isinstance(value, str):
        parts = value.lower().replace("*", "x").split("x")
        try:
            nums = [int(p) for p in parts]
        except ValueError:
            raise argument_error(what, "N or HxW (e.g. 512 or 384x512)", value) from None
        value = nums[0] if len(nums) == 1 else tuple(nums)
    if getattr(value, "ndim", None) == 0:  # a numpy scalar or 0-d array
        value = value.item()
    hint = f"the default is the real images' median size capped at {ANALYSIS_MAX}"
    return check_size(what, value, low=MIN_SIDE, high=MAX_SIDE, hint=hint)


def sample_evenly(items: list, k: int = PROBE_SAMPLE) -> list:
    """Up to ``k`` items spread evenly over ``items`` (first and last included), in order.

    Examples
    --------
    >>> sample_evenly(list(range(10)), 4)
    [0, 3, 6, 9]
    """
    n = len(items)
    if n <= k:
        return list(items)
    return [items[round(i * (n - 1) / (k - 1))] for i in range(k)]


def rule_size(sizes: list[tuple[int, int]], aspect: float | None = None) -> tuple[int, int]:
    """The default analysis size from header sizes ``(h, w)``: median long side, clamped, at ``aspect`` (W/H).

    ``aspect`` None: the median aspect of ``sizes``.

    Examples
    --------
    >>> rule_size([(1, 1), (96, 96), (96, 96), (6000, 6000)], aspect=1.0)
    (96, 96)
    >>> rule_size([(3000, 4000)] * 3, aspect=1.0)
    (512, 512)
    >>> rule_size([(300, 400)] * 3)
    (300, 400)
    """
    if not sizes:
        raise GapvizError("no image sizes to choose the analysis size from")
    longs = sorted(max(h, w) for h, w in sizes)
    long = _median(longs)
    long = min(max(int(round(long)), MIN_SIDE), ANALYSIS_MAX)
    if aspect is None:
        aspect = _median(sorted(w / h for h, w in sizes if h > 0))
    aspect = min(max(float(aspect), 0.25), 4.0)
    if aspect >= 1:
        h, w = long / aspect, long
    else:
        h, w = long, long * aspect
    return max(int(round(h)), MIN_SIDE), max(int(round(w)), MIN_SIDE)


def _median(values: list[float]) -> float:
    n = len(values)
    mid = n // 2
    return float(values[mid]) if n % 2 else (values[mid - 1] + values[mid]) / 2


def crop_box(h: int, w: int, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The largest centred window ``(top, left, height, width)`` of an ``h x w`` image with the aspect of ``size``.

    Examples
    --------
    >>> crop_box(100, 200, (50, 50))
    (0, 50, 100, 100)
    >>> crop_box(64, 64, (32, 32))
    (0, 0, 64, 64)
    """
    H, W = size
    if w * H > W * h:  # wider than the target: crop the width
        cw, ch = max(1, min(w, round(h * W / H))), h
    else:
        ch, cw = max(1, min(h, round(w * H / W))), w
    return (h - ch) // 2, (w - cw) // 2, ch, cw


def reduce_factor(h: int, w: int, need: tuple[int, int] | None) -> int:
    """The integer factor an ``h x w`` image can be shrunk by and still cover ``need`` after its crop.

    Examples
    --------
    >>> reduce_factor(6000, 6000, (512, 512)), reduce_factor(600, 600, (512, 512))
    (11, 1)
    """
    if need is None:
        return 1
    _, _, ch, cw = crop_box(h, w, need)
    return max(1, int(math.floor(min(ch / need[0], cw / need[1]))))


def geometry_notes(native: tuple[int, int], decoded: tuple[int, int], box: tuple[int, int, int, int],
                   size: tuple[int, int]) -> list[tuple[str, str]]:
    """``(kind, detail)`` notes for what the crop and resize did to one image (empty when nothing notable)."""
    nh, nw = native
    dh, dw = decoded
    _, _, ch, cw = box
    H, W = size
    out = []
    if (dh, dw) != (nh, nw):
        out.append(("decoded_reduced", f"{nh}x{nw} decoded at {dh}x{dw} (large image, reduced while decoding)"))
    if ch < dh * (1 - _TOLERANCE) or cw < dw * (1 - _TOLERANCE):
        out.append(("aspect_cropped", f"{nh}x{nw} centre-cropped to the {H}:{W} aspect of the analysis size"))
    if ch < H * (1 - _TOLERANCE) or cw < W * (1 - _TOLERANCE):
        scale = max(H / ch, W / cw)
        out.append(("image_upscaled", f"{nh}x{nw} upscaled x{scale:.2f} to the analysis size {H}x{W}"))
    elif (ch, cw) != (H, W):
        out.append(("image_resized", f"{nh}x{nw} resized to the analysis size {H}x{W}"))
    return out
