"""The package's shape: modules import alone, imports form no cycle, each layer
imports only the layers below it, the emulator stands apart, the ask path is a leaf.

Import edges are read from the source (``ast``), function-level imports, imports for
type annotations and imports made through ``importlib`` included, because lazy
imports are still dependencies: they only move the failure to run time.
"""

from __future__ import annotations

import ast
import re
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
    "aimo_magic.magics.prompt_fill",
    "aimo_magic.magics.prompt_messages",
    "aimo_magic.magics.image_placeholders",
    "aimo_magic.magics.exchange",
    "aimo_magic.magics.record",
    "aimo_magic.magics.compare",
    "aimo_magic.magics.compare_exchange",
    "aimo_magic.magics.failures",
    "aimo_magic.magics.interpolate",
    "aimo_magic.magics.params",
)
ABOVE_THE_ASK_PATH = (
    "aimo_magic.magics.aimo_magics",
    "aimo_magic.magics.cmd",
    "aimo_magic.magics.extension",
    "aimo_magic.magics.completion",
    "aimo_magic.widgets",
    "aimo_magic.cli",
    "aimo_magic.demo",
)

FRONT_ENDS = ("aimo_magic.magics", "aimo_magic.widgets", "aimo_magic.cli", "aimo_magic.demo")

# The layers, lowest first: a module may import its own layer and those below it.
# "aimo_magic" is the package's own __init__ (the public names and %load_ext).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("_version",),
    ("core",),
    ("conversation",),
    ("session",),
    ("batching", "evaluation"),
    ("rendering",),
    ("widgets",),
    ("magics",),
    ("aimo_magic", "cli", "demo"),
)
# Apart from the layers: it may stand on the core (the in-process transport is its
# door), and only the command-line front ends import it.
EMULATOR = "emulator"
EMULATOR_MAY_IMPORT = {"core", "_version"}
EMULATOR_IMPORTED_BY = {"cli", "demo"}


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


def _is_import_module(call: ast.Call) -> bool:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    return name in ("import_module", "__import__") and bool(call.args)


def _statements(
    tree: ast.AST, *, typing_too: bool
) -> Iterator[ast.Import | ast.ImportFrom | ast.Call]:
    for node in ast.iter_child_nodes(tree):
        if _type_checking_block(node) and not typing_too:
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)) or (
            isinstance(node, ast.Call) and _is_import_module(node)
        ):
            yield node
        yield from _statements(node, typing_too=typing_too)


class UnreadableImport(Exception):
    """An ``importlib`` call whose target the walker cannot work out."""


def dynamic_targets(name: str, call: ast.Call) -> set[str]:
    """The package's modules an ``importlib.import_module(...)`` call may load.

    A string names one module; an f-string (``f"{__name__}.{module}"``) may load any
    module its fixed parts fit, one dotted name per placeholder, which over-counts a
    table's modules rather than missing one. Anything else cannot be checked.
    """
    target = call.args[0]
    if isinstance(target, ast.Constant) and isinstance(target.value, str):
        return {target.value} & set(MODULES)
    if not isinstance(target, ast.JoinedStr):
        raise UnreadableImport(f"{name}: line {call.lineno}")
    pattern = ""
    for piece in target.values:
        if isinstance(piece, ast.Constant):
            pattern += re.escape(str(piece.value))
        elif isinstance(piece.value, ast.Name) and piece.value.id == "__name__":
            pattern += re.escape(name)
        else:
            pattern += r"[A-Za-z0-9_]+"
    return {module for module in MODULES if re.fullmatch(pattern, module)}


def imports_of(name: str, *, typing_too: bool) -> set[str]:
    """The package's modules that ``name`` imports anywhere in its source."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _statements(ast.parse(path.read_text()), typing_too=typing_too):
        if isinstance(node, ast.Call):
            found.update(dynamic_targets(name, node))
            continue
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


def test_the_walker_sees_lazy_typing_and_importlib_imports_and_a_cycle() -> None:
    """The checks below mean something only if the walker finds what it should."""
    edges = graph(typing_too=False)
    lazy = edges["aimo_magic.magics.aimo_magics"]
    assert "aimo_magic.magics.cmd" in lazy, "a function-level import"
    typed = "aimo_magic.magics.ask_context"
    assert "aimo_magic.session" not in edges[typed], "TYPE_CHECKING only"
    assert "aimo_magic.session" in graph(typing_too=True)[typed]
    assert "aimo_magic.widgets.selector" in edges["aimo_magic"], "importlib, a string"
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_walker_sees_every_subcommand_the_dispatcher_loads() -> None:
    """The subcommand table is a plain dict the walker reads; each entry is a module
    the dispatcher's ``importlib`` call reaches, so what a subcommand imports counts."""
    tree = ast.parse(MODULES["aimo_magic.magics.cmd._commands"].read_text())
    table = next(
        node.value
        for node in tree.body
        if isinstance(node, ast.AnnAssign)
        and isinstance(node.target, ast.Name)
        and node.target.id == "COMMANDS"
    )
    commands = ast.literal_eval(table)
    assert "select" in commands and "help" in commands
    loaded = graph(typing_too=False)["aimo_magic.magics.cmd"]
    for module in commands.values():
        assert f"aimo_magic.magics.cmd.{module}" in loaded, module
    assert "aimo_magic.widgets.selector" in reachable(
        graph(typing_too=False), "aimo_magic.magics.cmd"
    )


def test_every_importlib_call_in_the_package_can_be_read() -> None:
    unreadable = []
    for name in MODULES:
        try:
            imports_of(name, typing_too=True)
        except UnreadableImport as exc:
            unreadable.append(str(exc))
    assert unreadable == [], "name the module (or a table of them) in the call itself"


def test_no_import_cycles_in_the_package() -> None:
    assert cycles(graph(typing_too=False)) == []


def test_no_import_cycles_even_counting_imports_for_type_annotations() -> None:
    """The subcommands name what they use of the magics (``MagicsSurface``), and the
    widgets theirs (``MagicsSettings``), instead of importing the magics class."""
    assert cycles(graph(typing_too=True)) == []


def test_no_cycles_between_subpackages() -> None:
    """Two subpackages that import each other are one, whichever modules do it."""
    edges = graph(typing_too=True)
    between: dict[str, set[str]] = {layer_of(name): set() for name in MODULES}
    for name, targets in edges.items():
        between[layer_of(name)].update(layer_of(t) for t in targets)
    for layer, targets in between.items():
        targets.discard(layer)
    assert cycles(between) == []


def layer_of(name: str) -> str:
    """The subpackage (or top-level module) a module belongs to; the package's own
    ``__init__`` is "aimo_magic"."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


LAYER_INDEX = {layer: index for index, names in enumerate(LAYERS) for layer in names}


def test_every_module_belongs_to_a_layer_or_the_emulator() -> None:
    unknown = sorted({layer_of(n) for n in MODULES} - set(LAYER_INDEX) - {EMULATOR})
    assert unknown == [], "add the new subpackage to LAYERS"


def test_each_layer_imports_only_itself_and_the_layers_below() -> None:
    edges = graph(typing_too=True)
    upward = []
    for name, targets in edges.items():
        layer = layer_of(name)
        if layer == EMULATOR:
            continue
        for target in targets:
            other = layer_of(target)
            if other != EMULATOR and LAYER_INDEX[other] > LAYER_INDEX[layer]:
                upward.append(f"{name} -> {target}")
    assert sorted(upward) == []


def test_the_emulator_stands_apart() -> None:
    """Only the command-line front ends import the emulator; it imports only the core."""
    edges = graph(typing_too=True)
    wrong = []
    for name, targets in edges.items():
        layer = layer_of(name)
        for target in targets:
            other = layer_of(target)
            if other == EMULATOR and layer not in EMULATOR_IMPORTED_BY | {EMULATOR}:
                wrong.append(f"{name} -> {target}")
            if layer == EMULATOR and other not in EMULATOR_MAY_IMPORT | {EMULATOR}:
                wrong.append(f"{name} -> {target}")
    assert sorted(wrong) == []


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
    [
        "aimo_magic.core",
        "aimo_magic.conversation",
        "aimo_magic.session",
        "aimo_magic.batching",
        "aimo_magic.rendering",
        "aimo_magic.emulator",
    ],
)
def test_lower_layers_never_import_front_ends(lower: str) -> None:
    edges = graph(typing_too=True)
    for name in MODULES:
        if name == lower or name.startswith(lower + "."):
            front = sorted(t for t in edges[name] if t.startswith(FRONT_ENDS))
            assert front == [], f"{name} imports {front}"


def test_the_widgets_never_import_the_magics_they_stand_under() -> None:
    """``%aimo select`` shows the panel, so the panel finds the magics through IPython."""
    edges = graph(typing_too=True)
    for name in MODULES:
        if name.startswith("aimo_magic.widgets"):
            above = sorted(t for t in edges[name] if t.startswith("aimo_magic.magics"))
            assert above == [], f"{name} imports {above}"
