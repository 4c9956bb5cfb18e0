"""The gapviz side of the Blender engine: poses, physical settings, the job, the subprocess.

bpy (Blender 4.5 LTS as a Python module) needs numpy < 2 and TensorFlow needs numpy >= 2, so the
two cannot share an environment. This module never imports bpy: it writes a JSON job, runs
``_worker.py`` with a Python that has bpy (see `blender_python`), and reads back the images and
object-index passes.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gapviz._checks import check_int
from gapviz._errors import GapvizError
from gapviz.scenes._background import make_background
from gapviz.scenes._geometry import STREAM_LIGHT, draw_links, link_centres, stream
from gapviz.scenes._scene import Scene

#: environment variable naming a Python interpreter that has bpy
ENV_VAR = "GAPVIZ_BLENDER_PYTHON"
#: the virtual environment ``make blender`` creates, looked for in the working folder and the repository root
VENV = ".venv-blender"
#: Cycles samples per pixel when the caller gives none
DEFAULT_SAMPLES = 16

#: The camera rig of every Blender scene: a 100 mm lens on a full-frame sensor, focused on the links'
#: contact 1.2 m away (a 0.43 m wide view there), the photo backdrop 8 m away. The links are scaled
#: so that they fill the same share of the frame as in the 2D scenes; the long lens keeps their
#: perspective mild.
RIG: Mapping[str, float] = {
    "focal_length_mm": 100.0,
    "sensor_width_mm": 36.0,
    "focus_distance_m": 1.2,
    "background_distance_m": 8.0,
    "backdrop_margin": 1.3,  # backdrop width / field of view at its distance (room for the blur disc)
}

#: disc-to-Gaussian factor: a uniform blur disc of diameter c has a per-axis standard deviation of c / 4
DISC_TO_SIGMA = 0.25
#: Cycles' Gaussian pixel filter of width w has sigma w / 4 (film.cpp: width *= 3, then exp(-2 (6 x / 3w)^2))
FILTER_WIDTH_PER_SIGMA = 4.0
#: the pixel filter at resolution = 0: sigma 0.35 px (Gaussian width 1.4 px, about Blender's default
#: anti-aliasing), so a sharp render is not aliased
BASE_FILTER_SIGMA = 0.35
MAX_FILTER_WIDTH = 10.0  # Cycles' hard maximum
#: world (ambient) and sun strengths at lighting = 1 and 0
WORLD_STRENGTH = 0.25
SUN_STRENGTH = 1.2
SHADOW_LEVEL = 0.3  # world light left at lighting = 0, as the 2D scenes' sky fill
_SAMPLES_PER_LINK = 192  # centre-line points per link (24 vertices each around the wire)
_WORKER = Path(__file__).with_name("_worker.py")


class BlenderNotFoundError(GapvizError):
    """No Python with bpy was found for the Blender engine.

    Examples
    --------
    >>> import os
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {ENV_VAR: "/no/such/python"}):
    ...     try:
    ...         blender_python()
    ...     except BlenderNotFoundError as exc:
    ...         print(exc)
    GAPVIZ_BLENDER_PYTHON='/no/such/python' is not an executable file; the Blender engine needs a Python
    with bpy (Blender 4.5 LTS), ... run `make blender` ... or set GAPVIZ_BLENDER_PYTHON to a Python that
    has bpy
    >>> issubclass(BlenderNotFoundError, GapvizError)
    True
    """


def _install_hint(checked: Sequence[str]) -> str:
    where = "; checked " + ", ".join(checked) if checked else ""
    return (
        "the Blender engine needs a Python with bpy (Blender 4.5 LTS), kept in its own environment because bpy "
        f"needs numpy<2: run `make blender` (python3.11 -m venv {VENV} && {VENV}/bin/pip install 'bpy==4.5.*') "
        f"or set {ENV_VAR} to a Python that has bpy{where}"
    )


def _repo_root() -> Path | None:
    """The source tree gapviz runs from (editable install or ``PYTHONPATH=src``), if any."""
    repo = Path(__file__).resolve().parents[4]
    return repo if (repo / "pyproject.toml").exists() else None


def blender_python() -> str:
    """The Python interpreter the Blender engine runs.

    ``$GAPVIZ_BLENDER_PYTHON`` if set, else ``.venv-blender/bin/python`` in the working folder, else
    the same in the repository gapviz was installed from (editable installs and source trees).

    Raises
    ------
    BlenderNotFoundError
        When none exists; the message says how to install one.

    Examples
    --------
    Whether one is found depends on the machine (``make blender`` installs one), so check first:

    >>> try:
    ...     python = blender_python()
    ... except BlenderNotFoundError:
    ...     python = None  # no Blender engine here; the 2D scenes still work
    >>> python is None or os.access(python, os.X_OK)
    True
    """
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        if not os.path.isfile(env) or not os.access(env, os.X_OK):
            raise BlenderNotFoundError(f"{ENV_VAR}={env!r} is not an executable file; " + _install_hint([]))
        return env
    candidates = [Path.cwd() / VENV / "bin" / "python"]
    repo = _repo_root()
    if repo is not None:
        candidates.append(repo / VENV / "bin" / "python")
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    raise BlenderNotFoundError(_install_hint([f"${ENV_VAR}", *dict.fromkeys(str(p) for p in candidates)]))


def fstop_for_sigma(sigma_px: float, size: int, rig: Mapping[str, float] = RIG) -> float:
    """The f-number whose backdrop blur has a Gaussian-equivalent sigma of ``sigma_px`` at ``size`` px.

    Thin lens: a point at distance D, with the lens (focal length f) focused at S, is imaged as a
    disc of diameter c = f^2 / (N (S - f)) * (D - S) / D on the sensor; c / 4 is the disc's
    per-axis standard deviation (`DISC_TO_SIGMA`); the sensor width maps mm to px.

    Examples
    --------
    >>> round(fstop_for_sigma(3.0, 128), 3)
    2.29
    """
    f = rig["focal_length_mm"]
    s = rig["focus_distance_m"] * 1000.0
    d = rig["background_distance_m"] * 1000.0
    disc_mm = sigma_px / DISC_TO_SIGMA * rig["sensor_width_mm"] / size
    return f * f * (d - s) / ((s - f) * d * disc_mm)


def sigma_for_fstop(fstop: float, size: int, rig: Mapping[str, float] = RIG) -> float:
    """The inverse of `fstop_for_sigma`: backdrop blur sigma in px of an f-number.

    The blur is in pixels, so the same f-number blurs twice as many pixels at twice the size.

    Examples
    --------
    >>> round(sigma_for_fstop(fstop_for_sigma(3.0, 128), 128), 3)
    3.0
    >>> round(sigma_for_fstop(4.0, 128), 3), round(sigma_for_fstop(4.0, 256), 3)
    (1.717, 3.434)
    """
    return fstop_for_sigma(1.0, size, rig) / fstop


def check_samples(samples: Any) -> int:
    """``samples`` as an int, or `GapvizError` unless it is a Cycles sample count in [1, 4096].

    Examples
    --------
    >>> check_samples(16)
    16
    >>> try:
    ...     check_samples(0)
    ... except GapvizError as exc:
    ...     print(exc)
    Argument 'samples' must be an int in [1, 4096] but got 0; it is the Cycles samples per pixel
    """
    return check_int("samples", samples, low=1, high=4096, hint="it is the Cycles samples per pixel")


def physical_settings(
    settings: Mapping[str, Any], size: int, *, samples: int = DEFAULT_SAMPLES, rig: Mapping[str, float] = RIG
) -> dict[str, Any]:
    """The Blender settings that realise knob values (the recommendation vocabulary and its units).

    This one function maps both the presets and a recommendation's ``suggested`` amounts (which are
    in the same units) onto the 3D scene, each knob onto what a rendering team would set:

    * ``camera_focus`` (background Gaussian sigma, px at ``size``): depth of field on
      (``camera.data.dof.use_dof``), focused on the links' contact (``dof.focus_distance`` = the
      rig's focus distance), ``dof.aperture_fstop`` from the thin lens (`fstop_for_sigma`); 0 = no
      depth of field.
    * ``resolution`` (whole-image Gaussian sigma, px): Cycles' Gaussian pixel filter,
      ``cycles.filter_width`` = 4 sqrt(0.35^2 + sigma^2), capped at Blender's maximum of 10 px
      (sigma 2.5 px).
    * ``lighting`` (share of the light from the world): world strength 0.25 (0.3 + 0.7 lighting),
      sun strength 1.2 (1 - lighting), the sun from the scene seed's light direction; 1 = world
      light only (uniform ambient), 0 = the sun and 30 % of the world light.
    * ``exposure`` (EV): ``view_settings.exposure`` (Standard view transform).
    * ``color`` (white-balance cast c): the colour of every light and of the backdrop photo's emission,
      linear RGB gains 1 + 0.3c, 1 + 0.03c, 1 - 0.3c (the 2D scenes' white-balance gains).
    * ``sensor_noise`` (sigma, 8-bit levels): Gaussian grain added after the render, per pixel and
      channel, as a compositor or camera sensor does. Cycles' own sampling noise comes on top and
      falls with ``samples``.
    * ``compression`` (JPEG quality): the image is exported as JPEG at that quality; 0 = PNG.
    * ``texture``: the steel material's style (clean, scratched, rusty). ``background``: the
      backdrop photo's content (the same photos and clutter as the 2D scenes).

    Returns
    -------
    dict
        JSON-ready settings for the worker.

    Examples
    --------
    >>> from gapviz.scenes import resolve_settings
    >>> phys = physical_settings(resolve_settings("field"), 128)
    >>> phys["use_dof"], round(phys["fstop"], 2), round(phys["filter_width_px"], 2), phys["jpeg_quality"]
    (True, 2.29, 3.49, 80)
    """
    focus = float(settings["camera_focus"])
    softness = float(settings["resolution"])
    light = float(settings["lighting"])
    cast = float(settings["color"])
    check_samples(samples)
    width = FILTER_WIDTH_PER_SIGMA * math.hypot(BASE_FILTER_SIGMA, softness)
    return {
        "use_dof": focus > 0,
        "fstop": fstop_for_sigma(focus, size, rig) if focus > 0 else None,
        "filter_width_px": min(width, MAX_FILTER_WIDTH),
        "world_strength": WORLD_STRENGTH * (SHADOW_LEVEL + (1 - SHADOW_LEVEL) * light),
        "sun_strength": SUN_STRENGTH * (1 - light),
        "exposure_ev": float(settings["exposure"]),
        "tint_rgb": [1 + 0.3 * cast, 1 + 0.03 * cast, 1 - 0.3 * cast],
        "grain_sigma": float(settings["sensor_noise"]),
        "jpeg_quality": int(settings["compression"]),
        "texture": str(settings["texture"]),
        "samples": int(samples),
    }


@dataclass(frozen=True)
class _Pose:
    links: list[dict]
    wear: float
    unit_m: float
    light_theta: float


def pose(seed: int, size: int, *, wear: float | None = None, rig: Mapping[str, float] = RIG) -> _Pose:
    """The 3D links of scene ``seed`` in metres, in the camera's frame.

    The draws are those of `gapviz.scenes._geometry.build_geometry` in the same order, so a seed
    has the same wear label, proportions, hinge, roll, tilt, fill and framing in both engines.
    Image y points down in the 2D scenes and up in Blender's camera, so y is mirrored.

    Examples
    --------
    >>> from gapviz.scenes import render_scene
    >>> geo = pose(0, 128)
    >>> geo.wear, geo.wear == render_scene(0, size=64).wear  # the same wear label as the 2D scene
    (84.53, True)
    >>> len(geo.links), sorted(geo.links[0]), len(geo.links[0]["centres"])
    (2, ['binormal', 'centres', 'inward', 'radii', 'worn'], 192)
    >>> round(geo.unit_m, 5)  # metres per unit of the 2D geometry
    0.05209
    """
    d = draw_links(seed, wear)
    wear, wire, fill, place = d.wear, d.wire, d.fill, d.place
    omega = wear / 100.0
    n = _SAMPLES_PER_LINK
    centres, inward, bump, radii, contact = link_centres(d, n)
    rot = d.rotation
    centres, inward, contact = centres @ rot.T, inward @ rot.T, contact @ rot.T

    lo = (centres[:, :2] - wire).min(axis=0)
    hi = (centres[:, :2] + wire).max(axis=0)
    view_m = rig["focus_distance_m"] * rig["sensor_width_mm"] / rig["focal_length_mm"]
    unit_m = fill * view_m / float((hi - lo).max())
    target = 0.12 * place * view_m  # the joint's offset from the image centre, as in 2D
    flip = np.array([1.0, -1.0, 1.0])
    world = ((centres - contact) * unit_m + np.array([target[0], target[1], 0.0])) * flip
    inward_w = inward * flip
    links = []
    for k in range(2):
        c = world[k * n : (k + 1) * n]
        u = inward_w[k * n : (k + 1) * n]
        t = np.roll(c, -1, axis=0) - np.roll(c, 1, axis=0)
        t /= np.linalg.norm(t, axis=1, keepdims=True)
        u = u - np.sum(u * t, axis=1, keepdims=True) * t
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        links.append(
            {
                "centres": c.round(7).tolist(),
                "radii": (radii[k * n : (k + 1) * n] * unit_m).round(7).tolist(),
                "inward": u.round(7).tolist(),
                "binormal": np.cross(u, t).round(7).tolist(),  # u x t: faces wind outwards
                "worn": (omega * bump[k * n : (k + 1) * n]).round(6).tolist(),
            }
        )
    theta = float(stream(seed, STREAM_LIGHT).uniform(0, 2 * np.pi))
    return _Pose(links=links, wear=wear, unit_m=unit_m, light_theta=theta)


def _sun_direction(theta: float) -> list[float]:
    """Unit vector from the object towards the sun: the 2D scenes' key-light direction, y mirrored."""
    d = np.array([-0.75 * math.cos(theta), 0.75 * math.sin(theta), 0.66])
    return (d / np.linalg.norm(d)).tolist()


@dataclass(frozen=True, eq=False, repr=False)
class BlenderScene(Scene):
    """A `Scene` rendered by the Blender engine, with its object-index pass.

    Attributes
    ----------
    index : (H, W) uint8
        Cycles' object-index pass of the render: 0 the backdrop, 1 and 2 the two links (each pixel
        shows its first sample, so with depth of field its edges follow the lens sample). ``mask``
        is ``index > 0`` of a second, one-sample pinhole render through the pixel centres: the
        geometric mask, unaffected by depth of field and the pixel filter.

    Examples
    --------
    `render_requests` (and ``render_scene(..., engine="blender")``) return these. Built by hand here
    from a 2D scene, to show the fields without Blender:

    >>> from gapviz.scenes import Scene, render_scene
    >>> s = render_scene(7, size=64)
    >>> scene = BlenderScene(s.image, s.mask, s.wear, s.seed, s.preset, s.settings, s.background_content,
    ...                      index=s.mask.astype(np.uint8))
    >>> isinstance(scene, Scene), scene.index.shape, bool((scene.mask == (scene.index > 0)).all())
    (True, (64, 64), True)
    """

    index: np.ndarray | None = None


@dataclass(frozen=True)
class BlenderRequest:
    """One scene to render: seed, preset name, resolved knob settings, optional wear and samples.

    ``samples`` (Cycles samples per pixel) overrides the job's for this scene.

    Examples
    --------
    >>> from gapviz.scenes import resolve_settings
    >>> req = BlenderRequest(3, "field", resolve_settings("field"), samples=64)
    >>> req.seed, req.preset, req.settings["camera_focus"], req.wear, req.samples
    (3, 'field', 3.0, None, 64)

    A list of requests goes to `render_requests`, which renders them in one Blender process.
    """

    seed: int
    preset: str
    settings: Mapping[str, Any]
    wear: float | None = None
    samples: int | None = None


def _write_png(path: Path, image: np.ndarray) -> None:
    import cv2

    if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):  # pragma: no cover
        raise GapvizError(f"could not write the backdrop photo {str(path)!r}")


def render_requests(
    requests: Sequence[BlenderRequest],
    size: int,
    *,
    samples: int = DEFAULT_SAMPLES,
    threads: int | None = None,
    rig: Mapping[str, float] = RIG,
) -> tuple[list, dict[str, Any]]:
    """Render scenes in one Blender process.

    Returns
    -------
    (list of BlenderScene, dict)
        The scenes, in the order of ``requests``, and the timing: ``seconds`` and ``cpu_seconds``
        per scene inside Blender, ``wall`` for the whole process (start-up and bpy import included).

    Raises
    ------
    BlenderNotFoundError
        Without a Python that has bpy.
    GapvizError
        For bad settings, or when the Blender process fails (with its last error line).

    Examples
    --------
    One 64 px scene at 4 samples (about a second, most of it Blender's start; `make blender` installs
    the Python with bpy that `blender_python` finds):

    >>> from gapviz.scenes import resolve_settings
    >>> scenes, timing = render_requests([BlenderRequest(0, "dataset1", resolve_settings("dataset1"))], 64,
    ...                                  samples=4)
    >>> scenes[0].image.shape, scenes[0].image.dtype, bool(scenes[0].mask.any()), sorted(timing)
    ((64, 64, 3), dtype('uint8'), True, ['cpu_seconds', 'seconds', 'wall'])
    """
    python = blender_python()
    threads = int(threads or min(os.cpu_count() or 1, 4))
    backdrop_m = (
        rig["backdrop_margin"]
        * rig["background_distance_m"]
        * rig["sensor_width_mm"]
        / rig["focal_length_mm"]
    )
    rig_json = {**rig, "backdrop_width_m": backdrop_m}
    with tempfile.TemporaryDirectory(prefix="gapviz-blender-") as tmp:
        folder = Path(tmp)
        items, meta = _job_scenes(requests, size, samples, rig, rig_json, folder)
        job = {"folder": str(folder), "threads": threads, "rig": rig_json, "scenes": items}
        (folder / "job.json").write_text(json.dumps(job))
        wall = _run_worker(python, folder / "job.json")
        result = json.loads((folder / "result.json").read_text())
        scenes = _read_scenes(folder, meta)
    return scenes, {
        "seconds": list(result["seconds"]),
        "cpu_seconds": list(result["cpu_seconds"]),
        "wall": wall,
    }


def _job_scenes(
    requests: Sequence[BlenderRequest],
    size: int,
    samples: int,
    rig: Mapping[str, float],
    rig_json: dict[str, Any],
    folder: Path,
) -> tuple[list[dict[str, Any]], list[tuple]]:
    """The job's scene entries, and ``(stem, request, wear, background content)`` per scene to read them back.

    Each backdrop photo (one per seed and background content) is written once into ``folder``.
    """
    bg_px = int(math.ceil(2 * rig["backdrop_margin"] * size))
    items, meta, backgrounds = [], [], {}
    for k, req in enumerate(requests):
        key = (req.seed, req.settings["background"])
        if key not in backgrounds:
            image, content = make_background(req.seed, bg_px, req.settings["background"])
            path = folder / f"background_{len(backgrounds)}.png"
            _write_png(path, np.clip(np.rint(image * 255), 0, 255).astype(np.uint8))
            backgrounds[key] = (str(path), content)
        bg_path, content = backgrounds[key]
        geo = pose(req.seed, size, wear=req.wear, rig=rig)
        phys = physical_settings(
            req.settings, size, samples=samples if req.samples is None else req.samples, rig=rig
        )
        phys["sun_direction"] = _sun_direction(geo.light_theta)
        stem = f"scene{k:05d}"
        items.append(
            {
                "stem": stem,
                "seed": int(req.seed),
                "size": int(size),
                "physical": phys,
                "rig": rig_json,
                "background_png": bg_path,
                "links": geo.links,
                "unit_m": geo.unit_m,
            }
        )
        meta.append((stem, req, geo.wear, content))
    return items, meta


def _run_worker(python: str, job: Path) -> float:
    """Run the Blender worker on ``job``; its wall time in seconds, or the error of its last output line."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [python, str(_WORKER), str(job)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()
        if any("No module named 'bpy'" in line for line in tail):
            raise BlenderNotFoundError(f"{python} has no bpy; " + _install_hint([]))
        last = tail[-1] if tail else f"exit status {proc.returncode}"
        raise GapvizError(f"the Blender worker ({python}) failed: {last}")
    return time.perf_counter() - t0


def _read_scenes(folder: Path, meta: list[tuple]) -> list[BlenderScene]:
    """The worker's images, object-index passes and masks in ``folder`` as read-only `BlenderScene` objects."""
    scenes = []
    for stem, req, wear, content in meta:
        image = np.load(folder / f"{stem}.image.npy")
        index = np.load(folder / f"{stem}.index.npy")
        mask = np.load(folder / f"{stem}.mask.npy")
        image.setflags(write=False)
        mask.setflags(write=False)
        index.setflags(write=False)
        scenes.append(
            BlenderScene(image, mask, wear, int(req.seed), req.preset, dict(req.settings), content, index)
        )
    return scenes


#: which knob each Blender property realises (for reports of what a recommendation changes)
PROPERTY_KNOB = {
    "camera.data.dof.use_dof": "camera_focus",
    "camera.data.dof.aperture_fstop": "camera_focus",
    "camera.data.dof.focus_distance": "camera_focus",
    "scene.cycles.filter_width": "resolution",
    "world.node_tree.nodes['Background'].inputs['Strength']": "lighting",
    "sun.data.energy": "lighting",
    "scene.view_settings.exposure": "exposure",
    "light and backdrop colour (linear RGB gains)": "color",
    "compositor grain sigma (8-bit levels)": "sensor_noise",
    "scene.render.image_settings.quality (JPEG)": "compression",
    "material style": "texture",
    "scene.cycles.samples": "",
}


def blender_properties(phys: Mapping[str, Any], rig: Mapping[str, float] = RIG) -> dict[str, Any]:
    """`physical_settings` output as Blender property paths and values (``None`` = off / not used).

    Examples
    --------
    >>> from gapviz.scenes import resolve_settings
    >>> props = blender_properties(physical_settings(resolve_settings("field"), 128))
    >>> props["camera.data.dof.aperture_fstop"], props["scene.cycles.filter_width"], props["sun.data.energy"]
    (2.29, 3.493, 0.6)
    >>> PROPERTY_KNOB["camera.data.dof.aperture_fstop"]
    'camera_focus'
    """
    return {
        "camera.data.dof.use_dof": bool(phys["use_dof"]),
        "camera.data.dof.aperture_fstop": None if phys["fstop"] is None else round(float(phys["fstop"]), 3),
        "camera.data.dof.focus_distance": rig["focus_distance_m"] if phys["use_dof"] else None,
        "scene.cycles.filter_width": round(float(phys["filter_width_px"]), 3),
        "world.node_tree.nodes['Background'].inputs['Strength']": round(float(phys["world_strength"]), 3),
        "sun.data.energy": round(float(phys["sun_strength"]), 3),
        "scene.view_settings.exposure": round(float(phys["exposure_ev"]), 3),
        "light and backdrop colour (linear RGB gains)": [round(float(g), 4) for g in phys["tint_rgb"]],
        "compositor grain sigma (8-bit levels)": round(float(phys["grain_sigma"]), 3),
        "scene.render.image_settings.quality (JPEG)": int(phys["jpeg_quality"]) or None,
        "material style": phys["texture"],
        "scene.cycles.samples": int(phys["samples"]),
    }


def camera_profile(size: int, phys: Mapping[str, Any] | None = None, rig: Mapping[str, float] = RIG) -> dict:
    """The scene camera as a camera profile (engine, lens, sensor, distances, render width, settings).

    The fields of the camera-profile JSON that renderer-settings recommendations read; ``fstop`` is
    None when depth of field is off.

    Examples
    --------
    >>> from gapviz.scenes import resolve_settings
    >>> camera_profile(128, physical_settings(resolve_settings("field"), 128))
    {'engine': 'blender', 'focal_length_mm': 100.0, 'sensor_width_mm': 36.0, 'focus_distance_m': 1.2,
     'background_distance_m': 8.0, 'image_width_px': 128, 'resolution_percentage': 100, 'fstop': 2.29,
     'samples': 16, 'exposure_ev': -0.3}
    """
    profile: dict[str, Any] = {
        "engine": "blender",
        "focal_length_mm": rig["focal_length_mm"],
        "sensor_width_mm": rig["sensor_width_mm"],
        "focus_distance_m": rig["focus_distance_m"],
        "background_distance_m": rig["background_distance_m"],
        "image_width_px": int(size),
        "resolution_percentage": 100,
    }
    if phys is not None:
        profile.update(
            {
                "fstop": None if phys["fstop"] is None else round(float(phys["fstop"]), 3),
                "samples": int(phys["samples"]),
                "exposure_ev": float(phys["exposure_ev"]),
            }
        )
    return profile
