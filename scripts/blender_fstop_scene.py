"""Render the f-stop check scenes in Blender (run with a Python that has ``bpy``, not the gapviz venv).

Two interlocked torus links at ``focus_distance_m`` in front of an emissive photo backdrop plane at
``background_distance_m`` (both measured along the optical axis, so the thin-lens blur of the
backdrop is the same everywhere), a physical camera (``focal_length_mm``, ``sensor_width_mm``,
horizontal sensor fit, circular aperture), Cycles on the CPU without denoising. Each scene is
rendered without depth of field (plus its object-index mask, pass index 1) and once per f-stop,
focused on the links, and once per pixel-filter width (``filter_widths``, Blackman-Harris; the
others use Blender's default 1.5 px).

    python scripts/blender_fstop_scene.py job.json

``job.json``: ``{"out": folder, "size": px, "samples": n, "fstops": [..], "focal_length_mm": ..,
"sensor_width_mm": .., "focus_distance_m": .., "background_distance_m": .., "filter_widths": [..], "scenes": [{"stem": ..,
"backdrop": png path, "seed": int}, ...]}``. Writes ``OUT/nodof/STEM.png``, ``OUT/f<N>/STEM.png``, ``OUT/fw<W>/STEM.png``
and ``OUT/masks/STEM.png`` (white = links), and prints one JSON line of timings.

Kept minimal and free of gapviz imports: bpy 4.5 needs numpy < 2, gapviz's venv has numpy 2.
"""

from __future__ import annotations

import json
import math
import os
import random
import sys
import time

import bpy


def _clear() -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)


def _material_metal() -> bpy.types.Material:
    mat = bpy.data.materials.new("link_metal")
    mat.use_nodes = True
    bsdf = mat.node_tree.nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = (0.55, 0.55, 0.58, 1.0)
    bsdf.inputs["Metallic"].default_value = 0.9
    bsdf.inputs["Roughness"].default_value = 0.35
    return mat


def _material_backdrop(path: str) -> bpy.types.Material:
    mat = bpy.data.materials.new("backdrop_photo")
    mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    nodes.clear()
    tex = nodes.new("ShaderNodeTexImage")
    tex.image = bpy.data.images.load(path)
    tex.interpolation = "Linear"
    emit = nodes.new("ShaderNodeEmission")
    emit.inputs["Strength"].default_value = 1.0
    out = nodes.new("ShaderNodeOutputMaterial")
    links.new(tex.outputs["Color"], emit.inputs["Color"])
    links.new(emit.outputs["Emission"], out.inputs["Surface"])
    return mat


def _scene(job: dict, spec: dict) -> tuple[bpy.types.Scene, bpy.types.Object]:
    _clear()
    scene = bpy.context.scene
    rng = random.Random(int(spec["seed"]))
    S, D = float(job["focus_distance_m"]), float(job["background_distance_m"])
    f_mm, sensor = float(job["focal_length_mm"]), float(job["sensor_width_mm"])

    cam_data = bpy.data.cameras.new("camera")
    cam_data.lens = f_mm
    cam_data.sensor_fit = "HORIZONTAL"
    cam_data.sensor_width = sensor
    cam_data.dof.aperture_blades = 0  # circular aperture: a uniform blur disc
    cam_data.clip_end = D * 2
    cam = bpy.data.objects.new("camera", cam_data)
    scene.collection.objects.link(cam)
    cam.location = (0.0, -S, 0.0)
    cam.rotation_euler = (math.pi / 2, 0.0, 0.0)  # looks along +y
    scene.camera = cam

    # the backdrop plane fills the view at distance D with a margin
    view = D * sensor / f_mm * 1.3
    bpy.ops.mesh.primitive_plane_add(size=view, location=(0.0, D - S, 0.0), rotation=(math.pi / 2, 0.0, 0.0))
    backdrop = bpy.context.object
    backdrop.data.materials.append(_material_backdrop(spec["backdrop"]))

    metal = _material_metal()
    major, minor = 0.055, 0.014
    dx, dz = rng.uniform(-0.08, 0.08), rng.uniform(-0.06, 0.06)
    spin = rng.uniform(0, math.pi)
    for k in range(2):
        bpy.ops.mesh.primitive_torus_add(major_radius=major, minor_radius=minor, major_segments=48,
                                         minor_segments=16, location=(0, 0, 0))  # fmt: skip
        link = bpy.context.object
        link.data.materials.append(metal)
        link.pass_index = 1
        off = (k - 0.5) * major * 1.1
        link.location = (dx + off * math.cos(spin), 0.0, dz + off * math.sin(spin))
        link.rotation_euler = (rng.uniform(-0.3, 0.3) + (math.pi / 2 if k else 0.0), spin, rng.uniform(-0.3, 0.3))
        bpy.ops.object.shade_smooth()

    sun_data = bpy.data.lights.new("sun", type="SUN")
    sun_data.energy = 3.0
    sun = bpy.data.objects.new("sun", sun_data)
    sun.rotation_euler = (math.radians(50), 0.0, math.radians(30))
    scene.collection.objects.link(sun)
    world = bpy.data.worlds.new("world")
    world.use_nodes = True
    world.node_tree.nodes["Background"].inputs["Strength"].default_value = 0.4
    scene.world = world

    size = int(job["size"])
    render = scene.render
    render.engine = "CYCLES"
    render.resolution_x = render.resolution_y = size
    render.resolution_percentage = 100
    render.image_settings.file_format = "PNG"
    render.image_settings.color_mode = "RGB"
    render.threads_mode = "FIXED"
    render.threads = int(job.get("threads", 2))
    scene.cycles.device = "CPU"
    scene.cycles.samples = int(job["samples"])
    scene.cycles.use_adaptive_sampling = False
    scene.cycles.use_denoising = False
    scene.cycles.max_bounces = 4
    scene.cycles.seed = int(spec["seed"])
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"
    scene.view_layers[0].use_pass_object_index = True
    return scene, cam


def _mask_nodes(scene: bpy.types.Scene, folder: str, stem: str) -> bpy.types.Node:
    """Compositor: render layers -> ID mask (index 1) -> a PNG file output; the image passes through."""
    scene.use_nodes = True
    tree = scene.node_tree
    tree.nodes.clear()
    rl = tree.nodes.new("CompositorNodeRLayers")
    comp = tree.nodes.new("CompositorNodeComposite")
    tree.links.new(rl.outputs["Image"], comp.inputs["Image"])
    idm = tree.nodes.new("CompositorNodeIDMask")
    idm.index = 1
    idm.use_antialiasing = False
    tree.links.new(rl.outputs["IndexOB"], idm.inputs["ID value"])
    out = tree.nodes.new("CompositorNodeOutputFile")
    out.base_path = folder
    out.format.file_format = "PNG"
    out.format.color_mode = "BW"
    out.file_slots[0].path = stem + "_"
    tree.links.new(idm.outputs["Alpha"], out.inputs[0])
    return out


def main(path: str) -> None:
    with open(path) as fh:
        job = json.load(fh)
    out = job["out"]
    timings = []
    for spec in job["scenes"]:
        stem = spec["stem"]
        scene, cam = _scene(job, spec)
        masks = os.path.join(out, "masks")
        os.makedirs(masks, exist_ok=True)
        file_out = _mask_nodes(scene, masks, stem)
        renders = [("nodof", None, None)] + [(f"f{n:g}", float(n), None) for n in job["fstops"]]
        renders += [(f"fw{w:g}", None, float(w)) for w in job.get("filter_widths", ())]
        for folder, fstop, filter_width in renders:
            os.makedirs(os.path.join(out, folder), exist_ok=True)
            scene.cycles.filter_width = 1.5 if filter_width is None else filter_width  # 1.5: Blender's default
            cam.data.dof.use_dof = fstop is not None
            if fstop is not None:
                cam.data.dof.focus_distance = float(job["focus_distance_m"])
                cam.data.dof.aperture_fstop = fstop
            file_out.mute = folder != "nodof"
            scene.render.filepath = os.path.join(out, folder, stem + ".png")
            t0 = time.perf_counter()
            bpy.ops.render.render(write_still=True)
            timings.append({"render": f"{folder}/{stem}", "seconds": round(time.perf_counter() - t0, 3)})
        # the file output node numbers its files by frame
        os.replace(os.path.join(masks, f"{stem}_{scene.frame_current:04d}.png"), os.path.join(masks, stem + ".png"))
    print("GAPVIZ_TIMINGS " + json.dumps(timings))


if __name__ == "__main__":
    main(sys.argv[-1])
