"""The one output guard: no output may destroy an input, and no two outputs may share a path.

Used by the command line before anything is loaded, and by `GapResult.save_report` /
`GapResult.to_json` before they write, so Python callers get the same protection. Only the
standard library is imported here (it sits below everything else). `write_atomic` is the one
way gapviz writes a file (JSON, report, CSV): through a temporary file and a rename.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gapviz._errors import GapvizError

__all__ = ["OutputPathError", "check_outputs", "input_roots", "write_atomic"]

#: kernel pseudo-filesystems: a report written there is lost (or worse), so it is refused up front
_PSEUDO_ROOTS = tuple(Path(p) for p in ("/proc", "/sys", "/dev"))


class OutputPathError(GapvizError):
    """An output path that would overwrite or land inside an input, or cannot be written."""


def _resolved(path: Any) -> Path:
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path)))).resolve(strict=False)


def input_roots(*values: Any) -> list[str]:
    """The file-system inputs among ``values``: paths, lists of paths and mask dicts; arrays are skipped.

    Examples
    --------
    >>> input_roots("real/", ["a.png", "b.png"], {"real": "masks/"}, None)
    ['real/', 'a.png', 'b.png', 'masks/']
    """
    out: list[str] = []
    for value in values:
        if value is None:
            continue
        if isinstance(value, (str, os.PathLike)):
            out.append(os.fspath(value))
        elif isinstance(value, dict):
            out.extend(input_roots(*value.values()))
        elif isinstance(value, (list, tuple)):
            out.extend(input_roots(*value))
    return out


def _check_writable(out: str, target: Path) -> None:
    for root in _PSEUDO_ROOTS:
        if target == root or root in target.parents:
            raise OutputPathError(
                f"output {out!r} is under {str(root)!r}, a kernel pseudo-filesystem that cannot hold a report; "
                "write it to a normal folder"
            )
    if target.is_dir():
        raise OutputPathError(f"output {out!r} is a folder; give a file path such as report.html")
    parent = target.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OutputPathError(
            f"output {out!r} cannot be created: {str(parent)!r} is a file, not a folder; choose another path"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputPathError(f"output {out!r} cannot be written: folder {str(parent)!r} is not writable")
    if target.exists() and not os.access(target, os.W_OK) and not os.access(target.parent, os.W_OK):
        raise OutputPathError(f"output {out!r} exists and cannot be replaced (no write permission)")


def check_outputs(outputs: Iterable[Any], inputs: Iterable[Any]) -> None:
    """Refuse outputs that equal an input, lie inside an input folder, repeat, or cannot be written.

    Parameters
    ----------
    outputs : iterable of path
        Files about to be written (None entries are ignored).
    inputs : iterable of path
        Image and mask files or folders, the model file or SavedModel folder, manifests. Paths
        are compared after resolving symbolic links. (An output that is a hard link to an input
        is safe: the atomic write replaces the link, and the input keeps its content.)

    Raises
    ------
    OutputPathError
        One line naming the output, the input (or other output) it collides with, and what to do.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> tmp = tempfile.TemporaryDirectory()
    >>> images = Path(tmp.name, "images")
    >>> images.mkdir()
    >>> check_outputs([Path(tmp.name, "report.html")], [images])  # fine: returns None
    >>> try:
    ...     check_outputs([images / "report.html"], [images])
    ... except OutputPathError as exc:
    ...     print(exc)
    output '.../images/report.html' is inside the input folder '.../images'; write it somewhere else so the
    inputs stay untouched
    >>> tmp.cleanup()
    """
    sources: dict[Path, str] = {}
    for src in inputs:
        if src is not None:
            sources.setdefault(_resolved(src), os.fspath(src))
    seen: dict[Path, str] = {}
    for out in outputs:
        if out is None:
            continue
        name = os.fspath(out)
        target = _resolved(out)
        if target in seen:
            raise OutputPathError(
                f"output {name!r} is given twice (also as {seen[target]!r}); give each output its own path"
            )
        seen[target] = name
        if target in sources:
            raise OutputPathError(
                f"output {name!r} would overwrite the input {sources[target]!r}; choose another output path"
            )
        for parent in target.parents:
            if parent in sources and parent.is_dir():
                raise OutputPathError(
                    f"output {name!r} is inside the input folder {sources[parent]!r}; write it somewhere "
                    "else so the inputs stay untouched"
                )
        _check_writable(name, target)


def run_inputs(model_path: Any, real: Any, synth: Any, masks: Any, pairing: Any, pairset: Any) -> list[str]:
    """Every file-system input of one comparison: model, image and mask folders or files, manifest and the files it names."""
    out = input_roots(model_path, real, synth, masks)
    if isinstance(pairing, os.PathLike) or (isinstance(pairing, str) and getattr(pairset, "mode", "") == "manifest"):
        out.append(os.fspath(pairing))
        for pair in pairset.pairs:
            out.extend(v for v in (pair.real, pair.synth, pair.mask_real, pair.mask_synth) if isinstance(v, str))
    return out


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_atomic(pathlib.Path(tmp, "out", "gap.json"), b"{}")
    ...     [p.name for p in pathlib.Path(tmp, "out").iterdir()]  # no temporary file left behind
    ['gap.json']
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        # mkstemp creates 0600; give the file the mode a plain open() would have
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
