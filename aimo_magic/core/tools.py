"""Functions a model may call: the ``@tool`` decorator, the registry, schemas and checks.

The JSON Schema a model sees is pydantic's, built from the function's signature, type
hints and docstring, and the model's arguments are validated by the same pydantic model
before the function runs, so what the model is told and what is enforced cannot drift
apart. pydantic is imported only when a tool is defined or offered, never by
``%load_ext``. Where pydantic cannot be imported (the offline browser site),
``core/plain_tool_schema.py`` writes the same schemas and checks for the common types.
"""

from __future__ import annotations

import copy
import inspect
import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Protocol, overload

from aimo_magic.core.errors import AimoError
from aimo_magic.core.plain_tool_schema import (
    SUPPORTED,
    Parameter,
    PlainSchema,
    Problem,
    UnsupportedType,
)

TOOL_ATTRIBUTE = "__aimo_tool__"
_NAME_OK = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ToolDefinitionError(AimoError):
    """A function that cannot be offered to a model as it stands (one line says why)."""


class ToolArgumentsError(ValueError):
    """The model's arguments do not fit the function; ``str()`` is what the model is told."""


@dataclass(frozen=True, eq=False)
class Tool:
    """A function offered to a model, with the schema it is described and checked by.

    ``approve``: ask the user before each call (functions with effects).
    ``concurrent``: calls in one step may run at the same time as other such calls.
    """

    function: Callable[..., Any]
    name: str
    description: str
    parameters: dict[str, Any]
    approve: bool = False
    concurrent: bool = False
    _checker: _Checker | None = field(default=None, repr=False)

    def spec(self) -> dict[str, Any]:
        """The entry of the request's ``tools`` list (OpenAI's function tool)."""
        function: dict[str, Any] = {"name": self.name, "parameters": self.parameters}
        if self.description:
            function["description"] = self.description
        return {"type": "function", "function": function}

    def arguments(self, raw: str | Mapping[str, Any]) -> dict[str, Any]:
        """The keyword arguments for a call, from the JSON the model wrote, validated.

        Raises ``ToolArgumentsError`` saying what is wrong, in words meant for the model.
        """
        if isinstance(raw, str):
            try:
                data = json.loads(raw) if raw.strip() else {}
            except ValueError as exc:
                raise ToolArgumentsError(f"the arguments are not valid JSON ({exc})") from None
        else:
            data = dict(raw)
        if not isinstance(data, dict):
            raise ToolArgumentsError(
                f"the arguments must be a JSON object, not {type(data).__name__}"
            )
        # A Tool built by hand (not by make_tool) is checked against its function all the same.
        checker = self._checker or _checker(self.function, self.name, {})
        arguments, problems = checker.check(data)
        if problems:
            said = "; ".join(
                f"{'.'.join(str(p) for p in place) or 'arguments'}: {words}"
                for place, words in problems
            )
            raise ToolArgumentsError(f"the arguments do not fit {self.name}: {said}")
        return arguments

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)


def _doc_parts(function: Callable[..., Any]) -> tuple[str, dict[str, str]]:
    """The description (the docstring without its parameter and return sections) and
    each parameter's words, read by docstring-parser (Google, NumPy, reST and Epydoc)."""
    import docstring_parser

    doc = inspect.getdoc(function) or ""
    try:
        parsed = docstring_parser.parse(doc)
    except docstring_parser.ParseError:
        return doc.strip(), {}
    # A first sentence wrapped over two lines is one paragraph, not a summary line and
    # a second paragraph: the description keeps it whole.
    between = "\n\n" if parsed.blank_after_short_description else "\n"
    description = between.join(
        part for part in (parsed.short_description, parsed.long_description) if part
    )
    words = {
        param.arg_name.lstrip("*"): " ".join(param.description.split())
        for param in parsed.params
        if param.description
    }
    return description, words


class _Checker(Protocol):
    """A tool's parameters: their JSON Schema and the check of a model's arguments."""

    schema: dict[str, Any]

    def check(self, data: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]: ...


class _PydanticChecker:
    """pydantic's model of the parameters (extra arguments forbidden)."""

    def __init__(self, name: str, parameters: list[Parameter]) -> None:
        from pydantic import ConfigDict, Field, create_model

        fields: dict[str, Any] = {
            p.name: (p.hint, Field(p.default, description=p.description) if p.description
                     else p.default)
            for p in parameters
        }  # fmt: skip
        try:
            self._model = create_model(name, __config__=ConfigDict(extra="forbid"), **fields)
            self.schema: dict[str, Any] = self._model.model_json_schema()
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ToolDefinitionError(
                f"{name}: its parameters cannot be described as JSON ({first}); use types a "
                "model can write: str, int, float, bool, lists, dicts, Literal, pydantic models"
            ) from None

    def check(self, data: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
        from pydantic import ValidationError

        try:
            checked = self._model.model_validate(data)
        except ValidationError as exc:
            return {}, [(e["loc"], e["msg"]) for e in exc.errors(include_url=False)]
        return {name: getattr(checked, name) for name in type(checked).model_fields}, []


def _plain_checker(name: str, parameters: list[Parameter]) -> _Checker:
    """The fallback where pydantic cannot be imported, for the types it knows."""
    try:
        return PlainSchema(parameters)
    except UnsupportedType as exc:
        raise ToolDefinitionError(
            f"{name}: without pydantic the type of {exc} cannot be described; use {SUPPORTED}",
            hint="pip install 'pydantic>=2' for any other type (the browser site cannot)",
        ) from None


def _parameters(
    function: Callable[..., Any], name: str, descriptions: dict[str, str]
) -> list[Parameter]:
    """The function's parameters as a model may pass them (by name), with their hints."""
    import typing

    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError) as exc:
        raise ToolDefinitionError(f"{name}: its signature cannot be read ({exc})") from None
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except Exception as exc:
        raise ToolDefinitionError(
            f"{name}: a type hint cannot be resolved ({type(exc).__name__}: {exc}); "
            "define the types it names before the function"
        ) from None
    parameters: list[Parameter] = []
    for parameter in signature.parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise ToolDefinitionError(
                f"{name}: *{parameter.name} cannot be described to a model; "
                "name each parameter the model may pass"
            )
        if parameter.kind is parameter.POSITIONAL_ONLY:
            raise ToolDefinitionError(
                f"{name}: {parameter.name} is positional-only; a model passes arguments by name"
            )
        default = ... if parameter.default is parameter.empty else parameter.default
        hint = hints.get(parameter.name, Any)
        parameters.append(
            Parameter(parameter.name, hint, default, descriptions.get(parameter.name))
        )
    return parameters


def _checker(function: Callable[..., Any], name: str, descriptions: dict[str, str]) -> _Checker:
    """pydantic's checker where it is installed, else the plain one."""
    parameters = _parameters(function, name, descriptions)
    try:
        import pydantic  # noqa: F401
    except ImportError:
        return _plain_checker(name, parameters)
    return _PydanticChecker(name, parameters)


def make_tool(
    function: Callable[..., Any],
    *,
    approve: bool = False,
    concurrent: bool = False,
    name: str | None = None,
) -> Tool:
    """Describe ``function`` for a model (without registering it)."""
    if isinstance(function, Tool):
        return function
    if not callable(function):
        raise ToolDefinitionError(f"{function!r} is not a function, so it cannot be a tool")
    chosen = str(name or getattr(function, "__name__", ""))
    if not _NAME_OK.match(chosen):
        raise ToolDefinitionError(
            f"{chosen!r} cannot name a tool: use letters, digits, _ or - (at most 64)"
        )
    description, descriptions = _doc_parts(function)
    checker = _checker(function, chosen, descriptions)
    parameters = copy.deepcopy(checker.schema)
    parameters.pop("title", None)
    for value in parameters.get("properties", {}).values():
        if isinstance(value, dict):
            value.pop("title", None)
    return Tool(function, chosen, description, parameters, approve, concurrent, checker)


class ToolRegistry:
    """The tools ``@tool`` defined in this Python process, by name (the newest wins)."""

    def __init__(self) -> None:
        self._tools: dict[str, Tool] = {}
        self._lock = threading.Lock()

    def add(self, tool: Tool) -> None:
        with self._lock:
            self._tools[tool.name] = tool

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def all(self) -> list[Tool]:
        with self._lock:
            return list(self._tools.values())

    def remove(self, name: str) -> bool:
        with self._lock:
            return self._tools.pop(name, None) is not None


REGISTRY = ToolRegistry()


@overload
def tool(function: Callable[..., Any], /) -> Callable[..., Any]: ...


@overload
def tool(
    *, approve: bool = False, concurrent: bool = False, name: str | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]: ...


def tool(
    function: Callable[..., Any] | None = None,
    /,
    *,
    approve: bool = False,
    concurrent: bool = False,
    name: str | None = None,
) -> Any:
    """Offer a function to models: ``@aimo_magic.tool`` or ``@aimo_magic.tool(approve=True)``.

    The function is returned unchanged (it stays an ordinary function) and registered
    under its name, so ``%%aimo --tools NAME`` and ``tools=[function]`` find it.
    ``approve=True`` asks before each call; ``concurrent=True`` lets its calls run
    alongside the step's other concurrent calls (only for functions safe to run so).
    """

    def register(target: Callable[..., Any]) -> Callable[..., Any]:
        described = make_tool(target, approve=approve, concurrent=concurrent, name=name)
        REGISTRY.add(described)
        with suppress(AttributeError, TypeError):  # a builtin or a slotted callable
            setattr(target, TOOL_ATTRIBUTE, described)
        return target

    return register(function) if function is not None else register


def as_tool(value: Any) -> Tool:
    """A ``Tool`` for what a caller offers: a Tool, a decorated function (its own
    settings), or a plain function, which needs approval since nobody said it is safe."""
    if isinstance(value, Tool):
        return value
    described = getattr(value, TOOL_ATTRIBUTE, None)
    if isinstance(described, Tool) and described.function is value:
        return described
    return make_tool(value, approve=True)


def as_tools(values: Iterable[Any]) -> list[Tool]:
    """The tools offered, refusing two that share a name (the model could not tell them
    apart)."""
    tools = [as_tool(value) for value in values]
    seen: set[str] = set()
    for one in tools:
        if one.name in seen:
            raise ToolDefinitionError(f"two tools are named {one.name!r}; offer one of them")
        seen.add(one.name)
    return tools


def tool_specs(values: Iterable[Any]) -> list[dict[str, Any]]:
    """The request's ``tools``: dicts pass as written, functions and Tools are described."""
    return [dict(v) if isinstance(v, Mapping) else as_tool(v).spec() for v in values]
