"""What a batch asks for and how it reads each answer: text, JSON, or a JSON Schema.

``schema`` may be a JSON Schema dict or a pydantic model class; either is sent as
``response_format`` (``json_schema``) and decides the result's columns. pydantic is
never imported here: a model class is recognised by its ``model_json_schema`` method.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

FORMATS = ("text", "json")
_NAME = re.compile(r"[^A-Za-z0-9_-]")
# pandas dtypes for JSON Schema scalar types: nullable, so a failed row can be NA.
_DTYPES = {"string": "string", "integer": "Int64", "number": "Float64", "boolean": "boolean"}


class AnswerFormatError(ValueError):
    """An answer that is not the JSON the batch asked for: a row error, not a crash."""


def _is_model_class(schema: Any) -> bool:
    return isinstance(schema, type) and hasattr(schema, "model_json_schema")


class AnswerFormat:
    """The ``response_format`` to send, how to parse an answer, and the result's columns."""

    def __init__(self, fmt: str = "text", schema: Any = None) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}.")
        self.model_class: Any = None
        self.schema: dict[str, Any] | None = None
        self.name = "answer"
        if schema is not None:
            if _is_model_class(schema):
                self.model_class = schema
                self.schema = schema.model_json_schema()
                self.name = schema.__name__
            elif isinstance(schema, Mapping):
                self.schema = dict(schema)
                self.name = str(self.schema.get("title") or "answer")
            else:
                raise ValueError(
                    "schema must be a JSON Schema (a dict) or a pydantic model class, "
                    f"not {type(schema).__name__}."
                )
            fmt = "json"
        self.json = fmt == "json"

    @property
    def columns(self) -> list[str] | None:
        """The schema's top-level properties, in order; None when only the answers tell."""
        if self.schema is None:
            return None
        properties = self.schema.get("properties")
        return list(properties) if isinstance(properties, Mapping) else None

    @property
    def dtypes(self) -> dict[str, str] | None:
        """Nullable pandas dtypes for the schema's scalar properties (others: object)."""
        columns = self.columns
        if columns is None or self.schema is None:
            return None
        properties = self.schema["properties"]
        out = {}
        for column in columns:
            kind = (
                properties[column].get("type") if isinstance(properties[column], Mapping) else None
            )
            if isinstance(kind, list):
                kind = next((k for k in kind if k != "null"), None)
            out[column] = _DTYPES.get(kind, "object") if isinstance(kind, str) else "object"
        return out

    def params(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The request's parameters with ``response_format`` added unless the user set one."""
        params = dict(given)
        if not self.json or "response_format" in params:
            return params
        if self.schema is None:
            params["response_format"] = {"type": "json_object"}
        else:
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": _NAME.sub("_", self.name)[:64], "schema": self.schema},
            }
        return params

    def parse(self, text: str) -> Any:
        """The row's value: the text itself, or the parsed (and validated) JSON object."""
        if not self.json:
            return text
        from aimo_magic.core.answer_text import json_source

        raw = json_source(text)
        if self.model_class is not None:
            try:
                return self.model_class.model_validate_json(raw).model_dump(mode="json")
            except ValueError as exc:  # pydantic's ValidationError is a ValueError
                raise AnswerFormatError(_first_line(exc)) from None
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise AnswerFormatError(f"the answer is not valid JSON ({exc})") from None
        if not isinstance(value, dict):
            raise AnswerFormatError(
                f"the answer is JSON but not an object (a {type(value).__name__})"
            )
        return value


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if len(lines) >= 3:
        # pydantic: "1 validation error for X" / "field" / "Field required [type=...]"
        return f"the answer does not fit the schema: {lines[1]}: {lines[2].split(' [')[0]}"
    return f"the answer does not fit the schema: {' '.join(lines)}"


def union_columns(values: list[Any]) -> list[str]:
    """Every key the parsed answers used, in the order first seen."""
    seen: dict[str, None] = {}
    for value in values:
        if isinstance(value, Mapping):
            for key in value:
                seen.setdefault(str(key), None)
    return list(seen)
