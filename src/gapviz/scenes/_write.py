"""Writing rendered scenes to disk: images, masks and a labels.csv."""

from __future__ import annotations

import csv
import io
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from gapviz._checks import check_int
from gapviz._errors import GapvizError
from gapviz.scenes._knobs import KNOBS, override_items, parse_overrides, resolve_settings
from gapviz.scenes._render import _check_engine, _check_seed, _check_size, render_pair, render_scene
from gapviz.scenes.blender._engine import DEFAULT_SAMPLES, BlenderRequest, check_samples
from gapviz.scenes.blender._engine import render_requests as render_blender

_SIDES = ("real", "synth")


def _split_overrides(
    overrides: Iterable[str] | Mapping[str, Any] | None, paired: bool
) -> dict[str, dict[str, Any]]:
    """Per-side overrides: ``knob=value`` goes to both sides, ``real.knob=value`` / ``synth.knob=value`` to one."""
    sides: dict[str, dict[str, Any]] = {"real": {}, "synth": {}}
    for name, value in override_items(overrides):
        side, dot, knob = str(name).partition(".")
        if dot and side in _SIDES:
            if not paired:
                raise GapvizError(
                    f"override {name!r} names a side ({side!r}), which needs pair_with (--pair-with)"
                )
            sides[side].update(parse_overrides({knob: value}))
        else:
            parsed = parse_overrides({name: value})
            for side_overrides in sides.values():
                side_overrides.update(parsed)
    return sides


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _png(image: np.ndarray) -> bytes:
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:  # pragma: no cover - OpenCV always has a PNG codec
        raise GapvizError("OpenCV could not PNG-encode an image")
    return buf.tobytes()


def _box_of_mask(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """The tight box ``(x0, y0, x1, y1)`` of a mask, exclusive ends (None when empty)."""
    ys, xs = np.nonzero(mask)
    if not len(xs):
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _boxes_csv(boxes: Mapping[str, tuple]) -> str:
    """``stem,x0,y0,x1,y1`` rows with a header (the format `gapviz.compare(boxes=...)` reads)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["stem", "x0", "y0", "x1", "y1"])
    writer.writerows([stem, *box] for stem, box in boxes.items())
    return text.getvalue()


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


#: scenes per Blender process in `write_scenes` (each process costs about a second to start)
BLENDER_BATCH = 32


def _blender_batches(seeds, preset, pair_with, sides, size, engine, samples):
    """For ``engine="blender"``: a generator of ``(real, synth or None)`` per seed, rendered in batches.

    None for the 2D engine (it renders each scene when the loop reaches it).
    """
    if engine != "blender":
        return None
    real_settings = resolve_settings(preset, sides["real"])
    synth_settings = resolve_settings(pair_with, sides["synth"]) if pair_with is not None else None

    def batches():
        seeds_list = list(seeds)
        for start in range(0, len(seeds_list), BLENDER_BATCH):
            chunk = seeds_list[start : start + BLENDER_BATCH]
            requests = []
            for s in chunk:
                requests.append(BlenderRequest(s, preset, real_settings))
                if synth_settings is not None:
                    requests.append(BlenderRequest(s, pair_with, synth_settings))
            scenes, _ = render_blender(requests, size, samples=samples)
            step = 2 if synth_settings is not None else 1
            for k in range(len(chunk)):
                yield scenes[k * step], scenes[k * step + 1] if step == 2 else None

    return batches()


def write_scenes(
    out: str | os.PathLike,
    *,
    preset: str = "field",
    n: int = 20,
    seed: int = 0,
    size: int = 512,
    overrides: Iterable[str] | Mapping[str, Any] | None = None,
    pair_with: str | None = None,
    progress: bool = False,
    engine: str = "2d",
    samples: int | None = None,
) -> str:
    """Render ``n`` scenes (seeds ``seed`` .. ``seed + n - 1``) and write them under ``out``.

    Without ``pair_with``: ``out/images/<stem>.png`` (RGB), ``out/masks/<stem>.png`` (0/255),
    ``out/boxes.csv`` (each mask's tight bounding box, ``stem,x0,y0,x1,y1``, exclusive ends: the
    detection labels a data set would have) and ``out/labels.csv``. With ``pair_with``: the same
    scenes under both presets, ``preset`` in ``out/real/{images,masks,boxes.csv}`` and ``pair_with``
    in ``out/synth/{images,masks,boxes.csv}``, with shared stems and one ``out/labels.csv``. Images are always PNG: a ``compression`` setting has already put real
    JPEG artefacts into the pixels (an in-memory round trip), and PNG keeps them without a second
    lossy encode. Stems are ``scene_<seed:06d>``.

    Parameters
    ----------
    out : path
        Output folder; created if missing. It must not already hold scenes.
    preset : str, default "field"
        Preset of the scenes (the "real" side of a pair).
    n : int, default 20
        Number of scenes (>= 1).
    seed : int, default 0
        Seed of the first scene.
    size : int, default 512
        Image side in pixels.
    overrides : iterable of "knob=value" strings or mapping, optional
        Knob overrides. With ``pair_with``, ``knob=value`` applies to both sides and
        ``real.knob=value`` / ``synth.knob=value`` to one side.
    pair_with : str, optional
        Second preset (the "synthetic" side); renders a true real/synthetic pair per seed.
    progress : bool, default False
        Show a tqdm progress bar on stderr.
    engine : str, default "2d"
        ``"2d"`` (the compositor) or ``"blender"`` (Cycles, `gapviz.scenes.blender`; scenes are
        rendered in batches of `BLENDER_BATCH` by one Blender process each). With ``"blender"``,
        ``labels.csv`` gains ``engine`` and ``samples`` columns.
    samples : int, optional
        Cycles samples per pixel for ``engine="blender"`` (default 16).

    Returns
    -------
    str
        One summary line: what was written where.

    Raises
    ------
    GapvizError
        For a bad preset, knob, value, count, seed or size, or an output folder that already
        holds scenes.

    Examples
    --------
    >>> import tempfile
    >>> from gapviz.scenes import write_scenes
    >>> out = tempfile.mkdtemp()
    >>> write_scenes(out, preset="dataset1", n=2, size=64).startswith("wrote 2 dataset1 scenes")
    True
    """
    from tqdm import tqdm

    n = check_int("n", n, low=1, hint="it is the number of scenes to write")
    seed, size = _check_seed(seed), _check_size(size)
    engine, samples = _check_engine_samples(engine, samples)
    paired = pair_with is not None
    sides = _split_overrides(overrides, paired)
    # validate everything before anything is written
    real_settings = resolve_settings(preset, sides["real"])
    if paired:
        resolve_settings(pair_with, sides["synth"])

    root = Path(out)
    box_files = _make_folders(root, paired)
    knob_names = list(KNOBS)
    run = [engine, samples] if engine == "blender" else []  # the labels' engine and samples columns
    rows = []
    rendered = _blender_batches(range(seed, seed + n), preset, pair_with, sides, size, engine, samples)
    boxes: dict[str, dict[str, tuple]] = {str(f): {} for f in box_files}
    for s in tqdm(range(seed, seed + n), desc="scenes", unit="scene", file=sys.stderr, disable=not progress):
        stem = f"scene_{s:06d}"
        real, synth = _render_seed(s, rendered, preset, pair_with, sides, real_settings, size)
        if paired:
            for side, scene in zip(_SIDES, (real, synth), strict=True):
                _write_scene(root / side, stem, scene, boxes[str(root / side / "boxes.csv")])
            rows.append(
                [stem, _fmt(real.wear), s, preset, pair_with, real.background_content]
                + [_fmt(real.settings[k]) for k in knob_names]
                + [_fmt(synth.settings[k]) for k in knob_names]
                + run
            )
        else:
            _write_scene(root, stem, real, boxes[str(root / "boxes.csv")])
            rows.append(
                [stem, _fmt(real.wear), s, preset, real.background_content]
                + [_fmt(real.settings[k]) for k in knob_names]
                + run
            )
    _write_tables(root, _labels_header(knob_names, paired, engine), rows, boxes)

    if paired:
        return (
            f"wrote {n} {preset}/{pair_with} scene pairs ({size}x{size}) to {root}: "
            "real/{images,masks,boxes.csv}, synth/{images,masks,boxes.csv}, labels.csv"
        )
    return f"wrote {n} {preset} scenes ({size}x{size}) to {root}: images/, masks/, boxes.csv, labels.csv"


def _render_seed(seed, rendered, preset, pair_with, sides, real_settings, size) -> tuple[Any, Any]:
    """Scene ``seed`` as ``(real, synth or None)``: the next of the Blender batches, or rendered now in 2D."""
    if rendered is not None:
        return next(rendered)
    if pair_with is None:
        return render_scene(seed, real_settings, preset=preset, size=size), None
    return render_pair(
        seed, preset, pair_with, size=size, real_overrides=sides["real"], synth_overrides=sides["synth"]
    )


def _check_engine_samples(engine: Any, samples: Any) -> tuple[str, int | None]:
    """The engine, and the Cycles samples per pixel for the Blender engine (None for the 2D one)."""
    engine = _check_engine(engine)
    if engine == "2d" and samples is not None:
        raise GapvizError(
            "samples (--samples) are Cycles samples per pixel; they need engine 'blender' (--engine blender)"
        )
    if engine == "blender":
        samples = check_samples(DEFAULT_SAMPLES if samples is None else samples)
    return engine, samples


def _make_folders(root: Path, paired: bool) -> list[Path]:
    """Create the image and mask folders under ``root``, refusing one that already holds scenes.

    Returns the boxes.csv files to write (one per side when ``paired``).
    """
    if root.exists() and not root.is_dir():
        raise GapvizError(f"output {str(root)!r} exists and is not a folder")
    subdirs = (
        [root / side / kind for side in _SIDES for kind in ("images", "masks")]
        if paired
        else [
            root / "images",
            root / "masks",
        ]
    )
    box_files = [root / side / "boxes.csv" for side in _SIDES] if paired else [root / "boxes.csv"]
    for d in [*subdirs, root / "labels.csv", *box_files]:
        if d.exists() and (d.is_file() or any(d.iterdir())):
            raise GapvizError(
                f"output folder {str(root)!r} already holds scenes ({d.name}); choose an empty or new folder"
            )
    for d in subdirs:
        d.mkdir(parents=True, exist_ok=True)
    return box_files


def _labels_header(knob_names: list[str], paired: bool, engine: str) -> list[str]:
    """The columns of labels.csv."""
    if paired:
        header = ["stem", "wear", "seed", "real_preset", "synth_preset", "background_content"]
        header += [f"real_{k}" for k in knob_names] + [f"synth_{k}" for k in knob_names]
    else:
        header = ["stem", "wear", "seed", "preset", "background_content", *knob_names]
    if engine == "blender":
        header += ["engine", "samples"]
    return header


def _write_scene(folder: Path, stem: str, scene: Any, boxes: dict[str, tuple]) -> None:
    """One scene's ``images/<stem>.png`` and ``masks/<stem>.png`` under ``folder``; its mask's box into ``boxes``."""
    _atomic_write(folder / "images" / f"{stem}.png", _png(scene.image))
    _atomic_write(folder / "masks" / f"{stem}.png", _png(scene.mask.astype(np.uint8) * 255))
    boxes[stem] = _box_of_mask(scene.mask)


def _write_tables(
    root: Path, header: list[str], rows: list[list], boxes: dict[str, dict[str, tuple]]
) -> None:
    """labels.csv under ``root``, and each boxes.csv (scenes with an empty mask have no box)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    _atomic_write(root / "labels.csv", text.getvalue().encode())
    for path, table in boxes.items():
        _atomic_write(Path(path), _boxes_csv({k: v for k, v in table.items() if v is not None}).encode())
