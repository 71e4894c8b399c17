"""A tool's JSON Schema and argument check without pydantic, for the common types.

pydantic does this wherever it is installed. Where it cannot be (the offline browser
site: Pyodide's pydantic is compiled and only on Pyodide's CDN), tools still work for
the annotations people give functions a model calls: ``str``, ``int``, ``float``,
``bool``, ``None``, ``Optional[...]`` / ``X | None``, ``list[...]``, ``dict[str, ...]``,
``Literal[...]``, ``Enum`` subclasses and ``Any``, with defaults. The schemas are the
ones pydantic writes for these types and the checks accept and convert what pydantic's
lax mode does (``"3"`` for an int, ``"yes"`` for a bool, a value for its Enum member),
with pydantic's words for what is wrong, so a tool behaves the same with or without it
(``tests/test_tools_plain_schema.py`` compares the two). Anything else is refused when
the tool is defined, in one line.
"""

from __future__ import annotations

import copy
import enum
import inspect
import math
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Problem = tuple[tuple[str | int, ...], str]
# Converts one value (or says what is wrong at which place below it).
Check = Callable[[Any, tuple[str | int, ...], list[Problem]], Any]
_BAD = object()  # a check's result when it added a problem
_NOT_INT = "Input should be a valid integer"
_NOT_NUMBER = "Input should be a valid number"
_TRUE = {"1", "on", "t", "true", "y", "yes"}
_FALSE = {"0", "off", "f", "false", "n", "no"}
SUPPORTED = "str, int, float, bool, None, Optional[T], list[T], dict[str, T], Literal, Enum, Any"


class UnsupportedType(TypeError):
    """An annotation this module cannot describe (``str()`` names it)."""


@dataclass(frozen=True)
class Parameter:
    """One parameter of a tool: its name, type hint, default (``...``: required), words."""

    name: str
    hint: Any
    default: Any = ...
    description: str | None = None


@dataclass
class _Builder:
    """Schemas and checks for the hints of one function; Enums collect in ``$defs``."""

    defs: dict[str, Any] = field(default_factory=dict)

    def build(self, hint: Any) -> tuple[dict[str, Any], Check]:
        if hint is Any or hint is inspect.Parameter.empty:
            return {}, lambda value, at, problems: value
        if hint is None or hint is type(None):
            return {"type": "null"}, _check_none
        if hint in _SCALARS:
            kind, check = _SCALARS[hint]
            return {"type": kind}, check
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return self._enum(hint)
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if hint is list or origin is list:
            item_schema, item_check = self.build(args[0] if args else Any)
            return {"type": "array", "items": item_schema}, _list_check(item_check)
        if hint is dict or origin is dict:
            if args and args[0] is not str:
                raise UnsupportedType(f"{_name(hint)} (keys must be str: JSON's keys are text)")
            if not args or args[1] is Any:
                return {"type": "object", "additionalProperties": True}, _dict_check(None)
            value_schema, value_check = self.build(args[1])
            return {"type": "object", "additionalProperties": value_schema}, _dict_check(
                value_check
            )
        if origin is typing.Literal:
            return _literal(args)
        if origin is typing.Union or origin is types.UnionType:
            others = [a for a in args if a is not type(None)]
            if len(others) == 1 and len(args) == 2:
                schema, check = self.build(others[0])
                return {"anyOf": [schema, {"type": "null"}]}, _optional_check(check)
        raise UnsupportedType(_name(hint))

    def _enum(self, kind: type[enum.Enum]) -> tuple[dict[str, Any], Check]:
        values = [member.value for member in kind]
        definition: dict[str, Any] = {"enum": values, "title": kind.__name__}
        doc = kind.__doc__ and inspect.cleandoc(kind.__doc__)
        if doc and doc != "An enumeration.":
            definition["description"] = doc
        json_type = _json_type_of(values)
        if json_type:
            definition["type"] = json_type
        self.defs[kind.__name__] = definition
        lax = _SCALARS[int][1] if json_type == "integer" else None

        def check(value: Any, at: tuple[str | int, ...], problems: list[Problem]) -> Any:
            for member in kind:
                if _same(member.value, value):
                    return member
            if lax is not None and isinstance(value, str):
                number = lax(value, at, [])
                for member in kind:
                    if number is not _BAD and _same(member.value, number):
                        return member
            problems.append((at, f"Input should be {_either(values)}"))
            return _BAD

        return {"$ref": f"#/$defs/{kind.__name__}"}, check


def _name(hint: Any) -> str:
    if isinstance(hint, type) and typing.get_origin(hint) is None:
        return hint.__name__
    return repr(hint).replace("typing.", "")


def _same(expected: Any, value: Any) -> bool:
    """pydantic's rule for Literal and Enum values: text matches text exactly; numbers
    and booleans match by value (1.0 and True are 1, 1 is True)."""
    if isinstance(expected, str) or isinstance(value, str):
        return type(expected) is type(value) and expected == value
    return isinstance(value, int | float) and expected == value


def _json_type_of(values: list[Any]) -> str | None:
    for kind, name in ((bool, "boolean"), (str, "string"), (int, "integer")):
        if values and all(type(v) is kind for v in values):
            return name
    return None


def _either(values: list[Any]) -> str:
    shown = [repr(v) for v in values]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"


def _literal(values: tuple[Any, ...]) -> tuple[dict[str, Any], Check]:
    if not values or not all(type(v) in (str, int, bool) for v in values):
        raise UnsupportedType(f"Literal{list(values)} (only str, int and bool values)")
    listed = list(values)
    schema: dict[str, Any] = {"const": listed[0]} if len(listed) == 1 else {"enum": listed}
    json_type = _json_type_of(listed)
    if json_type:
        schema["type"] = json_type

    def check(value: Any, at: tuple[str | int, ...], problems: list[Problem]) -> Any:
        for expected in listed:
            if _same(expected, value):
                return expected
        problems.append((at, f"Input should be {_either(listed)}"))
        return _BAD

    return schema, check


def _check_none(value: Any, at: tuple[str | int, ...], problems: list[Problem]) -> Any:
    if value is None:
        return None
    problems.append((at, "Input should be None"))
    return _BAD


def _check_str(value: Any, at: tuple[str | int, ...], problems: list[Problem]) -> Any:
    if isinstance(value, str):
        return value
    problems.append((at, "Input should be a valid string"))
    return _BAD


def _check_int(value: Any, at: tuple[str | int, ...], problems: list[Problem]) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            problems.append((at, "Input should be a finite number"))
        elif value.is_integer():
            return int(value)
        else:
            problems.append((at, f"{_NOT_INT}, got a number with a fractional part"))
        return _BAD
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            problems.append((at, f"{_NOT_INT}, unable to parse string as an integer"))
            return _BAD
    problems.append((at, _NOT_INT))
    return _BAD


def _check_float(value: Any, at: tuple[str | int, ...], problems: list[Problem]) -> Any:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            problems.append((at, f"{_NOT_NUMBER}, unable to parse string as a number"))
            return _BAD
    problems.append((at, _NOT_NUMBER))
    return _BAD


def _check_bool(value: Any, at: tuple[str | int, ...], problems: list[Problem]) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    words = ", unable to interpret input" if isinstance(value, int | float | str) else ""
    problems.append((at, f"Input should be a valid boolean{words}"))
    return _BAD


_SCALARS: dict[Any, tuple[str, Check]] = {
    str: ("string", _check_str),
    int: ("integer", _check_int),
    float: ("number", _check_float),
    bool: ("boolean", _check_bool),
}


def _list_check(item: Check) -> Check:
    def check(value: Any, at: tuple[str | int, ...], problems: list[Problem]) -> Any:
        if not isinstance(value, list | tuple):
            problems.append((at, "Input should be a valid list"))
            return _BAD
        items = [item(v, (*at, i), problems) for i, v in enumerate(value)]
        return _BAD if _BAD in items else items

    return check


def _dict_check(value_check: Check | None) -> Check:
    def check(value: Any, at: tuple[str | int, ...], problems: list[Problem]) -> Any:
        if not isinstance(value, dict):
            problems.append((at, "Input should be a valid dictionary"))
            return _BAD
        if value_check is None:
            return dict(value)
        converted = {k: value_check(v, (*at, k), problems) for k, v in value.items()}
        return _BAD if _BAD in converted.values() else converted

    return check


def _optional_check(inner: Check) -> Check:
    def check(value: Any, at: tuple[str | int, ...], problems: list[Problem]) -> Any:
        return None if value is None else inner(value, at, problems)

    return check


def _json_default(value: Any) -> Any:
    """A default as pydantic writes it in a schema (an Enum member as its value)."""
    if isinstance(value, enum.Enum):
        return _json_default(value.value)
    if isinstance(value, list | tuple):
        return [_json_default(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_default(v) for k, v in value.items()}
    return value


class PlainSchema:
    """The parameters of one function: their JSON Schema and the check of arguments."""

    def __init__(self, parameters: list[Parameter]) -> None:
        """Raises ``UnsupportedType`` naming the first parameter whose type cannot be
        described without pydantic."""
        builder = _Builder()
        self._parameters = parameters
        self._checks: dict[str, Check] = {}
        properties: dict[str, Any] = {}
        for parameter in parameters:
            try:
                schema, check = builder.build(parameter.hint)
            except UnsupportedType as exc:
                raise UnsupportedType(f"{parameter.name}: {exc}") from None
            schema = dict(schema)
            if parameter.default is not ...:
                schema["default"] = _json_default(parameter.default)
            if parameter.description:
                schema["description"] = parameter.description
            properties[parameter.name] = schema
            self._checks[parameter.name] = check
        self.schema: dict[str, Any] = {
            "additionalProperties": False,
            "properties": properties,
            "type": "object",
        }
        required = [p.name for p in parameters if p.default is ...]
        if required:
            self.schema["required"] = required
        if builder.defs:
            self.schema["$defs"] = builder.defs

    def check(self, data: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
        """The keyword arguments (defaults filled in, values converted), and what is
        wrong with ``data`` (each problem's place and pydantic's words for it)."""
        problems: list[Problem] = []
        arguments: dict[str, Any] = {}
        for parameter in self._parameters:
            if parameter.name in data:
                arguments[parameter.name] = self._checks[parameter.name](
                    data[parameter.name], (parameter.name,), problems
                )
            elif parameter.default is ...:
                problems.append(((parameter.name,), "Field required"))
            else:
                arguments[parameter.name] = copy.deepcopy(parameter.default)
        for name in data:
            if name not in self._checks:
                problems.append(((name,), "Extra inputs are not permitted"))
        return arguments, problems
