"""The outcome-level loop: fine-tune the demo model on renders adjusted by gapviz's amounts, measure on field.

1. ``gapviz.compare`` on probe pairs (``field`` as the real side, ``dataset1`` as the synthetic
   side) gives the recommendations and their calibrated amounts.
2. ``dataset1`` training scenes are re-rendered with every calibrated camera amount set (knobs
   without an amount, such as lighting, cannot be set from a number and are listed as not applied).
3. The model is fine-tuned on them (MAE loss, Adam); a control run fine-tunes the same model for
   the same steps on the plain ``dataset1`` renders, so that the effect of more training is not
   credited to the adjustments.
4. MAE before and after on held-out scenes rendered under ``dataset1`` and under ``field`` (the same
   seeds, so the same geometry and wear), and the share of the field-minus-dataset1 penalty that closed.

Goal (docs/model-impact.md): at least half of the penalty closes, by a lower field MAE (the last
column: (field MAE before - after) / (field - dataset1 MAE before); the gap column alone would also
credit a model that only got worse on ``dataset1``). Prints a Markdown table and writes
the numbers as JSON (``--out``).

    .venv/bin/python scripts/finetune_loop.py --n-train 3000 --epochs 8 --out finetune.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model file (default: the shipped demo model)")
    parser.add_argument("--n-probe", type=int, default=64, help="pairs gapviz compares to find the amounts")
    parser.add_argument("--n-train", type=int, default=3000, help="training scenes re-rendered (seeds 0..n-1)")
    parser.add_argument("--n-test", type=int, default=300, help="held-out test scenes")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-control", action="store_true", help="skip the control fine-tune on plain dataset1")
    parser.add_argument("--save", help="save the fine-tuned model here (.keras)")
    parser.add_argument("--out", help="write the numbers as JSON here")
    args = parser.parse_args(argv)

    import keras
    import numpy as np

    import gapviz
    from gapviz.impact import make_predictor
    from gapviz.scenes import render_scene, write_scenes
    from gapviz.scenes._post import CAMERA_KNOBS

    t_start = time.perf_counter()
    card = {}
    model_path = args.model or gapviz.demo_model()
    if args.model is None:
        from gapviz.assets import demo_model_card

        card = demo_model_card()
    scale = 0.01 if card.get("label_unit", "fraction") == "fraction" else 1.0
    first_test = int(card.get("test_data", {}).get("first_unused_seed_for_tests", 900000))
    probe_seeds = range(first_test + 50_000, first_test + 50_000 + args.n_probe)
    test_seeds = range(first_test, first_test + args.n_test)
    size = int(gapviz.load_model(model_path).input_shape[1])

    # 1. the amounts
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "probe"
        write_scenes(out, preset="field", pair_with="dataset1", n=args.n_probe, seed=probe_seeds[0], size=size)
        result = gapviz.compare(model_path, out / "real" / "images", out / "synth" / "images",
                                masks={"real": out / "real" / "masks", "synth": out / "synth" / "masks"},
                                examples=0, progress=False, seed=args.seed, attribution=False)  # fmt: skip
    amounts = {r["knob"]: r["suggested"] for r in result.recommendations
               if r.get("suggested") is not None and r["knob"] in CAMERA_KNOBS}  # fmt: skip
    not_applied = [r["knob"] for r in result.recommendations if r["knob"] not in amounts]

    def render(seeds, preset, settings=None):
        scenes = [render_scene(s, settings, preset=preset, size=size) for s in seeds]
        return np.stack([sc.image for sc in scenes]), np.array([sc.wear for sc in scenes], np.float32) * scale

    t0 = time.perf_counter()
    x_d1, y_test = render(test_seeds, "dataset1")
    x_field, _ = render(test_seeds, "field")
    train_seeds = range(args.n_train)
    x_adj, y_train = render(train_seeds, "dataset1", amounts)
    x_plain = render(train_seeds, "dataset1")[0] if not args.no_control else None
    render_s = time.perf_counter() - t0

    def evaluate(model) -> dict:
        predict = make_predictor(model, preprocess=card.get("preprocess", "unit"))
        d1 = float(np.abs(predict(x_d1) - y_test).mean())
        field = float(np.abs(predict(x_field) - y_test).mean())
        return {"dataset1": d1, "field": field, "penalty": field - d1}

    def finetune(x) -> tuple[object, float]:
        keras.utils.set_random_seed(args.seed)
        model = gapviz.load_model(model_path)
        model.compile(optimizer=keras.optimizers.Adam(args.lr), loss="mae")
        t = time.perf_counter()
        model.fit(x.astype(np.float32) / 255, y_train, batch_size=args.batch, epochs=args.epochs, verbose=0,
                  shuffle=True)  # fmt: skip
        return model, time.perf_counter() - t

    rows = {"before": evaluate(gapviz.load_model(model_path))}
    adjusted, train_s = finetune(x_adj)
    rows["fine-tuned on adjusted renders"] = evaluate(adjusted)
    if args.save:
        adjusted.save(args.save)
    if x_plain is not None:
        control, _ = finetune(x_plain)
        rows["control: fine-tuned on plain dataset1"] = evaluate(control)
    before = rows["before"]["penalty"]
    for row in rows.values():
        # the gap between the domains, and the part of it closed by a lower field MAE (a model that only
        # gets worse on dataset1 also narrows the gap, without being any better on photos)
        row["penalty_closed"] = None if before <= 0 else 1 - row["penalty"] / before
        row["field_gain"] = None if before <= 0 else (rows["before"]["field"] - row["field"]) / before

    report = {
        "model": {"path": model_path, "sha256": result.model.get("sha256"), "card_mae": card.get("mae")},
        "amounts": amounts, "not_applied": not_applied,
        "scenes": {"probe": [probe_seeds[0], probe_seeds[-1]], "train": [0, args.n_train - 1],
                   "test": [test_seeds[0], test_seeds[-1]], "size": size, "label_scale": scale},
        "training": {"epochs": args.epochs, "batch": args.batch, "lr": args.lr, "seconds_per_run": round(train_s, 1)},
        "rows": rows, "render_seconds": round(render_s, 1), "seconds": round(time.perf_counter() - t_start, 1),
        "command": "python scripts/finetune_loop.py " + " ".join(sys.argv[1:] if argv is None else argv),
    }  # fmt: skip
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2))

    print(f"model {model_path} ({(result.model.get('sha256') or '')[:12]}); amounts from {args.n_probe} probe pairs: "
          + (", ".join(f"{k}={v}" for k, v in amounts.items()) or "none")
          + (f"; recommended without an amount (not applied): {', '.join(not_applied)}" if not_applied else ""))
    print(f"fine-tuned {args.epochs} epochs on {args.n_train} scenes (lr {args.lr:g}); test: {args.n_test} held-out "
          f"scenes at {size} px, MAE in the model's unit\n")
    print("| model | MAE dataset1 | MAE field | field - dataset1 | gap closed | penalty closed by a lower field MAE |")
    print("|---|---|---|---|---|---|")
    for name, row in rows.items():
        closed, gain = ("–" if row[k] is None else f"{100 * row[k]:.0f} %" for k in ("penalty_closed", "field_gain"))
        print(f"| {name} | {row['dataset1']:.4f} | {row['field']:.4f} | {row['penalty']:+.4f} | {closed} | {gain} |")
    print(f"\nrender {report['render_seconds']} s, one fine-tune {train_s:.1f} s, total {report['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
