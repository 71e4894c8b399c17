"""Tools without pydantic (as in the offline browser site): the same schemas and the
same checks as pydantic for the common types, and a one-line refusal for the rest.

The pydantic-less side runs in a fresh Python whose import of pydantic fails, so
nothing of pydantic can be used by accident; this side computes the same with pydantic
and the two are compared."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from aimo_magic.core import tools as tools_module

# The functions and arguments both sides describe and check (source, so the fresh
# Python defines exactly the same).
CASES = textwrap.dedent(
    '''
    import enum
    from typing import Any, Literal, Optional


    class Color(enum.Enum):
        """A colour of the chart."""

        RED = "red"
        GREEN = "green"


    class Level(enum.IntEnum):
        LOW = 1
        HIGH = 2


    def column_stats(
        column: str,
        decimals: int = 2,
        how: Literal["mean", "spread"] = "mean",
        ratio: float = 0.5,
        exact: bool = False,
    ) -> dict:
        """Summary statistics of one column.

        Args:
            column: the column's name
            ratio: how much of the rows to use
        """
        return {}


    def paint(
        colour: Color,
        level: Level = Level.LOW,
        tags: list[str] | None = None,
        weights: Optional[dict[str, float]] = None,
        nothing: None = None,
        anything: Any = None,
        rows: list[list[int]] = [[1]],
        options: dict = {},
        items: list = [],
        one: Literal["x"] = "x",
        mixed: Literal["a", 1] = "a",
        colours: Optional[list[Color]] = None,
        untyped=3,
    ) -> None:
        """Paint."""


    def nothing_to_pass() -> str:
        """No parameters."""
        return ""


    FUNCTIONS = [column_stats, paint, nothing_to_pass]
    ARGUMENTS = [
        ("column_stats", {"column": "price"}),
        ("column_stats", {"column": "p", "decimals": 3, "how": "spread", "ratio": 1, "exact": 1}),
        ("column_stats", {"column": "p", "decimals": "4", "ratio": "0.25", "exact": "yes"}),
        ("column_stats", {"column": "p", "decimals": 5.0, "exact": 0}),
        ("column_stats", {"column": "p", "decimals": 2.5}),
        ("column_stats", {"column": "p", "decimals": "two", "ratio": "half", "exact": 2}),
        ("column_stats", {"column": 3}),
        ("column_stats", {"column": None}),
        ("column_stats", {"decimals": 1}),
        ("column_stats", {"column": "a", "rm": "-rf"}),
        ("column_stats", {"column": "a", "how": "median"}),
        ("column_stats", {"column": ["a"], "exact": "maybe", "ratio": [1]}),
        ("paint", {"colour": "red"}),
        ("paint", {"colour": "blue"}),
        ("paint", {"colour": "green", "level": 2, "tags": ["a", "b"], "weights": {"x": 1}}),
        ("paint", {"colour": "red", "level": "1", "tags": None, "weights": None}),
        ("paint", {"colour": "red", "level": 3, "tags": "a", "weights": {"x": "y"}}),
        ("paint", {"colour": "red", "tags": ["a", 2], "weights": []}),
        ("paint", {"colour": "red", "nothing": 0, "anything": {"any": ["thing"]}}),
        ("paint", {"colour": "red", "rows": [[1, "2"], [3.0]], "options": {"k": [1]}}),
        ("paint", {"colour": "red", "rows": [[1.5], 2], "options": [], "items": {}}),
        ("paint", {"colour": "red", "items": [1, "x", None], "one": "x", "mixed": 1}),
        ("paint", {"colour": "red", "one": "y", "mixed": 2, "colours": ["red", "pink"]}),
        ("paint", {"colour": "red", "colours": ["green"], "untyped": "anything"}),
        ("paint", {"colour": "RED", "mixed": True}),
        ("nothing_to_pass", {}),
        ("nothing_to_pass", {"x": 1}),
    ]
    '''
)

# What each side prints: every function's schema, every check's outcome (values as
# type and repr, so Enum members and floats are compared exactly).
REPORT = textwrap.dedent(
    """
    import json
    from aimo_magic.core.tools import ToolArgumentsError, make_tool

    def shown(value):
        if isinstance(value, list):
            return [shown(v) for v in value]
        if isinstance(value, dict):
            return {k: shown(v) for k, v in value.items()}
        return [type(value).__name__, repr(value)]

    described = {f.__name__: make_tool(f) for f in FUNCTIONS}
    outcomes = []
    for name, data in ARGUMENTS:
        try:
            outcomes.append(shown(described[name].arguments(json.dumps(data))))
        except ToolArgumentsError as exc:
            outcomes.append(str(exc))
    print(json.dumps({
        "schemas": {n: t.spec() for n, t in described.items()},
        "outcomes": outcomes,
    }))
    """
)

BLOCK_PYDANTIC = textwrap.dedent(
    """
    import sys

    class NoPydantic:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("pydantic", "pydantic_core"):
                raise ImportError(f"No module named {name!r} (blocked by the test)")
            return None

    sys.meta_path.insert(0, NoPydantic())
    """
)


def without_pydantic(source: str) -> str:
    """Run ``source`` in a fresh Python that cannot import pydantic; what it printed."""
    checked = source + "\nassert not [m for m in sys.modules if m.startswith('pydantic')]\n"
    result = subprocess.run(
        [sys.executable, "-c", BLOCK_PYDANTIC + checked],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_without_pydantic_schemas_and_checks_are_pydantics() -> None:
    namespace: dict[str, Any] = {}
    exec(CASES, namespace)  # the same definitions as the fresh Python's
    printed: list[str] = []
    exec(REPORT, {**namespace, "print": printed.append})
    with_pydantic = json.loads(printed[0])
    plain = json.loads(without_pydantic(CASES + REPORT))

    assert plain["schemas"] == with_pydantic["schemas"]
    assert plain["outcomes"] == with_pydantic["outcomes"]
    # the comparison covers what matters: conversions, defaults, and refusals
    outcomes = plain["outcomes"]
    assert outcomes[2]["decimals"] == ["int", "4"] and outcomes[2]["exact"] == ["bool", "True"]
    assert outcomes[12]["colour"] == ["Color", "<Color.RED: 'red'>"]
    assert outcomes[0]["ratio"] == ["float", "0.5"]
    accepted = [i for i, o in enumerate(outcomes) if not isinstance(o, str)]
    assert accepted == [0, 1, 2, 3, 12, 14, 15, 19, 21, 23, 25], outcomes
    assert "rm: Extra inputs are not permitted" in outcomes[9]
    assert "colours.1: Input should be 'red' or 'green'" in outcomes[22]
    properties = plain["schemas"]["paint"]["function"]["parameters"]["properties"]
    assert properties["colour"] == {"$ref": "#/$defs/Color"}


def test_without_pydantic_other_types_are_refused_in_one_line() -> None:
    printed = without_pydantic(
        textwrap.dedent(
            """
            import datetime
            from aimo_magic.core.tools import ToolDefinitionError, make_tool

            def when(day: datetime.date) -> str:
                return str(day)

            def pair(xy: tuple[int, int]) -> int:
                return 0

            def either(value: int | str) -> str:
                return str(value)

            def keyed(table: dict[int, str]) -> str:
                return ""

            for function in (when, pair, either, keyed):
                try:
                    make_tool(function)
                except ToolDefinitionError as exc:
                    print(str(exc))
            """
        )
    )
    lines = printed.splitlines()
    assert len(lines) == 4, printed
    assert lines[0].startswith("when: without pydantic the type of day: date cannot be described")
    assert "use str, int, float, bool, None, Optional[T], list[T], dict[str, T]" in lines[0]
    assert "pip install 'pydantic>=2'" in lines[0]
    assert lines[1].startswith("pair: without pydantic the type of xy: tuple[int, int]")
    assert lines[2].startswith("either: without pydantic the type of value: int | str")
    assert "keys must be str" in lines[3]


def test_pydantic_is_used_wherever_it_is_installed() -> None:
    def look(column: str) -> str:
        """Look a column up."""
        return column

    checker = tools_module.make_tool(look)._checker
    assert type(checker).__name__ == "_PydanticChecker"


@pytest.mark.parametrize("approve", [False, True])
def test_a_whole_loop_runs_without_pydantic(approve: bool) -> None:
    """The loop against the emulator in-process (no sockets), as in the browser site."""
    printed = without_pydantic(
        textwrap.dedent(
            f"""
            import aimo_magic
            from aimo_magic.core.tool_loop import ToolLoop
            from aimo_magic.emulator import start_in_process

            @aimo_magic.tool(approve={approve})
            def column_stats(column: str, decimals: int = 2) -> dict:
                '''Summary statistics of one column.'''
                return {{"column": column, "mean": 41.5}}

            with start_in_process().configure() as emu:
                client = aimo_magic.Client(base_url=emu.base_url, api_key="aimo-sk-v2-test-0")
                done = ToolLoop([column_stats], approve=None).run(
                    client, "What does column_stats say?", model="openai/gpt-4o"
                )
            for call in done.calls:
                print(call.call.name, call.status, call.result)
            """
        )
    )
    assert printed.startswith("column_stats ")
    if approve:  # nobody to ask here: refused, and the model is told so
        assert printed.startswith("column_stats refused Refused: column_stats needs"), printed
    else:
        assert "column_stats done " in printed and '"mean": 41.5' in printed, printed
