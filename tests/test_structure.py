"""The package's shape: modules import alone, imports form no cycle, the ask path is a leaf.

Import edges are read from the source (``ast``), function-level imports included,
because lazy imports are still dependencies: they only move the failure to run time.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "aimo_magic"

# The modules of the ask path: they get an AskContext and never need the magics
# class or the subcommands, even for type annotations.
ASK_PATH = (
    "aimo_magic.magics.ask",
    "aimo_magic.magics.ask_context",
    "aimo_magic.magics.cell_options",
    "aimo_magic.magics.request",
    "aimo_magic.magics.exchange",
    "aimo_magic.magics.record",
    "aimo_magic.magics.compare",
    "aimo_magic.magics.compare_exchange",
    "aimo_magic.magics.failures",
    "aimo_magic.magics.interpolate",
    "aimo_magic.magics.params",
)
ABOVE_THE_ASK_PATH = (
    "aimo_magic.magics.magics",
    "aimo_magic.magics.cmd",
    "aimo_magic.magics.extension",
    "aimo_magic.magics.completion",
    "aimo_magic.widgets",
    "aimo_magic.cli",
    "aimo_magic.demo",
)

FRONT_ENDS = ("aimo_magic.magics", "aimo_magic.widgets", "aimo_magic.cli", "aimo_magic.demo")


def module_files() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = module_files()


def _type_checking_block(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _statements(tree: ast.AST, *, typing_too: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.iter_child_nodes(tree):
        if _type_checking_block(node) and not typing_too:
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        yield from _statements(node, typing_too=typing_too)


def imports_of(name: str, *, typing_too: bool) -> set[str]:
    """The package's modules that ``name`` imports anywhere in its source."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _statements(ast.parse(path.read_text()), typing_too=typing_too):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in MODULES)
            continue
        base = node.module or ""
        if node.level:
            parts = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*parts, base] if base else parts)
        for alias in node.names:
            full = f"{base}.{alias.name}"
            if full in MODULES:
                found.add(full)
            elif base in MODULES:
                found.add(base)
    found.discard(name)
    return found


def graph(*, typing_too: bool) -> dict[str, set[str]]:
    return {name: imports_of(name, typing_too=typing_too) for name in MODULES}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


def reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for target in edges[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_the_walker_sees_lazy_imports_and_a_cycle() -> None:
    """The checks below mean something only if the walker finds what it should."""
    edges = graph(typing_too=False)
    assert "aimo_magic.magics.cmd" in edges["aimo_magic.magics.magics"], "a function-level import"
    assert "aimo_magic.magics.magics" not in edges["aimo_magic.magics.cmd"], "TYPE_CHECKING only"
    assert "aimo_magic.magics.magics" in graph(typing_too=True)["aimo_magic.magics.cmd"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles_in_the_package() -> None:
    assert cycles(graph(typing_too=False)) == []


def test_with_type_annotations_only_the_dispatcher_refers_back_to_the_magics_class() -> None:
    """The one loop left is for types: ``%aimo`` dispatches to the subcommands, whose
    functions take the magics object and name its class under TYPE_CHECKING."""
    assert cycles(graph(typing_too=True)) == [["aimo_magic.magics.cmd", "aimo_magic.magics.magics"]]


def test_the_ask_path_imports_nothing_above_it_even_for_types() -> None:
    edges = graph(typing_too=True)
    for name in ASK_PATH:
        above = sorted(t for t in reachable(edges, name) if t.startswith(ABOVE_THE_ASK_PATH))
        assert above == [], f"{name} reaches {above}"
    assert cycles({name: edges[name] & set(ASK_PATH) for name in ASK_PATH}) == []


def test_every_module_imports_alone() -> None:
    """Each module imported first in a clean import state, so no order hides a cycle."""
    names = [name for name in MODULES if not name.endswith("__main__")]
    script = (
        "import importlib, sys\n"
        f"names = {names!r}\n"
        "failed = []\n"
        "for name in names:\n"
        "    for loaded in [m for m in sys.modules if m.split('.')[0] == 'aimo_magic']:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as exc:\n"
        "        failed.append(f'{name}: {type(exc).__name__}: {exc}')\n"
        "print('\\n'.join(failed))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == ""


def test_the_ask_path_imported_first_in_a_fresh_interpreter_needs_no_magics_class() -> None:
    script = (
        "import sys\n"
        "import aimo_magic.magics.ask\n"
        f"for name in {ASK_PATH!r}:\n"
        "    __import__(name)\n"
        "from aimo_magic.magics.ask import answer, ask, prepare, run_cell\n"
        "above = sorted(m for m in sys.modules\n"
        f"               if m.startswith({ABOVE_THE_ASK_PATH!r}))\n"
        "print(above)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "lower",
    ["aimo_magic.core", "aimo_magic.conversation", "aimo_magic.rendering", "aimo_magic.session"],
)
def test_lower_layers_never_import_front_ends(lower: str) -> None:
    edges = graph(typing_too=True)
    for name in MODULES:
        if name == lower or name.startswith(lower + "."):
            front = sorted(t for t in edges[name] if t.startswith(FRONT_ENDS))
            assert front == [], f"{name} imports {front}"
