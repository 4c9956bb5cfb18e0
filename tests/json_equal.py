"""One comparison of two result dicts (as `GapResult.to_dict` gives them) for the tests that need it."""

from __future__ import annotations

import pytest


def assert_same(a, b, *, rel: float, abs_: float, path: str = "") -> None:
    """Same keys, lengths and strings; floats equal to ``rel``/``abs_``; the failing path in the message."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), path
        for key in a:
            assert_same(a[key], b[key], rel=rel, abs_=abs_, path=f"{path}/{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, rel=rel, abs_=abs_, path=f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=rel, abs=abs_), path
    else:
        assert a == b, path
