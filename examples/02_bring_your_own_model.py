# %% [markdown]
# # Bring your own model
#
# The common transfer-learning shape of the case study: a `tf.keras` (Keras 2) model
# `Sequential([ResNet50V2, GlobalAveragePooling2D, Dense(1)])`, saved as `.h5`. This notebook
# builds one (random weights, a small 64 px input, so it runs in seconds and needs no download),
# then does what you would do with your own file:
#
# 1. list its layers, including the ones inside the nested ResNet50V2,
# 2. tap layers by nested path or by bare name,
# 3. use a preset, or let gapviz detect it,
# 4. compare real and synthetic images through it.
#
# With your own model, replace `MODEL` by its path. The same file is a plain script:
# `python examples/02_bring_your_own_model.py`.

# %%
import os
import tempfile
from pathlib import Path

import gapviz

OUT = Path(os.environ.get("GAPVIZ_EXAMPLE_OUT") or tempfile.mkdtemp(prefix="gapviz-byom-"))

# %% [markdown]
# ## A tf.keras regressor saved as .h5
#
# Exactly what a Keras 2 training script of the study saves. gapviz loads it with `tf_keras`
# (Keras 3 cannot read every Keras 2 `.h5`), with `compile=False` and Keras `safe_mode` on.

# %%
import tf_keras  # noqa: E402

tf_keras.utils.set_random_seed(0)
base = tf_keras.applications.ResNet50V2(weights=None, include_top=False, input_shape=(64, 64, 3))
regressor = tf_keras.Sequential([base, tf_keras.layers.GlobalAveragePooling2D(), tf_keras.layers.Dense(1)])
MODEL = OUT / "resnet50v2_shackle.h5"
regressor.save(MODEL)
print(f"{MODEL.name}: {MODEL.stat().st_size / 1e6:.0f} MB")

# %% [markdown]
# ## 1. Its layers, nested ones included
#
# `list_layers` walks into the nested ResNet50V2; paths join the names with `/`. The `*` marks
# the layers tapped when none are given: gapviz recognised the architecture and applies the
# case study's ResNet50V2 preset.

# %%
from gapviz.models import PRESETS, format_layer_table  # noqa: E402

model = gapviz.load_model(MODEL)
layers = gapviz.list_layers(model)
print(f"{len(layers)} layers; the first convolutions and the preset taps:")
print(format_layer_table([info for info in layers if info.preset or info.depth < 8]))

# %% [markdown]
# ## 2. Nested taps: by path or by bare name
#
# A nested path names one layer exactly; a bare name works when it is unique inside the nested
# models. A name that does not exist is an error listing the closest real names (the study's
# own notes named `conv5_block5_3_conv`, which ResNet50V2 does not have).

# %%
tapper = gapviz.tap(model, ["resnet50v2/conv1_conv", "conv2_block3_3_conv"])
print(tapper.layers)
try:
    gapviz.tap(model, ["conv5_block5_3_conv"])
except gapviz.GapvizError as err:
    print("error:", err)

# %% [markdown]
# ## 3. Presets
#
# The presets of the case study, for VGG16, MobileNetV2, ResNet50 and ResNet50V2. On the command
# line: `gapviz report --model resnet50v2_shackle.h5 --preset resnet50v2 ...`.

# %%
for name, preset in PRESETS.items():
    print(f"{name:12s} {', '.join(preset)}")

# %% [markdown]
# ## 4. Compare through it
#
# Built-in scenes stand in for your photographs and renders. With layers left out, the detected
# preset is tapped. Random weights make the layer statistics meaningless for wear; the image
# statistics and the mechanics are the same as with a trained model.

# %%
from gapviz.scenes import write_scenes  # noqa: E402

scenes = OUT / "scenes"
write_scenes(scenes, preset="field", pair_with="dataset1", n=8, size=128, seed=1)
result = gapviz.compare(model, scenes / "real" / "images", scenes / "synth" / "images",
                        masks={"synth": scenes / "synth" / "masks"}, examples=1, n_boot=200)
print(repr(result))
print("tapped:", [layer.name for layer in result.layers])
print("preset:", result.model["preset"], "| loaded with", result.model["loader"])

# %%
result.save_report(OUT / "report.html")
result.to_json(OUT / "report.json")
print("wrote", OUT / "report.html")
