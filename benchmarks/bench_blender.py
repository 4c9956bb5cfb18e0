"""Time per scene of the Blender engine (Cycles on the CPU), at the demo's size and sample count.

Prints, for ``--n`` field/dataset1 pairs rendered in one Blender process: the wall and CPU seconds
per scene inside Blender (scene update, two renders: the image and the pinhole mask pass, grain,
JPEG) and the process's start-up (interpreter, bpy import, stage set-up).

    .venv/bin/python benchmarks/bench_blender.py --n 8 --size 128 --samples 16
"""

from __future__ import annotations

import argparse
import statistics

from gapviz.scenes import resolve_settings
from gapviz.scenes.blender import BlenderRequest, render_requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=8, help="pairs (default 8)")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
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
