# %% [markdown]
# # The study's workflow: where does the model see renders differently from photos?
#
# The case behind gapviz: a regressor of chain-shackle wear, trained on game-engine renders,
# is less accurate on photographs. Looking at the feature maps of the early layers for a few
# real/synthetic pairs showed three things the renderer could fix: backgrounds in focus on the
# renders, sharper edges, and flat lighting. This notebook repeats that analysis on gapviz's
# built-in scenes, measured over every pair instead of eyeballed on five:
#
# 1. tap the early layers of the regressor,
# 2. look at real and synthetic feature maps side by side,
# 3. the background-decay curve across layers,
# 4. the Canny baseline (the rendering team's earlier check),
# 5. the recommendations, and the pairs to look at first.
#
# It runs on built-in data in well under a minute (12 pairs at 256 px). The same file is a plain
# script: `python examples/01_study_workflow.py`.

# %%
import os
import sys
import tempfile
from pathlib import Path

import gapviz
from gapviz.scenes import write_scenes

OUT = Path(os.environ.get("GAPVIZ_EXAMPLE_OUT") or tempfile.mkdtemp(prefix="gapviz-study-"))
N_PAIRS, SIZE = 12, 256


def show(fig, name):
    """Save a figure in OUT; in Jupyter also show it inline."""
    path = OUT / f"{name}.png"
    fig.savefig(path, dpi=72)
    if "ipykernel" in sys.modules:
        from IPython.display import Image, display

        display(Image(filename=str(path)))
    else:
        print(f"figure: {path}")


# %% [markdown]
# ## The data: photographs and renders of the same scenes
#
# `write_scenes` renders the built-in shackle scenes twice from the same seeds: once as the
# "field" look (the stand-in for photographs: defocused background, grain, JPEG, partial light)
# and once as the renderer's "dataset1" look. The renderer knows its object masks; the
# photographs' masks are estimated by gapviz, as they would be for real photos.

# %%
scenes = OUT / "scenes"
write_scenes(scenes, preset="field", pair_with="dataset1", n=N_PAIRS, size=SIZE, seed=0)
real, synth = scenes / "real" / "images", scenes / "synth" / "images"
print(len(list(real.iterdir())), "photos,", len(list(synth.iterdir())), "renders")

# %% [markdown]
# ## 1. The model and its early layers
#
# The shipped demo model is a small MobileNetV2 wear regressor trained on dataset1 renders.
# gapviz recognises the architecture and taps the case study's layers (marked `*`).

# %%
from gapviz.models import format_layer_table  # noqa: E402

model = gapviz.load_model(gapviz.demo_model())

layers = gapviz.list_layers(model)
print(format_layer_table([layer for layer in layers if layer.preset or layer.depth < 12]))

# %% [markdown]
# ## Compare: one streaming pass over every pair
#
# The progress bar shows where the pass is (in Jupyter and on a terminal; `progress=False`
# turns it off, `progress=True` forces it on in a pipe).

# %%
result = gapviz.compare(model, real, synth, masks={"synth": scenes / "synth" / "masks"},
                        examples=2, n_boot=300, seed=0)
result  # noqa: B018  (the last expression of a cell: Jupyter shows the summary)

# %% [markdown]
# ## 2. Feature maps side by side
#
# Real (top) and synthetic (bottom): the input, the activation energy over the image on one
# colour scale for both rows, and the strongest channels, each on a scale shared by both rows.

# %%
show(result.plot_feature_maps(example=0, layer=0, max_channels=4, width=8), "feature_maps_layer0")
show(result.plot_feature_maps(example=0, layer=2, max_channels=4, width=8), "feature_maps_layer2")

# %% [markdown]
# ## 3. The background-decay curve
#
# `background_ratio` is the mean activation energy on the background divided by that on the
# object. On photographs with a defocused background it falls quickly with depth; on renders with
# a sharp background it stays high. The lower panels show the paired difference with its 95 %
# bootstrap CI: a band clear of zero is a gap beyond sampling noise.

# %%
show(result.plot_layer_curves(width=10), "layer_curves")
slope = result.decay["background_ratio_slope"]
print(f"decay slope: real {slope['real']:.3f}, synthetic {slope['synth']:.3f}, "
      f"diff 95 % CI {slope['ci95'][0]:.3f} .. {slope['ci95'][1]:.3f}")

# %% [markdown]
# ## 4. The Canny baseline
#
# The rendering team's earlier check, made objective: one pair of absolute thresholds taken from
# the real set and shared by both sides, and edge densities measured over every pair.

# %%
show(result.plot_canny(example=0, cell=2.2), "canny")
print({k: v for k, v in result.canny.items() if k != "source"})
for key in ("canny_edge_density.background", "canny_edge_density.object", "canny_edge_agreement"):
    stat = result.image_stats[key]
    print(f"{key:32s} real {stat['real']:.3f}  synth {stat['synth']:.3f}  effect size {stat['effect_size']:.2f}")

# %% [markdown]
# ## 5. Recommendations, and the pairs to look at first
#
# Each recommendation names a rendering knob, says what to change, and, where it can be
# estimated, by how much. `result.pairs` holds every pair's values; sorting it by the main
# statistic of a recommendation lists the pairs where the gap is largest.

# %%
for rec in result.recommendations:
    amount = f" -> {rec['parameter']} = {rec['suggested']} {rec.get('unit') or ''}" if rec.get("suggested") is not None else ""
    print(f"[{rec['severity']:>6}] {rec['knob']:<13} {rec['action']}{amount}")

# %%
from gapviz.pairs import furthest_pairs  # noqa: E402

print(result.pairs)
for item in furthest_pairs(result.pairs, result.recommendations, k=3):
    print(item["knob"], item["column"], [(row["pair"], round(row["diff"], 3)) for row in item["rows"]])

# %% [markdown]
# ## The report for the rendering team
#
# One self-contained HTML file (no scripts, no network), and the per-pair values as CSV.
# `docs/reading-the-report.md` explains every section.

# %%
report = result.save_report(OUT / "report.html")
result.pairs.to_csv(OUT / "pairs.csv")
print(f"report: {os.path.getsize(report) / 1e6:.2f} MB, {len(result.pairs)} pairs in pairs.csv")
