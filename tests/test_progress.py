"""Progress bars where the user is: `gapviz._progress` and the places that ask it."""

from __future__ import annotations

import io
import sys
import types

import pytest

from gapviz import GapvizError
from gapviz._progress import NoBar, in_notebook, progress_bar, resolve_progress


class _Stream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


@pytest.fixture
def terminal(monkeypatch):
    """``terminal(tty, ci=None)``: stderr replaced by a stream that is (or is not) a terminal."""

    def set_(tty: bool, ci: str | None = None) -> _Stream:
        stream = _Stream(tty)
        monkeypatch.setattr(sys, "stderr", stream)
        if ci is None:
            monkeypatch.delenv("CI", raising=False)
        else:
            monkeypatch.setenv("CI", ci)
        return stream

    return set_


@pytest.fixture
def notebook(monkeypatch):
    """A fake IPython whose shell runs in a kernel (what Jupyter has), stderr not a terminal."""

    class Shell:
        config = {"IPKernelApp": {"connection_file": "kernel.json"}}

    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: Shell()
    monkeypatch.setitem(sys.modules, "IPython", fake)
    monkeypatch.delenv("CI", raising=False)
    return fake


@pytest.mark.parametrize(
    ("tty", "ci", "expected"),
    [(True, None, True), (False, None, False), (True, "true", False), (True, "0", True), (False, "false", False)],
    ids=["terminal", "pipe", "ci", "ci-0", "pipe-ci-false"],
)
def test_auto_follows_terminal_and_ci(terminal, tty, ci, expected):
    terminal(tty, ci)
    assert resolve_progress(None) is expected


def test_forced_on_in_a_pipe_and_off_on_a_terminal(terminal):
    stream = terminal(False, "true")
    assert resolve_progress(True) is True
    bar = progress_bar(4, progress=True, unit="pair", desc="gapviz")
    bar.update(4)
    bar.close()
    assert "4/4" in stream.getvalue() and "pair" in stream.getvalue()
    terminal(True)
    assert isinstance(progress_bar(4, progress=False), NoBar)


def test_notebook_gets_a_bar_without_a_terminal(notebook, monkeypatch):
    monkeypatch.setattr(sys, "stderr", _Stream(False))  # a kernel's stderr is no terminal
    assert in_notebook() and resolve_progress(None) is True
    bar = progress_bar(3, progress=None, desc="report")
    try:
        import ipywidgets  # noqa: F401
    except ImportError:  # no widgets installed: tqdm's text bar, in the cell's stderr
        bar.update(3)
        bar.close()
        assert "3/3" in sys.stderr.getvalue()
    else:
        from tqdm.notebook import tqdm as notebook_tqdm

        assert isinstance(bar, notebook_tqdm)
        bar.close()


def test_terminal_ipython_is_not_a_notebook(monkeypatch):
    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: types.SimpleNamespace(config={"TerminalIPythonApp": {}})
    monkeypatch.setitem(sys.modules, "IPython", fake)
    assert not in_notebook()
    fake.get_ipython = lambda: None  # IPython imported, no shell running
    assert not in_notebook()


def test_bad_progress_value():
    with pytest.raises(GapvizError, match=r"'progress' must be True, False or None \(auto\) but got 'yes'"):
        resolve_progress("yes")


def test_compare_and_report_ask_the_same_rule(terminal):
    from fake_result import make_fake_result
    from gapviz.pipeline._setup import progress as _progress
    from gapviz.report import render_report

    terminal(False)
    assert isinstance(_progress(10, None, "pairs"), NoBar)
    stream = terminal(False)
    render_report(make_fake_result(1, layers=("base/c1",), size=64), progress=True)
    text = stream.getvalue()
    assert "report" in text and "100%" in text
    stream = terminal(True)
    render_report(make_fake_result(1, layers=("base/c1",), size=64))  # library default: quiet
    assert stream.getvalue() == ""


@pytest.mark.parametrize(("flags", "expected"), [([], None), (["--quiet"], False), (["--progress"], True)],
                         ids=["auto", "quiet", "forced"])
def test_cli_flags(flags, expected):
    from gapviz.cli import _progress, build_parser

    args = build_parser().parse_args(["report", "--model", "m.keras", *flags])
    assert _progress(args) is expected
    args = build_parser().parse_args(["demo", *flags])
    assert _progress(args) is expected


def test_cli_scenes_bar_on_a_terminal_only(tmp_path, terminal):
    from gapviz.cli import main

    stream = terminal(True)
    assert main(["scenes", "--n", "1", "--size", "48", "--out", str(tmp_path / "a")]) == 0
    assert "1/1" in stream.getvalue()
    stream = terminal(False)
    assert main(["scenes", "--n", "1", "--size", "48", "--out", str(tmp_path / "b")]) == 0
    assert stream.getvalue() == ""
