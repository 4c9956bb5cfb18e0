"""The renderer settings checked in Blender itself (bpy in its own interpreter, see the Makefile).

1. Every Blender snippet, run in bpy, sets the properties it names (and every alternative
   property exists and takes its value).
2. Scenes rendered in Cycles at two known f-stops and without depth of field: gapviz, given the
   matching camera profile, recommends the shallower f-stop within 20 %.

Skipped, with the reason, when no Python with bpy is found ($GAPVIZ_BLENDER_PYTHON, then
.venv-blender/bin/python; `make blender` creates the latter).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
sys.path.insert(0, str(SCRIPTS))

import measure_blender_fstop  # noqa: E402

from gapviz.recommend import KNOBS  # noqa: E402
from gapviz.recommend._camera import load_camera  # noqa: E402
from gapviz.recommend._renderer import with_renderer_settings  # noqa: E402


@pytest.fixture(scope="module")
def blender():
    python = measure_blender_fstop.blender_python()
    if python is None:
        pytest.skip("no Python with bpy: set GAPVIZ_BLENDER_PYTHON or run `make blender` (bpy 4.5 needs "
                    "numpy < 2, so it cannot live in gapviz's environment)")  # fmt: skip
    probe = subprocess.run([python, "-c", "import bpy"], capture_output=True, text=True, timeout=120)
    if probe.returncode != 0:
        pytest.skip(f"{python} cannot import bpy: {probe.stderr.strip().splitlines()[-1:]}")
    return python


_CHECK = textwrap.dedent('''
    import json, sys
    import bpy

    spec = json.load(open(sys.argv[-1]))
    got = []
    for case in spec:
        bpy.ops.wm.read_factory_settings(use_empty=False)  # the default scene, with its camera
        bpy.context.scene.render.engine = "CYCLES"
        exec(compile(case["snippet"], case["name"], "exec"), {"__name__": "__main__"})
        env = {"scene": bpy.context.scene, "bpy": bpy}
        values = {prop: eval(prop, env) for prop in case["props"]}
        for prop, value in case["alternatives"]:
            exec(f"{prop} = {value!r}", env)
            values["alternative " + prop] = eval(prop, env)
        got.append(values)
    print("GAPVIZ_RESULT " + json.dumps(got, default=str))
''')


def _cases():
    base = {"engine": "blender", "focal_length_mm": 50, "sensor_width_mm": 36, "focus_distance_m": 2.0,
            "background_distance_m": 8.0, "image_width_px": 512, "fstop": 2.0, "samples": 32}  # fmt: skip
    amounts = {"camera_focus": 2.0, "resolution": 0.8, "sensor_noise": 4.0, "compression": 70, "exposure": -0.3,
               "color": 0.2}  # fmt: skip
    recs = []
    for direction in ("add", "reverse"):
        recs += [{"knob": k, "suggested": amounts.get(k), "direction": direction,
                  "evidence": [{"real": 5.0, "synth": 3.0} if direction == "add" else {"real": 3.0, "synth": 5.0}]}
                 for k in KNOBS]  # fmt: skip
    recs.append({"knob": "camera_focus", "suggested": -9.0, "direction": "reverse"})  # turns DOF off
    out = with_renderer_settings(recs, load_camera(base), analysis_width=256)
    cases, expected = [], []
    for i, rec in enumerate(out):
        rs = rec["renderer_settings"]
        scene_items = [s for s in rs["settings"] if s["property"].startswith("scene.") and s["value"] is not None]
        props = {s["property"]: s["value"] for s in scene_items if not s.get("alternative")}
        alternatives = [(s["property"], s["value"]) for s in scene_items if s.get("alternative")]
        cases.append({"name": f"<{rec['knob']} {rec['direction']} {i}>", "snippet": rs["snippet"],
                      "props": list(props), "alternatives": alternatives})  # fmt: skip
        expected.append({**props, **{"alternative " + p: v for p, v in alternatives}})
    return cases, expected


def _same(got, want) -> bool:
    if isinstance(want, bool) or isinstance(want, str):
        return got == want
    return abs(float(got) - float(want)) <= 1e-5 * max(1.0, abs(float(want)))


def test_blender_snippets_set_the_properties_they_name(blender, tmp_path):
    cases, expected = _cases()
    assert sum(len(e) for e in expected) >= 20  # the snippets name real properties, not only comments
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(cases))
    script = tmp_path / "check.py"
    script.write_text(_CHECK)
    proc = subprocess.run([blender, str(script), str(spec)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("GAPVIZ_RESULT "))
    got = json.loads(line.split(" ", 1)[1])
    wrong = [(case["name"], prop, values[prop], want[prop])
             for case, values, want in zip(cases, got, expected, strict=True) for prop in want
             if not _same(values[prop], want[prop])]  # fmt: skip
    assert not wrong


@pytest.mark.slow
def test_recommended_fstop_matches_the_rendered_one(blender, tmp_path):
    """6 scenes at 128 px, 32 Cycles samples: 18 renders (about 10 s on two busy cores) and two comparisons."""
    import gapviz

    fstops = [1.4, 2.8]
    measure_blender_fstop.render(tmp_path, n=6, size=128, samples=32, fstops=fstops, python=blender)
    for folder in ("nodof", "f1.4", "f2.8", "masks"):
        assert len(list((tmp_path / folder).glob("*.png"))) == 6
    rows = measure_blender_fstop.measure(tmp_path, fstops, size=128, model=gapviz.demo_model())
    shallow, deep = rows
    assert shallow["severity"] == "high"
    assert shallow["fstop_recommended"] == pytest.approx(1.4, rel=0.20), rows
    # the deeper stop blurs half as much, so it gets a larger f-number
    assert deep["fstop_recommended"] is not None and deep["fstop_recommended"] > shallow["fstop_recommended"]
