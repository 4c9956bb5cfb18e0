"""Progress bars where the user is: Jupyter, a terminal, or nowhere (pipes, CI, log files).

Every long phase (the streaming pass, writing the report, rendering scenes) asks
:func:`progress_bar` for its bar, so the rule lives in one place:

* ``progress=True`` forces a bar on, ``False`` forces it off;
* ``progress=None`` (the default everywhere) decides: on inside a Jupyter kernel (tqdm's
  notebook widget when ipywidgets is installed, tqdm's text bar in the cell's stderr otherwise),
  on when stderr is a terminal, off otherwise, and off under CI (``CI`` set to anything but
  ``0``/``false``) unless forced.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from gapviz._errors import GapvizError

__all__ = ["in_notebook", "progress_bar", "resolve_progress"]


def in_notebook() -> bool:
    """True inside a Jupyter (ipykernel) kernel; False in a terminal IPython or a plain interpreter."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # pragma: no cover - IPython half imported
        return False
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def _in_ci() -> bool:
    value = os.environ.get("CI", "")
    return bool(value) and value.lower() not in ("0", "false", "no")


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # closed or replaced stderr
        return False


def resolve_progress(progress: bool | None) -> bool:
    """Whether a bar is shown for ``progress`` (True: on, False: off, None: decide as above).

    Examples
    --------
    >>> resolve_progress(False), resolve_progress(True)
    (False, True)
    """
    if progress is None:
        if in_notebook():
            return True
        return _stderr_is_terminal() and not _in_ci()
    if not isinstance(progress, bool):
        raise GapvizError(f"Argument 'progress' must be True, False or None (auto) but got {progress!r}")
    return progress


class NoBar:
    """The bar of a quiet run: same methods as tqdm's, does nothing."""

    def update(self, n: int = 1) -> None:
        pass

    def set_description_str(self, text: str, refresh: bool = True) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> NoBar:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def progress_bar(total: int, *, progress: bool | None = None, unit: str = "it", desc: str = "gapviz") -> Any:
    """A tqdm bar over ``total`` steps (or a :class:`NoBar`), following :func:`resolve_progress`.

    Parameters
    ----------
    total : int
        Number of steps.
    progress : bool or None
        True forces the bar on, False off, None decides (notebook or terminal: on).
    unit, desc : str
        tqdm's unit and description.

    Returns
    -------
    tqdm.tqdm or NoBar
        Call ``update(n)`` and ``close()`` (or use it as a context manager).

    Examples
    --------
    >>> with progress_bar(3, progress=False) as bar:
    ...     bar.update(3)
    """
    if not resolve_progress(progress):
        return NoBar()
    if in_notebook():
        try:
            import ipywidgets  # noqa: F401
            from tqdm.notebook import tqdm as notebook_tqdm

            return notebook_tqdm(total=total, unit=unit, desc=desc)
        except ImportError:  # no widgets: tqdm's text bar, written to the cell's stderr
            pass
    from tqdm.std import tqdm

    return tqdm(total=total, unit=unit, desc=desc, file=sys.stderr, dynamic_ncols=True)
