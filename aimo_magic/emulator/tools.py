"""Tool calls: whether a request with ``tools`` gets a call, which tool, and its arguments.

The rule is simple and deterministic, so that tests and demos know what they get:

- ``tool_choice`` naming a function (``{"type": "function", "function": {"name": N}}``)
  calls N;
- ``"required"`` calls the tool whose name the last user message mentions, else the first;
- ``"auto"`` (or no ``tool_choice``) calls a tool only when the last message is the user's
  and mentions the tool's name (``get_weather``) as a word; otherwise the answer is text,
  so an agent loop ends once the tool's result is sent back;
- ``"none"`` never calls one.

The arguments are an instance of the tool's ``parameters`` schema (see ``schema``), so they
validate against it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aimo_magic.emulator.schema import schema_instance
from aimo_magic.emulator.tokens import content_text
from aimo_magic.emulator.validation import BadRequest

CHOICES = ("none", "auto", "required")


def _functions(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The request's tools as their ``function`` objects, checked; 400 if malformed."""
    tools = body.get("tools")
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise BadRequest("Field 'tools' must be a list of {type: 'function', function: {...}}")
    functions = []
    for i, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise BadRequest(f"tools[{i}] must have type 'function' (the only kind supported)")
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise BadRequest(f"tools[{i}].function needs a 'name'")
        parameters = function.get("parameters")
        if parameters is not None and not isinstance(parameters, dict):
            raise BadRequest(f"tools[{i}].function.parameters must be a JSON schema object")
        functions.append(function)
    return functions


def _forced_name(choice: Any) -> str | None:
    if choice is None or choice in CHOICES:
        return None
    if isinstance(choice, dict) and choice.get("type") == "function":
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else choice.get("name")
        if isinstance(name, str):
            return name
    raise BadRequest(
        "Field 'tool_choice' must be 'none', 'auto', 'required' or "
        "{type: 'function', function: {name: ...}}"
    )


def _mentioned(functions: list[dict[str, Any]], text: str) -> dict[str, Any] | None:
    for function in functions:
        if re.search(rf"(?<![\w-]){re.escape(function['name'])}(?![\w-])", text, re.IGNORECASE):
            return function
    return None


def chosen_tool(body: dict[str, Any]) -> dict[str, Any] | None:
    """The function the answer calls, or None for a text answer; 400 for a bad request."""
    functions = _functions(body)
    choice = body.get("tool_choice")
    forced = _forced_name(choice)
    if forced is not None:
        match = next((f for f in functions if f["name"] == forced), None)
        if match is None:
            raise BadRequest(f"tool_choice names '{forced}', which is not among the 'tools'")
        return match
    if not functions or choice == "none":
        return None
    messages = body["messages"]
    users = [m for m in messages if m.get("role") == "user"]
    user_text = content_text(users[-1].get("content")) if users else ""
    if choice == "required":
        return _mentioned(functions, user_text) or functions[0]
    if messages[-1].get("role") != "user":
        return None
    return _mentioned(functions, user_text)


def arguments(function: dict[str, Any]) -> str:
    """The call's ``arguments``: a JSON string valid against the function's parameters."""
    parameters = function.get("parameters") or {"type": "object", "properties": {}}
    return json.dumps(schema_instance(parameters), ensure_ascii=False, separators=(",", ":"))
