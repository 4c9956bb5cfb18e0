"""Recommendations said in the renderer's own settings (Blender, Unreal), from a camera profile.

`renderer_settings_for` turns one recommendation into concrete engine properties with their
values, units and the derivation behind them, plus a Python snippet that sets them (``bpy`` for
Blender, the Unreal Editor's ``unreal`` module). Knobs without an amount (lighting, texture,
background) get the property to change and the direction. `with_renderer_settings` adds the result
to every recommendation as ``renderer_settings``; `renderer_settings` does the same to a finished
`GapResult`. Optics in `gapviz.recommend._camera`; formulas, measured mappings and assumptions in
docs/recommendations.md, "Renderer settings".

An amount is what the calibration adds on top of the current render, in px at the analysed image
size (`gapviz.scenes` knob units). A recommendation whose ``direction`` is ``"reverse"`` or whose
amount is negative asks for *less* of the knob's effect (renders blurrier, softer or noisier than
the photos): the translation then reduces it from the profile's current settings.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gapviz._errors import GapvizError
from gapviz.recommend._camera import CameraProfile, fstop_for_sigma_px, load_camera
from gapviz.recommend._recommendation import Recommendation

__all__ = [
    "BLENDER_FILTER_SIGMA_PER_PX",
    "BLENDER_WHITE_BALANCE",
    "RENDER_SCALE_SIGMA",
    "blender_script",
    "combined_script",
    "format_settings",
    "renderer_settings",
    "renderer_settings_for",
    "unreal_script",
    "with_renderer_settings",
]

#: Cycles pixel filter: Gaussian-equivalent sigma per px of ``filter_width`` (Blackman-Harris, the
#: default), the mean of sigma / width over widths 2-6 px measured on a rendered edge in Blender 4.5.15
#: (scripts/blender_measure_settings.py: 0.442, 0.683, 0.908, 1.363 px at widths 2, 3, 4, 6)
BLENDER_FILTER_SIGMA_PER_PX = 0.226
#: Blender's defaults where the profile gives no current value
_BLENDER_FILTER_WIDTH = 1.5
_BLENDER_KELVIN = 6500.0
#: Blender ``view_settings.white_balance_temperature`` (K) -> red/blue gain in gapviz's linear light
#: (8-bit / 255 to the power 2.2) relative to 6500 K, measured on a grey emitter in Blender 4.5.15
#: (scripts/blender_measure_settings.py; at 3000 K the blue channel clips, so the table starts at 4000 K)
BLENDER_WHITE_BALANCE = ((4000, 0.0839), (5000, 0.3295), (5500, 0.5183), (6000, 0.7438), (6500, 1.0),
                         (7000, 1.2794), (8000, 1.8869), (10000, 3.1521), (12000, 4.338))  # fmt: skip
#: blur below this many rendered px sigma is no depth of field worth keeping (as `NEGLIGIBLE` in the rules)
_NO_BLUR_PX = 0.3
#: CineCamera's default LensSettings.MinFStop: CurrentAperture is clamped to it
_UNREAL_MIN_FSTOP = 1.2


def _setting(prop: str, value: Any = None, *, unit: str | None = None, change: str = "set",
             alternative: bool = False, code: str | None = None) -> dict:  # fmt: skip
    """One engine property: ``value`` None means only the direction (``change``) is known."""
    item = {"property": prop, "value": value, "unit": unit, "change": change}
    if alternative:
        item["alternative"] = True
    if code:
        item["code"] = code
    return item


def _rounded(x: float, digits: int = 3) -> float:
    return float(f"{x:.{digits}g}")


def _amount(rec: Mapping) -> tuple[float | None, bool]:
    """(|suggested| or None, whether the recommendation asks for less of the knob's effect)."""
    suggested = rec.get("suggested")
    value = None if suggested is None else float(suggested)
    reduce = rec.get("direction") == "reverse" or (value is not None and value < 0)
    return (None if value is None else abs(value)), reduce


def _render_px(amount: float, camera: CameraProfile, analysis_width: int | None) -> float:
    """An amount in px at the analysed size, in px of the rendered image."""
    return amount * camera.image_width_px / analysis_width if analysis_width else amount


def _scale_note(camera: CameraProfile, analysis_width: int | None) -> str:
    if not analysis_width or analysis_width == camera.image_width_px:
        return ""
    return f" (x {camera.image_width_px}/{analysis_width} from the analysed {analysis_width} px to the rendered width)"


# -- per knob --------------------------------------------------------------------------------------
def _camera_focus(rec: Mapping, cam: CameraProfile, width: int | None) -> tuple[list, list, str]:
    amount, reduce = _amount(rec)
    blender, unreal = cam.engine == "blender", cam.engine == "unreal"
    notes: list[str] = []
    s_m = cam.focus_distance_m
    sigma_now = cam.sigma_px(cam.fstop)
    geometry = ([_setting("scene.camera.data.lens", cam.focal_length_mm, unit="mm"),
                 _setting("scene.camera.data.sensor_fit", "HORIZONTAL"),
                 _setting("scene.camera.data.sensor_width", cam.sensor_width_mm, unit="mm")] if blender else
                [_setting("CineCameraComponent.CurrentFocalLength", cam.focal_length_mm, unit="mm"),
                 _setting("CineCameraComponent.Filmback.SensorWidth", cam.sensor_width_mm, unit="mm")])  # fmt: skip
    focus = ([_setting("scene.camera.data.dof.focus_distance", s_m, unit="m")] if blender else
             [_setting("CineCameraComponent.FocusSettings.FocusMethod", "Manual"),
              _setting("CineCameraComponent.FocusSettings.ManualFocusDistance", _rounded(s_m * 100, 6), unit="cm")])
    fstop_prop = "scene.camera.data.dof.aperture_fstop" if blender else "CineCameraComponent.CurrentAperture"
    dof_on = [_setting("scene.camera.data.dof.use_dof", True)] if blender else []
    bg = "infinity" if cam.background_distance_m is None else f"{cam.background_distance_m:g} m"
    now = f"f/{cam.fstop:g} now gives {sigma_now:.2f} px" if cam.fstop else "depth of field off now (0 px)"
    if amount is None:
        if reduce:
            target = [_setting(fstop_prop, None, unit="f-number", change="raise")]
            if blender:
                target.append(_setting("scene.camera.data.dof.use_dof", False, alternative=True))
            return target, ["no calibrated amount: raise the f-number until the backdrop is as sharp as in the "
                            "photos"], "renders' backgrounds blurrier than the photos', no amount"  # fmt: skip
        return dof_on + focus + [_setting(fstop_prop, None, unit="f-number", change="lower")] + geometry, \
            ["no calibrated amount: lower the f-number until the backdrop is as soft as in the photos"], \
            "no amount"  # fmt: skip
    add_px = _render_px(amount, cam, width)
    if reduce:
        if not cam.fstop:
            return ([_setting(fstop_prop, None, unit="f-number", change="raise")],
                    ["the renders' backgrounds are blurrier than the photos', but the profile gives no current "
                     "'fstop'; add it to the camera profile for a number"],
                    f"remove {add_px:.2f} px sigma")  # fmt: skip
        target_sq = sigma_now**2 - add_px**2
    else:
        target_sq = sigma_now**2 + add_px**2
    derivation = (f"{'remove' if reduce else 'add'} {amount:.2f} px sigma at the analysed size = {add_px:.2f} px "
                  f"rendered{_scale_note(cam, width)}; {now}; blurs add in variance")  # fmt: skip
    if target_sq <= _NO_BLUR_PX**2:
        derivation += f" -> {math.sqrt(max(target_sq, 0.0)):.2f} px: depth of field off"
        off = [_setting("scene.camera.data.dof.use_dof", False)] if blender else \
            [_setting(fstop_prop, 22.0, unit="f-number"),
             _setting("CineCameraComponent.FocusSettings.FocusMethod", "Disable", alternative=True)]  # fmt: skip
        return off, notes, derivation
    sigma = math.sqrt(target_sq)
    n = fstop_for_sigma_px(sigma, cam.focal_length_mm, s_m, cam.background_distance_m, cam.sensor_width_mm,
                           cam.image_width_px)  # fmt: skip
    disc = 4 * sigma / cam.px_per_mm
    derivation += (f" -> {sigma:.2f} px = {disc:.3f} mm blur disc on the {cam.sensor_width_mm:g} mm sensor "
                   f"(sigma = disc / 4) -> N = f^2 / (c (S - f)) * (D - S) / D = f/{n:.2f} "
                   f"(f = {cam.focal_length_mm:g} mm, S = {s_m:g} m, D = {bg})")  # fmt: skip
    settings = dof_on + focus + [_setting(fstop_prop, _rounded(n), unit="f-number",
                                          change="raise" if cam.fstop and n > cam.fstop else
                                          "lower" if cam.fstop else "set")] + geometry  # fmt: skip
    if unreal and n < _UNREAL_MIN_FSTOP:
        settings.append(_setting("CineCameraComponent.LensSettings.MinFStop", _rounded(n), unit="f-number"))
        notes.append(f"f/{n:.2f} is below the CineCamera's default minimum f-stop (1.2), so the lens minimum is "
                     "lowered too")  # fmt: skip
    if n < 1.0:
        notes.append(f"f/{n:.2f} is wider than real lenses: the renderer accepts it, but a farther backdrop or a "
                     "longer lens gives the same blur at a realistic aperture")  # fmt: skip
    return settings, notes, derivation


def _filter_sigma(width: float) -> float:
    return BLENDER_FILTER_SIGMA_PER_PX * width


#: render scale factor k (render at 100/k %, scale back up with linear interpolation) -> the lens softness
#: sigma (px at full size) with the same relative object Laplacian variance, the ``resolution`` knob's
#: statistic; measured on 8 built-in scenes at 256 px (scripts/measure_render_scale.py); k = 1 is no change
RENDER_SCALE_SIGMA = ((1.0, 0.0), (1.25, 0.659), (1.5, 0.746), (2.0, 0.931), (3.0, 1.288), (4.0, 1.579),
                      (6.0, 1.871), (8.0, 2.578))  # fmt: skip


def _sigma_for_scale(k: float) -> float:
    ks, sigmas = zip(*RENDER_SCALE_SIGMA, strict=True)
    return float(np.interp(k, ks, sigmas))


def _scale_for_sigma(sigma: float) -> float:
    """Render-scale factor k whose softening has sigma ``sigma`` (`RENDER_SCALE_SIGMA`, interpolated)."""
    ks, sigmas = zip(*RENDER_SCALE_SIGMA, strict=True)
    return float(np.interp(sigma, sigmas, ks))


def _resolution(rec: Mapping, cam: CameraProfile, width: int | None) -> tuple[list, list, str]:
    amount, reduce = _amount(rec)
    blender = cam.engine == "blender"
    pct_now = cam.resolution_percentage or 100.0
    pct_prop = "scene.render.resolution_percentage" if blender else "r.ScreenPercentage"
    if amount is None:
        change = "raise" if reduce else "lower"
        items = [_setting(pct_prop, None, unit="%", change=change)]
        if blender:
            items.append(_setting("scene.cycles.filter_width", None, unit="px", change="lower" if reduce else "raise"))
        return items, ["no calibrated amount"], "no amount"
    add_px = _render_px(amount, cam, width)
    notes: list[str] = []
    derivation = f"{'remove' if reduce else 'add'} {amount:.2f} px sigma = {add_px:.2f} px rendered{_scale_note(cam, width)}"
    items = []
    if blender:
        w_now = cam.filter_width or _BLENDER_FILTER_WIDTH
        s_now = _filter_sigma(w_now)
        target_sq = s_now**2 - add_px**2 if reduce else s_now**2 + add_px**2
        w_new = math.sqrt(max(target_sq, 0.0)) / BLENDER_FILTER_SIGMA_PER_PX
        derivation += (f"; Cycles filter sigma = {BLENDER_FILTER_SIGMA_PER_PX} x width (measured), "
                       f"width {w_now:g} px now = {s_now:.2f} px")  # fmt: skip
        capped = w_new > 10.0
        if capped:
            notes.append(f"a filter width of {w_new:.1f} px exceeds Cycles' maximum of 10 px: the render scale is "
                         "the setting to use")  # fmt: skip
            w_new = 10.0
        w_new = max(w_new, 0.01)
        derivation += f" -> filter_width {w_new:.2f} px"
        items.append(_setting("scene.cycles.filter_width", _rounded(w_new), unit="px",
                              change="lower" if reduce else "raise", alternative=capped))  # fmt: skip
    primary = not blender or bool(items and items[0].get("alternative"))
    k_now = 100.0 / min(pct_now, 100.0)
    s_scale = _sigma_for_scale(k_now)
    if reduce:
        if pct_now >= 100:
            items.append(_setting(pct_prop, None, unit="%", change="raise", alternative=not primary))
            notes.append("already rendered at full scale: supersample (a scale above 100 % and a downscale) or "
                         "remove post-process softening")  # fmt: skip
            return items, notes, derivation
        target = math.sqrt(max(s_scale**2 - add_px**2, 0.0))
    else:
        target = math.sqrt(s_scale**2 + add_px**2)
    k = _scale_for_sigma(target)
    pct = 100.0 / k
    derivation += (f"; or a render scale: {pct_now:g} % now = {s_scale:.2f} px, {target:.2f} px at 1/{k:.2f} "
                   f"= {pct:.0f} % (measured render-scale table)")  # fmt: skip
    if target > RENDER_SCALE_SIGMA[-1][1]:
        notes.append(f"{target:.2f} px is beyond the measured render scales (up to 1/{RENDER_SCALE_SIGMA[-1][0]:g}): "
                     "add the softness in post instead")  # fmt: skip
    # Blender's resolution_percentage is an integer property
    pct_value = max(1, int(round(pct))) if blender else _rounded(pct, 3)
    items.append(_setting(pct_prop, pct_value, unit="%", change="raise" if reduce else "lower",
                          alternative=not primary))  # fmt: skip
    notes.append("a render scale below 100 % means rendering smaller and scaling back up to image_width_px with linear "
                 "interpolation" + ("" if blender else "; TSR/TAA upscaling is sharper, so start there and check"))
    return items, notes, derivation


def _exposure(rec: Mapping, cam: CameraProfile, width: int | None) -> tuple[list, list, str]:
    suggested = rec.get("suggested")
    prop = "scene.view_settings.exposure" if cam.engine == "blender" else "PostProcessSettings.AutoExposureBias"
    now = cam.exposure_ev or 0.0
    if suggested is None:
        # the action's own words give the direction: brighter renders need lower exposure
        change = "raise" if rec.get("direction") == "reverse" else "lower"
        return [_setting(prop, None, unit="EV", change=change)], ["no calibrated amount"], "no amount"
    new = now + float(suggested)
    derivation = f"{now:+.2f} EV now {float(suggested):+.2f} EV -> {new:+.2f} EV (2^EV on linear light, as gapviz's operator)"
    return [_setting(prop, _rounded(new), unit="EV", change="raise" if suggested > 0 else "lower")], [], derivation


def _kelvin_for_gain(gain: float) -> float:
    kelvin, gains = zip(*BLENDER_WHITE_BALANCE, strict=True)
    return float(np.interp(math.log(gain), np.log(gains), kelvin))


def _gain_for_kelvin(k: float) -> float:
    kelvin, gains = zip(*BLENDER_WHITE_BALANCE, strict=True)
    return float(math.exp(np.interp(k, kelvin, np.log(gains))))


def _color(rec: Mapping, cam: CameraProfile, width: int | None) -> tuple[list, list, str]:
    suggested = rec.get("suggested")
    blender = cam.engine == "blender"
    prop = "scene.view_settings.white_balance_temperature" if blender else "PostProcessSettings.WhiteTemp"
    enable = [_setting("scene.view_settings.use_white_balance", True)] if blender else []
    now = cam.white_balance_kelvin or _BLENDER_KELVIN
    if suggested is None:
        warmer = rec.get("direction") != "reverse"
        return enable + [_setting(prop, None, unit="K", change="raise" if warmer else "lower")], \
            ["no calibrated amount; a higher temperature renders warmer"], "no amount"  # fmt: skip
    cast = float(suggested)
    gain = (1 + 0.3 * cast) / (1 - 0.3 * cast)
    lo, hi = BLENDER_WHITE_BALANCE[0][0], BLENDER_WHITE_BALANCE[-1][0]
    target = _gain_for_kelvin(min(max(now, lo), hi)) * gain
    new = _kelvin_for_gain(target)
    derivation = (f"cast {cast:+.2f} = red/blue gain {gain:.3f} in linear light (gapviz's colour operator); "
                  f"Blender's measured white-balance curve: {now:.0f} K -> {new:.0f} K")  # fmt: skip
    notes = []
    if not blender:
        notes.append("Unreal's WhiteTemp is set from Blender's measured curve (not measured in Unreal): a higher "
                     "value renders warmer there too; check the cast in a test frame")  # fmt: skip
    if new in (lo, hi):
        notes.append(f"the cast is beyond the measured range ({lo}-{hi} K): grade the colour in post instead")
    return enable + [_setting(prop, round(new), unit="K", change="raise" if new > now else "lower")], notes, derivation


def _sensor_noise(rec: Mapping, cam: CameraProfile, width: int | None) -> tuple[list, list, str]:
    amount, reduce = _amount(rec)
    blender = cam.engine == "blender"
    evidence = (rec.get("evidence") or [{}])[0]
    real, synth = evidence.get("real"), evidence.get("synth")
    items, notes = [], []
    derivation = "no amount"
    if reduce:
        if blender and cam.samples and real and synth and synth > real:
            new = cam.samples * (synth / real) ** 2
            items.append(_setting("scene.cycles.samples", int(math.ceil(new)), unit="samples", change="raise"))
            derivation = (f"Monte Carlo noise ~ 1/sqrt(samples): {cam.samples} x ({synth:.3g} / {real:.3g})^2 "
                          f"= {new:.0f} samples")  # fmt: skip
        else:
            items.append(_setting("scene.cycles.samples" if blender else "r.PathTracing.SamplesPerPixel", None,
                                  unit="samples", change="raise"))  # fmt: skip
        if blender:
            items.append(_setting("scene.cycles.use_denoising", True, alternative=True))
        else:
            items.append(_setting("PostProcessSettings.FilmGrainIntensity", 0.0, change="lower"))
            notes.append("FilmGrainIntensity is Unreal Engine 5.1+; in UE4 the film grain is GrainIntensity")
        return items, notes, derivation
    if amount is None:
        return [_setting("post: Gaussian noise sigma on the saved 8-bit images", None, unit="grey levels",
                         change="raise")], ["no calibrated amount"], derivation  # fmt: skip
    add = amount  # grey levels do not scale with the image size
    code = (f"image = np.clip(np.rint(image + np.random.default_rng(i).normal(0, {_rounded(add)}, image.shape)), 0, "
            "255).astype(np.uint8)  # after rendering, per 8-bit RGB image i: the Gaussian noise gapviz calibrated")  # fmt: skip
    items.append(_setting("post: Gaussian noise sigma on the saved 8-bit images", _rounded(add), unit="grey levels",
                          code=code))  # fmt: skip
    derivation = f"Gaussian noise sigma {add:.2f} grey levels (8-bit) added to the saved renders"
    if blender:
        if cam.samples and synth is not None and synth > 0:
            target = math.sqrt(synth**2 + add**2)
            new = max(1, int(round(cam.samples * (synth / target) ** 2)))
            items.append(_setting("scene.cycles.samples", new, unit="samples", change="lower", alternative=True))
            items.append(_setting("scene.cycles.use_denoising", False, alternative=True))
            derivation += (f"; or fewer samples with the denoiser off, if the renders' noise ({synth:.3g}) is Monte "
                           f"Carlo noise: {cam.samples} x ({synth:.3g} / {target:.3g})^2 = {new}")  # fmt: skip
            notes.append("Cycles noise is not Gaussian and varies with the light paths: the fewer-samples route is "
                         "approximate, the post-step is exact")  # fmt: skip
    else:
        items.append(_setting("PostProcessSettings.FilmGrainIntensity", None, change="raise", alternative=True))
        notes.append("Unreal's film grain (UE 5.1+) has no measured mapping to a noise sigma: the post-step is exact")
    return items, notes, derivation


def _compression(rec: Mapping, cam: CameraProfile, width: int | None) -> tuple[list, list, str]:
    amount, reduce = _amount(rec)
    blender = cam.engine == "blender"
    if reduce:
        items = ([_setting("scene.render.image_settings.file_format", "PNG")] if blender else
                 [_setting("export: lossless (PNG or EXR image sequence)", "PNG")])  # fmt: skip
        return items, [], "save losslessly"
    if amount is None:
        return [_setting("scene.render.image_settings.quality" if blender else "export: JPEG quality", None,
                         change="lower")], ["no calibrated amount"], "no amount"  # fmt: skip
    q = int(round(amount))
    if blender:
        items = [_setting("scene.render.image_settings.file_format", "JPEG"),
                 _setting("scene.render.image_settings.quality", q, unit="JPEG quality")]  # fmt: skip
    else:
        code = (f"PIL.Image.open(png_path).convert('RGB').save(jpg_path, quality={q})  # after rendering: Movie "
                "Render Queue's JPEG writer has no quality setting")  # fmt: skip
        items = [_setting("export: JPEG quality", q, unit="JPEG quality", code=code)]
    return items, [], f"JPEG at quality {q} (gapviz's operator: OpenCV's baseline JPEG, 4:2:0)"


_DIRECTION_ONLY = {
    # knob -> engine -> [(property, change when the renders need more of the knob's effect)]
    "lighting": {
        "blender": [("bpy.data.lights[KEY].energy", "raise"),
                    ("scene.world.node_tree.nodes['Background'].inputs['Strength'].default_value", "lower")],
        "unreal": [("DirectionalLight.Intensity", "raise"), ("SkyLight.Intensity", "lower")],
    },
    "texture": {
        "blender": [("material Principled BSDF Roughness: drive with a noise or scratch texture", "raise"),
                    ("material Bump node Strength (normal detail)", "raise")],
        "unreal": [("Material Roughness: a scratch/wear texture", "raise"),
                   ("Material Normal: a detail normal map", "raise")],
    },
    "background": {
        "blender": [("backdrop: world Environment Texture (HDRI) or the backdrop plane's image", "raise")],
        "unreal": [("backdrop: HDRIBackdrop Cubemap or the backdrop mesh's texture", "raise")],
    },
}
_DIRECTION_NOTES = {
    "lighting": "a directional key light that leaves part of the object in shadow, less uniform ambient light",
    "texture": "more surface detail on the object (scratches, rust, wear)",
    "background": "more varied, cluttered backdrop content",
}
_OPPOSITE = {"raise": "lower", "lower": "raise"}
#: knobs whose amount carries its own sign (the others: an amount of the knob's effect, more or less of it)
_SIGNED = ("exposure", "color")


def _direction_only(rec: Mapping, cam: CameraProfile, width: int | None) -> tuple[list, list, str]:
    knob = rec["knob"]
    reverse = rec.get("direction") == "reverse"
    items = [_setting(prop, None, change=_OPPOSITE[change] if reverse else change)
             for prop, change in _DIRECTION_ONLY[knob][cam.engine]]  # fmt: skip
    note = ("the opposite of: " if reverse else "") + _DIRECTION_NOTES[knob]
    return items, [note + "; no image operator measures an amount for this knob"], "direction only"


_TRANSLATE = {
    "camera_focus": _camera_focus,
    "resolution": _resolution,
    "exposure": _exposure,
    "color": _color,
    "sensor_noise": _sensor_noise,
    "compression": _compression,
    "lighting": _direction_only,
    "texture": _direction_only,
    "background": _direction_only,
}


# -- snippets --------------------------------------------------------------------------------------
def _literal(value: Any) -> str:
    return repr(value)


def blender_script(settings: Sequence[Mapping]) -> str:
    """A ``bpy`` script setting every ``scene.``-property with a value (alternatives and the rest as comments)."""
    lines = ["import bpy", "", "scene = bpy.context.scene"]
    for item in settings:
        prop, value = item["property"], item["value"]
        if item.get("code"):
            lines.append("# " + item["code"])
        elif prop.startswith("scene.") and value is not None and not item.get("alternative"):
            lines.append(f"{prop} = {_literal(value)}")
        elif value is not None:
            lines.append(f"# alternative: {prop} = {_literal(value)}" if item.get("alternative") else
                         f"# {prop} = {_literal(value)}")  # fmt: skip
        else:
            lines.append(f"# {item['change']}: {prop}")
    return "\n".join(lines) + "\n"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


_UNREAL_ENUMS = {"FocusMethod": "unreal.CameraFocusMethod"}
_UNREAL_HEAD = '''import unreal


def _cine_camera():
    """The CineCameraComponent of the selected CineCameraActor."""
    try:
        actors = unreal.get_editor_subsystem(unreal.EditorActorSubsystem).get_selected_level_actors()
    except AttributeError:  # Unreal Engine 4
        actors = unreal.EditorLevelLibrary.get_selected_level_actors()
    cameras = [a for a in actors if isinstance(a, unreal.CineCameraActor)]
    if not cameras:
        raise RuntimeError("select the CineCameraActor to change in the level first")
    return cameras[0].get_cine_camera_component()


camera = _cine_camera()
'''


def unreal_script(settings: Sequence[Mapping]) -> str:
    """An Unreal Editor Python script setting every CineCamera, post-process and console setting with a value."""
    lines = [_UNREAL_HEAD.rstrip("\n")]
    structs: dict[str, list[tuple[str, Any]]] = {}
    post: list[tuple[str, Any]] = []
    for item in settings:
        prop, value = item["property"], item["value"]
        if item.get("code"):
            lines.append("# " + item["code"])
            continue
        if value is None or item.get("alternative"):
            lines.append(f"# alternative: {prop} = {_literal(value)}" if value is not None else
                         f"# {item['change']}: {prop}")  # fmt: skip
            continue
        parts = prop.split(".")
        if parts[0] == "CineCameraComponent" and len(parts) == 2:
            lines.append(f"camera.set_editor_property({_snake(parts[1])!r}, {_literal(value)})")
        elif parts[0] == "CineCameraComponent" and len(parts) == 3:
            structs.setdefault(parts[1], []).append((parts[2], value))
        elif parts[0] == "PostProcessSettings" and len(parts) == 2:
            post.append((parts[1], value))
        elif parts[0] == "r":
            lines.append(f"unreal.SystemLibrary.execute_console_command(None, {prop + ' ' + format(value, 'g')!r})")
        else:
            lines.append(f"# {prop} = {_literal(value)}")
    for struct, fields in structs.items():
        var = _snake(struct)
        lines.append(f"{var} = camera.get_editor_property({var!r})")
        for name, value in fields:
            if name in _UNREAL_ENUMS:
                lines.append(f"{var}.set_editor_property({_snake(name)!r}, {_UNREAL_ENUMS[name]}.{value.upper()})")
            else:
                lines.append(f"{var}.set_editor_property({_snake(name)!r}, {_literal(value)})")
        lines.append(f"camera.set_editor_property({var!r}, {var})")
    if post:
        lines.append("post = camera.get_editor_property('post_process_settings')")
        for name, value in post:
            lines.append(f"post.set_editor_property('override_{_snake(name)}', True)")
            lines.append(f"post.set_editor_property({_snake(name)!r}, {_literal(value)})")
        lines.append("camera.set_editor_property('post_process_settings', post)")
    return "\n".join(lines) + "\n"


def _script(engine: str, settings: Sequence[Mapping]) -> str:
    return blender_script(settings) if engine == "blender" else unreal_script(settings)


# -- front ------------------------------------------------------------------------------------------
def renderer_settings_for(rec: Mapping, camera: CameraProfile, *, analysis_width: int | None = None) -> dict:
    """The engine settings for one recommendation (the JSON ``renderer_settings`` of a recommendation).

    Parameters
    ----------
    rec : dict
        One recommendation (the JSON ``recommendations`` item).
    camera : CameraProfile
    analysis_width : int, optional
        Width of the analysed images; amounts in px are rescaled to ``camera.image_width_px``.

    Returns
    -------
    dict
        ``engine``, ``direction`` (``"more"`` or ``"less"`` of the knob's effect, ``"signed"`` for
        exposure and colour amounts, whose sign says which way), ``settings``
        (``property``, ``value`` (None: direction only), ``unit``, ``change``, and ``alternative`` for
        a second way), ``derivation``, ``notes``, ``snippet``.

    Examples
    --------
    >>> cam = load_camera({"engine": "blender", "focal_length_mm": 85, "sensor_width_mm": 36,
    ...                    "focus_distance_m": 1.5, "background_distance_m": 6, "image_width_px": 160})
    >>> out = renderer_settings_for({"knob": "camera_focus", "suggested": 3.0}, cam, analysis_width=160)
    >>> [s["value"] for s in out["settings"] if s["property"].endswith("aperture_fstop")]
    [1.42]
    """
    knob = rec.get("knob")
    if knob not in _TRANSLATE:
        raise GapvizError(f"recommendation knob {knob!r} has no renderer translation; known: {', '.join(_TRANSLATE)}")
    settings, notes, derivation = _TRANSLATE[knob](rec, camera, analysis_width)
    _, reduce = _amount(rec)
    signed = knob in _SIGNED and rec.get("suggested") is not None
    return {
        "engine": camera.engine,
        "direction": "signed" if signed else "less" if reduce else "more",
        "settings": settings,
        "derivation": derivation,
        "notes": notes,
        "snippet": _script(camera.engine, settings),
    }


def with_renderer_settings(recs: Sequence[Mapping], camera: Any, *, analysis_width: int | None = None) -> list:
    """Copies of ``recs`` with ``renderer_settings`` added to each (``camera``: anything `load_camera` takes).

    A `Recommendation` gives a `Recommendation`, any other mapping a dict.
    """
    profile = load_camera(camera)
    out = []
    for rec in recs:
        settings = renderer_settings_for(rec, profile, analysis_width=analysis_width)
        is_rec = isinstance(rec, Recommendation)
        out.append(rec.replace(renderer_settings=settings) if is_rec else {**rec, "renderer_settings": settings})
    return out


def combined_script(recs: Sequence[Mapping], engine: str) -> str:
    """One script for every recommendation's settings (in priority order; a later knob never overrides)."""
    settings, seen = [], set()
    for rec in recs:
        for item in (rec.get("renderer_settings") or {}).get("settings", ()):
            key = item["property"]
            if key in seen and item["value"] is not None:
                continue
            seen.add(key)
            settings.append(item)
    return _script(engine, settings)


def renderer_settings(result: Any, camera: Any) -> Any:
    """The `GapResult` with every recommendation said in the renderer's settings for ``camera``.

    Parameters
    ----------
    result : GapResult
    camera : str, os.PathLike, mapping or CameraProfile
        A camera profile (see `gapviz.recommend.load_camera`).

    Returns
    -------
    GapResult
        A copy whose recommendations carry ``renderer_settings`` and whose ``parameters["camera"]``
        holds the profile.

    Examples
    --------
    On a small made-up result whose one recommendation is an exposure change, for a Blender camera
    (a profile file's path works the same):

    >>> import gapviz
    >>> from gapviz.result import example_result
    >>> camera = {"engine": "blender", "focal_length_mm": 50, "sensor_width_mm": 36,
    ...           "focus_distance_m": 2.0, "background_distance_m": 6.0, "image_width_px": 512}
    >>> result = gapviz.renderer_settings(example_result(), camera)
    >>> [(s["property"], s["value"], s["unit"]) for s in result.recommendations[0]["renderer_settings"]["settings"]]
    [('scene.view_settings.exposure', -0.25, 'EV')]
    >>> print(result.recommendations[0]["renderer_settings"]["snippet"])
    import bpy
    <BLANKLINE>
    scene = bpy.context.scene
    scene.view_settings.exposure = -0.25
    """
    from dataclasses import replace

    profile = load_camera(camera)
    size = result.parameters.get("analysis_size") or result.data.get("analysis_size") or ()
    width = int(size[1]) if len(size) == 2 else None
    recs = with_renderer_settings(result.recommendations, profile, analysis_width=width)
    return replace(result, recommendations=tuple(recs), parameters={**result.parameters, "camera": profile.to_dict()})


def format_settings(recs: Sequence[Mapping]) -> str:
    """Plain-text lines of every recommendation's renderer settings (what ``gapviz report --camera`` prints)."""
    lines = []
    for rec in recs:
        rs = rec.get("renderer_settings")
        if not rs:
            continue
        parts = []
        for item in rs["settings"]:
            if item.get("code"):
                continue
            value = item["value"]
            text = f"{item['property']} = {value!r}" if value is not None else f"{item['change']} {item['property']}"
            parts.append(("or " if item.get("alternative") else "") + text)
        lines.append(f"{rec['knob']} ({rs['engine']}): " + "; ".join(parts))
    return "\n".join(lines)
