"""A small value that satisfies a JSON schema, for ``json_schema`` answers and tool calls.

Clients parse what the emulator answers against the schema they sent (the openai SDK's
``parse``, LangChain's structured output, pydantic), so the value must validate, not just
look plausible. It covers what pydantic and hand-written tool schemas use: ``$ref`` into
``$defs``/``definitions``, ``allOf``/``anyOf``/``oneOf``, enums, consts, nullable types,
string formats and lengths, numeric bounds and ``multipleOf``, array sizes. ``pattern`` is
not solved: a schema that needs it gets a plain example string.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

Chooser = Callable[[Sequence[Any]], Any]
"""Picks one of an ``enum``'s values (the emulator picks the one the prompt points to)."""
Describer = Callable[[str, dict[str, Any]], "str | None"]
"""Text for a plain string property, from its name (``summary``) and schema, or None for
the schema's example."""
Measurer = Callable[[str], "float | None"]
"""A number for a numeric property, from its name, or None for the schema's example."""

FULL_DEPTH = 3
"""Below this depth optional properties and array items beyond ``minItems`` are left out,
so that recursive schemas (trees, linked lists) end."""
MAX_DEPTH = 32
SMALL_RANGE = 20
"""Bounded integer ranges narrower than this are chosen from like enums (when a chooser
is given), so that ratings vary from one prompt to the next."""

_FORMATS = {
    "date-time": "2025-01-01T12:00:00Z",
    "date": "2025-01-01",
    "time": "12:00:00Z",
    "email": "user@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "hostname": "example.com",
}


@dataclass(frozen=True)
class _Context:
    root: Any
    choose: Chooser
    describe: Describer
    measure: Measurer | None = None


def _first(values: Sequence[Any]) -> Any:
    return values[0]


def _no_text(name: str, schema: dict[str, Any]) -> None:
    return None


def schema_instance(
    schema: Any,
    choose: Chooser | None = None,
    describe: Describer | None = None,
    measure: Measurer | None = None,
) -> Any:
    """A value valid against ``schema`` (a JSON schema as a dict); ``choose`` picks each
    ``enum``'s value (the first by default), ``describe`` words plain string properties,
    ``measure`` gives numeric ones (used when it fits the bounds)."""
    context = _Context(schema, choose or _first, describe or _no_text, measure)
    return _instance(schema, context, 0)


def _resolve(ref: str, root: Any) -> Any:
    """``#/$defs/Name``-style local references; anything else resolves to the empty schema."""
    if not ref.startswith("#"):
        return {}
    node = root
    for part in ref.lstrip("#").strip("/").split("/"):
        if not part:
            continue
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return {}
        node = node[part]
    return node


def _merged(schema: dict[str, Any], root: Any, depth: int = 0) -> dict[str, Any]:
    """``schema`` with its ``$ref`` and ``allOf`` parts folded in (properties unioned)."""
    if depth > MAX_DEPTH:
        return {}
    parts = [schema]
    if isinstance(schema.get("$ref"), str):
        parts.append(_resolve(schema["$ref"], root))
    parts += [p for p in schema.get("allOf", []) if isinstance(p, dict)]
    merged: dict[str, Any] = {}
    for part in parts:
        if part is not schema and ("$ref" in part or "allOf" in part):
            part = _merged(part, root, depth + 1)
        for key, value in part.items():
            if key in ("$ref", "allOf"):
                continue
            if key == "properties" and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            elif key == "required" and isinstance(merged.get(key), list):
                merged[key] = [*merged[key], *value]
            else:
                merged.setdefault(key, value)
    return merged


def _kind(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if isinstance(kind, str):
        return kind
    if "properties" in schema or "additionalProperties" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    return "string"


def _instance(schema: Any, ctx: _Context, depth: int, name: str = "") -> Any:
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return None
    root = ctx.root
    schema = _merged(schema, root)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return ctx.choose(schema["enum"])
    for combiner in ("anyOf", "oneOf"):
        options = [o for o in schema.get(combiner, []) if isinstance(o, dict)]
        if options:
            # Optional[X] is anyOf [X, null]: X gives the more telling example.
            best = next((o for o in options if o.get("type") != "null"), options[0])
            rest = {k: v for k, v in schema.items() if k != combiner}
            return _instance(_merged({**rest, "allOf": [best]}, root), ctx, depth + 1, name)
    kind = _kind(schema)
    if kind == "object":
        return _object(schema, ctx, depth)
    if kind == "array":
        return _array(schema, ctx, depth)
    if kind in ("integer", "number"):
        return _number(schema, kind == "integer", ctx, name)
    if kind == "string":
        return _string(schema, ctx.describe(name, schema) if name else None)
    return {"boolean": True, "null": None}.get(kind, "value")


def _object(schema: dict[str, Any], ctx: _Context, depth: int) -> dict[str, Any]:
    properties = schema.get("properties") or {}
    if depth >= FULL_DEPTH:
        required = set(schema.get("required", []))
        properties = {k: v for k, v in properties.items() if k in required}
    value = {k: _instance(v, ctx, depth + 1, k) for k, v in properties.items()}
    extra = schema.get("additionalProperties")
    for name in schema.get("required", []):
        if name not in value:
            value[name] = _instance(extra if isinstance(extra, dict) else {}, ctx, depth + 1)
    return value


def _array(schema: dict[str, Any], ctx: _Context, depth: int) -> list[Any]:
    prefix = [_instance(s, ctx, depth + 1) for s in schema.get("prefixItems", [])]
    wanted = 0 if depth >= FULL_DEPTH else 1
    count = max(int(schema.get("minItems", 0)), wanted, len(prefix))
    if "maxItems" in schema:
        count = min(count, int(schema["maxItems"]))
    if count == len(prefix):
        return prefix[:count]
    items = schema.get("items")
    item = _instance(items if isinstance(items, dict) else {}, ctx, depth + 1)
    values = (prefix + [item] * count)[:count]
    if schema.get("uniqueItems") and count > len(prefix) + 1:
        values = prefix + [_distinct(item, i) for i in range(count - len(prefix))]
    return values


def _distinct(value: Any, index: int) -> Any:
    """Variants of one item for ``uniqueItems`` arrays (numbers and strings vary)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return value
    if isinstance(value, str):
        return f"{value}{index}" if index else value
    return value + index


def _number(schema: dict[str, Any], integer: bool, ctx: _Context, name: str = "") -> int | float:
    low = -math.inf
    high = math.inf
    if "minimum" in schema:
        low = schema["minimum"]
    if "maximum" in schema:
        high = schema["maximum"]
    step = schema.get("multipleOf") or (1 if integer else 0.5)
    exclusive_low = schema.get("exclusiveMinimum")
    exclusive_high = schema.get("exclusiveMaximum")
    if isinstance(exclusive_low, int | float) and not isinstance(exclusive_low, bool):
        low = max(low, exclusive_low + (step if integer or "multipleOf" in schema else 1e-9))
    if isinstance(exclusive_high, int | float) and not isinstance(exclusive_high, bool):
        high = min(high, exclusive_high - (step if integer or "multipleOf" in schema else 1e-9))
    measured = ctx.measure(name) if ctx.measure is not None and name else None
    if measured is not None and _fits(measured, low, high, integer, schema.get("multipleOf")):
        return int(measured) if integer else measured
    if integer and ctx.choose is not _first and high - low < SMALL_RANGE:
        # A small bounded range (a rating, 1 to 5) is a choice like an enum's.
        first = math.ceil(low / step) * step
        choices = [int(v) for v in range(int(first), int(high) + 1, int(step))]
        if choices:
            return int(ctx.choose(choices))
    value = min(max(42 if integer else 3.5, low), high)
    if "multipleOf" in schema or integer:
        value = math.ceil(value / step) * step
        if value > high:
            value -= step
    return int(value) if integer else value


def _fits(value: float, low: float, high: float, integer: bool, step: Any) -> bool:
    """Whether ``value`` meets the bounds (already narrowed for exclusive ones)."""
    if not low <= value <= high or (integer and not float(value).is_integer()):
        return False
    return not (isinstance(step, int | float) and step and (value / step) % 1)


def _string(schema: dict[str, Any], described: str | None = None) -> str:
    """A format's example, else the described text (when there is no pattern to meet),
    else ``example``; padded or cut to the length bounds."""
    text = _FORMATS.get(str(schema.get("format")), described or "example")
    if "pattern" in schema and "format" not in schema:
        text = "example"
    low = int(schema.get("minLength", 0))
    if len(text) < low:
        text += "x" * (low - len(text))
    if "maxLength" in schema:
        text = text[: int(schema["maxLength"])]
    return text
