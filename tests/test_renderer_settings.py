"""Renderer settings from a camera profile: the thin-lens solver, profile validation, the per-knob
translations, the snippets, and their way through compare, the JSON, the report and the CLI."""

from __future__ import annotations

import ast
import json
import math
import sys
import types

import pytest

import gapviz
from gapviz import GapvizError
from gapviz.recommend import KNOBS
from gapviz.recommend._camera import (
    DISC_TO_SIGMA,
    blur_disc_mm,
    blur_sigma_px,
    fstop_for_blur,
    fstop_for_sigma_px,
    load_camera,
)
from gapviz.recommend._renderer import (
    BLENDER_FILTER_SIGMA_PER_PX,
    combined_script,
    format_settings,
    renderer_settings_for,
    with_renderer_settings,
)

RIG = {"engine": "blender", "focal_length_mm": 85, "sensor_width_mm": 36, "focus_distance_m": 1.5,
       "background_distance_m": 6.0, "image_width_px": 160}  # fmt: skip


def _cam(**over):
    return load_camera({**RIG, **over})


def _value(out, suffix):
    hits = [s["value"] for s in out["settings"] if s["property"].endswith(suffix) and not s.get("alternative")]
    assert len(hits) == 1, (suffix, out["settings"])
    return hits[0]


# -- thin lens -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("f", "n", "s", "d", "disc"),
    [
        (50, 2.0, 2.0, None, 2500 / (2 * 1950)),  # 0.6410 mm: D at infinity, (D - S) / D = 1
        (85, 1.4, 1.5, 6.0, 7225 / (1.4 * 1415) * 0.75),  # 2.7354 mm: the Blender check's rig
        (35, 8.0, 3.0, 4.0, 1225 / (8 * 2965) * 0.25),  # 0.01291 mm: backdrop just behind the subject
    ],
    ids=["50mm-f2-inf", "85mm-f1.4-6m", "35mm-f8-4m"],
)
def test_blur_disc_matches_hand_computed_values(f, n, s, d, disc):
    assert blur_disc_mm(f, n, s, d) == pytest.approx(disc, rel=1e-12)
    assert fstop_for_blur(disc, f, s, d) == pytest.approx(n, rel=1e-12)


def test_hand_computed_sigma_of_the_check_rig():
    # 2.735361 mm disc (7225 / 1981 * 0.75) / 4 * (160 px / 36 mm) = 3.03929 px
    assert blur_sigma_px(85, 1.4, 1.5, 6.0, 36, 160) == pytest.approx(3.03929, abs=1e-5)
    assert DISC_TO_SIGMA == 0.25


@pytest.mark.parametrize("n", [0.9, 1.4, 2.8, 5.6, 16.0])
@pytest.mark.parametrize("d", [2.0, 6.0, None])
def test_sigma_solver_inverts_the_forward_model(n, d):
    sigma = blur_sigma_px(50, n, 1.2, d, 36, 512)
    assert fstop_for_sigma_px(sigma, 50, 1.2, d, 36, 512) == pytest.approx(n, rel=1e-12)


def test_blur_grows_with_the_backdrop_distance_and_falls_with_the_fstop():
    assert blur_disc_mm(50, 2, 2, 3) < blur_disc_mm(50, 2, 2, 10) < blur_disc_mm(50, 2, 2, None)
    assert blur_disc_mm(50, 4, 2, None) == pytest.approx(blur_disc_mm(50, 2, 2, None) / 2)


def test_solver_refuses_a_zero_disc():
    with pytest.raises(GapvizError, match="blur disc must be > 0"):
        fstop_for_blur(0.0, 50, 2, None)


# -- camera profile ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"engine": "maya"}, "engine"),
        ({"focal_length_mm": -5}, "focal_length_mm"),
        ({"focal_length_mm": "50"}, "focal_length_mm"),
        ({"sensor_width_mm": 0}, "sensor_width_mm"),
        ({"focus_distance_m": None}, "focus_distance_m"),
        ({"focus_distance_m": 0.05}, "focus_distance_m"),  # inside the 85 mm focal length
        ({"background_distance_m": 1.0}, "background_distance_m"),  # nearer than the subject
        ({"image_width_px": 160.5}, "image_width_px"),
        ({"image_width_px": True}, "image_width_px"),
        ({"fstop": 0}, "fstop"),
        ({"samples": 0}, "samples"),
        ({"jpeg_quality": 101}, "jpeg_quality"),
        ({"exposure_ev": float("nan")}, "exposure_ev"),
        ({"fstops": 2.8}, "fstops"),  # unknown field
    ],
    ids=lambda v: v if isinstance(v, str) else next(iter(v)),
)
def test_profile_errors_name_the_field(change, field):
    with pytest.raises(GapvizError, match=f"camera profile field '{field}'") as info:
        load_camera({**RIG, **change})
    assert "\n" not in str(info.value)


def test_unknown_field_suggests_the_closest_and_missing_field_is_named():
    with pytest.raises(GapvizError, match="did you mean 'fstop'"):
        load_camera({**RIG, "fstops": 2.8})
    with pytest.raises(GapvizError, match="'sensor_width_mm'.* is missing"):
        load_camera({k: v for k, v in RIG.items() if k != "sensor_width_mm"})


def test_profile_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "camera.json"
    bad.write_text("{ not json")
    with pytest.raises(GapvizError, match="camera.json' is not valid JSON"):
        load_camera(bad)
    with pytest.raises(GapvizError, match="does not exist"):
        load_camera(tmp_path / "none.json")
    bad.write_text(json.dumps({**RIG, "image_width_px": -1}))
    with pytest.raises(GapvizError, match=r"'image_width_px' in .*camera.json must be an integer >= 8"):
        load_camera(bad)
    bad.write_text(json.dumps([1, 2]))
    with pytest.raises(GapvizError, match="must be a JSON object"):
        load_camera(bad)


def test_profile_reads_a_file_and_normalises_the_engine(tmp_path):
    path = tmp_path / "camera.json"
    path.write_text(json.dumps({**RIG, "engine": " Unreal ", "background_distance_m": None, "fstop": 4}))
    cam = load_camera(path)
    assert (cam.engine, cam.background_distance_m, cam.fstop) == ("unreal", None, 4.0)
    assert load_camera(cam) is cam


# -- translations -------------------------------------------------------------------------------------
def test_camera_focus_fstop_reproduces_the_target_blur():
    cam = _cam()
    out = renderer_settings_for({"knob": "camera_focus", "suggested": 3.0}, cam, analysis_width=160)
    n = _value(out, "dof.aperture_fstop")
    assert blur_sigma_px(85, n, 1.5, 6.0, 36, 160) == pytest.approx(3.0, rel=0.005)  # n rounded to 3 digits
    assert _value(out, "dof.use_dof") is True and _value(out, "dof.focus_distance") == 1.5
    assert _value(out, "data.sensor_width") == 36 and _value(out, "data.lens") == 85
    assert out["direction"] == "more"


def test_camera_focus_amount_is_rescaled_from_the_analysed_to_the_rendered_width():
    cam = _cam(image_width_px=512)
    out = renderer_settings_for({"knob": "camera_focus", "suggested": 1.5}, cam, analysis_width=256)
    n = _value(out, "dof.aperture_fstop")
    assert blur_sigma_px(85, n, 1.5, 6.0, 36, 512) == pytest.approx(3.0, rel=0.005)
    assert "x 512/256" in out["derivation"]


def test_camera_focus_adds_to_the_current_blur_in_variance():
    cam = _cam(fstop=4.0)
    now = cam.sigma_px(4.0)
    out = renderer_settings_for({"knob": "camera_focus", "suggested": 2.0}, cam, analysis_width=160)
    n = _value(out, "dof.aperture_fstop")
    assert blur_sigma_px(85, n, 1.5, 6.0, 36, 160) == pytest.approx(math.hypot(now, 2.0), rel=0.005)
    assert n < 4.0


@pytest.mark.parametrize("rec", [{"suggested": 0.5, "direction": "reverse"}, {"suggested": -0.5}],
                         ids=["reverse", "negative"])  # fmt: skip
def test_renders_blurrier_than_photos_raise_the_fstop(rec):
    cam = _cam(fstop=1.4)
    out = renderer_settings_for({"knob": "camera_focus", **rec}, cam, analysis_width=160)
    n = _value(out, "dof.aperture_fstop")
    target = math.sqrt(cam.sigma_px(1.4) ** 2 - 0.5**2)
    assert n > 1.4 and blur_sigma_px(85, n, 1.5, 6.0, 36, 160) == pytest.approx(target, rel=0.005)
    assert out["direction"] == "less"


def test_renders_blurrier_without_remaining_blur_turn_dof_off_and_without_fstop_give_the_direction():
    off = renderer_settings_for({"knob": "camera_focus", "suggested": -5.0}, _cam(fstop=2.8), analysis_width=160)
    assert _value(off, "dof.use_dof") is False
    unknown = renderer_settings_for({"knob": "camera_focus", "suggested": -1.0}, _cam(), analysis_width=160)
    assert unknown["settings"][0]["value"] is None and unknown["settings"][0]["change"] == "raise"
    assert "'fstop'" in unknown["notes"][0]


def test_unreal_camera_focus_uses_centimetres_and_lowers_the_lens_minimum():
    cam = _cam(engine="unreal")
    out = renderer_settings_for({"knob": "camera_focus", "suggested": 4.0}, cam, analysis_width=160)
    n = _value(out, "CurrentAperture")
    assert n < 1.2 and _value(out, "LensSettings.MinFStop") == n
    assert _value(out, "FocusSettings.ManualFocusDistance") == 150.0
    assert _value(out, "Filmback.SensorWidth") == 36


def test_resolution_filter_width_and_render_scale():
    out = renderer_settings_for({"knob": "resolution", "suggested": 1.0}, _cam(), analysis_width=160)
    w = _value(out, "cycles.filter_width")
    assert math.hypot(BLENDER_FILTER_SIGMA_PER_PX * 1.5, 1.0) == pytest.approx(BLENDER_FILTER_SIGMA_PER_PX * w, rel=0.005)
    pct = next(s["value"] for s in out["settings"] if s["property"].endswith("resolution_percentage"))
    # 1.0 px lies between the measured 0.931 px at k = 2 and 1.288 px at k = 3; Blender takes an integer
    assert pct == round(100 / (2 + (1.0 - 0.931) / (1.288 - 0.931)))
    back = renderer_settings_for({"knob": "resolution", "suggested": 0.5, "direction": "reverse"},
                                 _cam(filter_width=6.0, resolution_percentage=50), analysis_width=160)  # fmt: skip
    assert _value(back, "cycles.filter_width") < 6.0
    # 50 % now = 0.931 px; removing 0.5 px leaves sqrt(0.931^2 - 0.25) = 0.785 px, between k = 1.5 and 2
    pct = next(s["value"] for s in back["settings"] if s["property"].endswith("resolution_percentage"))
    k = 1.5 + (math.sqrt(0.931**2 - 0.25) - 0.746) / (0.931 - 0.746) * 0.5
    assert pct == round(100 / k) and 50 < pct < 67


def test_resolution_beyond_the_filter_limit_makes_the_render_scale_primary():
    out = renderer_settings_for({"knob": "resolution", "suggested": 2.5}, _cam(), analysis_width=160)
    assert _value(out, "resolution_percentage") < 20
    assert any("maximum of 10 px" in n for n in out["notes"])


def test_exposure_and_color_keep_their_sign():
    cam = _cam(exposure_ev=0.5, white_balance_kelvin=6500)
    assert _value(renderer_settings_for({"knob": "exposure", "suggested": -0.4}, cam), "view_settings.exposure") == 0.1
    warm = _value(renderer_settings_for({"knob": "color", "suggested": 0.3}, cam), "white_balance_temperature")
    cool = _value(renderer_settings_for({"knob": "color", "suggested": -0.3}, cam), "white_balance_temperature")
    assert cool < 6500 < warm
    unreal = renderer_settings_for({"knob": "exposure", "suggested": 0.25}, _cam(engine="unreal"))
    assert _value(unreal, "AutoExposureBias") == 0.25 and unreal["direction"] == "signed"


def test_sensor_noise_post_step_and_fewer_samples():
    cam = _cam(samples=64)
    rec = {"knob": "sensor_noise", "suggested": 6.0, "evidence": [{"real": 6.3, "synth": 2.0}]}
    out = renderer_settings_for(rec, cam)
    post = out["settings"][0]
    assert post["value"] == 6.0 and "normal(0, 6.0, image.shape)" in post["code"]
    samples = next(s["value"] for s in out["settings"] if s["property"] == "scene.cycles.samples")
    assert samples == round(64 * 2.0**2 / (2.0**2 + 6.0**2))  # noise ~ 1/sqrt(samples)
    more = renderer_settings_for({**rec, "direction": "reverse", "evidence": [{"real": 2.0, "synth": 4.0}]}, cam)
    assert _value(more, "cycles.samples") == 256


def test_direction_only_knobs_name_the_setting_and_flip_with_the_direction():
    cam = _cam()
    add = renderer_settings_for({"knob": "lighting"}, cam)
    rev = renderer_settings_for({"knob": "lighting", "direction": "reverse"}, cam)
    assert [s["change"] for s in add["settings"]] == ["raise", "lower"]
    assert [s["change"] for s in rev["settings"]] == ["lower", "raise"]
    assert all(s["value"] is None for s in add["settings"])


def test_unknown_knob_is_an_error():
    with pytest.raises(GapvizError, match="knob 'fog' has no renderer translation"):
        renderer_settings_for({"knob": "fog"}, _cam())


_AMOUNTS = {"camera_focus": 2.0, "resolution": 0.8, "sensor_noise": 4.0, "compression": 70, "exposure": -0.3,
            "color": 0.2}  # fmt: skip


def _all_recs(with_amounts: bool = True, reverse: bool = False) -> list[dict]:
    return [{"knob": k, "suggested": _AMOUNTS.get(k) if with_amounts else None,
             "direction": "reverse" if reverse else "add", "evidence": [{"real": 5.0, "synth": 3.0}]}
            for k in KNOBS]  # fmt: skip


@pytest.mark.parametrize("engine", ["blender", "unreal"])
@pytest.mark.parametrize(("amounts", "reverse"), [(True, False), (False, False), (True, True)],
                         ids=["amounts", "no-amounts", "reverse"])  # fmt: skip
def test_every_knob_translates_and_every_snippet_parses(engine, amounts, reverse):
    cam = _cam(engine=engine, fstop=2.0, samples=32)
    recs = with_renderer_settings(_all_recs(amounts, reverse), cam, analysis_width=160)
    for rec in recs:
        rs = rec["renderer_settings"]
        assert rs["engine"] == engine and rs["settings"]
        ast.parse(rs["snippet"])
        json.dumps(rs)
    ast.parse(combined_script(recs, engine))
    assert len(format_settings(recs).splitlines()) == len(KNOBS)


class _Recorder:
    """An Unreal object that records ``set_editor_property`` and hands out nested structs."""

    def __init__(self, log, prefix):
        self._log, self._prefix, self._structs = log, prefix, {}

    def get_editor_property(self, name):
        return self._structs.setdefault(name, _Recorder(self._log, f"{self._prefix}{name}."))

    def set_editor_property(self, name, value):
        if not isinstance(value, _Recorder):
            self._log[self._prefix + name] = value


def _fake_unreal(log):
    mod = types.ModuleType("unreal")
    component = _Recorder(log, "")

    class CineCameraActor:
        def get_cine_camera_component(self):
            return component

    class Subsystem:
        def get_selected_level_actors(self):
            return [object(), CineCameraActor()]

    mod.CineCameraActor = CineCameraActor
    mod.EditorActorSubsystem = Subsystem
    mod.get_editor_subsystem = lambda cls: cls()
    mod.CameraFocusMethod = types.SimpleNamespace(MANUAL="MANUAL", DISABLE="DISABLE")
    mod.SystemLibrary = types.SimpleNamespace(execute_console_command=lambda world, cmd: log.__setitem__(
        cmd.split()[0], float(cmd.split()[1])))  # fmt: skip
    return mod


def _snake(name):
    import re

    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def test_unreal_snippet_sets_the_properties_it_names(monkeypatch):
    cam = _cam(engine="unreal", fstop=2.0, samples=32)
    recs = with_renderer_settings(_all_recs(), cam, analysis_width=160)
    script = combined_script(recs, "unreal")
    log: dict = {}
    monkeypatch.setitem(sys.modules, "unreal", _fake_unreal(log))
    exec(compile(script, "<unreal snippet>", "exec"), {})
    expected = {}
    for rec in recs:
        for s in rec["renderer_settings"]["settings"]:
            if s["value"] is None or s.get("alternative") or s.get("code") or s["property"].split(".")[0] not in (
                    "CineCameraComponent", "PostProcessSettings", "r"):  # fmt: skip
                continue
            parts = s["property"].split(".")
            if parts[0] == "r":
                key = s["property"]
            elif parts[0] == "PostProcessSettings":
                key = "post_process_settings." + _snake(parts[1])
            else:
                key = ".".join(_snake(p) for p in parts[1:])
            expected.setdefault(key, "MANUAL" if parts[-1] == "FocusMethod" else s["value"])
    assert expected and {k: log.get(k) for k in expected} == expected
    assert log["post_process_settings.override_auto_exposure_bias"] is True


# -- through the result, the report and the CLI ------------------------------------------------------------
def test_renderer_settings_on_a_result_reaches_json_and_report(tmp_path):
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from fake_result import make_fake_result

    result = gapviz.renderer_settings(make_fake_result(n_examples=0), {**RIG, "image_width_px": 1024,
                                                                       "name": "<script>rig</script>"})  # fmt: skip
    data = json.loads(result.to_json())
    assert data["parameters"]["camera"]["image_width_px"] == 1024
    focus = data["recommendations"][0]
    assert focus["knob"] == "camera_focus"
    n = _value(focus["renderer_settings"], "aperture_fstop")
    # the fake result's 3.5 px at its 512 px analysis size is 7 px at 1024 px
    assert blur_sigma_px(85, n, 1.5, 6.0, 36, 1024) == pytest.approx(7.0, rel=0.005)
    html = result.save_report(tmp_path / "r.html")
    text = open(html, encoding="utf-8").read()
    assert text.count('class="renderer"') >= len(data["recommendations"])
    assert "scene.camera.data.dof.aperture_fstop = " + repr(n) in text
    assert "All renderer settings in one script" in text
    assert "<script>" not in text and "&lt;script&gt;rig" in text


@pytest.fixture(scope="module")
def cli_model(edge_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("camera_cli") / "edge.keras"
    edge_model.save(path)
    return path


def test_cli_report_with_camera_prints_settings_and_writes_them(cli_model, scenes, tmp_path, capsys):
    from gapviz.cli import main

    folder = scenes("focus", "real.camera_focus=3")
    camera = tmp_path / "camera.json"
    camera.write_text(json.dumps({"engine": "blender", "focal_length_mm": 50, "sensor_width_mm": 36,
                                  "focus_distance_m": 2.0, "background_distance_m": None, "image_width_px": 512}))  # fmt: skip
    out, js = tmp_path / "r.html", tmp_path / "r.json"
    args = ["report", "--model", str(cli_model), "--real", str(folder / "real" / "images"), "--synth",
            str(folder / "synth" / "images"), "--masks-real", str(folder / "real" / "masks"), "--masks-synth",
            str(folder / "synth" / "masks"), "--examples", "0", "--out", str(out), "--json", str(js),
            "--camera", str(camera)]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "camera_focus (blender): scene.camera.data.dof.use_dof = True" in printed
    data = json.loads(js.read_text())
    focus = next(r for r in data["recommendations"] if r["knob"] == "camera_focus")
    n = _value(focus["renderer_settings"], "aperture_fstop")
    width = data["data"]["analysis_size"][1]
    assert blur_sigma_px(50, n, 2.0, None, 36, 512) == pytest.approx(focus["suggested"] * 512 / width, rel=0.005)
    assert "dof.aperture_fstop" in out.read_text(encoding="utf-8")


def test_cli_bad_camera_is_one_line_naming_the_field(tmp_path, capsys):
    from gapviz.cli import main

    camera = tmp_path / "camera.json"
    camera.write_text(json.dumps({**RIG, "focal_length_mm": "fifty"}))
    (tmp_path / "real").mkdir()
    (tmp_path / "synth").mkdir()
    code = main(["report", "--model", str(tmp_path / "none.keras"), "--real", str(tmp_path / "real"),
                 "--synth", str(tmp_path / "synth"), "--out", str(tmp_path / "r.html"), "--camera", str(camera),
                 "--quiet"])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 1 and "\n" not in err
    assert err.startswith("gapviz: error: camera profile field 'focal_length_mm'")
