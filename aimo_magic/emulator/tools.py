"""Tool calls: whether a request gets calls or text, which calls, and with which arguments.

The rule is deterministic, so that tests and demos know what they get:

- ``::tool NAME {json}`` directives in the last user message script the calls exactly:
  several in one step, separated into steps by ``::then``, any name (a function that was not
  offered, to test refusals) and any arguments (``{"column": 5}``, to test validation).
  Step N is answered once N steps of calls have been answered since that user message;
  after the last step the answer is text that uses the results.
- ``tool_choice`` naming a function calls it; ``"required"`` calls the most fitting tool
  (else the first) whatever came last, so a loop runs until its step limit;
- ``"auto"`` (or no ``tool_choice``): when the last message is the user's, the most fitting
  tool is called: the one the message names (``get_weather``), else the one whose name,
  description and parameters share the most words with it; none when no word is shared;
  when the last messages are tool results, the answer is text that quotes them;
- ``"none"`` never calls one.

Arguments are read from the prompt where it says them (``tool_arguments``) and always
validate against the tool's ``parameters`` schema.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from aimo_magic.emulator.questions import STOPWORDS
from aimo_magic.emulator.tokens import content_text
from aimo_magic.emulator.tool_arguments import tool_arguments
from aimo_magic.emulator.validation import BadRequest

CHOICES = ("none", "auto", "required")
RESULT_CHARS = 2000
"""How much of each tool result the answer quotes."""


@dataclass(frozen=True)
class PlannedCall:
    """One call the answer makes: the function's name and the arguments as sent."""

    name: str
    arguments: str


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


def _words(text: str) -> set[str]:
    """Content words, tool names split at ``_`` and case changes."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", text).replace("_", " ").lower()
    return {w for w in re.findall(r"[a-z][a-z0-9]+", spaced) if len(w) > 3 and w not in STOPWORDS}


def _mentioned(functions: list[dict[str, Any]], text: str) -> dict[str, Any] | None:
    for function in functions:
        if re.search(rf"(?<![\w-]){re.escape(function['name'])}(?![\w-])", text, re.IGNORECASE):
            return function
    return None


def _fitting(functions: list[dict[str, Any]], text: str) -> dict[str, Any] | None:
    """The function the text names, else the one sharing most words with it (None if none
    shares one)."""
    named = _mentioned(functions, text)
    if named is not None:
        return named
    asked = _words(text)
    best, best_score = None, 0
    for function in functions:
        about = " ".join(
            [
                function["name"],
                str(function.get("description") or ""),
                " ".join((function.get("parameters") or {}).get("properties", {})),
            ]
        )
        score = len(asked & _words(about))
        if score > best_score:
            best, best_score = function, score
    return best


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    users = [m for m in messages if m.get("role") == "user"]
    return content_text(users[-1].get("content")) if users else ""


def steps_answered(messages: list[dict[str, Any]]) -> int:
    """How many steps of calls have been answered since the last user message."""
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    return sum(
        1 for m in messages[last_user + 1 :] if m.get("role") == "assistant" and m.get("tool_calls")
    )


def _scripted_step(
    script: tuple[tuple[tuple[str, str], ...], ...], messages: list[dict[str, Any]]
) -> list[PlannedCall] | None:
    """This step's scripted calls; [] once the script is done (then the answer is text)."""
    step = steps_answered(messages)
    if step >= len(script):
        return []
    return [PlannedCall(name, arguments) for name, arguments in script[step]]


def planned_calls(
    body: dict[str, Any],
    prompt: str,
    script: tuple[tuple[tuple[str, str], ...], ...] = (),
) -> list[PlannedCall]:
    """The calls this answer makes ([] for a text answer); 400 for a bad request.
    ``prompt`` is the last user message without its directives."""
    functions = _functions(body)
    choice = body.get("tool_choice")
    forced = _forced_name(choice)
    messages = body["messages"]
    if script:
        return _scripted_step(script, messages) or []
    if forced is not None:
        match = next((f for f in functions if f["name"] == forced), None)
        if match is None:
            raise BadRequest(f"tool_choice names '{forced}', which is not among the 'tools'")
        return [_call(match, prompt)]
    if not functions or choice == "none":
        return []
    if choice == "required":
        return [_call(_fitting(functions, prompt) or functions[0], prompt)]
    if messages[-1].get("role") != "user":
        return []
    fitting = _fitting(functions, prompt)
    return [_call(fitting, prompt)] if fitting is not None else []


def _call(function: dict[str, Any], prompt: str) -> PlannedCall:
    return PlannedCall(function["name"], tool_arguments(function.get("parameters"), prompt))


def arguments(function: dict[str, Any], prompt: str = "") -> str:
    """A call's ``arguments``: a JSON string valid against the function's parameters."""
    return tool_arguments(function.get("parameters"), prompt)


def _clip(text: str) -> str:
    if len(text) <= RESULT_CHARS:
        return text
    return text[:RESULT_CHARS] + f"… ({len(text) - RESULT_CHARS} more characters)"


def results_answer(messages: list[dict[str, Any]], prompt: str) -> str | None:
    """When the last messages are tool results: an answer that quotes each of them (what
    was called, with which arguments, what came back), so a test sees what arrived."""
    trailing: list[dict[str, Any]] = []
    for message in reversed(messages):
        if message.get("role") not in ("tool", "function"):
            break
        trailing.insert(0, message)
    if not trailing:
        return None
    calls: dict[str, dict[str, Any]] = {}
    for message in messages:
        for call in message.get("tool_calls") or []:
            if isinstance(call, dict) and isinstance(call.get("id"), str):
                calls[call["id"]] = call.get("function") or {}
    lines = [f"I used {len(trailing)} tool result{'s' if len(trailing) != 1 else ''}:", ""]
    for message in trailing:
        function = calls.get(str(message.get("tool_call_id")), {})
        name = function.get("name") or message.get("name") or "a tool"
        given = function.get("arguments")
        shown = f"`{name}({given})`" if given not in (None, "", "{}") else f"`{name}()`"
        result = content_text(message.get("content")) or json.dumps(message.get("content"))
        lines.append(f"- {shown} returned: {_clip(result)}")
    question = prompt.strip() or "your question"
    lines += ["", f"That is what I found for “{question}”, from the results above."]
    return "\n".join(lines)
