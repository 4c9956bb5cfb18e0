"""The layout's contract, checked from the source: floors, no import circles, short functions.

docs/architecture.md draws the floors. A module may import its own floor or the floors below it,
never one above; imports under ``if TYPE_CHECKING:`` are type hints only and are not counted.
Function-local imports count like any other: hiding an edge inside a function does not remove it.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "gapviz"

# module prefix -> floor; the longest matching prefix wins
FLOORS = {
    "gapviz._errors": 0, "gapviz._version": 0, "gapviz._environment": 0, "gapviz._paths": 0, "gapviz._checks": 0,
    "gapviz.vocabulary": 0, "gapviz._threads": 0, "gapviz._progress": 0, "gapviz._run_warnings": 0,
    "gapviz.models": 1, "gapviz.scenes": 1, "gapviz.assets": 1,
    "gapviz.inputs": 2,
    "gapviz.stats": 3,
    "gapviz.recommend": 4,
    "gapviz.impact": 5,
    "gapviz.result": 6, "gapviz.pairs": 6,
    "gapviz.report": 7,
    "gapviz.pipeline": 8, "gapviz.comparison": 8, "gapviz._shards": 8, "gapviz._dask": 8, "gapviz._shard_cache": 8,
    "gapviz.plots": 7,
    "gapviz.demo": 9, "gapviz.cli": 9, "gapviz._cli_checks": 9, "gapviz": 9,
}
FLOOR_NAMES = ["ground", "models/scenes/assets", "inputs", "stats", "recommend", "impact", "result",
               "report", "pipeline", "front ends"]

# The one documented lazy edge upwards: GapResult's display methods (.report(), .plot_*(), _repr_html_)
# reach the presentation package, which itself reads GapResult; importing it at the top would make a circle.
ALLOWED_UP = {("gapviz.result", "gapviz.report")}

# Functions allowed over MAX_LINES code lines (not counting the docstring), with the reason.
MAX_LINES = 80
LONG_OK: dict[str, str] = {}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in SRC.rglob("*.py")}


def _floor(module: str) -> int:
    key = max((k for k in FLOORS if module == k or module.startswith(k + ".")), key=len)
    return FLOORS[key]


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for n in ast.walk(node))
    return skip


def _imports(module: str) -> set[str]:
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_nodes(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == "gapviz")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "gapviz":
                continue
            for alias in node.names:  # `from gapviz.stats import image` imports the submodule
                sub = f"{target}.{alias.name}"
                out.add(sub if sub in MODULES else target)
    out.discard(module)
    return {m for m in out if m in MODULES}


GRAPH = {m: _imports(m) for m in MODULES}


def test_every_module_has_a_floor():
    assert all(_floor(m) is not None for m in MODULES)


def test_no_upward_imports():
    up = sorted(
        f"{m} ({FLOOR_NAMES[_floor(m)]}) imports {t} ({FLOOR_NAMES[_floor(t)]})"
        for m, targets in GRAPH.items() for t in targets
        if _floor(t) > _floor(m) and (m, t) not in ALLOWED_UP and not any(m == a and t.startswith(b + ".")
                                                                          for a, b in ALLOWED_UP)
    )
    assert not up, "imports that run upwards:\n" + "\n".join(up)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_circles():
    # a package's __init__ re-exporting its own modules is not a circle unless a module imports the package back
    assert _cycles(GRAPH) == []


def test_cycle_finder_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _long_functions() -> list[tuple[str, int]]:
    out = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                first = node.body[0]
                if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(
                        first.value.value, str):
                    n -= first.end_lineno - first.lineno + 1
                out.append((f"{module}.{node.name}", n))
    return out


def test_functions_are_short():
    long = sorted(f"{name}: {n} lines" for name, n in _long_functions() if n > MAX_LINES and name not in LONG_OK)
    assert not long, f"functions over {MAX_LINES} lines (docstring not counted):\n" + "\n".join(long)


def test_long_exceptions_still_exist():
    names = dict(_long_functions())
    stale = [name for name in LONG_OK if names.get(name, 0) <= MAX_LINES]
    assert not stale, f"listed in LONG_OK but no longer long (or gone): {stale}"
