"""Check the f-number gapviz recommends against scenes rendered in Blender at known f-stops.

Renders ``--n`` scenes (two torus links in front of a photo backdrop, `blender_fstop_scene.py`)
without depth of field and at each ``--fstops`` value, then runs ``gapviz.compare`` with the shipped
demo model, the no-DOF renders as the synthetic side, the DOF renders as the "real" side, the
object-index masks on both sides and the matching camera profile. Prints the recommended
background blur and f-number against the thin-lens truth.

    GAPVIZ_BLENDER_PYTHON=/work/venv-blender/bin/python \\
        .venv/bin/python scripts/measure_blender_fstop.py --n 8 --size 160 --samples 64

Blender runs in a subprocess: bpy 4.5 needs numpy < 2, gapviz's environment has numpy 2. The
interpreter is ``$GAPVIZ_BLENDER_PYTHON``, else ``.venv-blender/bin/python`` in the repository
(``make blender``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parent.parent
SCENE_SCRIPT = Path(__file__).resolve().parent / "blender_fstop_scene.py"
#: the rig of the check: an 85 mm lens on a 36 mm sensor, links at 1.5 m, backdrop at 6 m
GEOMETRY = {"focal_length_mm": 85.0, "sensor_width_mm": 36.0, "focus_distance_m": 1.5, "background_distance_m": 6.0}
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "brick", "gravel", "grass", "camera")


def blender_python() -> str | None:
    """The interpreter with ``bpy``, found as the Blender engine finds it; None if there is none."""
    from gapviz.scenes.blender._engine import BlenderNotFoundError
    from gapviz.scenes.blender._engine import blender_python as find

    try:
        return find()
    except BlenderNotFoundError:
        return None


def make_backdrops(folder: Path, n: int, *, side: int = 384, seed: int = 0) -> list[Path]:
    """``n`` photo crops (scikit-image sample photos, shipped with the wheel) as PNG backdrops."""
    import cv2
    import numpy as np
    from skimage import data

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        img = getattr(data, PHOTOS[i % len(PHOTOS)])()
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        img = img[..., :3]
        h, w = img.shape[:2]
        crop = int(min(h, w) * rng.uniform(0.6, 0.9))
        y, x = int(rng.integers(0, h - crop + 1)), int(rng.integers(0, w - crop + 1))
        tile = cv2.resize(img[y : y + crop, x : x + crop], (side, side), interpolation=cv2.INTER_AREA)
        path = folder / f"backdrop_{i:02d}.png"
        cv2.imwrite(str(path), cv2.cvtColor(tile, cv2.COLOR_RGB2BGR))
        paths.append(path)
    return paths


def render(out: Path, *, n: int, size: int, samples: int, fstops: list[float], python: str,
           seed: int = 0, timeout: float = 600, filter_widths: list[float] = ()) -> list[dict]:  # fmt: skip
    """Render the scenes into ``out`` (``nodof/``, ``f<N>/``, ``fw<W>/``, ``masks/``); returns the per-render timings."""
    backdrops = make_backdrops(out / "backdrops", n, seed=seed)
    job = {"out": str(out), "size": size, "samples": samples, "fstops": fstops, **GEOMETRY,
           "filter_widths": list(filter_widths),
           "scenes": [{"stem": f"scene_{i:02d}", "backdrop": str(p), "seed": seed + i} for i, p in enumerate(backdrops)]}  # fmt: skip
    job_path = out / "job.json"
    job_path.write_text(json.dumps(job))
    proc = subprocess.run([python, str(SCENE_SCRIPT), str(job_path)], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"Blender scene script failed ({proc.returncode}): {proc.stderr[-2000:]}")
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("GAPVIZ_TIMINGS "))
    return json.loads(line.split(" ", 1)[1])


def camera_profile(size: int) -> dict:
    return {"engine": "blender", **GEOMETRY, "image_width_px": size, "fstop": None, "name": "f-stop check rig"}


def measure(out: Path, fstops: list[float], *, size: int, seed: int = 0, model=None) -> list[dict]:
    """Per f-stop: gapviz's recommended background sigma and f-number against the thin-lens truth."""
    import gapviz
    from gapviz.recommend._camera import load_camera

    model = model if model is not None else gapviz.demo_model()
    cam = load_camera(camera_profile(size))
    masks = {"real": out / "masks", "synth": out / "masks"}
    rows = []
    for n in fstops:
        t0 = time.perf_counter()
        result = gapviz.compare(model, out / f"f{n:g}", out / "nodof", masks=masks, camera=cam, seed=seed,
                                progress=False, examples=0)  # fmt: skip
        elapsed = time.perf_counter() - t0
        rec = next((r for r in result.recommendations if r["knob"] == "camera_focus"), None)
        fstop = None
        if rec is not None:
            fstop = next((s["value"] for s in rec["renderer_settings"]["settings"]
                          if s["property"].endswith("aperture_fstop")), None)  # fmt: skip
        rows.append({
            "fstop": n, "sigma_true": cam.sigma_px(n), "sigma": rec.get("suggested") if rec else None,
            "severity": rec.get("severity") if rec else None, "fstop_recommended": fstop,
            "error": (fstop / n - 1) if fstop else None, "compare_s": elapsed,
            "others": [f"{r['knob']}({r['severity']})" for r in result.recommendations if r["knob"] != "camera_focus"],
        })  # fmt: skip
    return rows


def statistic_sigma(out: Path, folder: str) -> float:
    """The lens softness whose operator, on the no-DOF renders, matches ``folder``'s ``laplacian_rel.object`` alone.

    The ``resolution`` knob's statistic without the joint calibration (mean log ratio, bisection).
    """
    import cv2
    import numpy as np

    from gapviz.scenes._post import apply_camera_knobs

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from measure_render_scale import _lap_rel

    stems = sorted(p.name for p in (out / "nodof").glob("*.png"))

    def load(side: str, stem: str) -> np.ndarray:
        return cv2.cvtColor(cv2.imread(str(out / side / stem)), cv2.COLOR_BGR2RGB)

    masks = [cv2.imread(str(out / "masks" / s), cv2.IMREAD_GRAYSCALE) > 127 for s in stems]
    synth = [load("nodof", s) for s in stems]
    target = np.mean([np.log(_lap_rel(load(folder, s), m)) for s, m in zip(stems, masks, strict=True)])
    lo, hi = 0.0, 5.0
    for _ in range(25):
        mid = (lo + hi) / 2
        gap = np.mean([np.log(_lap_rel(apply_camera_knobs(x, m, {"resolution": mid}), m))
                       for x, m in zip(synth, masks, strict=True)]) - target  # fmt: skip
        lo, hi = (mid, hi) if gap > 0 else (lo, mid)
    return (lo + hi) / 2


def measure_filter(out: Path, widths: list[float], *, size: int, seed: int = 0, model=None) -> list[dict]:
    """Per pixel-filter width: gapviz's recommended softness and Cycles filter width against the rendered one."""
    import gapviz
    from gapviz.recommend._camera import load_camera

    model = model if model is not None else gapviz.demo_model()
    cam = load_camera(camera_profile(size))
    masks = {"real": out / "masks", "synth": out / "masks"}
    rows = []
    for w in widths:
        result = gapviz.compare(model, out / f"fw{w:g}", out / "nodof", masks=masks, camera=cam, seed=seed,
                                progress=False, examples=0)  # fmt: skip
        rec = next((r for r in result.recommendations if r["knob"] == "resolution"), None)
        width = None
        if rec is not None:
            width = next((s["value"] for s in rec["renderer_settings"]["settings"]
                          if s["property"].endswith("filter_width")), None)  # fmt: skip
        from gapviz.recommend._renderer import BLENDER_FILTER_SIGMA_PER_PX as k

        rows.append({"filter_width": w, "sigma": rec.get("suggested") if rec else None,
                     "sigma_moment": ((k * w) ** 2 - (k * 1.5) ** 2) ** 0.5 if w > 1.5 else 0.0,
                     "sigma_statistic": statistic_sigma(out, f"fw{w:g}"),
                     "severity": rec.get("severity") if rec else None, "filter_width_recommended": width,
                     "others": [f"{r['knob']}({r['severity']})" for r in result.recommendations
                                if r["knob"] != "resolution"]})  # fmt: skip
    return rows


def print_filter_table(rows: list[dict]) -> None:
    print("| filter_width rendered (synthetic: 1.5) | added sigma, filter's second moment | sigma matching the "
          "statistic alone | recommended sigma px | recommended filter_width | severity | other recommendations |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        sigma = "-" if r["sigma"] is None else f"{r['sigma']:.2f}"
        width = "-" if r["filter_width_recommended"] is None else f"{r['filter_width_recommended']:.3g}"
        print(f"| {r['filter_width']:g} | {r['sigma_moment']:.2f} | {r['sigma_statistic']:.2f} | {sigma} | {width} | "
              f"{r['severity'] or '-'} | {', '.join(r['others']) or '-'} |")  # fmt: skip


def print_table(rows: list[dict]) -> None:
    print("| f-stop rendered | thin-lens sigma px | recommended sigma px | recommended f-stop | error | severity | "
          "other recommendations | compare s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        def f(v, fmt):
            return "-" if v is None else format(v, fmt)

        print(f"| {r['fstop']:g} | {r['sigma_true']:.2f} | {f(r['sigma'], '.2f')} | {f(r['fstop_recommended'], '.3g')} | "
              f"{f(r['error'], '+.0%')} | {r['severity'] or '-'} | {', '.join(r['others']) or '-'} | {r['compare_s']:.1f} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=8, help="scenes (default 8)")
    parser.add_argument("--size", type=int, default=160, help="image side in px (default 160)")
    parser.add_argument("--samples", type=int, default=64, help="Cycles samples (default 64)")
    parser.add_argument("--fstops", type=float, nargs="+", default=[1.4, 2.8])
    parser.add_argument("--filter-widths", type=float, nargs="*", default=[],
                        help="also render these Cycles pixel-filter widths and check the resolution translation")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="keep the renders here (default: a temporary folder)")
    args = parser.parse_args()
    python = blender_python()
    if python is None:
        sys.exit("no Python with bpy: set GAPVIZ_BLENDER_PYTHON or run `make blender`")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        t0 = time.perf_counter()
        timings = render(out, n=args.n, size=args.size, samples=args.samples, fstops=args.fstops, python=python,
                         seed=args.seed, filter_widths=args.filter_widths)  # fmt: skip
        wall = time.perf_counter() - t0
        per = sum(t["seconds"] for t in timings) / len(timings)
        print(f"rendered {len(timings)} images in {wall:.1f} s ({per:.2f} s per render, Cycles CPU, "
              f"{args.samples} samples, {args.size} px)")  # fmt: skip
        print_table(measure(out, args.fstops, size=args.size, seed=args.seed))
        if args.filter_widths:
            print_filter_table(measure_filter(out, args.filter_widths, size=args.size, seed=args.seed))


if __name__ == "__main__":
    main()
