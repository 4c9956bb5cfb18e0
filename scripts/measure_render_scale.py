"""Measure the lens softness (gapviz's ``resolution`` knob) that a lower render scale amounts to.

Renders built-in scenes (``dataset1``) at full size; for each scale factor k, resamples them to
1/k of the size (area averaging) and back (linear interpolation), as a renderer's lower render
scale and an upscale would, and finds by bisection the softness sigma whose own operator
(`gapviz.scenes._post.apply_camera_knobs`, ``resolution``) gives the same mean log relative object
Laplacian variance (``laplacian_rel.object``, the knob's statistic). Prints the table that
``gapviz/recommend/_renderer.py`` interpolates.

    .venv/bin/python scripts/measure_render_scale.py --n 8 --size 256
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np


def _lap_rel(image: np.ndarray, mask: np.ndarray) -> float:
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    lap = cv2.Laplacian(grey, cv2.CV_32F, ksize=1, borderType=cv2.BORDER_REFLECT)
    return float(lap[mask].var(dtype=np.float64) / grey[mask].mean(dtype=np.float64) ** 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()
    from gapviz.scenes import render_scene
    from gapviz.scenes._post import apply_camera_knobs

    scenes = [render_scene(seed, preset="dataset1", size=args.size) for seed in range(args.n)]
    size = args.size
    print("| render scale k | percentage | equivalent softness sigma px |")
    print("|---|---|---|")
    for k in (1.25, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0):
        small = max(8, int(round(size / k)))
        target = np.mean([np.log(_lap_rel(cv2.resize(cv2.resize(s.image, (small, small), interpolation=cv2.INTER_AREA),
                                                     (size, size), interpolation=cv2.INTER_LINEAR), s.mask))
                          for s in scenes])  # fmt: skip

        def gap(sigma: float, target: float = target) -> float:
            return float(np.mean([np.log(_lap_rel(apply_camera_knobs(s.image, s.mask, {"resolution": sigma}), s.mask))
                                  for s in scenes])) - target  # fmt: skip

        lo, hi = 0.0, 8.0
        for _ in range(30):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if gap(mid) > 0 else (lo, mid)
        print(f"| {k:g} | {100 / k:.0f} % | {(lo + hi) / 2:.3f} |")


if __name__ == "__main__":
    main()
