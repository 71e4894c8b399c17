"""``--tools NAME[,NAME...]`` and ``--tools all``: the functions a cell offers the model.

A name is looked up among the notebook's variables first (a decorated function keeps
its own settings; a plain one needs approval before each call, since nobody said it
is safe), then among the functions ``@aimo_magic.tool`` registered. ``all`` offers
every registered one. Nothing is called here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aimo_magic.core.tools import Tool

ALL = "all"


def tool_names(spec: str) -> list[str]:
    """The names a ``--tools`` value lists, in order, without blanks or repeats."""
    names: list[str] = []
    for name in spec.split(","):
        name = name.strip()
        if name and name not in names:
            names.append(name)
    return names


def offered_tools(spec: str | None, namespace: Mapping[str, Any]) -> tuple[Tool, ...]:
    """The tools ``spec`` names; ValueError (one line, saying what to do) for a name
    that is no function, or a function that cannot be described to a model."""
    from aimo_magic.core.tools import REGISTRY, ToolDefinitionError, as_tool, as_tools

    names = tool_names(spec or "")
    if not names:
        return ()
    if names == [ALL]:
        registered = REGISTRY.all()
        if not registered:
            raise ValueError(
                "--tools all: no function is registered yet; decorate one with "
                "@aimo_magic.tool (or name plain functions: --tools f,g)."
            )
        return tuple(registered)
    found: list[Any] = []
    for name in names:
        value = namespace.get(name)
        if value is None:
            value = REGISTRY.get(name)
        if value is None:
            raise ValueError(
                f"--tools {name}: no function of that name in this notebook; define it "
                "(decorate it with @aimo_magic.tool to run it without asking), then run "
                "the cell again. `%aimo tools` lists the registered ones."
            )
        if not callable(value):
            raise ValueError(f"--tools {name}: {name} is a {type(value).__name__}, not a function.")
        try:
            found.append(as_tool(value))
        except ToolDefinitionError as exc:
            raise ValueError(f"--tools {name}: {exc.message}") from None
    try:
        return tuple(as_tools(found))
    except ToolDefinitionError as exc:
        raise ValueError(f"--tools: {exc.message}") from None
