"""Benchmark: peak memory of a run whose set holds one huge image, against one with a 512x512 image.

Each case runs in a fresh child process, which reports its peak RSS (``VmHWM``) at the end:

``stream``  the input side alone (``build_pairs`` + ``iter_batches`` at a 512x512 model size):
            decode, reduced decoding, centre crop, resize, mask estimation; no TensorFlow.
``compare`` ``gapviz.compare`` end to end on a tiny convolutional model (128x128 input).

The set is ``--pairs`` pairs of 96x96 PNG renders and photos, plus one extra real/synth pair
whose real image is the big one (a JPEG or a PNG of ``--sides`` pixels a side), named to sort
first: the case from the issue where the first file used to decide everyone's size. The ratio
column is the peak RSS against the 512 px case of the same format and mode.

Examples
--------
    python benchmarks/bench_big_images.py                      # stream and compare, 512/6000/12000
    python benchmarks/bench_big_images.py --modes stream --sides 512,6000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "src")


def _vmhwm_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def make_big(path: str, side: int) -> None:
    """A smooth gradient with a disc: compresses fast, decodes at full cost."""
    from PIL import Image

    row = np.linspace(0, 255, side, dtype=np.float32)
    img = np.empty((side, side, 3), np.uint8)
    for c in range(3):  # one channel at a time keeps the generator's own memory low
        img[..., c] = (row[None, :] * (0.5 + 0.2 * c) + row[:, None] * 0.3).clip(0, 255).astype(np.uint8)
    r = side // 3
    yy, xx = np.ogrid[:side, :side]
    img[(yy - side // 2) ** 2 + (xx - side // 2) ** 2 < r * r] = (230, 60, 40)
    Image.fromarray(img).save(path, quality=90) if path.endswith(".jpg") else Image.fromarray(img).save(path, compress_level=1)


def make_set(root: str, pairs: int, big: str | None, ext: str = ".jpg") -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for side in ("real", "synth"):
        os.makedirs(os.path.join(root, side), exist_ok=True)
        for i in range(pairs):
            img = rng.integers(0, 255, (96, 96, 3), dtype=np.uint8)
            img[30:66, 30:66] = 200
            Image.fromarray(img).save(os.path.join(root, side, f"{i:03d}.png"))
    if big is not None:
        os.replace(big, os.path.join(root, "real", f"000_big{ext}"))
        Image.new("RGB", (96, 96), (120, 120, 120)).save(os.path.join(root, "synth", "000_big.png"))


def child(mode: str, root: str) -> dict:
    sys.path.insert(0, SRC)
    t0 = time.perf_counter()
    if mode == "stream":
        from gapviz.inputs import build_pairs, iter_batches

        ps = build_pairs(os.path.join(root, "real"), os.path.join(root, "synth"))
        with iter_batches(ps, model_size=(512, 512), batch_size=8, workers=2) as stream:
            rows = sum(len(b) for b in stream)
        notes = [n["kind"] for n in stream.notes if n["stem"] == "000_big" and n["side"] == "real"]
        if "000_big" not in [p.stem for p in ps.pairs]:
            raise SystemExit("the big image is not in the set")
        out = {"rows": rows, "skipped": len(stream.skipped), "analysis_size": list(stream.analysis_size), "big_notes": notes}
    else:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import keras

        import gapviz

        keras.utils.set_random_seed(0)
        inp = keras.Input((128, 128, 3))
        x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="c1")(inp)
        x = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu", name="c2")(x)
        model = keras.Model(inp, keras.layers.Dense(1)(keras.layers.GlobalAveragePooling2D()(x)))
        result = gapviz.compare(model, os.path.join(root, "real"), os.path.join(root, "synth"), progress=False,
                                n_boot=100, calibration_pairs=0, examples=1)  # fmt: skip
        out = {"rows": result.data["n_pairs"], "analysis_size": result.data["analysis_size"],
               "big_notes": [n["kind"] for n in result.data["notes"] if n["stem"] == "000_big" and n["side"] == "real"]}  # fmt: skip
    out.update(seconds=time.perf_counter() - t0, rss_mb=_vmhwm_mb())
    return out


def run_case(mode: str, side: int, fmt: str, pairs: int, tmp: str) -> dict:
    root = os.path.join(tmp, f"{mode}_{fmt}_{side}")
    big = os.path.join(tmp, f"big_{side}.{fmt}")
    if not os.path.exists(big):  # generated in its own process so its memory is not counted
        subprocess.run([sys.executable, __file__, "--make", big, "--size", str(side)], check=True)
    copy = big + ".use"
    os.link(big, copy)
    make_set(root, pairs, copy, f".{fmt}")
    proc = subprocess.run([sys.executable, __file__, "--child", mode, root], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": SRC})  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-2000:])
    return {"mode": mode, "format": fmt, "side": side, **json.loads(proc.stdout.strip().splitlines()[-1])}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--modes", default="stream,compare")
    ap.add_argument("--sides", default="512,6000,12000")
    ap.add_argument("--formats", default="jpg,png")
    ap.add_argument("--pairs", type=int, default=8)
    ap.add_argument("--child", nargs=2, metavar=("MODE", "ROOT"), help=argparse.SUPPRESS)
    ap.add_argument("--make", help=argparse.SUPPRESS)
    ap.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.make:
        make_big(args.make, args.size)
        return
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    sides = [int(s) for s in args.sides.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="gapviz-big-") as tmp:
        for mode in args.modes.split(","):
            for fmt in args.formats.split(","):
                for side in sides:
                    rows.append(run_case(mode, side, fmt, args.pairs, tmp))
                    print(json.dumps(rows[-1]), file=sys.stderr)
    print("| mode | format | big image | pairs used | analysis size | peak RSS MB | vs 512 px | seconds | notes on it |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        base = next((b for b in rows if (b["mode"], b["format"], b["side"]) == (r["mode"], r["format"], min(sides))), r)
        print(f"| {r['mode']} | {r['format']} | {r['side']}x{r['side']} | {r['rows']} | "
              f"{'x'.join(map(str, r['analysis_size']))} | {r['rss_mb']:.0f} | {r['rss_mb'] / base['rss_mb']:.2f} | "
              f"{r['seconds']:.1f} | {', '.join(r['big_notes']) or '-'} |")  # fmt: skip


if __name__ == "__main__":
    main()
