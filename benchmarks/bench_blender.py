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

    from gapviz.stats.image import _noise_sigma

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=8, help="pairs (default 8)")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--noise", action="store_true", help="noise sigma against Cycles samples instead")
    args = parser.parse_args()
    if args.noise:
        noise_table(args)
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
