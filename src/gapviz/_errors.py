"""The one exception type gapviz raises for user-facing problems."""

from __future__ import annotations


class GapvizError(Exception):
    """A problem with the user's input: a file, a layer name, an argument.

    The message says what was wrong, which input it was, and what to do about it.
    The CLI prints it as one line and exits with status 1.
    """
