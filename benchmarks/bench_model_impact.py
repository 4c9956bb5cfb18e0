"""Benchmark: what the model-impact step of ``gapviz.compare`` costs (prediction impact and attribution).

On ``--pairs`` generated ``field``/``dataset1`` pairs (`bench_compare.make_data`) and a model
(``demo``: the shipped demo regressor at its input size; ``resnet50`` / ``mobilenetv2``: the study's
``Sequential([base, GAP, Dense])`` with random weights at ``--size``), times the two parts that
``compare`` runs after its pass, each twice (the first call includes tracing):

* **impact**: every knob of a fixed set of amounts (focus, lens softness, noise, JPEG, exposure)
  applied to the synthetic images and the whole model run on them (``prediction_impact``);
* **attribution**: a backward pass over the real and synthetic images of ``--attribution-pairs``
  pairs, for the model's preset taps (``attribution_shares``).

Examples
--------
    python benchmarks/bench_model_impact.py
    python benchmarks/bench_model_impact.py --model resnet50 --size 224 --pairs 16 --attribution-pairs 8
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

AMOUNTS = {"camera_focus": 3.0, "resolution": 0.8, "sensor_noise": 4.0, "compression": 80, "exposure": -0.3}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="demo", choices=["demo", "resnet50", "mobilenetv2"])
    parser.add_argument("--size", type=int, default=None, help="input side (default: demo model's, else 224)")
    parser.add_argument("--pairs", type=int, default=16, help="impact pairs (default 16, compare's default)")
    parser.add_argument("--attribution-pairs", type=int, default=8)
    parser.add_argument("--data", help="folder for the generated pairs (default: a temporary folder)")
    args = parser.parse_args(argv)

    from bench_compare import build_model, load_side, make_data, timed

    import gapviz
    from gapviz.impact import ImpactSample, attribution_shares, make_predictor, prediction_impact
    from gapviz.models import tap

    if args.model == "demo":
        model = gapviz.load_model(gapviz.demo_model())
        size = int(model.input_shape[1])
    else:
        size = args.size or 224
        model, _ = build_model(args.model, size)
    with tempfile.TemporaryDirectory() as tmp:
        data = make_data(args.data or tmp, args.pairs, size)
        (ri, rm), (si, sm) = load_side(data, "real"), load_side(data, "synth")
    sample = ImpactSample(size=args.pairs, stems=[str(i) for i in range(len(si))], synth_images=list(si),
                          synth_masks=list(sm), real_inputs=list(ri), synth_inputs=list(si), real_masks=list(rm),
                          synth_input_masks=list(sm))  # fmt: skip
    tapper = tap(model)
    predict = make_predictor(model)
    print(f"{args.model} at {size} px, {len(sample)} impact pairs, {args.attribution_pairs} attribution pairs, "
          f"{len(AMOUNTS)} knobs + all together ({(len(AMOUNTS) + 2) * len(sample)} images predicted)")
    print("| part | first call wall s | CPU s | second call wall s | CPU s |")
    print("|---|---|---|---|---|")
    for name, fn in (
        ("impact", lambda: prediction_impact(sample, AMOUNTS, predict, model_size=(size, size))),
        ("attribution", lambda: attribution_shares(model, tapper.layers, tapper._targets, sample,
                                                   pairs=args.attribution_pairs)),
    ):  # fmt: skip
        w1, c1, _ = timed(fn)
        w2, c2, _ = timed(fn)
        print(f"| {name} | {w1:.2f} | {c1:.2f} | {w2:.2f} | {c2:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
