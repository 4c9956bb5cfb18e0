"""Benchmark: CPU cost of the image statistics per image, all together and one by one.

One process, process CPU time (all threads), on the generated pairs of `bench_compare.py` (``field`` against
``dataset1`` renders with their masks). ``all pairs`` is `gapviz.stats.image_stats_pairs` as
``compare`` runs it per batch (both sides and the pair statistic); each registered statistic is
then timed alone on the real side, including the intermediates it shares with others (grey
image, smoothed gradients, Canny edges), so the rows add up to more than ``all``. Medians of
``--repeats``.

Examples
--------
    python benchmarks/bench_image_stats.py
    python benchmarks/bench_image_stats.py --size 256 --pairs 32
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=int, default=16)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--data", default=None, help="folder for generated images (default: a temp dir)")
    args = ap.parse_args(argv)
    from bench_compare import in_data_dir

    return in_data_dir(run, args)


def cpu_ms_per_image(fn, n_images: int, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return statistics.median(times) / n_images * 1000


def run(args: argparse.Namespace) -> int:
    from bench_compare import load_side, make_data

    from gapviz import stats

    data = make_data(args.data, args.pairs, args.size)

    (ri, rm), (si, sm) = load_side(data, "real"), load_side(data, "synth")
    canny = stats.Canny.from_images(ri[:8])
    n = len(ri)
    print(f"image {args.size}x{args.size}; {n} pairs; CPU ms per image, median of {args.repeats}")
    print("\n| statistic | CPU ms per image |\n|---|---|")
    both = cpu_ms_per_image(lambda: stats.image_stats_pairs(ri, rm, si, sm, canny=canny), 2 * n, args.repeats)
    print(f"| all pairs (both sides + pair statistic) | {both:.1f} |")
    for name in stats.REGISTRY.names(kind="image"):
        ms = cpu_ms_per_image(lambda name=name: stats.image_stats_batch(ri, rm, canny=canny, stats=[name]), n,
                              args.repeats)  # fmt: skip
        print(f"| {name} | {ms:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
