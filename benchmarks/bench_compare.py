"""Benchmark: gapviz.compare against the bare forward pass and against the notebook way.

Methods, measured in one process, interleaved (a, b, c, a, b, c, ...), median of ``--repeats``:

(a) ceiling: the bare forward pass of the truncated tap model (warm ``tf.function``) over the
    same images, already decoded and preprocessed in memory, in batches of ``2 * batch_size``;
(b) ``gapviz.compare`` end to end from PNG files, masks given for both sides (defaults:
    recommendations with calibration, 5 examples, n_boot=1000). Its phases (recommendations,
    i.e. the calibration search, and finalize) come from the run's own ``execution["timings"]``;
(c) the notebook way: PIL decode, ``keras.Model(inputs, taps).predict`` to numpy feature maps of
    every image, ``layer_summaries_np`` per layer, ``image_stats_pairs``, ``PairAccumulator.finalize``.
(w) ``gapviz.compare`` again on the same model object (``--methods a,b,w,c``): the second call in
    a notebook, which reuses the traced tap function;
(n) ``gapviz.compare`` as (b) with ``recommendations=False`` (``--methods a,b,n``): what the
    calibration of recommended amounts costs in wall time;
(b') one ``compare`` run with estimated masks on the real side (GrabCut), at the smallest size.
Peak RSS of (b) comes from a fresh child process per pair count (``VmHWM`` at its end).

Every (b) run is a first call on its model (``compare`` keeps the traced tap function on the model
object; the benchmark drops it before each run), so (b) always pays its trace. (a) is warm; the
time of its own first call (trace and graph optimisation, one batch) is printed beside it, and
``a once`` is what that first call adds to the warm time of one batch. The ratios compare like
with like in two ways: ``b/(a+once)`` (first call against first call) and ``b warm/a`` (warm
against warm); ``b/a`` sets a first call of (b) against a warm (a).

Examples
--------
    python benchmarks/bench_compare.py --quick
    python benchmarks/bench_compare.py --pairs 16 --models resnet50 --repeats 3 --rss-pairs 16,64,256
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

ARCHS = ("resnet50", "mobilenetv2", "vgg16")
UNIQUE_SCENES = 16  # rendered pairs; larger sets repeat them under new stems (decode cost is per file)


# ----------------------------------------------------------------------------- data


def make_data(root: str, n: int, size: int) -> str:
    """``root/n{n}_{size}/{real,synth}/{images,masks}`` with ``n`` pairs of PNG files."""
    from gapviz.scenes import write_scenes

    out = os.path.join(root, f"n{n}_{size}")
    if os.path.isdir(out):
        return out
    src = os.path.join(root, f"unique_{size}")
    if not os.path.isdir(src):
        write_scenes(src, preset="field", pair_with="dataset1", n=UNIQUE_SCENES, size=size)
    stems = sorted(f[:-4] for f in os.listdir(os.path.join(src, "real", "images")))
    for side in ("real", "synth"):
        for kind in ("images", "masks"):
            os.makedirs(os.path.join(out, side, kind))
            for i in range(n):
                a = os.path.join(src, side, kind, stems[i % len(stems)] + ".png")
                b = os.path.join(out, side, kind, f"pair_{i:05d}.png")
                try:
                    os.link(a, b)
                except OSError:
                    shutil.copyfile(a, b)
    return out


def paths(data: str, side: str, kind: str) -> list[str]:
    d = os.path.join(data, side, kind)
    return [os.path.join(d, f) for f in sorted(os.listdir(d))]


# ----------------------------------------------------------------------------- model


def build_model(arch: str, size: int):
    """The study's shape: ``Sequential([base, GlobalAveragePooling2D(), Dense(1)])``, random weights."""
    import keras

    base_cls = {
        "resnet50": keras.applications.ResNet50,
        "mobilenetv2": keras.applications.MobileNetV2,
        "vgg16": keras.applications.VGG16,
    }[arch]
    base = base_cls(weights=None, include_top=False, input_shape=(size, size, 3))
    return keras.Sequential([base, keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(1)]), base


def tap_names(model, taps: int) -> list[str]:
    import gapviz

    return list(gapviz.tap(model).layers)[:taps]


def truncated(base, names: list[str]):
    """The tap model a user would write: base input -> the tapped layers' outputs (pruned graph)."""
    import keras

    return keras.Model(base.input, [base.get_layer(n.split("/")[-1]).output for n in names])


# ----------------------------------------------------------------------------- methods


def cpu_seconds() -> float:
    """User + system CPU time of this process (all its threads): robust to other load on the machine."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(fn, *a, **k) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds, result) of one call."""
    c, t = cpu_seconds(), time.perf_counter()
    out = fn(*a, **k)
    return time.perf_counter() - t, cpu_seconds() - c, out


def load_side(data: str, side: str) -> tuple[np.ndarray, np.ndarray]:
    """One side's images, (N, H, W, 3) uint8, and masks, (N, H, W) bool, decoded with PIL."""
    from PIL import Image

    imgs = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in paths(data, side, "images")])
    masks = np.stack([np.asarray(Image.open(p).convert("L")) > 127 for p in paths(data, side, "masks")])
    return imgs, masks


def load_inputs(data: str) -> tuple[np.ndarray, np.ndarray]:
    """Decoded, preprocessed (x/255) real+synth images and masks, as (a) uses them."""
    (ri, rm), (si, sm) = load_side(data, "real"), load_side(data, "synth")
    return np.concatenate([ri, si]).astype(np.float32) / 255.0, np.concatenate([rm, sm])


def method_a(fn, x: np.ndarray, batch: int) -> None:
    for i in range(0, len(x), batch):
        fn(x[i : i + batch])


def method_b(model, data: str, phases: bool | None, *, estimate_real: bool = False, warm: bool = False,
             **kw) -> tuple[float, dict]:  # fmt: skip
    from gapviz.comparison import compare

    if not warm:
        # a first call on this model: drop the Tapper (and its trace) that compare keeps on the model object
        model.__dict__.pop("_gapviz_tappers", None)
    masks = {"synth": os.path.join(data, "synth", "masks")}
    if not estimate_real:
        masks["real"] = os.path.join(data, "real", "masks")
    t = time.perf_counter()
    result = compare(model, os.path.join(data, "real", "images"), os.path.join(data, "synth", "images"),
                     masks=masks, progress=False, **kw)  # fmt: skip
    wall = time.perf_counter() - t
    if not phases:
        return wall, {}
    # compare's own phase timings: the recommendation phase and finalize (the merged accumulator's statistics)
    timings = result.execution["timings"]
    return wall, {"recommend": timings["recommend"], "finalize": timings["finalise"], "result": timings["result"]}


def method_c(base, names: list[str], data: str, batch: int) -> None:
    """The notebook way: everything in memory, full feature maps in numpy."""
    from gapviz import stats

    rgb, msk = {}, {}
    for s in ("real", "synth"):
        rgb[s], msk[s] = load_side(data, s)
    n = len(rgb["real"])
    x = np.concatenate([rgb["real"], rgb["synth"]]).astype(np.float32) / 255.0
    feats = truncated(base, names).predict(x, batch_size=batch, verbose=0)
    feats = feats if isinstance(feats, list) else [feats]
    acc = stats.PairAccumulator(layers=tuple(names), seed=0)
    ids = list(range(n))
    for name, f in zip(names, feats, strict=True):
        acc.add_layer(name, ids, real=stats.layer_summaries_np(f[:n], msk["real"]),
                      synth=stats.layer_summaries_np(f[n:], msk["synth"]))  # fmt: skip
    del feats
    canny = stats.Canny.from_images(rgb["real"])
    acc.add_images(ids, stats.image_stats_pairs(rgb["real"], msk["real"], rgb["synth"], msk["synth"], canny=canny))
    acc.finalize(seed=0, n_boot=1000)


def feature_gb(base, names: list[str], n_images: int) -> float:
    return n_images * sum(int(np.prod(base.get_layer(n.split("/")[-1]).output.shape[1:])) for n in names) * 4 / 1e9


# ----------------------------------------------------------------------------- child (peak RSS)


def peak_rss_mb() -> float:
    """This process's peak resident set size.

    ``VmHWM`` of the process's own address space; ``ru_maxrss`` is not used on Linux because it
    keeps the forking parent's high-water mark across ``exec``, so a child would report the
    benchmark parent's RSS whenever that is larger than its own.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux, bytes on macOS


def child(args: argparse.Namespace) -> None:
    model, _ = build_model(args.child_arch, args.size)
    data = make_data(args.data, args.child_pairs, args.size)
    layers = tap_names(model, args.taps) if args.taps < 5 else None
    seconds, _ = method_b(model, data, None, layers=layers, batch_size=args.batch,
                          **({"impact": False} if args.no_impact else {}))
    rss_mb = peak_rss_mb()
    print(json.dumps({"seconds": seconds, "rss_mb": rss_mb}))


def run_child(args: argparse.Namespace, arch: str, pairs: int) -> dict:
    cmd = [sys.executable, __file__, "--child-arch", arch, "--child-pairs", str(pairs), "--data", args.data,
           "--size", str(args.size), "--taps", str(args.taps), "--batch", str(args.batch)]  # fmt: skip
    if args.no_impact:
        cmd.append("--no-impact")
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode or not lines:
        return {"error": (out.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(lines[-1])


# ----------------------------------------------------------------------------- main


def total_ram_gb() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    except (ValueError, OSError, AttributeError):
        return float("nan")


def device() -> str:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return "GPU: " + ", ".join(g.name for g in gpus)
    return f"CPU only ({os.cpu_count()} cores visible to Python; TensorFlow sees no GPU)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", default="16", help="pair counts timed for a/b/c, comma-separated")
    ap.add_argument("--rss-pairs", default="16,64,256", help="pair counts for (b) peak RSS in child processes ('' = none)")
    ap.add_argument("--models", default="resnet50", help=f"comma-separated from {','.join(ARCHS)}")
    ap.add_argument("--rss-models", default=None, help="models for the RSS children (default: the first of --models)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--size", type=int, default=512, help="image side in pixels (model input = analysis size)")
    ap.add_argument("--taps", type=int, default=5, help="use the first N preset taps (5 = the whole preset)")
    ap.add_argument("--batch", type=int, default=8, help="pairs per forward pass (compare's batch_size)")
    ap.add_argument("--methods", default="a,b,c", help="which of a,b,w,n,c to time")
    ap.add_argument("--no-estimated", action="store_true", help="skip the (b') run with estimated real masks")
    ap.add_argument("--no-impact", action="store_true",
                    help="compare(impact=False): leave out the model-impact step (whole-model passes after the pass)")
    ap.add_argument("--c-max-gb", type=float, default=None,
                    help="skip (c) when its feature maps would exceed this many GB (default: 30%% of the "
                    "machine's memory; predict holds them twice while it concatenates the batches)")  # fmt: skip
    ap.add_argument("--quick", action="store_true", help="pairs 8, mobilenetv2, 1 repeat, RSS at 8 and 32 pairs")
    ap.add_argument("--data", default=None, help="folder for generated images (default: a temp dir)")
    ap.add_argument("--json", default=None, help="also write the results as JSON here")
    ap.add_argument("--child-arch", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--child-pairs", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child_arch:
        child(args)
        return 0
    if args.c_max_gb is None:
        args.c_max_gb = round(0.3 * total_ram_gb(), 1)
    if args.quick:
        args.pairs, args.models, args.repeats, args.rss_pairs = "8", "mobilenetv2", 1, "8,32"
    return in_data_dir(run, args)


def in_data_dir(run, args: argparse.Namespace) -> int:
    """``run(args)`` with ``args.data`` set: the given folder, else a temporary one removed afterwards."""
    tmp = None
    if args.data is None:
        tmp = args.data = tempfile.mkdtemp(prefix="gapviz-bench-")
    try:
        return run(args)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def run(args: argparse.Namespace) -> int:
    import tensorflow as tf

    pair_counts = [int(v) for v in args.pairs.split(",") if v]
    rss_counts = [int(v) for v in args.rss_pairs.split(",") if v]
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    methods = set(args.methods.split(","))
    print(f"device: {device()}; TensorFlow {tf.__version__}; image {args.size}x{args.size}; "
          f"taps {args.taps}; batch {args.batch} pairs; repeats {args.repeats}", flush=True)  # fmt: skip
    timer = True  # read compare's phase timings
    extra = {"impact": False} if args.no_impact else {}
    rows, results = [], {"device": device(), "args": vars(args), "timing": [], "rss": []}
    for arch in models:
        model, base = build_model(arch, args.size)
        names = tap_names(model, args.taps)
        layers = names if args.taps < 5 else None
        tap_model = truncated(base, names)
        fwd = tf.function(lambda x, m=tap_model: m(x, training=False))
        first_call: float | None = None
        for n in pair_counts:
            data = make_data(args.data, n, args.size)
            x, _ = load_inputs(data)
            # trace once: (a) is the warm ceiling; the first call (trace + graph optimisation) is reported apart
            wall, _, _ = timed(fwd, x[: 2 * args.batch])
            first_call = wall if first_call is None else first_call
            gb = feature_gb(base, names, 2 * n)
            do_c = "c" in methods and gb <= args.c_max_gb
            if "c" in methods and not do_c:
                print(f"skip c    {arch:12s} {n:5d} pairs: its feature maps need {gb:.1f} GB in memory "
                      f"(--c-max-gb {args.c_max_gb:g}; this machine has {total_ram_gb():.0f} GB)", flush=True)  # fmt: skip
            t: dict[str, list[float]] = {k: [] for k in ("a", "b", "c", "w", "n", "a_cpu", "b_cpu", "c_cpu", "recommend", "finalize", "result")}
            for _ in range(args.repeats):
                if "a" in methods:
                    wall, cpu, _ = timed(method_a, fwd, x, 2 * args.batch)
                    t["a"].append(wall)
                    t["a_cpu"].append(cpu)
                if "b" in methods:
                    wall, cpu, (_, phases) = timed(method_b, model, data, timer, layers=layers, batch_size=args.batch, **extra)
                    t["b"].append(wall)
                    t["b_cpu"].append(cpu)
                    t["recommend"].append(phases.get("recommend", float("nan")))
                    t["finalize"].append(phases.get("finalize", float("nan")))
                    t["result"].append(phases.get("result", float("nan")))
                if "w" in methods:  # compare again on the same model object: its trace is reused
                    if "_gapviz_tappers" not in model.__dict__:
                        method_b(model, data, None, warm=True, layers=layers, batch_size=args.batch, **extra)
                    t["w"].append(method_b(model, data, None, warm=True, layers=layers, batch_size=args.batch, **extra)[0])
                if "n" in methods:  # a first call without recommendations (no calibration)
                    t["n"].append(method_b(model, data, None, layers=layers, batch_size=args.batch, **extra,
                                           recommendations=False)[0])  # fmt: skip
                if do_c:
                    wall, cpu, _ = timed(method_c, base, names, data, 2 * args.batch)
                    t["c"].append(wall)
                    t["c_cpu"].append(cpu)
            del x
            med = {k: statistics.median(v) if v else float("nan") for k, v in t.items()}
            est, est_rec = float("nan"), float("nan")
            if "b" in methods and not args.no_estimated and n == pair_counts[0]:
                est, phases = method_b(model, data, timer, estimate_real=True, layers=layers, batch_size=args.batch, **extra)
                est_rec = phases.get("recommend", float("nan"))
            # what (a)'s own first call adds once (trace, graph optimisation): a script running (a) once pays it
            a_once = first_call - med["a"] / math.ceil(2 * n / (2 * args.batch))
            row = {"model": arch, "pairs": n, **med, "b_estimated": est, "b_estimated_recommend": est_rec,
                   "a_first_call": first_call, "a_once": a_once, "c_feature_gb": gb, "raw": t}  # fmt: skip
            results["timing"].append(row)
            rows.append(row)
            print_row(row, flush=True)
    for arch in [m for m in (args.rss_models or models[0]).split(",") if m]:
        for n in rss_counts:
            r = run_child(args, arch, n)
            results["rss"].append({"model": arch, "pairs": n, **r})
            print(f"rss  {arch:12s} {n:5d} pairs: " + (f"peak RSS {r['rss_mb']:.0f} MB, (b) {r['seconds']:.1f} s, "
                  f"{n / r['seconds']:.2f} pairs/s" if "rss_mb" in r else f"failed: {r['error']}"), flush=True)  # fmt: skip
    print_table(rows, results["rss"])
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1, default=float)
    return 0


def _f(v: float, fmt: str = "{:.1f}") -> str:
    return "-" if v != v else fmt.format(v)


def print_row(r: dict, flush: bool = False) -> None:
    print(f"time {r['model']:12s} {r['pairs']:5d} pairs (wall/CPU s): a {_f(r['a'])}/{_f(r['a_cpu'])} "
          f"(first call of the tap model, one batch: {_f(r['a_first_call'])}), "
          f"b {_f(r['b'])}/{_f(r['b_cpu'])} (recommend {_f(r['recommend'])}, finalize {_f(r['finalize'], '{:.2f}')}, "
          f"result {_f(r.get('result', float('nan')))}), "
          f"b warm {_f(r['w'])}, b no-rec {_f(r['n'])}, "
          f"c {_f(r['c'])}/{_f(r['c_cpu'])}, b' {_f(r['b_estimated'])} (recommend {_f(r['b_estimated_recommend'])})",
          flush=flush)  # fmt: skip


def print_table(rows: list[dict], rss: list[dict]) -> None:
    head = ("model", "pairs", "a s", "a once s", "b s", "b warm s", "b no-rec s", "c s", "b/a", "b/(a+once)", "b warm/a", "c/b",
            "b/a CPU", "c/b CPU", "b pairs/s", "rec s", "b' s")  # fmt: skip
    print("\n| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for r in rows:
        cells = (r["model"], r["pairs"], _f(r["a"]), _f(r["a_once"]), _f(r["b"]), _f(r["w"]), _f(r["n"]), _f(r["c"]),
                 _f(r["b"] / r["a"], "{:.2f}"), _f(r["b"] / (r["a"] + r["a_once"]), "{:.2f}"),
                 _f(r["w"] / r["a"], "{:.2f}"), _f(r["c"] / r["b"], "{:.2f}"), _f(r["b_cpu"] / r["a_cpu"], "{:.2f}"),
                 _f(r["c_cpu"] / r["b_cpu"], "{:.2f}"), _f(r["pairs"] / r["b"], "{:.2f}"), _f(r["recommend"]),
                 _f(r["b_estimated"]))  # fmt: skip
        print("| " + " | ".join(str(c) for c in cells) + " |")
    if rss:
        print("\n| model | pairs | (b) s | pairs/s | peak RSS MB | RSS / RSS at smallest |\n|---|---|---|---|---|---|")
        first: dict[str, float] = {}
        for r in rss:
            if "rss_mb" not in r:
                print(f"| {r['model']} | {r['pairs']} | failed: {r['error']} | | | |")
                continue
            base = first.setdefault(r["model"], r["rss_mb"])
            print(f"| {r['model']} | {r['pairs']} | {r['seconds']:.1f} | {r['pairs'] / r['seconds']:.2f} | "
                  f"{r['rss_mb']:.0f} | {r['rss_mb'] / base:.2f} |")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
