"""The package version, on the ground floor so that every module can read it without importing ``gapviz``.

``pyproject.toml`` reads it from here (``[tool.setuptools.dynamic]``), so there is one place to bump.

Examples
--------
>>> from gapviz._version import __version__
>>> __version__.count(".")
2
"""

__version__ = "0.1.0"
