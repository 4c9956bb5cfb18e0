"""Benchmark: what the in-graph layer reductions add to the bare forward pass.

One process, one batch of random images, the tapped model of `bench_compare.py` (the study's
``Sequential([base, GAP, Dense])`` with random weights, five preset taps). Each variant is one
traced function: the forward pass alone (``none``), plus all the reductions ``compare`` runs
(``all``, with the example-map gather), or plus one registered layer statistic. Variants run
interleaved; medians of ``--repeats`` warm calls, and the ratio to ``none``.

Examples
--------
    python benchmarks/bench_reducer.py
    python benchmarks/bench_reducer.py --model vgg16 --batch 8 --repeats 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="resnet50", help="resnet50, mobilenetv2 or vgg16")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--batch", type=int, default=16, help="images per call (compare's batch_size=8 pairs = 16)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)

    import tensorflow as tf
    from bench_compare import build_model, device, tap_names, truncated

    from gapviz import stats
    from gapviz.stats.examples import MAPS, WithMaps

    model, base = build_model(args.model, args.size)
    names = tap_names(model, 5)
    tap_model = truncated(base, names)
    rng = np.random.default_rng(0)
    x = tf.constant(rng.uniform(0, 1, (args.batch, args.size, args.size, 3)).astype("float32"))
    yy, xx = np.mgrid[: args.size, : args.size]
    disc = ((yy - args.size / 2) ** 2 + (xx - args.size / 2) ** 2 < (args.size / 4) ** 2).astype("float32")
    aux = {"mask": tf.constant(np.broadcast_to(disc[None, ..., None], (args.batch, args.size, args.size, 1))),
           MAPS: tf.constant(np.zeros(args.batch, bool))}  # fmt: skip

    def variant(kind: str):
        reducer = None
        if kind != "none":
            reducer = stats.make_layer_reducer(stats=None if kind == "all" else [kind])
            reducer = WithMaps(reducer) if kind == "all" else reducer

        @tf.function(autograph=False)
        def fn(x, aux):
            outs = tap_model(x, training=False)
            if reducer is None:  # keep every tap alive without reading the maps
                return [o[:, :1, :1, :1] for o in outs]
            return [reducer(n, o, aux) for n, o in zip(names, outs, strict=True)]

        return fn

    kinds = ["none", "all", *stats.REGISTRY.names(kind="layer")]
    fns = {k: variant(k) for k in kinds}
    first = {}
    for k, fn in fns.items():
        t = time.perf_counter()
        fn(x, aux)
        first[k] = time.perf_counter() - t
    times: dict[str, list[float]] = {k: [] for k in kinds}
    for _ in range(args.repeats):
        for k, fn in fns.items():
            t = time.perf_counter()
            fn(x, aux)
            times[k].append(time.perf_counter() - t)
    print(f"device: {device()}; {args.model} {args.size}x{args.size}, {len(names)} taps, batch {args.batch}, "
          f"repeats {args.repeats}\n")  # fmt: skip
    base_t = statistics.median(times["none"])
    print("| variant | first call s | warm s (median) | / forward pass |\n|---|---|---|---|")
    for k in kinds:
        med = statistics.median(times[k])
        print(f"| {k} | {first[k]:.2f} | {med:.3f} | {med / base_t:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
