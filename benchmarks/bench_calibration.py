"""Benchmark: what calibrating recommended amounts costs, alone and inside ``gapviz.compare``.

Two parts, one process, on the generated pairs of `bench_compare.py` (``field`` against
``dataset1`` renders, masks given) and its model (the study's ``Sequential([base, GAP, Dense])``
with random weights, five preset taps):

1. **alone**: ``recommend.calibrate`` on the first ``calibration_pairs`` synthetic images and
   their real partners, for the knob set the recommendation rules pick on all pairs, with the
   measure ``compare`` uses. Wall and CPU seconds (the second of two runs), knobs, amounts.
2. **inside compare**, interleaved, medians of ``--repeats`` first calls:
   ``ahead``  (default) the fit starts in the background during the forward pass;
   ``after``  the same fit, started only when the pass has ended;
   ``none``   ``recommendations=False``.
   ``ahead − none`` and ``after − none`` are the wall time the calibration adds. One untimed
   ``compare`` runs first: the process's first call pays one-off set-up the others do not.

Examples
--------
    python benchmarks/bench_calibration.py
    python benchmarks/bench_calibration.py --pairs 16,64 --repeats 2 --data /tmp/gapviz-bench
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def alone(data: str, size: int, calibration_pairs: int, seed: int = 0) -> dict:
    """Standalone calibration on the sample ``compare`` would take, for the rules' knob set."""
    from bench_compare import cpu_seconds, load_side

    from gapviz import stats
    from gapviz.recommend import CalibrationSample, calibrate, knobs_to_calibrate
    from gapviz.recommend._sampler import calibration_measure as _measure
    from gapviz.scenes._post import FinishedImage

    (ri, rm), (si, sm) = load_side(data, "real"), load_side(data, "synth")
    if ri.shape[1] != size:
        raise SystemExit(f"images in {data} are {ri.shape[1]} px, not --size {size}")
    canny = stats.Canny.from_images(ri[:8])  # compare: the first batch's real images
    values = stats.image_stats_pairs(ri, rm, si, sm, canny=canny)
    pair_values = {
        k: (values["real"][k], values["synth"][k]) for k in set(values["real"]) & set(values["synth"])
    }
    knobs = knobs_to_calibrate(pair_values, seed=seed)
    k = calibration_pairs
    sample = CalibrationSample(synth_images=list(si[:k]), synth_masks=list(sm[:k]),
                               real_values={key: v[:k] for key, v in values["real"].items()})  # fmt: skip
    out = {}
    for _ in range(2):  # the first run also pays imports and OpenCV's first calls
        c, t = cpu_seconds(), time.perf_counter()
        cal = calibrate(sample, knobs, measure=_measure(canny), prepare=FinishedImage, seed=seed)
        out = {
            "wall": time.perf_counter() - t,
            "cpu": cpu_seconds() - c,
            "knobs": knobs,
            "settings": cal.settings,
        }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="resnet50", help="resnet50, mobilenetv2 or vgg16")
    ap.add_argument("--pairs", default="16,64", help="pair counts for the compare part, comma-separated")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--data", default=None, help="folder for generated images (default: a temp dir)")
    args = ap.parse_args(argv)
    from bench_compare import in_data_dir

    return in_data_dir(run, args)


def run(args: argparse.Namespace) -> int:
    import tensorflow as tf
    from bench_compare import build_model, device, make_data, method_b

    import gapviz.recommend._sampler as sampler
    from gapviz.recommend._sampler import CALIBRATION_PAIRS

    pair_counts = [int(v) for v in args.pairs.split(",") if v]
    print(f"device: {device()}; TensorFlow {tf.__version__}; image {args.size}x{args.size}; model {args.model}; "
          f"calibration_pairs {CALIBRATION_PAIRS}; repeats {args.repeats}", flush=True)  # fmt: skip
    data = make_data(args.data, max(pair_counts + [16]), args.size)
    a = alone(data, args.size, CALIBRATION_PAIRS)
    print(
        f"alone: {a['wall']:.2f} s wall, {a['cpu']:.2f} CPU-s, knobs {a['knobs']}, amounts {a['settings']}",
        flush=True,
    )

    # 'after': the background object takes the sample but starts no fit, so the fit runs at the end
    mode = {"m": "ahead"}
    background = sampler.BackgroundCalibration  # the class the pass starts its background fit with

    class Switchable(background):
        def begin(self, sample, knobs):  # noqa: ANN001
            super().begin(sample, knobs if mode["m"] == "ahead" else ())

        def start(self, knobs):  # noqa: ANN001
            if mode["m"] == "ahead":
                super().start(knobs)

    sampler.BackgroundCalibration = Switchable
    model, _ = build_model(args.model, args.size)
    # the process's first compare also pays one-off costs (imports, OpenCV and oneDNN set-up): not timed
    method_b(model, make_data(args.data, pair_counts[0], args.size), None)
    rows = []
    for n in pair_counts:
        data = make_data(args.data, n, args.size)
        t: dict[str, list[float]] = {"ahead": [], "after": [], "none": []}
        for _ in range(args.repeats):
            for m in t:
                mode["m"] = m
                seconds, _ = method_b(model, data, None, recommendations=m != "none")
                t[m].append(seconds)
                print(f"{args.model} {n:5d} pairs {m:5s} {seconds:.1f} s", flush=True)
        med = {m: statistics.median(v) for m, v in t.items()}
        rows.append((n, med))
    sampler.BackgroundCalibration = background
    print("\n| pairs | ahead s | after s | none s | ahead − none | after − none |\n|---|---|---|---|---|---|")
    for n, med in rows:
        print(f"| {n} | {med['ahead']:.1f} | {med['after']:.1f} | {med['none']:.1f} | "
              f"{med['ahead'] - med['none']:.1f} | {med['after'] - med['none']:.1f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
