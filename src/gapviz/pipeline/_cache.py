"""Finished shards on disk (``compare(..., cache=DIR)``, ``gapviz report --cache DIR``).

One file per finished shard, ``shard-<key hash>.npz``, written atomically (a temporary file in
the same folder, flushed, then renamed), read with ``numpy.load(allow_pickle=False)``: numeric
and unicode arrays only, plus a ``meta`` array holding UTF-8 JSON (format, version, the full key,
the checksum of every other array, and the shard's records). The key holds the model file's
sha256, every parameter that changes a shard's numbers, the run's analysis size and Canny
thresholds, and the shard's files with their sizes and modification times (or a hash of the rows
of array inputs). A file that does not load, has another version, another key (a foreign or
renamed file) or a wrong checksum is reported and recomputed, never trusted.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from gapviz._errors import GapvizError
from gapviz.impact import ImpactSample
from gapviz.pipeline._shard import Shard, ShardOutput
from gapviz.result import ExamplePair, FeatureExample
from gapviz.stats._accstate import STATE_VERSION, accumulator_arrays, accumulator_from_arrays

FORMAT = "gapviz-shard-state"
#: version of the file layout (the accumulator layout has its own, `STATE_VERSION`)
FILE_VERSION = 2


def _checksum(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def _file_info(ref: Any, arrays: dict) -> list:
    """``[path, size, mtime_ns]`` of a file, or ``["array", sha256 of the row]`` of an array row."""
    if ref is None:
        return [None]
    if isinstance(ref, (int, np.integer)):
        return ["array", hashlib.sha256(np.ascontiguousarray(arrays[int(ref)]).tobytes()).hexdigest()]
    try:
        st = os.stat(ref)
        return [os.path.abspath(os.fspath(ref)), st.st_size, st.st_mtime_ns]
    except OSError:
        return [os.path.abspath(os.fspath(ref)), None, None]


def shard_files(shard: Shard) -> list:
    """The shard's rows as they enter its key: stems, files (size, mtime) or array-row hashes."""
    ps = shard.pairset
    arr = {s: ps.arrays.get(s) for s in ("real", "synth")}
    marr = {s: ps.mask_arrays.get(s) for s in ("real", "synth")}
    if shard.side == "pair":
        return [[p.stem, _file_info(p.real, arr["real"]), _file_info(p.synth, arr["synth"]),
                 _file_info(p.mask_real, marr["real"]), _file_info(p.mask_synth, marr["synth"])]
                for p in ps.pairs]  # fmt: skip
    return [[it.stem, _file_info(it.source, arr[it.side]), _file_info(it.mask, marr[it.side])]
            for it in ps.items(shard.side)]  # fmt: skip


class ShardCache:
    """The shard states of one run configuration in ``folder`` (created if missing)."""

    def __init__(self, folder: str | os.PathLike, run_key: dict) -> None:
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise GapvizError(f"cannot use cache folder {os.fspath(folder)!r} ({exc}); pass a writable folder") from None
        self.run_key = json.loads(json.dumps(run_key, default=str))
        self.written: list[int] = []

    def key(self, shard: Shard) -> dict:
        return {"format": FORMAT, "file_version": FILE_VERSION, "state_version": STATE_VERSION, "run": self.run_key,
                "shard": {"side": shard.side, "start": shard.start, "rows": shard_files(shard)}}  # fmt: skip

    def path(self, key: dict) -> Path:
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]
        return self.folder / f"shard-{digest}.npz"

    # ------------------------------------------------------------------ writing

    def save(self, shard: Shard, out: ShardOutput) -> Path:
        key = self.key(shard)
        acc_meta, arrays = accumulator_arrays(out.acc)
        examples = []
        for i, ex in enumerate(out.examples):
            for name in ("real_image", "synth_image", "real_mask", "synth_mask", "real_edges", "synth_edges"):
                arrays[f"ex{i}.{name}"] = np.asarray(getattr(ex, name))
            feats = []
            for j, f in enumerate(ex.features):
                for name in ("real", "synth", "real_energy", "synth_energy"):
                    arrays[f"ex{i}.f{j}.{name}"] = np.asarray(getattr(f, name))
                feats.append({"layer": f.layer, "channels": [int(c) for c in f.channels]})
            examples.append({"stem": ex.stem, "real_path": ex.real_path, "synth_path": ex.synth_path, "features": feats})
        if out.calib_images:
            arrays["calib.images"] = np.stack(out.calib_images)
            arrays["calib.masks"] = np.stack(out.calib_masks)
        calib_keys = list(out.calib_real)
        for j, k in enumerate(calib_keys):
            arrays[f"calib.real.{j}"] = np.asarray(out.calib_real[k], np.float64)
        impact = out.impact_sample
        impact_stems = list(impact.stems) if impact is not None else None
        if impact is not None and len(impact):
            for name in _IMPACT_ARRAYS:
                arrays[f"impact.{name}"] = np.stack(getattr(impact, name))
        meta = {
            "format": FORMAT, "version": FILE_VERSION, "key": key, "checksum": _checksum(arrays),
            "accumulator": acc_meta, "examples": examples, "calib_keys": calib_keys,
            "records": {"skipped": out.skipped, "notes": out.notes, "mask_counts": out.mask_counts,
                        "n_rows": out.n_rows, "asked": list(out.asked), "seconds": out.seconds,
                        "worker": out.worker, "pid": out.pid, "peak_rss": out.peak_rss,
                        "mask_used": out.mask_used, "mask_quality": out.mask_quality,
                        "impact": None if impact is None else {"size": impact.size, "stems": impact_stems}},
        }  # fmt: skip
        text = json.dumps(meta, default=_json_default).encode("utf-8")
        buf = io.BytesIO()
        np.savez(buf, meta=np.frombuffer(text, np.uint8), **arrays)
        path = self.path(key)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as fh:
                fh.write(buf.getvalue())
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        self.written.append(shard.index)
        return path

    # ------------------------------------------------------------------ reading

    def load(self, shard: Shard, ask: tuple) -> tuple[ShardOutput | None, str]:
        """``(output, "")`` from a valid file, ``(None, "")`` without one, ``(None, why)`` for a rejected one."""
        key = self.key(shard)
        path = self.path(key)
        if not path.exists():
            return None, ""
        try:
            with np.load(path, allow_pickle=False) as npz:
                arrays = {name: npz[name] for name in npz.files}
            meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
            if meta.get("format") != FORMAT or meta.get("version") != FILE_VERSION:
                return None, f"{path.name}: not a version-{FILE_VERSION} shard state"
            if meta.get("key") != json.loads(json.dumps(key)):
                return None, f"{path.name}: made for other files or parameters (key differs)"
            if meta.get("checksum") != _checksum(arrays):
                return None, f"{path.name}: checksum mismatch (corrupt)"
            return self._output(shard, meta, arrays), ""
        except (OSError, ValueError, KeyError, TypeError, EOFError, UnicodeDecodeError, GapvizError) as exc:
            return None, f"{path.name}: unreadable ({type(exc).__name__}: {exc})"
        except Exception as exc:  # noqa: BLE001 - zipfile.BadZipFile and friends: any damage means recompute
            return None, f"{path.name}: unreadable ({type(exc).__name__}: {exc})"

    @staticmethod
    def _output(shard: Shard, meta: dict, arrays: dict) -> ShardOutput:
        acc = accumulator_from_arrays(meta["accumulator"], arrays)
        examples = []
        for i, ex in enumerate(meta["examples"]):
            feats = tuple(
                FeatureExample(layer=f["layer"], channels=tuple(f["channels"]),
                               **{n: arrays[f"ex{i}.f{j}.{n}"] for n in ("real", "synth", "real_energy", "synth_energy")})
                for j, f in enumerate(ex["features"])
            )  # fmt: skip
            examples.append(ExamplePair(
                stem=ex["stem"], real_path=ex["real_path"], synth_path=ex["synth_path"], features=feats,
                **{n: arrays[f"ex{i}.{n}"] for n in ("real_image", "synth_image", "real_mask", "synth_mask",
                                                     "real_edges", "synth_edges")},
            ))  # fmt: skip
        images = list(arrays["calib.images"]) if "calib.images" in arrays else []
        masks = list(arrays["calib.masks"]) if "calib.masks" in arrays else []
        real = {k: arrays[f"calib.real.{j}"] for j, k in enumerate(meta["calib_keys"])}
        rec = meta["records"]
        impact = None
        if rec.get("impact") is not None:
            impact = ImpactSample(size=int(rec["impact"]["size"]), stems=list(rec["impact"]["stems"]))
            if impact.stems:
                for name in _IMPACT_ARRAYS:
                    setattr(impact, name, list(arrays[f"impact.{name}"]))
        return ShardOutput(
            index=shard.index, acc=acc, skipped=rec["skipped"], notes=rec["notes"], mask_counts=rec["mask_counts"],
            n_rows=int(rec["n_rows"]), examples=examples, calib_images=images, calib_masks=masks, calib_real=real,
            asked=tuple(rec["asked"]), seconds=float(rec["seconds"]), worker=rec["worker"], pid=int(rec["pid"]),
            peak_rss=int(rec["peak_rss"]), cached=True, mask_used=rec.get("mask_used") or {},
            mask_quality={s: [tuple(r) for r in rows] for s, rows in (rec.get("mask_quality") or {}).items()},
            impact_sample=impact,
        )  # fmt: skip


#: the model-impact sample's image lists, stored as stacked arrays
_IMPACT_ARRAYS = ("synth_images", "synth_masks", "real_inputs", "synth_inputs", "real_masks", "synth_input_masks")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")
