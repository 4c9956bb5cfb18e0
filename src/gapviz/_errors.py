"""The one exception type gapviz raises for user-facing problems."""

from __future__ import annotations


class GapvizError(Exception):
    """A problem with the user's input: a file, a layer name, an argument.

    The message says what was wrong, which input it was, and what to do about it.
    The CLI prints it as one line and exits with status 1.

    Examples
    --------
    >>> import gapviz
    >>> try:
    ...     gapviz.load_model("missing.keras")
    ... except gapviz.GapvizError as exc:
    ...     print(exc)
    model not found: 'missing.keras' does not exist; give a .keras or .h5 file or a SavedModel folder

    Every more specific error is a subclass, so one ``except GapvizError`` catches them all:

    >>> from gapviz.inputs import DecodeError
    >>> issubclass(DecodeError, gapviz.GapvizError)
    True
    """
