"""Time per scene of the Blender engine (Cycles on the CPU), at the demo's size and sample count.

Prints, for ``--n`` field/dataset1 pairs rendered in one Blender process: the wall and CPU seconds
per scene inside Blender (scene update, two renders: the image and the pinhole mask pass, grain,
JPEG) and the process's start-up (interpreter, bpy import, stage set-up).

    .venv/bin/python benchmarks/bench_blender.py --n 8 --size 128 --samples 16

With ``--noise``, instead: Cycles' own noise against the sample count (no grain added), as the
Immerkaer sigma (8-bit levels, mean of the RGB channels) on the links, median over ``--n`` dataset1
scenes.
"""

from __future__ import annotations

import argparse
import statistics

from gapviz.scenes import resolve_settings
from gapviz.scenes.blender import BlenderRequest, render_requests


def noise_table(args: argparse.Namespace) -> None:
    import cv2
    import numpy as np

    from gapviz.stats.noise import _noise_sigma

    counts = (2, 4, 16, 64)
    settings = resolve_settings("dataset1")
    requests = [
        BlenderRequest(seed, "dataset1", settings, samples=c) for seed in range(args.n) for c in counts
    ]
    scenes, _ = render_requests(requests, args.size, threads=args.threads)
    print(
        f"Cycles noise on the links, {args.n} dataset1 scenes at {args.size} px (median sigma, 8-bit levels)"
    )
    for k, count in enumerate(counts):
        sigmas = []
        for scene in scenes[k :: len(counts)]:
            inside = cv2.erode(scene.mask.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
            channels = [
                _noise_sigma(np.ascontiguousarray(scene.image[..., c], np.float32), inside) for c in range(3)
            ]
            sigmas.append(float(np.mean(channels)))
        print(f"  {count:>3} samples: {statistics.median(sigmas):.2f}")


def agreement(args: argparse.Namespace) -> None:
    import cv2
    import numpy as np

    from gapviz.scenes import render_scene

    d1 = resolve_settings("dataset1")
    seeds = range(args.n)
    requests = [BlenderRequest(s, "dataset1", d1) for s in seeds]
    requests += [BlenderRequest(s, "dataset1", {**d1, "camera_focus": 3.0}) for s in seeds]
    scenes, _ = render_requests(requests, args.size, samples=args.samples, threads=args.threads)
    ious, kept = [], []
    for k, seed in enumerate(seeds):
        flat = render_scene(seed, preset="dataset1", size=args.size)
        sharp, blurred = scenes[k], scenes[k + args.n]
        ious.append(float((sharp.mask & flat.mask).sum() / (sharp.mask | flat.mask).sum()))
        far = cv2.dilate(sharp.mask.astype(np.uint8), np.ones((9, 9), np.uint8)) == 0
        lap = [
            cv2.Laplacian(cv2.cvtColor(s.image, cv2.COLOR_RGB2GRAY).astype(np.float32), cv2.CV_32F)[far].var()
            for s in (sharp, blurred)
        ]
        kept.append(float(lap[1] / lap[0]))
    print(f"{args.n} dataset1 seeds at {args.size} px")
    print(
        f"  IoU Blender mask vs 2D mask: {min(ious):.2f}-{max(ious):.2f}, median {statistics.median(ious):.2f}"
    )
    print(
        f"  backdrop Laplacian variance kept at camera_focus=3: {min(kept):.2f}-{max(kept):.2f}, "
        f"median {statistics.median(kept):.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=8, help="pairs (default 8)")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--noise", action="store_true", help="noise sigma against Cycles samples instead")
    parser.add_argument(
        "--agreement", action="store_true", help="2D/3D mask IoU and depth-of-field effect instead"
    )
    args = parser.parse_args()
    if args.noise:
        noise_table(args)
        return
    if args.agreement:
        agreement(args)
        return
    requests = []
    for seed in range(args.n):
        for preset in ("field", "dataset1"):
            requests.append(BlenderRequest(seed, preset, resolve_settings(preset)))
    _, timing = render_requests(requests, args.size, samples=args.samples, threads=args.threads)
    by_preset = {"field": timing["seconds"][0::2], "dataset1": timing["seconds"][1::2]}
    cpu = {"field": timing["cpu_seconds"][0::2], "dataset1": timing["cpu_seconds"][1::2]}
    print(f"{len(requests)} scenes, {args.size} px, {args.samples} samples, {args.threads} threads")
    for preset in by_preset:
        print(
            f"  {preset:<9} wall {statistics.median(by_preset[preset]):.2f} s/scene (median), "
            f"CPU {statistics.median(cpu[preset]):.2f} s/scene"
        )
    startup = timing["wall"] - sum(timing["seconds"])
    print(f"  process start-up and set-up: {startup:.1f} s; whole process {timing['wall']:.1f} s")


if __name__ == "__main__":
    main()
