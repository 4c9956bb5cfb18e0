"""`gapviz report`'s checks that need no model: run before TensorFlow is imported (which takes seconds).

Flag values, the input folders and masks (by listing and pairing them, as `compare` will), the
`gapviz scenes` folder layout, and the output paths against every input.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from gapviz._checks import check_int
from gapviz._errors import GapvizError
from gapviz._paths import check_outputs, run_inputs

#: flag -> (attribute, smallest allowed value)
_INT_FLAGS = {
    "--batch-size": ("batch_size", 1),
    "--examples": ("examples", 0),
    "--n-boot": ("n_boot", 10),
    "--calibration-pairs": ("calibration_pairs", 0),
    "--image-size": ("image_size", 8),
}


def scenes_layout(folder: str, masks: str | None) -> tuple[str, str | None, str | None]:
    """``OUT/real`` as written by `gapviz scenes` (``images/`` and ``masks/`` inside) -> its images and masks.

    A folder with images of its own is used as is. Returns ``(images, masks, note)``.
    """
    from gapviz.inputs import is_image_path

    images = os.path.join(folder, "images")
    if not os.path.isdir(folder) or not os.path.isdir(images):
        return folder, masks, None
    try:
        own = any(is_image_path(e.name) and not e.name.startswith(".") for e in os.scandir(folder))
    except OSError:
        return folder, masks, None
    if own:
        return folder, masks, None
    found = os.path.join(folder, "masks")
    if masks is None and os.path.isdir(found):
        masks = found
        note = f"{folder!r} has the 'gapviz scenes' layout: using {images!r} and the masks in {found!r}"
    else:
        note = f"{folder!r} has the 'gapviz scenes' layout: using {images!r}"
    return images, masks, note


def resolve_report_inputs(args: argparse.Namespace, layers: list[str] | None) -> dict[str, Any]:
    """What `gapviz report` will compare, checked without a model; raises GapvizError (one line) on the first problem."""
    from gapviz.inputs import build_pairs
    from gapviz.inputs._size import parse_size

    for flag, (attr, low) in _INT_FLAGS.items():
        value = getattr(args, attr, None)
        if value is not None:
            check_int(flag, value, low=low)
    analysis_size = parse_size(args.analysis_size, "--analysis-size")
    if args.preset:
        from gapviz.models._layers import PRESETS  # plain data: no TensorFlow behind it

        if args.preset not in PRESETS:
            raise GapvizError(f"unknown preset {args.preset!r}; expected one of {', '.join(PRESETS)}")
        layers = list(PRESETS[args.preset])
    manifest = args.manifest
    if manifest is not None and not os.path.isfile(manifest):
        raise GapvizError(f"--manifest {manifest!r} does not exist; give the CSV file with columns real,synth")
    real = args.real if args.real is not None else (None if manifest else "real")
    synth = args.synth if args.synth is not None else (None if manifest else "synth")
    masks = {"real": args.masks_real, "synth": args.masks_synth}
    for side, value in (("real", real), ("synth", synth)):
        if value is None:
            continue
        folder, mask, note = scenes_layout(value, masks[side])
        if note and not args.quiet:
            print(f"gapviz: note: {note}", file=sys.stderr)
        if side == "real":
            real = folder
        else:
            synth = folder
        masks[side] = mask
    masks = {k: v for k, v in masks.items() if v}
    pairing = manifest if manifest is not None else args.pairing
    pairset = build_pairs(real, synth, pairing=pairing, masks=masks or None)
    # every file the command writes, and every file it reads (options other commands add included)
    outputs = [args.out, args.json, getattr(args, "pairs_csv", None)]
    inputs = run_inputs(args.model, real, synth, masks, pairing, pairset) + [getattr(args, name, None) for name in ("camera", "labels_synth", "labels_real", "boxes_real", "boxes_synth")]
    check_outputs(outputs, [i for i in inputs if i is not None])
    boxes = {side: path for side, path in (("real", getattr(args, "boxes_real", None)),
                                            ("synth", getattr(args, "boxes_synth", None))) if path}  # fmt: skip
    return {"real": real, "synth": synth, "masks": masks, "pairing": pairing, "layers": layers,
            "analysis_size": analysis_size, "boxes": boxes}  # fmt: skip
