"""The ``gapviz`` command line: it parses arguments and calls the public API, nothing more.

Every user error is one line on stderr and exit status 1; usage errors exit 2 (argparse).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from gapviz._errors import GapvizError


def _progress(args: argparse.Namespace) -> bool:
    """Progress bars on stderr unless --quiet, and only when stderr is a terminal."""
    return not args.quiet and sys.stderr.isatty()


def _cmd_layers(args: argparse.Namespace) -> int:
    import json

    from gapviz.models import format_layer_table, list_layers, load_model, model_source

    model = load_model(args.model, safe_mode=not args.unsafe_load)
    layers = list_layers(model)
    if args.json:
        print(json.dumps([layer.to_dict() for layer in layers], indent=2))
        return 0
    source = model_source(model)
    print(f"model: {source.path} ({source.format}, loaded with {source.loader}, sha256 {source.sha256})")
    for note in source.notes:
        print(f"note: {note}")
    print(format_layer_table(layers))
    return 0


def _cmd_scenes(args: argparse.Namespace) -> int:
    from gapviz.scenes import write_scenes

    written = write_scenes(
        args.out,
        preset=args.preset,
        n=args.n,
        seed=args.seed,
        size=args.size,
        overrides=args.set or [],
        pair_with=args.pair_with,
        progress=_progress(args),
    )
    print(written)
    return 0


def _split_layers(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise GapvizError("--layers got no layer names; give a comma-separated list such as conv1_conv,conv2_block3_3_conv")
    return names


def _cmd_report(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from gapviz.comparison import compare
    from gapviz.result import check_output_paths

    masks = {side: path for side, path in (("real", args.masks_real), ("synth", args.masks_synth)) if path}
    layers = _split_layers(args.layers)
    if args.preset:
        from gapviz.models import PRESETS

        if args.preset not in PRESETS:
            raise GapvizError(f"unknown preset {args.preset!r}; expected one of {', '.join(PRESETS)}")
        layers = list(PRESETS[args.preset])
    inputs = [args.real, args.synth, *masks.values()]
    outputs = [args.out] + ([args.json] if args.json else [])
    check_output_paths(outputs, inputs)
    result = compare(
        args.model,
        args.real,
        args.synth,
        layers=layers,
        masks=masks or None,
        image_size=args.image_size,
        preprocess=args.preprocess,
        batch_size=args.batch_size,
        examples=args.examples,
        seed=args.seed,
        progress=_progress(args),
        safe_mode=not args.unsafe_load,
        **_shard_options(args),
    )
    command = "gapviz " + " ".join(sys.argv[1:]) if sys.argv and sys.argv[0].endswith("gapviz") else None
    if command:
        result = replace(result, parameters={**result.parameters, "command": command})
    result.save_report(args.out)
    if args.json:
        result.to_json(args.json)
    if not args.quiet:
        print(repr(result))
    print(f"report: {os.path.abspath(args.out)}" + (f"\njson: {os.path.abspath(args.json)}" if args.json else ""))
    return 0


def _shard_options(args: argparse.Namespace) -> dict:
    """compare()'s cluster/shard_size/cache from --workers/--scheduler/--shard-size/--cache (only those given)."""
    out: dict = {}
    if args.workers is not None:
        if args.workers < 1:
            raise GapvizError(f"--workers must be at least 1 but got {args.workers}")
        out["cluster"] = args.workers
    if args.scheduler:
        out["cluster"] = args.scheduler
    if args.shard_size is not None:
        out["shard_size"] = args.shard_size
    if args.cache:
        out["cache"] = args.cache
    return out


def _cmd_demo(args: argparse.Namespace) -> int:
    from gapviz.demo import run_demo

    summary = run_demo(args.out, n=args.n, size=args.size, seed=args.seed, progress=_progress(args))
    print(summary)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from gapviz import __version__

    parser = argparse.ArgumentParser(
        prog="gapviz",
        description="Measure the synthetic-to-real gap of a Keras image regressor.",
    )
    parser.add_argument("--version", action="version", version=f"gapviz {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("layers", help="list the tappable layers of a model file")
    p.add_argument("--model", required=True, help="model file (.keras, .h5) or SavedModel folder")
    p.add_argument("--json", action="store_true", help="print the layer list as JSON instead of a table")
    p.add_argument("--unsafe-load", action="store_true", help="allow Lambda layers (runs code stored in the file)")
    p.set_defaults(func=_cmd_layers)

    p = sub.add_parser("scenes", help="render built-in chain-shackle scenes")
    p.add_argument("--preset", default="field", help="rendering preset: field, dataset1, dataset2")
    p.add_argument("--n", type=int, default=20, help="number of scenes (default 20)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--seed", type=int, default=0, help="seed of the first scene (default 0)")
    p.add_argument("--size", type=int, default=512, help="image side in pixels (default 512)")
    p.add_argument(
        "--set",
        action="append",
        metavar="KNOB=VALUE",
        help="override one knob (camera_focus, resolution, lighting, sensor_noise, compression, exposure, "
        "color, texture, background); repeatable; with --pair-with, real.KNOB=VALUE or synth.KNOB=VALUE "
        "sets one side only",
    )
    p.add_argument(
        "--pair-with",
        metavar="PRESET",
        help="also render the same scenes under PRESET: OUT/real (--preset) and OUT/synth (PRESET)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_scenes)

    p = sub.add_parser("report", help="compare real and synthetic images through a model and write the HTML report")
    p.add_argument("--model", required=True, help="model file (.keras, .h5) or SavedModel folder")
    p.add_argument("--real", default="real", help="folder of real photographs (default ./real)")
    p.add_argument("--synth", default="synth", help="folder of synthetic renders (default ./synth)")
    p.add_argument("--masks-real", metavar="DIR", help="object masks of the real images, matched by file stem")
    p.add_argument("--masks-synth", metavar="DIR", help="object masks of the synthetic images, matched by file stem")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--layers", metavar="A,B", help="comma-separated layers to tap (default: detected preset)")
    group.add_argument("--preset", metavar="NAME", help="tap a preset's layers: vgg16, mobilenetv2, resnet50, resnet50v2")
    p.add_argument("--out", default="gapviz-report.html", help="HTML report path (default gapviz-report.html)")
    p.add_argument("--json", metavar="PATH", help="also write the numbers as JSON")
    p.add_argument("--image-size", type=int, metavar="N", help="model input size, for models that take any size")
    p.add_argument("--batch-size", type=int, default=8, metavar="N", help="pairs per forward pass (default 8)")
    p.add_argument("--examples", type=int, default=5, metavar="N", help="example pairs shown (default 5)")
    p.add_argument("--preprocess", default="unit", choices=["unit", "caffe", "tf", "torch", "raw"],
                   help="input scaling the model was trained with (default unit: x/255)")
    p.add_argument("--seed", type=int, default=0, help="seed of bootstrap and sampling (default 0)")
    p.add_argument("--unsafe-load", action="store_true", help="allow Lambda layers (runs code stored in the file)")
    p.add_argument("--quiet", action="store_true", help="no progress bar, only the output paths")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N",
                       help="run the pairs as shards on a local Dask cluster of N processes (needs gapviz[dask])")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run the shards on an existing Dask cluster, e.g. tcp://host:8786 (needs gapviz[dask])")
    p.add_argument("--shard-size", type=int, metavar="N", help="pairs per shard (default 256, whole batches)")
    p.add_argument("--cache", metavar="DIR",
                   help="keep each finished shard's state in DIR; a rerun computes only the missing shards")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("demo", help="the whole job on built-in scenes with the shipped demo model")
    p.add_argument("--out", default="gapviz-demo", help="output folder (default gapviz-demo)")
    p.add_argument("--n", type=int, default=24, help="pairs to render (default 24)")
    p.add_argument("--size", type=int, default=512, help="rendered image side in pixels (default 512)")
    p.add_argument("--seed", type=int, default=0, help="seed of the first scene (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_demo)

    return parser


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow and let it probe its devices with the process's stderr closed.

    TensorFlow's native start-up messages (oneDNN notices, "could not find cuda drivers", a failed
    cuInit on CPU-only machines) are written by C++ before its log level applies, straight to file
    descriptor 2. A command-line user would get them around gapviz's own one-line errors, so the
    CLI silences that descriptor for the import only. The library itself never does this.
    """
    if "tensorflow" in sys.modules:
        return
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (e.g. captured): nothing to hide
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), fd)
            import tensorflow as tf

            tf.config.list_physical_devices()
            import keras  # noqa: F401
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command in ("layers", "report", "demo"):
            _import_tensorflow_quietly()
        return int(args.func(args) or 0)
    except ImportError as exc:
        print(f"gapviz: error: TensorFlow/Keras could not be imported ({exc}); reinstall gapviz's dependencies "
              "(make install)", file=sys.stderr)  # fmt: skip
        return 1
    except GapvizError as exc:
        print(f"gapviz: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("gapviz: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
