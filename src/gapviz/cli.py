"""The ``gapviz`` command line: it parses arguments and calls the public API, nothing more.

Every user error is one line on stderr and exit status 1; usage errors exit 2 (argparse).

Each command imports what it runs inside its own function: ``import gapviz.cli`` takes 0.11 s and
``import gapviz.comparison`` 0.48 s (numpy, OpenCV, SciPy; measured with ``/usr/bin/time python -c``),
so ``--help``, ``--version`` and flag errors answer before the analysis stack loads. These are the
only function-local imports of gapviz modules besides TensorFlow/Keras and the one lazy edge of
`gapviz.result`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from gapviz._checks import check_int
from gapviz._errors import GapvizError
from gapviz.vocabulary import KNOBS


def _progress(args: argparse.Namespace) -> bool | None:
    """Progress bars: off with --quiet, on with --progress (even in a pipe), else only on a terminal."""
    if args.quiet:
        return False
    return True if getattr(args, "progress", False) else None


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
    from gapviz._progress import resolve_progress
    from gapviz.scenes import write_scenes

    written = write_scenes(
        args.out,
        preset=args.preset,
        n=args.n,
        seed=args.seed,
        size=args.size,
        overrides=args.set or [],
        pair_with=args.pair_with,
        progress=resolve_progress(_progress(args)),
        engine=args.engine,
        samples=args.samples,
    )
    print(written)
    return 0


def _preflight_model(args: argparse.Namespace) -> None:
    """The model path exists: said before TensorFlow's import (seconds) instead of after it."""
    if not os.path.exists(os.path.expanduser(args.model)):
        raise GapvizError(
            f"model not found: {args.model!r} does not exist; give a .keras or .h5 file or a SavedModel folder"
        )


def _preflight_report(args: argparse.Namespace) -> None:
    """Every check that needs no model, before TensorFlow loads: flags, folders, masks, output paths.

    Stores what the run will use in ``args.resolved``.
    """
    from gapviz._cli_checks import resolve_report_inputs

    if args.camera:  # a flag value: checked before the folders (compare validates it again)
        from gapviz.recommend._camera import load_camera

        load_camera(args.camera)
    args.resolved = resolve_report_inputs(args, _split_layers(args.layers))
    _preflight_model(args)


def _split_layers(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise GapvizError("--layers got no layer names; give a comma-separated list such as conv1_conv,conv2_block3_3_conv")
    return names


def _cmd_report(args: argparse.Namespace) -> int:
    import warnings
    from dataclasses import replace

    from gapviz._run_warnings import GapvizWarning
    from gapviz.comparison import compare

    run = args.resolved  # set by _preflight_report, before TensorFlow was imported
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GapvizWarning)  # printed below as one line each
        result = compare(
            args.model,
            run["real"],
            run["synth"],
            layers=run["layers"],
            masks=run["masks"] or None,
            image_size=args.image_size,
            analysis_size=run["analysis_size"],
            preprocess=args.preprocess,
            batch_size=args.batch_size,
            examples=args.examples,
            pairing=run["pairing"],
            seed=args.seed,
            n_boot=args.n_boot,
            progress=_progress(args),
            safe_mode=not args.unsafe_load,
            calibration_pairs=args.calibration_pairs,
            camera=args.camera,
            impact=not args.no_impact,
            labels={side: path for side, path in (("synth", args.labels_synth), ("real", args.labels_real)) if path}
            or None,
            label_scale=args.label_scale,
            attribution={"auto": None, "on": True, "off": False}[args.attribution],
            mask_provenance="as_given" if args.masks_as_given else "match",
            boxes=run["boxes"] or None,
            **_shard_options(args),
        )
    command = "gapviz " + " ".join(sys.argv[1:]) if sys.argv and sys.argv[0].endswith("gapviz") else None
    if command:
        result = replace(result, parameters={**result.parameters, "command": command})
    for warning in result.data.get("warnings") or ():
        print(f"gapviz: warning: {warning}", file=sys.stderr)
    if not args.quiet:
        for note in result.model.get("notes") or ():
            print(f"gapviz: note: {note}", file=sys.stderr)
    result.save_report(args.out, progress=_progress(args))
    if args.json:
        result.to_json(args.json)
    if args.pairs_csv:
        result.pairs.to_csv(args.pairs_csv)
    if not args.quiet:
        print(repr(result))
        if args.camera:
            from gapviz.recommend._renderer import format_settings

            print(format_settings(result.recommendations))
    print(f"report: {os.path.abspath(args.out)}" + (f"\njson: {os.path.abspath(args.json)}" if args.json else "")
          + (f"\npairs: {os.path.abspath(args.pairs_csv)}" if args.pairs_csv else ""))
    return 0


def _shard_options(args: argparse.Namespace) -> dict:
    """compare()'s cluster/shard_size/cache from --workers/--scheduler/--shard-size/--cache (only those given)."""
    out: dict = {}
    if args.workers is not None:
        out["cluster"] = check_int("--workers", args.workers, low=1)
    if args.scheduler:
        out["cluster"] = args.scheduler
    if args.shard_size is not None:
        out["shard_size"] = args.shard_size
    if args.cache:
        out["cache"] = args.cache
    return out


def _cmd_demo(args: argparse.Namespace) -> int:
    from gapviz.demo import run_demo

    size = args.size if args.size is not None else (128 if args.engine == "blender" else 512)
    summary = run_demo(args.out, n=args.n, size=size, seed=args.seed, progress=_progress(args), engine=args.engine,
                       samples=args.samples)  # fmt: skip
    print(summary)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``gapviz`` argument parser: the subcommands ``layers``, ``scenes``, ``report`` and ``demo``.

    Examples
    --------
    >>> args = build_parser().parse_args(["scenes", "--out", "scenes", "--set", "exposure=0.5"])
    >>> args.command, args.preset, args.n, args.size, args.set
    ('scenes', 'field', 20, 512, ['exposure=0.5'])
    """
    from gapviz._version import __version__

    parser = argparse.ArgumentParser(
        prog="gapviz",
        description="Measure the synthetic-to-real gap of a Keras image regressor.",
    )
    parser.add_argument("--version", action="version", version=f"gapviz {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_layers(sub)
    _add_scenes(sub)
    _add_report(sub)
    _add_demo(sub)
    return parser


def _add_layers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("layers", help="list the tappable layers of a model file")
    p.add_argument("--model", required=True, help="model file (.keras, .h5) or SavedModel folder")
    p.add_argument("--json", action="store_true", help="print the layer list as JSON instead of a table")
    p.add_argument("--unsafe-load", action="store_true", help="allow Lambda layers (runs code stored in the file)")
    p.set_defaults(func=_cmd_layers, preflight=_preflight_model)


def _knob_epilog() -> str:
    """The knobs of ``--set``, one a line: name, meaning, valid values (from `gapviz.vocabulary`)."""
    width = max(map(len, KNOBS))
    lines = [f"  {k.name:<{width}}  {k.meaning}; {k.valid_range()}" for k in KNOBS.values()]
    return "knobs (--set KNOB=VALUE):\n" + "\n".join(lines)


def _add_scenes(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scenes", help="render built-in chain-shackle scenes", epilog=_knob_epilog(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--preset", default="field", help="rendering preset: field, dataset1, dataset2")
    p.add_argument("--n", type=int, default=20, help="number of scenes (default 20)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--seed", type=int, default=0, help="seed of the first scene (default 0)")
    p.add_argument("--size", type=int, default=512, help="image side in pixels (default 512)")
    p.add_argument(
        "--set",
        action="append",
        metavar="KNOB=VALUE",
        help=f"override one knob ({', '.join(KNOBS)}); repeatable; with --pair-with, real.KNOB=VALUE or "
        "synth.KNOB=VALUE sets one side only",
    )
    p.add_argument(
        "--pair-with",
        metavar="PRESET",
        help="also render the same scenes under PRESET: OUT/real (--preset) and OUT/synth (PRESET)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--engine", default="2d", choices=["2d", "blender"],
                   help="2d compositor (default) or blender: Cycles in a Python with bpy (make blender)")
    p.add_argument("--samples", type=int, metavar="N", help="Cycles samples per pixel with --engine blender (default 16)")
    p.set_defaults(func=_cmd_scenes)


def _add_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="compare real and synthetic images through a model and write the HTML report")
    p.add_argument("--model", required=True, help="model file (.keras, .h5) or SavedModel folder")
    p.add_argument("--real", help="folder of real photographs (default ./real; a 'gapviz scenes' folder with "
                   "images/ and masks/ works too)")
    p.add_argument("--synth", help="folder of synthetic renders (default ./synth; 'gapviz scenes' layout too)")
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
    p.add_argument("--camera", metavar="JSON", help="camera profile: say the recommendations in the renderer's "
                   "settings (Blender or Unreal) on the cards and in the JSON")  # fmt: skip
    p.add_argument("--pairs-csv", metavar="PATH", help="also write the per-pair values of every statistic as CSV")
    p.add_argument("--progress", action="store_true", help="show progress bars even when stderr is not a terminal")
    p.add_argument("--labels-synth", metavar="CSV", help="labels of the synthetic images (columns stem,label; "
                   "a scenes labels.csv works): MAE as rendered and adjusted by the recommended amounts")
    p.add_argument("--labels-real", metavar="CSV", help="labels of the real images: the measured real MAE beside the estimate")
    p.add_argument("--label-scale", type=float, metavar="X", help="multiply labels by X to reach the model's output unit "
                   "(default 1; 0.01 for a wear column with the demo model)")
    p.add_argument("--no-impact", action="store_true", help="skip what each gap does to the model's prediction")
    p.add_argument("--attribution", choices=["auto", "on", "off"], default="auto",
                   help="background share of gradient x activation (default auto: on for inputs up to 256x256)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--pairing", default="auto", choices=["auto", "stem", "order", "unpaired"],
                       help="how real and synthetic images are paired: by file stem (auto, stem), by sorted "
                       "order, or not at all (distributions only); default auto")
    group.add_argument("--manifest", metavar="CSV", help="pair by a CSV with columns real,synth[,mask_real,mask_synth] "
                       "(paths relative to the CSV); --real/--synth are then optional")
    p.add_argument("--analysis-size", metavar="N|HxW", help="size of the image statistics (default: the real "
                   "images' median long side, at most 512, at the model's aspect ratio)")
    p.add_argument("--n-boot", type=int, default=1000, metavar="N", help="bootstrap resamples per CI (default 1000)")
    p.add_argument("--calibration-pairs", type=int, default=8, metavar="N",
                   help="synthetic images the recommended amounts are calibrated on (default 8; 0: no amounts)")
    p.add_argument("--masks-as-given", action="store_true",
                   help="use given masks as they are even where the other side's are estimated (default: estimate "
                   "both sides' masks for object/background statistics; one-sided masks can create false gaps)")
    p.add_argument("--boxes-real", metavar="CSV", help="bounding boxes of the real images (stem,x0,y0,x1,y1 rows, "
                   "pixels of the original images): they seed the mask estimator")
    p.add_argument("--boxes-synth", metavar="CSV", help="bounding boxes of the synthetic images, as --boxes-real")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N",
                       help="run the pairs as shards on a local Dask cluster of N processes (needs gapviz[dask])")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run the shards on an existing Dask cluster, e.g. tcp://host:8786 (needs gapviz[dask])")
    p.add_argument("--shard-size", type=int, metavar="N", help="pairs per shard (default 256, whole batches)")
    p.add_argument("--cache", metavar="DIR",
                   help="keep each finished shard's state in DIR; a rerun computes only the missing shards")
    p.set_defaults(func=_cmd_report, preflight=_preflight_report)


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="the whole job on built-in scenes with the shipped demo model")
    p.add_argument("--out", default="gapviz-demo", help="output folder (default gapviz-demo)")
    p.add_argument("--n", type=int, default=24, help="pairs to render (default 24)")
    p.add_argument("--size", type=int, default=None,
                   help="rendered image side in pixels (default 512; 128 with --engine blender)")
    p.add_argument("--seed", type=int, default=0, help="seed of the first scene (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--progress", action="store_true", help="show progress bars even when stderr is not a terminal")
    p.add_argument("--engine", default="2d", choices=["2d", "blender"],
                   help="2d compositor (default) or blender: render and re-render with Cycles (make blender)")
    p.add_argument("--samples", type=int, metavar="N", help="Cycles samples per pixel with --engine blender (default 16)")
    p.set_defaults(func=_cmd_demo)


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
    """Run the ``gapviz`` command line with ``argv`` (default: ``sys.argv[1:]``); return the exit status.

    A user error (`GapvizError`) is printed as one line on stderr and gives status 1; a usage error
    exits with status 2 (argparse).

    Examples
    --------
    >>> import gapviz, tempfile
    >>> main(["layers", "--model", gapviz.demo_model()])
    model: .../demo_model.keras (keras, loaded with keras, sha256 ...)
    depth  tap  path                          class                   output shape
        0       input_layer_1                 InputLayer              (None, 96, 96, 3)
        1  *    Conv1                         Conv2D                  (None, 48, 48, 16)
    ...
    156 layers; * = tapped by default (when no layers are given)
    0
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     main(["scenes", "--out", f"{tmp}/scenes", "--n", "2", "--size", "64", "--quiet"])
    wrote 2 field scenes (64x64) to .../scenes: images/, masks/, boxes.csv, labels.csv
    0
    >>> import contextlib
    >>> with contextlib.redirect_stderr(sys.stdout):  # show the error line here
    ...     main(["layers", "--model", "missing.keras"])
    gapviz: error: model not found: 'missing.keras' does not exist; give a .keras or .h5 file or a SavedModel folder
    1
    >>> try:
    ...     main(["--version"])
    ... except SystemExit as exc:
    ...     print("exit status", exc.code)
    gapviz ...
    exit status 0
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        preflight = getattr(args, "preflight", None)
        if preflight is not None:  # what can fail without a model fails before TensorFlow's import
            preflight(args)
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
