"""Which object masks the statistics use, and how good the estimated ones are where masks were given.

A statistic that splits object from background compares like with like only when both sides'
masks come from the same source: a true mask on the renders against an estimated one on the
photos differs by the estimator's error (mean IoU 0.63-0.71 on the built-in scenes), and that
difference reads as an object/background gap that does not exist (``docs/masks.md``). So by
default (``mask_provenance="match"``) the statistics use estimated masks on *both* sides unless
every image on both sides has a given mask (then those), or a given mask or a box (then masks
estimated from boxes, `choose_policy`); the given masks then measure the estimator on their side
(IoU and mean boundary distance). ``mask_provenance="as_given"`` uses every given mask as
it is, and the result carries a warning when the two sides' sources differ.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import cv2
import numpy as np

from gapviz._errors import GapvizError

__all__ = [
    "MASK_PROVENANCE",
    "MASKED_STATISTICS",
    "boundary_error",
    "check_mask_provenance",
    "mask_iou",
    "provenance_record",
    "choose_policy",
    "quality_summary",
]

#: the accepted values of ``compare(..., mask_provenance=...)``
MASK_PROVENANCE = ("match", "as_given")

#: the statistics that read the object mask (image statistics, layer reductions, across layers)
MASKED_STATISTICS = {
    "image": (
        "canny_edge_density.object",
        "canny_edge_density.background",
        "laplacian_var.object",
        "laplacian_var.background",
        "laplacian_rel.object",
        "coarse_sharpness.object",
        "coarse_sharpness.background",
        "noise_sigma.background",
        "illumination_cv",
    ),
    "layers": ("background_ratio", "energy_object", "energy_background", "edge_sharpness"),
    "decay": ("background_ratio_slope",),
}

WARNING = (
    "masks used as given on each side, and the sides' sources differ: a statistic that splits object "
    "from background then compares a given mask with an estimated one, which can create object/background "
    "gaps that do not exist (e.g. lighting, texture, background). Leave mask_provenance at 'match' to "
    "estimate the masks of both sides the same way."
)


def check_mask_provenance(value: object) -> str:
    """``value`` if it is one of `MASK_PROVENANCE`, else a `GapvizError` naming the valid ones."""
    if value not in MASK_PROVENANCE:
        raise GapvizError(
            f"Argument 'mask_provenance' must be one of {', '.join(repr(v) for v in MASK_PROVENANCE)} "
            f"but got {value!r}"
        )
    return str(value)


def choose_policy(mode: str, coverage: Mapping[str, Mapping[str, int]]) -> str | None:
    """The stream's ``mask_policy`` for ``mode`` given what the inputs provide (`gapviz.inputs._boxes.coverage`).

    Under ``"match"``: every image on both sides has a given mask -> None (use them); every image
    has a given mask or a box -> ``"boxes"`` (estimate every mask from its box, or from its given
    mask's bounding box); otherwise -> ``"estimated"`` (estimate every mask, boxes unused). Under
    ``"as_given"``: None (each image's own source).

    Examples
    --------
    >>> cov = {"real": {"given": 0, "boxes": 0, "none": 5}, "synth": {"given": 5, "boxes": 0, "none": 0}}
    >>> choose_policy("match", cov), choose_policy("as_given", cov)
    ('estimated', None)
    >>> choose_policy("match", {"real": {"given": 0, "boxes": 5, "none": 0}, "synth": {"given": 5, "boxes": 0, "none": 0}})
    'boxes'
    """
    if check_mask_provenance(mode) == "as_given":
        return None
    if all(c.get("boxes", 0) == 0 and c.get("none", 0) == 0 for c in coverage.values()):
        return None
    if all(c.get("none", 0) == 0 for c in coverage.values()):
        return "boxes"
    return "estimated"


def mask_iou(estimated: np.ndarray, given: np.ndarray) -> float:
    """Intersection over union of two bool masks (NaN when both are empty).

    Examples
    --------
    >>> a = np.zeros((4, 4), bool); a[:2] = True
    >>> b = np.zeros((4, 4), bool); b[:, :2] = True
    >>> round(mask_iou(a, b), 4)
    0.3333
    """
    a, b = np.asarray(estimated, bool), np.asarray(given, bool)
    union = np.count_nonzero(a | b)
    return float(np.count_nonzero(a & b) / union) if union else float("nan")


def _outline(m: np.ndarray) -> np.ndarray:
    u8 = m.astype(np.uint8)
    # pixels of the mask with a 4-neighbour outside it (the image edge does not count as outside)
    return m & ~cv2.erode(u8, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_REPLICATE).astype(bool)


def boundary_error(estimated: np.ndarray, given: np.ndarray) -> float:
    """Mean symmetric distance (px) between the outlines of two masks; NaN if either is empty.

    Each outline pixel of one mask is charged its Euclidean distance to the nearest outline
    pixel of the other; the result is the mean over both outlines (0 for identical masks).

    Examples
    --------
    >>> a = np.zeros((20, 20), bool); a[5:15, 5:15] = True
    >>> boundary_error(a, a)
    0.0
    >>> b = np.zeros((20, 20), bool); b[5:15, 7:17] = True
    >>> 0.5 < boundary_error(a, b) < 2.0
    True
    """
    a, b = np.asarray(estimated, bool), np.asarray(given, bool)
    if not a.any() or not b.any():
        return float("nan")
    oa, ob = _outline(a), _outline(b)
    da = cv2.distanceTransform((~ob).astype(np.uint8), cv2.DIST_L2, 5)
    db = cv2.distanceTransform((~oa).astype(np.uint8), cv2.DIST_L2, 5)
    total = float(da[oa].sum(dtype=np.float64) + db[ob].sum(dtype=np.float64))
    return float(total / (np.count_nonzero(oa) + np.count_nonzero(ob)))


def quality_summary(rows: Iterable[tuple[float, float]]) -> dict | None:
    """``{"n", "iou_mean", "iou_median", "iou_p10", "iou_min", "boundary_px_mean", "boundary_px_median"}``
    over ``(iou, boundary_px)`` rows (NaN rows left out of each figure); None without rows."""
    arr = np.asarray(list(rows), np.float64).reshape(-1, 2)
    if not len(arr):
        return None
    iou, bnd = arr[:, 0][np.isfinite(arr[:, 0])], arr[:, 1][np.isfinite(arr[:, 1])]

    def f(x, fn):
        return float(fn(x)) if x.size else None

    return {
        "n": int(len(arr)),
        "iou_mean": f(iou, np.mean),
        "iou_median": f(iou, np.median),
        "iou_p10": f(iou, lambda v: np.percentile(v, 10)),
        "iou_min": f(iou, np.min),
        "boundary_px_mean": f(bnd, np.mean),
        "boundary_px_median": f(bnd, np.median),
    }


def _source(counts: Mapping[str, int]) -> str:
    kinds = [k for k in ("given", "estimated", "boxes") if counts.get(k)]
    return kinds[0] if len(kinds) == 1 else "mixed" if kinds else "none"


def provenance_record(
    mode: str,
    provided: Mapping[str, Mapping[str, int]],
    used: Mapping[str, Mapping[str, int]],
    quality: Mapping[str, Iterable[tuple[float, float]]],
    coverage: Mapping[str, Mapping[str, int]] | None = None,
) -> dict:
    """The JSON ``data["mask_provenance"]``: the mode, the masks each side's statistics used,
    the masked statistics and their sources, the estimator's measured quality, what the inputs
    provided per side (``inputs``: images with a given mask, with a box only, with neither), and
    the warning. Sources are ``"given"``, ``"estimated"``, ``"boxes"`` (estimated from a box) or
    ``"mixed"``.

    Examples
    --------
    >>> rec = provenance_record("match", {"real": {"given": 0, "estimated": 2}, "synth": {"given": 2, "estimated": 0}},
    ...                         {"real": {"given": 0, "estimated": 2}, "synth": {"given": 0, "estimated": 2}},
    ...                         {"real": [], "synth": [(0.8, 1.0), (0.6, 2.0)]})
    >>> rec["used"]["synth"], rec["estimator_quality"]["synth"]["iou_mean"], rec["warning"]
    ('estimated', 0.7, None)
    """
    sides = ("real", "synth")
    used_src = {s: _source(used.get(s, {})) for s in sides}
    provided_src = {s: _source(provided.get(s, {})) for s in sides}
    differ = used_src["real"] != used_src["synth"] and "none" not in used_src.values()
    return {
        "mode": mode,
        "provided": provided_src,
        "used": used_src,
        "counts_used": {s: dict(used.get(s, {})) for s in sides},
        "statistics": {
            scope: {key: dict(used_src) for key in keys} for scope, keys in MASKED_STATISTICS.items()
        },
        "estimator_quality": {s: quality_summary(quality.get(s, ())) for s in sides},
        "inputs": {s: dict((coverage or {}).get(s, {})) for s in sides},
        "warning": WARNING if differ else None,
    }
