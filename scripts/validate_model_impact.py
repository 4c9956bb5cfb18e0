"""Validate gapviz's label-free model impact against the true accuracy penalty on built-in scenes.

For every knob whose ``field`` value differs from ``dataset1``, renders the same held-out scenes
(seeds from ``--seed``) under ``dataset1`` with only that knob moved to its ``field`` value, and
measures the model's MAE penalty against the labels (MAE of the moved renders minus MAE of the
``dataset1`` renders) and its label-free prediction change. Then runs ``gapviz.compare`` on the
``field`` (real) / ``dataset1`` (synthetic) pairs of the same scenes, with the synthetic labels,
and compares

* gapviz's impact ranking (mean absolute change of the prediction per recommended knob) with the
  true penalty ranking (Spearman; goal >= 0.8), and
* gapviz's estimated real-domain MAE (renders adjusted by all recommended amounts) with the MAE
  measured on the ``field`` renders (goal within +-25 %),

and, to tell the operators' error from the amounts' error, the prediction change of each camera knob's
``field`` value applied with gapviz's finished-image operators against re-rendering with it.

Prints a Markdown report and writes the numbers as JSON (``--out``). Numbers are meaningful only
for a model that has learned the task (see the model card's MAE on ``dataset1``).

    .venv/bin/python scripts/validate_model_impact.py --n 200 --out validate.json
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


def spearman(a, b) -> float | None:
    """Spearman rank correlation (average ranks for ties); None for fewer than 3 values or a constant side."""
    import numpy as np
    from scipy import stats

    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    return float(stats.spearmanr(a, b).statistic)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model file (default: the shipped demo model)")
    parser.add_argument("--n", type=int, default=200, help="held-out scenes (default 200)")
    parser.add_argument("--seed", type=int, default=None,
                        help="first scene seed (default: the model card's first unused seed for tests, else 900000)")
    parser.add_argument("--size", type=int, default=None, help="rendered side (default: the model's input size)")
    parser.add_argument("--label-scale", type=float, default=None,
                        help="labels (wear percent) x this = model unit (default: from the model card, else 0.01)")
    parser.add_argument("--impact-pairs", type=int, default=None, help="pairs gapviz measures the impact on (default n)")
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--out", help="write the numbers as JSON here")
    args = parser.parse_args(argv)

    import numpy as np

    import gapviz
    from gapviz.impact import make_predictor
    from gapviz.scenes import PRESETS, render_scene, write_scenes

    t_start = time.perf_counter()
    card = {}
    model_path = args.model or gapviz.demo_model()
    if args.model is None:
        from gapviz.assets import demo_model_card

        card = demo_model_card()
    model = gapviz.load_model(model_path)
    size = args.size or int(model.input_shape[1])
    seed = args.seed if args.seed is not None else int(card.get("test_data", {}).get("first_unused_seed_for_tests", 900000))
    scale = args.label_scale if args.label_scale is not None else (0.01 if card.get("label_unit", "fraction") == "fraction" else 1.0)
    predict = make_predictor(model, preprocess=card.get("preprocess", "unit"))

    field, base = PRESETS["field"], PRESETS["dataset1"]
    knobs = [k for k in base if field[k] != base[k]]
    seeds = range(seed, seed + args.n)

    def render(settings, masks=False):
        scenes = [render_scene(s, settings, preset="dataset1", size=size) for s in seeds]
        out = np.stack([sc.image for sc in scenes]), np.array([sc.wear for sc in scenes]) * scale
        return (*out, [sc.mask for sc in scenes]) if masks else out

    base_images, y, base_masks = render({}, masks=True)
    base_pred = predict(base_images)
    base_mae = float(np.abs(base_pred - y).mean())
    truth = {}
    for knob in knobs:
        images, y_k = render({knob: field[knob]})
        assert np.array_equal(y_k, y)
        pred = predict(images)
        truth[knob] = {"value": field[knob], "mae": float(np.abs(pred - y).mean()),
                       "penalty": float(np.abs(pred - y).mean() - base_mae),
                       "mean_change": float((pred - base_pred).mean()),
                       "mean_abs_change": float(np.abs(pred - base_pred).mean())}  # fmt: skip
    # operator fidelity: the field value of each camera knob applied to the dataset1 renders with gapviz's
    # finished-image operators, against re-rendering the scenes with it (the truth above)
    from gapviz.impact import ImpactSample, prediction_impact
    from gapviz.scenes._post import CAMERA_KNOBS

    sample = ImpactSample(size=args.n, stems=[str(s) for s in seeds], synth_images=list(base_images),
                          synth_masks=base_masks)  # fmt: skip
    camera = {k: field[k] for k in knobs if k in CAMERA_KNOBS}
    simulated = prediction_impact(sample, camera, predict, model_size=(size, size), seed=seed)["knobs"]
    rho_operators = spearman([simulated[k]["mean_abs_change"] for k in camera], [truth[k]["mean_abs_change"] for k in camera])
    field_images = np.stack([render_scene(s, None, preset="field", size=size).image for s in seeds])
    field_mae = float(np.abs(predict(field_images) - y).mean())

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "pairs"
        write_scenes(out, preset="field", pair_with="dataset1", n=args.n, seed=seed, size=size)
        result = gapviz.compare(
            model_path, out / "real" / "images", out / "synth" / "images",
            masks={"real": out / "real" / "masks", "synth": out / "synth" / "masks"},
            labels={"synth": out / "labels.csv", "real": out / "labels.csv"}, label_scale=scale,
            impact_pairs=args.impact_pairs or args.n, examples=0, progress=False, n_boot=args.n_boot,
            attribution=False,
        )  # fmt: skip
    block = result.model_impact
    measured = {r["knob"]: r for r in block["ranking"]}
    common = [k for k in knobs if k in measured]
    rho_penalty = spearman([measured[k]["mean_abs_change"] for k in common], [truth[k]["penalty"] for k in common])
    rho_change = spearman([measured[k]["mean_abs_change"] for k in common], [truth[k]["mean_abs_change"] for k in common])
    # every field-vs-dataset1 knob: the ones gapviz gave no amount count as impact 0
    rho_all = spearman([measured[k]["mean_abs_change"] if k in measured else 0.0 for k in knobs],
                       [truth[k]["penalty"] for k in knobs])  # fmt: skip
    labels = block.get("labels", {})
    estimated = (labels.get("estimated_real_mae") or {}).get("value")
    rel = None if estimated is None else (estimated - field_mae) / field_mae

    report = {
        "model": {"path": model_path, "sha256": result.model.get("sha256"), "card_mae": card.get("mae"),
                  "trained": card.get("command"), "epochs_run": card.get("epochs_run")},
        "scenes": {"n": args.n, "seeds": [seed, seed + args.n - 1], "size": size, "label_scale": scale},
        "dataset1_mae": base_mae,
        "field_mae": field_mae,
        "truth": truth,
        "gapviz": {k: {key: measured[k][key] for key in ("amount", "mean_change", "ci95", "mean_abs_change",
                                                         "abs_ci95", "impact_rank", "severity")} for k in measured},
        "not_measured": [k for k in knobs if k not in measured],
        "operators_at_field_values": {k: {key: simulated[k][key] for key in ("mean_change", "mean_abs_change")}
                                      for k in camera},
        "spearman_operators_vs_rerender": rho_operators,
        "spearman_impact_vs_penalty": rho_penalty,
        "spearman_impact_vs_true_change": rho_change,
        "spearman_all_knobs_vs_penalty": rho_all,
        "estimated_real_mae": labels.get("estimated_real_mae"),
        "synth_mae_sample": labels.get("synth_mae"),
        "real_mae_sample": labels.get("real_mae"),
        "penalty_explained": labels.get("penalty_explained"),
        "estimated_vs_field_relative_error": rel,
        "seconds": round(time.perf_counter() - t_start, 1),
        "command": "python scripts/validate_model_impact.py " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2, default=float))

    def f(x, d=4):
        return "–" if x is None else f"{x:.{d}g}"

    print(f"model {model_path} ({(result.model.get('sha256') or '')[:12]}), {args.n} held-out scenes "
          f"(seeds {seed}..{seed + args.n - 1}) at {size} px, labels x {scale:g}")  # fmt: skip
    print(f"MAE dataset1 {f(base_mae)}, field {f(field_mae)} (penalty {f(field_mae - base_mae)})\n")
    print("| knob | field value | true MAE penalty | true mean abs change | operators at the field value: mean abs change "
          "| gapviz amount | gapviz mean abs change [95 % CI] | gapviz rank |")
    print("|---|---|---|---|---|---|---|---|")
    for k in sorted(knobs, key=lambda k: -truth[k]["penalty"]):
        g = measured.get(k)
        ci = g and g["abs_ci95"]
        sim = f(simulated[k]["mean_abs_change"]) if k in simulated else "scene knob"
        print(f"| {k} | {field[k]} | {f(truth[k]['penalty'])} | {f(truth[k]['mean_abs_change'])} | {sim} | "
              f"{f(g['amount']) if g else 'no amount'} | "
              + (f"{f(g['mean_abs_change'])} [{f(ci[0])}, {f(ci[1])}]" if g else "–")
              + f" | {g['impact_rank'] if g else '–'} |")  # fmt: skip
    print(f"\nSpearman, gapviz impact vs true MAE penalty over the {len(common)} knobs gapviz measured: {f(rho_penalty, 3)}"
          f" (vs the true prediction change: {f(rho_change, 3)}); over all {len(knobs)} knobs (no amount = 0): {f(rho_all, 3)}")
    print(f"operators at the field values vs re-rendering, Spearman of the mean abs change over {len(camera)} camera "
          f"knobs: {f(rho_operators, 3)}")
    print(f"estimated real-domain MAE {f(estimated)} vs measured field MAE {f(field_mae)}: "
          f"{'–' if rel is None else f'{100 * rel:+.1f} %'}"
          f" (gapviz sample: renders {f((labels.get('synth_mae') or {}).get('value'))}, "
          f"field partners {f((labels.get('real_mae') or {}).get('value'))})")
    print(f"took {report['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
