# %% [markdown]
# # A larger run, and reading its JSON in a pipeline
#
# gapviz streams: memory holds small per-pair scalars and a capped sample of vectors, not the
# images, so a run over thousands of pairs is the same call as one over ten. This notebook runs a
# set larger than the others (48 pairs at 128 px, to stay quick here) the way a nightly job would,
# then reads what it wrote with nothing but the standard library:
#
# * `report.json`: every statistic with its CI, and the recommendations (a stable schema,
#   docs/architecture.md), for gates and dashboards;
# * `pairs.csv`: every pair's values, for finding and filtering the worst pairs.
#
# `run()` below is the one place that calls `gapviz.compare`; its keyword arguments go straight
# through. Sharded runs on a Dask cluster are not part of gapviz yet; when they are, a
# `cluster=` argument passed through `run()` is the only change this pipeline needs.
# The same file is a plain script: `python examples/03_larger_run_and_json.py`.

# %%
import csv
import json
import os
import tempfile
from pathlib import Path

import gapviz
from gapviz.scenes import write_scenes

OUT = Path(os.environ.get("GAPVIZ_EXAMPLE_OUT") or tempfile.mkdtemp(prefix="gapviz-pipeline-"))
N_PAIRS, SIZE = 48, 128

# %%
scenes = OUT / "scenes"
write_scenes(scenes, preset="field", pair_with="dataset1", n=N_PAIRS, size=SIZE, seed=100)


def run(real, synth, *, out, **compare_kwargs):
    """One comparison written as report.html, report.json and pairs.csv in ``out``.

    ``compare_kwargs`` go to `gapviz.compare` unchanged (a ``cluster=`` for sharded runs will
    pass through here the same way).
    """
    out = Path(out)
    result = gapviz.compare(gapviz.demo_model(), real, synth, **compare_kwargs)
    result.save_report(out / "report.html")
    result.to_json(out / "report.json")
    result.pairs.to_csv(out / "pairs.csv")
    return out / "report.json", out / "pairs.csv"


json_path, csv_path = run(scenes / "real" / "images", scenes / "synth" / "images", out=OUT,
                          masks={"synth": scenes / "synth" / "masks"}, batch_size=16, examples=1,
                          n_boot=300, seed=0)

# %% [markdown]
# ## The JSON: a gate on the recommendations
#
# A pipeline decides from the stored numbers, never from the HTML. Here: fail the render batch
# when a high-severity recommendation is open, and print what to change.

# %%
data = json.loads(json_path.read_text(encoding="utf-8"))
print("gapviz", data["gapviz_version"], "|", data["data"]["n_pairs"], "pairs |",
      len(data["layers"]), "layers | model", data["model"]["architecture"])

high = [rec for rec in data["recommendations"] if rec["severity"] == "high"]
for rec in data["recommendations"]:
    amount = "no amount" if rec.get("suggested") is None else f"suggested {rec['suggested']} {rec.get('unit') or ''}"
    print(f"{rec['severity']:>6}  {rec['knob']:<13} effect size {rec['effect_size']:+.2f}  {amount}")
gate = "FAIL" if high else "PASS"
print(f"render batch gate: {gate} ({len(high)} high-severity recommendations)")

# %% [markdown]
# ## The JSON: one statistic across layers
#
# Every paired statistic has the same shape: `real`, `synth`, `diff` (synthetic - real), `ci95`
# of the difference, `effect_size`, `noise_floor`, `n`. The background-decay curve, from JSON:

# %%
for layer in data["layers"]:
    stat = layer["stats"]["background_ratio"]
    lo, hi = stat["ci95"]
    clear = "gap" if lo is not None and (lo > 0 or hi < 0) else "within noise"
    print(f"{layer['name']:<18} real {stat['real']:.3f}  synth {stat['synth']:.3f}  "
          f"diff CI [{lo:+.3f}, {hi:+.3f}]  {clear}")

# %% [markdown]
# ## The per-pair CSV: the worst pairs for a knob
#
# One row per pair; `{statistic}.real`, `.synth`, `.diff` per image statistic and
# `{layer}/{statistic}.*` per layer scalar. Here, the renders whose background is sharpest
# relative to their photo: the first to re-render with depth of field.

# %%
with csv_path.open(encoding="utf-8") as handle:
    rows = list(csv.DictReader(handle))
key = "coarse_sharpness.background.diff"
rows = [row for row in rows if row[key]]
rows.sort(key=lambda row: float(row[key]), reverse=True)
print(f"{len(rows)} pairs; sharpest synthetic backgrounds relative to their photo:")
for row in rows[:5]:
    print(f"  {row['pair']}  diff {float(row[key]):8.1f}  {Path(row['synth']).name}")

# %% [markdown]
# With pandas installed (gapviz does not need it), the same table is one call away:
# `gapviz.compare(...).pairs.to_pandas()`, or `pandas.read_csv(csv_path)`.
