"""Measure how gapviz's background noise estimate falls with Cycles samples (the sensor_noise translation).

Renders the f-stop check scenes (`blender_fstop_scene.py`) at one f-stop with several sample counts
(no denoising: the depth-of-field blur of the photo backdrop is where Monte Carlo noise shows), measures
``noise_sigma.background`` with the object-index masks, and fits noise ~ samples^-b on a log-log scale.
``gapviz/recommend/_renderer.py`` assumes b = 0.5 (Monte Carlo noise ~ 1/sqrt(samples)).

    GAPVIZ_BLENDER_PYTHON=/work/venv-blender/bin/python \\
        .venv/bin/python scripts/measure_blender_samples.py --n 4 --size 160
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import measure_blender_fstop  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4)
    parser.add_argument("--size", type=int, default=160)
    parser.add_argument("--fstop", type=float, default=1.4)
    parser.add_argument("--samples", type=int, nargs="+", default=[16, 32, 64, 128, 256])
    args = parser.parse_args()
    python = measure_blender_fstop.blender_python()
    if python is None:
        sys.exit("no Python with bpy: set GAPVIZ_BLENDER_PYTHON or run `make blender`")
    import cv2

    from gapviz import stats

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for samples in args.samples:
            out = Path(tmp) / f"s{samples}"
            measure_blender_fstop.render(out, n=args.n, size=args.size, samples=samples, fstops=[args.fstop],
                                         python=python)  # fmt: skip
            images, masks = [], []
            for path in sorted((out / f"f{args.fstop:g}").glob("*.png")):
                images.append(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB))
                masks.append(cv2.imread(str(out / "masks" / path.name), cv2.IMREAD_GRAYSCALE) > 127)
            values = stats.image_stats_batch(images, masks, canny=(20.0, 50.0, 1.0),
                                             stats=["noise_sigma"])["noise_sigma.background"]  # fmt: skip
            rows.append((samples, float(np.mean(values))))
    print(f"| Cycles samples (f/{args.fstop:g}, {args.size} px, {args.n} scenes) | noise_sigma.background (grey levels) |")
    print("|---|---|")
    for samples, sigma in rows:
        print(f"| {samples} | {sigma:.2f} |")
    x, y = np.log([r[0] for r in rows]), np.log([r[1] for r in rows])
    slope = float(np.polyfit(x, y, 1)[0])
    print(f"fitted exponent b (noise ~ samples^-b): {-slope:.2f}")


if __name__ == "__main__":
    main()
