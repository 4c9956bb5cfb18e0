"""Blender side of the Blender engine: renders a JSON job of scenes with Cycles.

Run by a Python that has ``bpy`` (Blender 4.5 LTS as a module), never imported by gapviz itself:

    python _worker.py JOB.json

It imports only ``bpy``, ``mathutils``, ``numpy`` and the standard library, because bpy 4.5 needs
numpy < 2 and so lives in its own virtual environment. The job (written by
``gapviz.scenes.blender``) holds, per scene, the posed centre lines of the two links in metres,
the physical settings (f-stop, pixel filter, light strengths, exposure, illuminant tint, grain,
JPEG quality, texture style, samples) and the path of the backdrop photo. For each scene the
worker writes ``<stem>.image.npy`` ((H, W, 3) uint8, top row first), ``<stem>.index.npy`` ((H, W)
uint8 object-index pass of the render: 0 backdrop, 1 and 2 the links) and ``<stem>.mask.npy`` ((H, W)
bool, the object-index pass of a one-sample pinhole render at the pixel centres) into the job's
folder, and finally ``result.json`` with the wall and CPU seconds each scene took.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

import numpy as np

try:
    import bpy
    from mathutils import Vector
except ImportError:  # importable without bpy (gapviz's module scans); `main` then fails on the import
    bpy = Vector = None

_RING = 24  # vertices around the wire
_STEEL = (0.70, 0.71, 0.74, 1.0)
_RUST = (0.47, 0.25, 0.11, 1.0)
_POLISHED = (0.93, 0.93, 0.95, 1.0)
_GROUND = (0.62, 0.56, 0.50)
_SKY = (0.88, 0.93, 1.0)


def _node(tree, kind, **props):
    node = tree.nodes.new(kind)
    for key, value in props.items():
        setattr(node, key, value)
    return node


def _math(tree, op, a, b=None, clamp=False):
    node = _node(tree, "ShaderNodeMath", operation=op, use_clamp=clamp)
    for i, value in enumerate((a, b)):
        if value is None:
            continue
        if isinstance(value, (int, float)):
            node.inputs[i].default_value = float(value)
        else:
            tree.links.new(value, node.inputs[i])
    return node.outputs[0]


def _principled(tree, colour, metallic, roughness):
    bsdf = _node(tree, "ShaderNodeBsdfPrincipled")
    bsdf.inputs["Base Color"].default_value = colour
    bsdf.inputs["Metallic"].default_value = metallic
    if isinstance(roughness, (int, float)):
        bsdf.inputs["Roughness"].default_value = float(roughness)
    else:
        tree.links.new(roughness, bsdf.inputs["Roughness"])
    return bsdf


def _mix_shader(tree, factor, a, b):
    mix = _node(tree, "ShaderNodeMixShader")
    tree.links.new(factor, mix.inputs[0])
    tree.links.new(a.outputs[0], mix.inputs[1])
    tree.links.new(b.outputs[0], mix.inputs[2])
    return mix


def _noise(tree, coords, scale, detail=2.0, stretch=(1.0, 1.0, 1.0)):
    mapping = _node(tree, "ShaderNodeMapping")
    mapping.inputs["Scale"].default_value = stretch
    tree.links.new(coords, mapping.inputs["Vector"])
    noise = _node(tree, "ShaderNodeTexNoise")
    noise.inputs["Scale"].default_value = scale
    noise.inputs["Detail"].default_value = detail
    tree.links.new(mapping.outputs[0], noise.inputs["Vector"])
    return noise.outputs["Fac"]


def _metal_material(style: str, unit: float):
    """Steel in one texture style; where the ``worn`` attribute is high, freshly polished steel.

    ``unit`` is the links' arc radius in metres, so the texture scales with the object.
    """
    mat = bpy.data.materials.new(f"steel-{style}")
    mat.use_nodes = True
    tree = mat.node_tree
    tree.nodes.clear()
    out = _node(tree, "ShaderNodeOutputMaterial")
    coords = _node(tree, "ShaderNodeTexCoord").outputs["Object"]
    fine = _noise(tree, coords, 40.0 / unit, detail=4.0)
    if style == "clean":
        rough = _math(tree, "MULTIPLY_ADD", fine, 0.06)
        rough.node.inputs[2].default_value = 0.09
        surface = _principled(tree, _STEEL, 1.0, rough)
    elif style == "scratched":
        # long, thin streaks: noise stretched 40x across one axis, thresholded to sparse lines
        streak = _noise(tree, coords, 6.0 / unit, detail=1.0, stretch=(1.0, 40.0, 1.0))
        lines = _math(tree, "GREATER_THAN", streak, 0.62)
        rough = _math(tree, "MULTIPLY_ADD", lines, 0.35)
        rough.node.inputs[2].default_value = 0.22
        rough = _math(tree, "ADD", rough, _math(tree, "MULTIPLY", fine, 0.12))
        plain = _principled(tree, _STEEL, 1.0, rough)
        bright = _principled(tree, (0.85, 0.85, 0.87, 1.0), 1.0, 0.5)
        surface = _mix_shader(tree, _math(tree, "MULTIPLY", lines, 0.6), plain, bright)
    else:  # rusty: oxide blotches where a low-frequency noise is high
        blotch = _noise(tree, coords, 2.5 / unit, detail=3.0)
        rust = _math(tree, "MULTIPLY", _math(tree, "SUBTRACT", blotch, 0.45), 6.0, clamp=True)
        rough = _math(tree, "MULTIPLY_ADD", fine, 0.2)
        rough.node.inputs[2].default_value = 0.3
        metal = _principled(tree, _STEEL, 1.0, rough)
        oxide = _principled(tree, _RUST, 0.0, 0.85)
        surface = _mix_shader(tree, rust, metal, oxide)
    worn = _node(tree, "ShaderNodeAttribute", attribute_name="worn", attribute_type="GEOMETRY")
    polish = _math(tree, "DIVIDE", worn.outputs["Fac"], 0.8, clamp=True)
    polished = _principled(tree, _POLISHED, 1.0, 0.05)
    final = _mix_shader(tree, polish, surface, polished)
    tree.links.new(final.outputs[0], out.inputs["Surface"])
    return mat


def _backdrop_material():
    """An emitting photo: it shows its pixels whatever the lights, scaled by the illuminant tint."""
    mat = bpy.data.materials.new("backdrop")
    mat.use_nodes = True
    tree = mat.node_tree
    tree.nodes.clear()
    out = _node(tree, "ShaderNodeOutputMaterial")
    tex = _node(tree, "ShaderNodeTexImage", interpolation="Linear", extension="EXTEND")
    tint = _node(tree, "ShaderNodeVectorMath", operation="MULTIPLY")
    tint.name = "tint"
    tree.links.new(tex.outputs["Color"], tint.inputs[0])
    emit = _node(tree, "ShaderNodeEmission")
    emit.inputs["Strength"].default_value = 1.0
    tree.links.new(tint.outputs[0], emit.inputs["Color"])
    tree.links.new(emit.outputs[0], out.inputs["Surface"])
    tex.name = "photo"
    return mat


def _world():
    """Sky-over-ground gradient along +Y (image up), as a mirror-like environment for the steel."""
    world = bpy.data.worlds.new("world")
    world.use_nodes = True
    # a smooth gradient needs only a coarse importance map (the default 1024 px map costs seconds)
    world.cycles.sampling_method = "MANUAL"
    world.cycles.sample_map_resolution = 64
    tree = world.node_tree
    tree.nodes.clear()
    out = _node(tree, "ShaderNodeOutputWorld")
    coords = _node(tree, "ShaderNodeTexCoord")
    sep = _node(tree, "ShaderNodeSeparateXYZ")
    tree.links.new(coords.outputs["Generated"], sep.inputs[0])
    ramp = _node(tree, "ShaderNodeValToRGB")
    ramp.color_ramp.elements[0].position = 0.4  # direction y = -0.2
    ramp.color_ramp.elements[0].color = (*_GROUND, 1.0)
    ramp.color_ramp.elements[1].position = 0.75  # direction y = 0.5
    ramp.color_ramp.elements[1].color = (*_SKY, 1.0)
    to_unit = _math(tree, "MULTIPLY_ADD", sep.outputs["Y"], 0.5)
    to_unit.node.inputs[2].default_value = 0.5
    tree.links.new(to_unit, ramp.inputs[0])
    tint = _node(tree, "ShaderNodeVectorMath", operation="MULTIPLY")
    tint.name = "tint"
    tree.links.new(ramp.outputs["Color"], tint.inputs[0])
    bg = _node(tree, "ShaderNodeBackground")
    bg.name = "background"
    tree.links.new(tint.outputs[0], bg.inputs["Color"])
    tree.links.new(bg.outputs[0], out.inputs["Surface"])
    return world


def _tube_mesh(name: str, link: dict) -> bpy.types.Mesh:
    """A closed tube swept along a centre line with per-point radius (worn wire is thinner)."""
    centres = np.asarray(link["centres"], dtype=np.float64)
    radii = np.asarray(link["radii"], dtype=np.float64)
    u = np.asarray(link["inward"], dtype=np.float64)
    v = np.asarray(link["binormal"], dtype=np.float64)
    worn = np.asarray(link["worn"], dtype=np.float64)
    n = len(centres)
    phi = 2 * np.pi * np.arange(_RING) / _RING
    ring = np.cos(phi)[None, :, None] * u[:, None, :] + np.sin(phi)[None, :, None] * v[:, None, :]
    verts = (centres[:, None, :] + radii[:, None, None] * ring).reshape(-1, 3)
    i = np.arange(n)[:, None]
    j = np.arange(_RING)[None, :]
    a = i * _RING + j
    b = ((i + 1) % n) * _RING + j
    c = ((i + 1) % n) * _RING + (j + 1) % _RING
    d = i * _RING + (j + 1) % _RING
    faces = np.stack([a, b, c, d], axis=-1).reshape(-1, 4)
    mesh = bpy.data.meshes.new(name)
    mesh.vertices.add(len(verts))
    mesh.vertices.foreach_set("co", verts.astype(np.float32).ravel())
    mesh.loops.add(faces.size)
    mesh.loops.foreach_set("vertex_index", faces.astype(np.int32).ravel())
    mesh.polygons.add(len(faces))
    mesh.polygons.foreach_set("loop_start", (np.arange(len(faces)) * 4).astype(np.int32))
    mesh.update(calc_edges=True)
    mesh.validate()
    attr = mesh.attributes.new("worn", "FLOAT", "POINT")
    attr.data.foreach_set("value", np.repeat(worn, _RING).astype(np.float32))
    mesh.shade_smooth()
    return mesh


class _Stage:
    """The fixed parts of the scene, made once per job; `render` updates them per scene."""

    def __init__(self, job: dict) -> None:
        bpy.ops.wm.read_factory_settings(use_empty=True)
        scene = bpy.context.scene
        self.scene = scene
        self.folder = job["folder"]
        scene.render.engine = "CYCLES"
        scene.cycles.device = "CPU"
        scene.cycles.use_adaptive_sampling = False
        scene.cycles.use_denoising = False
        scene.cycles.use_animated_seed = False
        scene.cycles.pixel_filter_type = "GAUSSIAN"
        scene.cycles.max_bounces = 6
        scene.cycles.sample_clamp_indirect = 10.0
        scene.render.threads_mode = "FIXED"
        scene.render.threads = int(job["threads"])
        scene.render.resolution_percentage = 100
        scene.render.film_transparent = False
        scene.render.use_compositing = True
        scene.render.image_settings.file_format = "PNG"
        scene.render.image_settings.color_mode = "RGB"
        scene.render.image_settings.color_depth = "8"
        scene.render.image_settings.compression = 15
        scene.display_settings.display_device = "sRGB"
        scene.view_settings.view_transform = "Standard"
        scene.view_settings.look = "None"
        scene.view_settings.gamma = 1.0
        scene.sequencer_colorspace_settings.name = "sRGB"

        rig = job["rig"]
        cam = bpy.data.cameras.new("camera")
        cam.lens = rig["focal_length_mm"]
        cam.sensor_width = rig["sensor_width_mm"]
        cam.sensor_fit = "HORIZONTAL"
        cam.clip_start = 0.01
        cam.clip_end = 100.0
        self.camera = bpy.data.objects.new("camera", cam)
        self.camera.location = (0.0, 0.0, rig["focus_distance_m"])
        scene.collection.objects.link(self.camera)
        scene.camera = self.camera

        sun = bpy.data.lights.new("sun", "SUN")
        sun.angle = math.radians(2.0)
        self.sun = bpy.data.objects.new("sun", sun)
        scene.collection.objects.link(self.sun)

        scene.world = _world()
        self.backdrop_mat = _backdrop_material()
        bpy.ops.mesh.primitive_plane_add(size=1.0)
        self.backdrop = bpy.context.active_object
        self.backdrop.name = "backdrop"
        self.backdrop.data.materials.append(self.backdrop_mat)
        self.backdrop.pass_index = 0
        self.backdrop.visible_shadow = False
        self.materials: dict[str, bpy.types.Material] = {}
        self.links: list = []
        self.photo = None

        layer = scene.view_layers[0]
        layer.use_pass_object_index = True
        scene.use_nodes = True
        tree = scene.node_tree
        tree.nodes.clear()
        layers = tree.nodes.new("CompositorNodeRLayers")
        composite = tree.nodes.new("CompositorNodeComposite")
        tree.links.new(layers.outputs["Image"], composite.inputs["Image"])
        self.index_out = tree.nodes.new("CompositorNodeOutputFile")
        self.index_out.format.file_format = "OPEN_EXR"
        self.index_out.format.color_depth = "32"
        self.index_out.format.exr_codec = "ZIP"
        self.index_out.file_slots[0].path = "index_"
        tree.links.new(layers.outputs["IndexOB"], self.index_out.inputs[0])

    def _material(self, style: str, unit: float):
        key = f"{style}:{unit:.6g}"
        if key not in self.materials:
            self.materials[key] = _metal_material(style, unit)
        return self.materials[key]

    def _clear(self) -> None:
        for obj in self.links:
            mesh = obj.data
            bpy.data.objects.remove(obj, do_unlink=True)
            bpy.data.meshes.remove(mesh)
        self.links = []
        if self.photo is not None:
            bpy.data.images.remove(self.photo)
            self.photo = None

    def render(self, item: dict) -> None:
        self._clear()
        scene, phys, rig = self.scene, item["physical"], item["rig"]
        size = int(item["size"])
        scene.render.resolution_x = scene.render.resolution_y = size
        scene.cycles.samples = int(phys["samples"])
        scene.cycles.seed = int(item["seed"]) % (2**31)
        scene.cycles.filter_width = float(phys["filter_width_px"])
        scene.view_settings.exposure = float(phys["exposure_ev"])

        cam = self.camera.data
        cam.dof.use_dof = bool(phys["use_dof"])
        cam.dof.focus_distance = float(rig["focus_distance_m"])
        cam.dof.aperture_fstop = float(phys["fstop"]) if phys["use_dof"] else 128.0
        cam.dof.aperture_blades = 0

        tint = phys["tint_rgb"]
        world_tree = scene.world.node_tree
        world_tree.nodes["tint"].inputs[1].default_value = tint
        world_tree.nodes["background"].inputs["Strength"].default_value = float(phys["world_strength"])
        self.backdrop_mat.node_tree.nodes["tint"].inputs[1].default_value = tint
        sun = self.sun.data
        sun.energy = float(phys["sun_strength"])
        sun.color = tuple(min(1.0, t / max(tint)) for t in tint)
        sun.energy *= max(tint)
        towards = Vector(phys["sun_direction"])  # from the object towards the sun
        self.sun.rotation_euler = (-towards).to_track_quat("-Z", "Y").to_euler()

        # backdrop: a photo plane at the backdrop distance, wider than the view for the blur disc
        depth = float(rig["background_distance_m"]) - float(rig["focus_distance_m"])
        self.backdrop.location = (0.0, 0.0, -depth)
        self.backdrop.scale = (rig["backdrop_width_m"], rig["backdrop_width_m"], 1.0)
        self.photo = bpy.data.images.load(item["background_png"], check_existing=False)
        self.photo.colorspace_settings.name = "sRGB"
        self.backdrop_mat.node_tree.nodes["photo"].image = self.photo

        material = self._material(phys["texture"], float(item["unit_m"]))
        for k, link in enumerate(item["links"]):
            mesh = _tube_mesh(f"link{k}", link)
            mesh.materials.append(material)
            obj = bpy.data.objects.new(f"link{k}", mesh)
            obj.pass_index = k + 1
            scene.collection.objects.link(obj)
            self.links.append(obj)

        stem = item["stem"]
        base = os.path.join(self.folder, f"{stem}.work")
        os.makedirs(base, exist_ok=True)
        scene.render.filepath = os.path.join(base, "render.png")
        self.index_out.base_path = base
        scene.frame_set(1)
        bpy.ops.render.render(write_still=True)

        image = _read_image(os.path.join(base, "render.png"))[..., :3]
        index = _read_index(os.path.join(base, "index_0001.exr"))
        os.remove(os.path.join(base, "index_0001.exr"))

        # the mask: the object-index pass of one pinhole sample at each pixel centre (no depth of
        # field, a 0.01 px filter), i.e. which surface the pixel centre sees
        scene.render.filepath = os.path.join(base, "mask-render.png")
        scene.cycles.samples = 1
        scene.cycles.filter_width = 0.01
        cam.dof.use_dof = False
        bpy.ops.render.render(write_still=False)
        mask_index = _read_index(os.path.join(base, "index_0001.exr"))
        image = _sensor(image, float(phys["grain_sigma"]), int(item["seed"]))
        quality = int(phys["jpeg_quality"])
        if quality > 0:
            image = _jpeg(image, quality, os.path.join(base, "export.jpg"))
        np.save(os.path.join(self.folder, f"{stem}.image.npy"), image)
        np.save(os.path.join(self.folder, f"{stem}.index.npy"), index)
        np.save(os.path.join(self.folder, f"{stem}.mask.npy"), mask_index > 0)
        for name in os.listdir(base):
            os.remove(os.path.join(base, name))
        os.rmdir(base)


def _read_image(path: str) -> np.ndarray:
    """Pixels of an image file as float32 (H, W, C), top row first (Blender stores bottom-up).

    8-bit files come back as their stored values / 255 (no colour conversion).
    """
    img = bpy.data.images.load(path, check_existing=False)
    try:
        w, h = img.size
        buf = np.empty(w * h * img.channels, dtype=np.float32)
        img.pixels.foreach_get(buf)
        data = buf.reshape(h, w, img.channels)[::-1]
        if not img.is_float:
            data = np.rint(data * 255.0)
        return np.ascontiguousarray(data)
    finally:
        bpy.data.images.remove(img)


def _read_index(path: str) -> np.ndarray:
    """An object-index pass (EXR) as (H, W) uint8."""
    return np.rint(_read_image(path)[..., 0]).astype(np.uint8)


def _sensor(image: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """Sensor grain: Gaussian noise of ``sigma`` 8-bit levels per pixel and channel (the compositor step).

    The noise field is the scene seed's stream 5, as in the 2D scenes.
    """
    out = image.astype(np.float32)
    if sigma > 0:
        rng = np.random.default_rng(np.random.SeedSequence([seed, 5]))
        out += rng.standard_normal(out.shape, dtype=np.float32) * np.float32(sigma)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _jpeg(image: np.ndarray, quality: int, path: str) -> np.ndarray:
    """Export as JPEG at ``quality`` with Blender's image writer and read the decoded pixels back."""
    h, w = image.shape[:2]
    img = bpy.data.images.new("export", w, h, alpha=False)
    try:
        rgba = np.concatenate(
            [image[::-1].astype(np.float32) / 255.0, np.ones((h, w, 1), np.float32)], axis=2
        )
        img.pixels.foreach_set(rgba.ravel())
        img.file_format = "JPEG"
        img.save(filepath=path, quality=quality)
    finally:
        bpy.data.images.remove(img)
    return _read_image(path)[..., :3].astype(np.uint8)


def main(argv: list[str]) -> int:
    import bpy  # noqa: F401 - without bpy: "No module named 'bpy'", which gapviz reports as how to install it

    with open(argv[1]) as fh:
        job = json.load(fh)
    stage = _Stage(job)
    seconds, cpu_seconds = [], []
    for item in job["scenes"]:
        t0, c0 = time.perf_counter(), time.process_time()
        stage.render(item)
        seconds.append(time.perf_counter() - t0)
        cpu_seconds.append(time.process_time() - c0)
    with open(os.path.join(job["folder"], "result.json"), "w") as fh:
        json.dump({"seconds": seconds, "cpu_seconds": cpu_seconds, "blender": bpy.app.version_string}, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
