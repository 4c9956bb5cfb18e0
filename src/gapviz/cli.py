"""The ``gapviz`` command line: it parses arguments and calls the public API, nothing more.

Every user error is one line on stderr and exit status 1; usage errors exit 2 (argparse).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from gapviz._errors import GapvizError


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
        progress=not args.quiet,
    )
    print(written)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:  # filled in by the report issue
    raise GapvizError("'gapviz report' is not available in this build yet")


def _cmd_demo(args: argparse.Namespace) -> int:  # filled in by the report issue
    raise GapvizError("'gapviz demo' is not available in this build yet")


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

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except GapvizError as exc:
        print(f"gapviz: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("gapviz: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
