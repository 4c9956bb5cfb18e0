"""Measure two Blender mappings gapviz's renderer settings use (run with a Python that has ``bpy``).

1. Cycles pixel filter width -> Gaussian-equivalent sigma (Blackman-Harris and Gaussian filters):
   a sharp vertical edge between two emissive planes, rendered at each width; the variance of the
   line-spread function (the edge profile's derivative) minus 1/12 (the unit differencing step) is
   the filter's sigma^2, in linear light.
2. White-balance temperature -> red/blue gain: a grey emissive plane rendered with
   ``view_settings.use_white_balance`` at each temperature; the ratio of red to blue, in gapviz's
   linear light (8-bit value / 255, to the power 2.2, as gapviz's colour operator), relative to
   6500 K.

    /work/venv-blender/bin/python scripts/blender_measure_settings.py

Prints one JSON object. The numbers are copied into ``gapviz/recommend/_renderer.py``.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile

import bpy
import numpy as np


def _emissive(name: str, value: float) -> bpy.types.Material:
    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    nodes = mat.node_tree.nodes
    nodes.clear()
    emit = nodes.new("ShaderNodeEmission")
    emit.inputs["Color"].default_value = (value, value, value, 1.0)
    out = nodes.new("ShaderNodeOutputMaterial")
    mat.node_tree.links.new(emit.outputs["Emission"], out.inputs["Surface"])
    return mat


def _setup(size: int, samples: int) -> bpy.types.Scene:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    cam_data = bpy.data.cameras.new("camera")
    cam_data.type = "ORTHO"
    cam_data.ortho_scale = float(size)  # one unit per pixel
    cam = bpy.data.objects.new("camera", cam_data)
    cam.location = (0.0, 0.0, 10.0)
    scene.collection.objects.link(cam)
    scene.camera = cam
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = samples
    scene.cycles.use_adaptive_sampling = False
    scene.cycles.use_denoising = False
    scene.render.resolution_x = scene.render.resolution_y = size
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGB"
    scene.render.image_settings.color_depth = "16"
    scene.render.threads_mode = "FIXED"
    scene.render.threads = 2
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"
    world = bpy.data.worlds.new("world")
    world.use_nodes = True
    world.node_tree.nodes["Background"].inputs["Strength"].default_value = 0.0
    scene.world = world
    return scene


def _render(scene: bpy.types.Scene, path: str) -> np.ndarray:
    scene.render.filepath = path
    bpy.ops.render.render(write_still=True)
    img = bpy.data.images.load(path)
    w, h = img.size
    px = np.array(img.pixels[:], np.float64).reshape(h, w, 4)[..., :3]
    bpy.data.images.remove(img)
    return px


def _srgb_to_linear(v: np.ndarray) -> np.ndarray:
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def pixel_filter(tmp: str) -> dict:
    size = 48
    scene = _setup(size, 256)
    bpy.ops.mesh.primitive_plane_add(size=size * 2, location=(0.0, 0.0, 0.0))
    bpy.context.object.data.materials.append(_emissive("dark", 0.0))
    # bright half-plane whose edge sits 0.3 px off a pixel boundary
    bpy.ops.mesh.primitive_plane_add(size=size * 2, location=(-size + 0.3, 0.0, 0.5))
    bpy.context.object.data.materials.append(_emissive("bright", 1.0))
    out = {}
    for kind in ("BLACKMAN_HARRIS", "GAUSSIAN"):
        scene.cycles.pixel_filter_type = kind
        rows = []
        for width in (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0):
            scene.cycles.filter_width = width
            img = _srgb_to_linear(_render(scene, os.path.join(tmp, "edge.png")))
            profile = img[8:-8, :, 1].mean(axis=0)  # bright on the left
            lsf = -np.diff(profile)
            lsf = np.clip(lsf, 0, None)
            x = np.arange(lsf.size)
            mean = (x * lsf).sum() / lsf.sum()
            var = ((x - mean) ** 2 * lsf).sum() / lsf.sum()
            rows.append({"filter_width": width, "sigma_px": round(math.sqrt(max(var - 1 / 12, 0.0)), 4)})
        out[kind] = rows
    return out


def white_balance(tmp: str) -> list:
    scene = _setup(8, 4)
    bpy.ops.mesh.primitive_plane_add(size=100, location=(0.0, 0.0, 0.0))
    bpy.context.object.data.materials.append(_emissive("grey", 0.18))
    vs = scene.view_settings
    vs.use_white_balance = True
    rows = []
    for temp in (3000, 4000, 5000, 5500, 6000, 6500, 7000, 8000, 10000, 12000):
        vs.white_balance_temperature = float(temp)
        rgb = _render(scene, os.path.join(tmp, "grey.png")).reshape(-1, 3).mean(axis=0) ** 2.2
        rows.append({"kelvin": temp, "r_over_b": float(rgb[0] / rgb[2])})
    ref = next(r["r_over_b"] for r in rows if r["kelvin"] == 6500)
    for r in rows:
        r["gain_r_over_b"] = round(r.pop("r_over_b") / ref, 4)
    return rows


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        result = {"blender": bpy.app.version_string, "pixel_filter": pixel_filter(tmp),
                  "white_balance": white_balance(tmp)}  # fmt: skip
    print("GAPVIZ_RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
    sys.exit(0)
