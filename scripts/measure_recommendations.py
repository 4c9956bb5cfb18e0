"""Measure how well the recommendations find an injected rendering difference.

For each knob, renders built-in scene pairs that differ in that knob only (the "real" side gets it,
both sides otherwise use the ``dataset1`` preset), runs ``gapviz.compare`` with the shipped demo
model, and prints which knob ranks first, its severity and its calibrated amount. A null case
(same preset, different scenes) checks that nothing above ``low`` is recommended.

    .venv/bin/python scripts/measure_recommendations.py --n 24 --size 256
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CASES = {
    "camera_focus": ("camera_focus", 3.0),
    "resolution": ("resolution", 1.5),
    "lighting": ("lighting", 0.3),
    "sensor_noise": ("sensor_noise", 6.0),
    "compression": ("compression", 40),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=24, help="pairs per case")
    parser.add_argument("--size", type=int, default=256, help="rendered image side")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--masks", choices=["given", "estimated"], default="given",
                        help="give both sides' masks, or estimate the real side's")  # fmt: skip
    args = parser.parse_args()

    import gapviz
    from gapviz.scenes import write_scenes

    model = gapviz.demo_model()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (knob, value) in CASES.items():
            out = Path(tmp) / name
            write_scenes(out, preset="dataset1", pair_with="dataset1", n=args.n, seed=args.seed, size=args.size,
                         overrides=[f"real.{knob}={value}"])  # fmt: skip
            masks = {"synth": out / "synth" / "masks"}
            if args.masks == "given":
                masks["real"] = out / "real" / "masks"
            t0 = time.perf_counter()
            result = gapviz.compare(model, out / "real" / "images", out / "synth" / "images", masks=masks,
                                    seed=args.seed, progress=False, examples=0)  # fmt: skip
            elapsed = time.perf_counter() - t0
            recs = result.recommendations
            top = recs[0] if recs else {}
            suggested = top.get("suggested")
            error = None
            if suggested is not None and top.get("knob") == knob and knob in ("camera_focus", "resolution", "sensor_noise"):
                error = (suggested - value) / value
            rows.append((name, value, top.get("knob"), top.get("severity"), suggested, error,
                         ", ".join(f"{r['knob']}({r['severity']})" for r in recs[1:]) or "-", elapsed))  # fmt: skip
        # null case: same preset both sides, different scenes, paired by order
        a, b = Path(tmp) / "null_a", Path(tmp) / "null_b"
        write_scenes(a, preset="dataset1", n=args.n, seed=args.seed, size=args.size)
        write_scenes(b, preset="dataset1", n=args.n, seed=args.seed + 10_000, size=args.size)
        t0 = time.perf_counter()
        result = gapviz.compare(model, sorted((a / "images").iterdir()), sorted((b / "images").iterdir()),
                                pairing="order", seed=args.seed, progress=False, examples=0)  # fmt: skip
        recs = result.recommendations
        rows.append(("null", None, recs[0]["knob"] if recs else "-", max((r["severity"] for r in recs), default="-",
                     key=lambda s: {"-": 0, "low": 1, "medium": 2, "high": 3}[s]), None, None,
                     ", ".join(f"{r['knob']}({r['severity']})" for r in recs) or "-", time.perf_counter() - t0))  # fmt: skip

    print(f"pairs per case: {args.n}, size: {args.size} px, masks: {args.masks}, model: demo MobileNetV2 "
          f"({gapviz.load_model(gapviz.demo_model()).input_shape[1]} px input)")
    print("| injected | value | ranked first | severity | suggested | error | others | compare s |")
    print("|---|---|---|---|---|---|---|---|")
    for name, value, first, severity, suggested, error, others, elapsed in rows:
        err = "-" if error is None else f"{100 * error:+.0f} %"
        print(f"| {name} | {value if value is not None else '-'} | {first} | {severity} | "
              f"{suggested if suggested is not None else '-'} | {err} | {others} | {elapsed:.1f} |")  # fmt: skip


if __name__ == "__main__":
    main()
