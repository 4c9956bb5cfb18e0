"""Measure how well ``gapviz.inputs.estimate_mask`` recovers the true object masks of rendered scenes.

For each size, renders ``--n`` scene pairs with ``gapviz.scenes.render_pair`` (same geometry,
pose and background content; ``field`` = photo-like, ``dataset1`` = render-like), estimates the
mask of each image, and prints the IoU against the renderer's true mask per preset, plus the
paired difference dataset1 - field (a bias between the sides would fake a gap in masked statistics).

With ``--boxes`` the box-seeded estimator (``gapviz.inputs._boxes.estimate_mask_in_box``) is
measured too, prompted with each true mask's tight bounding box (what ``gapviz scenes`` writes
to ``boxes.csv``); its rows are labelled ``+box``.

Usage::

    .venv/bin/python scripts/measure_mask_iou.py --n 40 --sizes 128 256 512
    .venv/bin/python scripts/measure_mask_iou.py --n 40 --sizes 128 256 512 --boxes

Seeds 0..n-1 are used; the estimator was tuned on seeds 1000-1039.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from gapviz.inputs import estimate_mask
from gapviz.inputs._boxes import box_of_mask, estimate_mask_in_box
from gapviz.scenes import render_pair


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="scene pairs per size (default 40)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512], help="image sizes in px")
    parser.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--boxes", action="store_true", help="also measure the box-seeded estimator")
    args = parser.parse_args(argv)

    header = f"{'size':>5} {'preset':<12} {'n':>3} {'mean':>6} {'median':>6} {'p10':>6} {'min':>6} {'>=0.5':>6} {'s/img':>6}"
    print(header)
    print("-" * len(header))
    for size in args.sizes:
        labels = ["field", "dataset1"] + (["field+box", "dataset1+box"] if args.boxes else [])
        scores: dict[str, list[float]] = {k: [] for k in labels}
        times: dict[str, list[float]] = {k: [] for k in labels}
        for seed in range(args.seed, args.seed + args.n):
            scenes = dict(
                zip(
                    ("field", "dataset1"),
                    render_pair(seed, real="field", synth="dataset1", size=size),
                    strict=True,
                )
            )
            for preset, scene in scenes.items():
                t0 = time.perf_counter()
                est = estimate_mask(scene.image)
                times[preset].append(time.perf_counter() - t0)
                scores[preset].append(iou(est, scene.mask))
                if args.boxes:
                    t0 = time.perf_counter()
                    est = estimate_mask_in_box(scene.image, box_of_mask(scene.mask))
                    times[preset + "+box"].append(time.perf_counter() - t0)
                    scores[preset + "+box"].append(iou(est, scene.mask))
        for preset, vals in scores.items():
            v = np.array(vals)
            print(
                f"{size:>5} {preset:<12} {len(v):>3} {v.mean():>6.3f} {np.median(v):>6.3f} "
                f"{np.percentile(v, 10):>6.3f} {v.min():>6.3f} {np.mean(v >= 0.5):>6.2f} {np.mean(times[preset]):>6.3f}"
            )
        for suffix in ("", "+box") if args.boxes else ("",):
            d = np.array(scores["dataset1" + suffix]) - np.array(scores["field" + suffix])
            se = d.std(ddof=1) / np.sqrt(len(d))
            print(
                f"{size:>5} {'diff' + suffix:<9} {len(d):>3} {d.mean():>+6.3f}  "
                f"(dataset1 - field, paired; +-{1.96 * se:.3f} 95 % CI)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
