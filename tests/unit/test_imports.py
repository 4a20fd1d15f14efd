"""Import cycles in the `logproc` package.

(a) Static: every module is parsed with `ast`; each import of a `logproc` module is an
edge — at module level, inside functions, under `if TYPE_CHECKING:` — with relative
imports resolved, and `from logproc.x import y` read as an import of `logproc.x.y` when
`y` is a submodule (else of `logproc.x`). A submodule's implicit import of its parent
package is not an edge (nor a module naming itself). Cycles are the strongly connected
components with more than one module (Tarjan); the test fails listing each.

(b) At run time: a fresh interpreter imports every module, each from a clean
`sys.modules` (as far as `logproc` goes), so a cycle through a package `__init__` that the
static view would call harmless shows as an ImportError naming the module.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import logproc

ROOT = Path(logproc.__file__).resolve().parent
PACKAGE = "logproc"


def module_files() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    out: dict[str, Path] = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    """The absolute name a (possibly relative) `from ... import` names."""
    if not level:
        return target or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, target] if target else base)


def imports_of(module: str, path: Path, modules: set[str]) -> set[str]:
    """The `logproc` modules `module` imports, anywhere in its text."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def add(name: str) -> None:
        # `import logproc.a.b.Thing`-like names: the nearest module that exists is the edge
        while name and name not in modules:
            name = name.rpartition(".")[0]
        if name:
            found.add(name)

    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                    add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, is_package, node.level, node.module)
            if base != PACKAGE and not base.startswith(PACKAGE + "."):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                add(sub if sub in modules else base)
    # the implicit import of a parent package by its submodule is not an edge
    parents = {module.rsplit(".", i)[0] for i in range(1, module.count(".") + 1)}
    return found - parents - {module}


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    names = set(files)
    return {m: imports_of(m, p, names) for m, p in files.items()}


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: every SCC, each as a sorted list of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, todo = work[-1]
            if todo:
                nxt = todo.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(graph.get(nxt, ()))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                comp: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    comp.append(member)
                    if member == node:
                        break
                out.append(sorted(comp))
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    return [c for c in strongly_connected(graph) if len(c) > 1 or c[0] in graph[c[0]]]


def describe(graph: dict[str, set[str]], comp: list[str]) -> str:
    members = set(comp)
    edges = [f"    {a} -> {b}" for a in comp for b in sorted(graph[a] & members)]
    return f"  {', '.join(comp)}:\n" + "\n".join(edges)


# -- the checker's own checks (a checker that finds nothing proves nothing) ---------------
def test_tarjan_finds_cycles_and_only_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}, "f": {"d"}}
    assert sorted(cycles(graph)) == [["a", "b", "c"], ["e"]]
    assert cycles({"x": {"y"}, "y": set()}) == []


def test_edges_resolve_relative_submodule_and_function_level_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "logproc"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from . import leaf\n")
    (pkg / "sub" / "leaf.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from logproc.other import Thing\n"
        "def f():\n    from ..other import g\n    import logproc.sub\n")
    (pkg / "other.py").write_text("from logproc.sub import leaf\nfrom logproc import sub\n")
    names = {"logproc", "logproc.sub", "logproc.sub.leaf", "logproc.other"}
    assert imports_of("logproc.sub", pkg / "sub" / "__init__.py", names) == {"logproc.sub.leaf"}
    # the parent package `logproc.sub` is not an edge of its submodule, even named explicitly
    assert imports_of("logproc.sub.leaf", pkg / "sub" / "leaf.py", names) == {"logproc.other"}
    assert imports_of("logproc.other", pkg / "other.py", names) == {"logproc.sub.leaf", "logproc.sub"}
    graph = {m: imports_of(m, p, names) for m, p in {
        "logproc": pkg / "__init__.py", "logproc.sub": pkg / "sub" / "__init__.py",
        "logproc.sub.leaf": pkg / "sub" / "leaf.py", "logproc.other": pkg / "other.py"}.items()}
    assert cycles(graph) == [["logproc.other", "logproc.sub", "logproc.sub.leaf"]]


# -- the package -----------------------------------------------------------------------
def test_graph_covers_the_package() -> None:
    graph = import_graph()
    assert len(graph) > 50
    # a known edge, to show the graph is not empty by accident
    assert "logproc.sinks.kind" in graph["logproc.sinks.registry"]
    assert "logproc.checkpoints" in graph["logproc.sources.kind"]  # under TYPE_CHECKING


def test_no_import_cycles() -> None:
    graph = import_graph()
    found = cycles(graph)
    assert not found, "import cycles among logproc modules:\n" + "\n".join(describe(graph, c) for c in found)


# `python -m logproc`: importing it runs the command line (its imports are `logproc.cli`'s)
NOT_IMPORTED = {"logproc.__main__"}

IMPORT_EACH = r"""
import importlib, json, sys, traceback
names = json.loads(sys.argv[1])
base = set(sys.modules)
failed = {}
for name in names:
    for loaded in [m for m in sys.modules if m not in base and (m == "logproc" or m.startswith("logproc."))]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception:
        failed[name] = traceback.format_exc(limit=-3)
print(json.dumps(failed))
"""


def test_every_module_imports_alone_in_a_fresh_interpreter() -> None:
    names = sorted(m for m in module_files() if m not in NOT_IMPORTED)
    done = subprocess.run([sys.executable, "-c", IMPORT_EACH, json.dumps(names)], capture_output=True,
                          timeout=60, check=False, cwd=ROOT.parent)
    assert done.returncode == 0, done.stderr.decode()
    failed = json.loads(done.stdout)
    assert not failed, "modules that do not import on their own:\n" + "\n".join(
        f"{name}:\n{tb}" for name, tb in failed.items())
