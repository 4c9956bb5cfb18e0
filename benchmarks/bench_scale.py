"""Benchmark: `gapviz.compare` at 1,000 / 4,000 / 30,000 pairs, one process against Dask workers.

The shipped demo model (MobileNetV2 alpha 0.35) at its own input size (96x96, read from its card) on
hard-linked copies of 16 rendered pairs (as bench_compare.py makes them) rendered at that size, so the
analysis size is the default (the first real image's size). Masks given on both sides; defaults otherwise
(recommendations with calibration, 5 examples, n_boot=1000). Every run is a fresh child process
(``--child``): wall time of the whole ``compare`` call including the cluster's start, pairs per
second, peak RSS (``VmHWM``) of the driver and of every worker process (from the result's
per-shard records). Modes: ``one`` (one process, the default path) and ``dask<N>`` (a local
cluster of N worker processes, ``cluster=N``).

Printed ratios: time per pair against the smallest size (linearity), peak RSS against the
smallest size, and each Dask mode's wall time against one process at the same size.

Examples
--------
    python benchmarks/bench_scale.py --pairs 1000,4000 --modes one,dask2
    python benchmarks/bench_scale.py --pairs 30000 --modes one,dask2 --json scale30k.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

def _model_size() -> int:
    from gapviz.assets import demo_model_card

    return int(demo_model_card()["input_size"][0])


SIZE = _model_size()  # the demo model's input size; the scenes are rendered at it, so analysis size = model size


def child(args: argparse.Namespace) -> None:
    from bench_compare import make_data, peak_rss_mb

    import gapviz

    data = make_data(args.data, args.child_pairs, SIZE)
    mode = args.child_mode
    kwargs = {} if mode == "one" else {"cluster": int(mode[4:])}
    if args.shard_size:
        kwargs["shard_size"] = args.shard_size
    start = time.perf_counter()
    result = gapviz.compare(
        gapviz.demo_model(), os.path.join(data, "real", "images"), os.path.join(data, "synth", "images"),
        masks={"real": os.path.join(data, "real", "masks"), "synth": os.path.join(data, "synth", "masks")},
        progress=False, **kwargs,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    ex = result.execution
    workers: dict[int, float] = {}
    for t in ex.get("shard_times", []):
        if t.get("pid") and t.get("pid") != os.getpid():
            workers[t["pid"]] = max(workers.get(t["pid"], 0.0), t.get("peak_rss_mb", 0.0))
    print(json.dumps({
        "mode": mode, "pairs": result.data["n_pairs"], "seconds": seconds, "driver_rss_mb": peak_rss_mb(),
        "worker_rss_mb": sorted(workers.values()), "shards": ex.get("shards", 1),
        "shard_seconds": [t["seconds"] for t in ex.get("shard_times", [])],
    }))  # fmt: skip


def run_child(args: argparse.Namespace, mode: str, pairs: int) -> dict:
    cmd = [sys.executable, __file__, "--child-mode", mode, "--child-pairs", str(pairs), "--data", args.data]
    if args.shard_size:
        cmd += ["--shard-size", str(args.shard_size)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode or not lines:
        return {"mode": mode, "asked": pairs, "error": (out.stderr.strip().splitlines() or ["?"])[-1]}
    return {"asked": pairs, **json.loads(lines[-1])}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", default="1000,4000", help="comma-separated pair counts (default 1000,4000)")
    p.add_argument("--modes", default="one,dask2", help="one and/or daskN (default one,dask2)")
    p.add_argument("--shard-size", type=int, default=None, help="pairs per shard (default: compare's, 256)")
    p.add_argument("--data", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "gapviz-bench-scale"))
    p.add_argument("--json", help="also write the rows as JSON here")
    p.add_argument("--child-mode", help=argparse.SUPPRESS)
    p.add_argument("--child-pairs", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child_mode:
        child(args)
        return 0
    from bench_compare import make_data

    sizes = [int(v) for v in args.pairs.split(",")]
    modes = [m.strip() for m in args.modes.split(",")]
    for n in sizes:  # render and link outside the timed children
        make_data(args.data, n, SIZE)
    rows = []
    print(f"{'mode':>6} {'pairs':>6} {'wall s':>8} {'pairs/s':>8} {'driver MB':>9} {'worker MB':>14} {'shards':>6}",
          flush=True)  # fmt: skip
    for n in sizes:
        for mode in modes:
            r = run_child(args, mode, n)
            rows.append(r)
            if "error" in r:
                print(f"{mode:>6} {n:>6} error: {r['error']}", flush=True)
                continue
            w = "/".join(f"{v:.0f}" for v in r["worker_rss_mb"]) or "-"
            print(f"{mode:>6} {n:>6} {r['seconds']:8.1f} {r['pairs'] / r['seconds']:8.1f} {r['driver_rss_mb']:9.0f} "
                  f"{w:>14} {r['shards']:>6}", flush=True)  # fmt: skip
    ok = [r for r in rows if "error" not in r]
    print("\nratios")
    for mode in modes:
        mine = sorted((r for r in ok if r["mode"] == mode), key=lambda r: r["pairs"])
        if len(mine) > 1:
            base = mine[0]
            for r in mine[1:]:
                per = (r["seconds"] / r["pairs"]) / (base["seconds"] / base["pairs"])
                rss = max([r["driver_rss_mb"], *r["worker_rss_mb"]]) / max([base["driver_rss_mb"], *base["worker_rss_mb"]])
                print(f"  {mode}: time per pair {r['pairs']} / {base['pairs']}: {per:.3f}x; peak RSS (largest process): "
                      f"{rss:.3f}x")  # fmt: skip
    for n in sizes:
        one = next((r for r in ok if r["mode"] == "one" and r["asked"] == n), None)
        for r in ok:
            if one and r["mode"] != "one" and r["asked"] == n:
                print(f"  {r['mode']} / one at {n} pairs: wall {r['seconds'] / one['seconds']:.3f}x")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
