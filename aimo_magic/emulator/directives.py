"""Directives: ``::name args`` in the last user message choose what the emulator answers.

Notebook tests cannot set headers, so everything a test needs (answer kind, pace,
faults) can be asked for in the prompt itself. A directive starts at the beginning of the
message or after whitespace and runs to the end of its line or to the next directive;
unknown ``::names`` are left alone as ordinary text. When several content directives are
given, the first in ``DIRECTIVES`` order wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DIRECTIVES: dict[str, str] = {
    "::echo": "answer with a JSON object describing the request (messages, parameters, "
    "model asked and served, selected headers; never the key)",
    "::hostile": "markdown full of hostile HTML (script, event handlers, javascript: and "
    "data: URLs, iframe, svg, style)",
    "::code LANG": "one explanatory sentence and one fenced code block in LANG",
    "::long N": "a long markdown answer of about N kilobytes",
    "::words N": "exactly N words of plain text",
    "::pace R": "stream this answer at R tokens per second (0 = as fast as possible)",
    "::latency MS": "wait MS milliseconds before the first token",
    "::fault SPEC": "apply a fault spec (see aimo_magic.emulator.faults) to this request",
    "::provider NAME SPEC": "when provider NAME (* for any) serves this request, it behaves "
    "as SPEC says, e.g. 'fault=status=503' (see aimo_magic.emulator.providers); repeatable",
    "::tool NAME {json}": "call function NAME with these exact arguments (offered or not); "
    "several make several calls in one step",
    "::then": "between ::tool directives: the calls after it are the next step's, made once "
    "the results of the step before have come back",
}
"""Every directive with a one-line description; without one, the answer fits the question."""

CONTENT_KINDS = ("echo", "hostile", "code", "long", "words")
_ALL_KINDS = (*CONTENT_KINDS, "pace", "latency", "fault", "provider", "tool", "then")
REPEATABLE = ("provider",)
SCRIPT = ("tool", "then")
_DIRECTIVE = re.compile(r"(?<!\S)::([a-z]+)\b[ \t]*([^\n]*?)(?=[ \t]*(?<!\S)::[a-z]|\n|$)")
MAX_LONG_KB = 10_000
MAX_WORDS = 1_000_000


class DirectiveError(ValueError):
    """A directive with a bad argument; the message shows the right form."""


@dataclass(frozen=True)
class Directives:
    kind: str | None = None
    language: str = "python"
    size: int = 0
    pace: float | None = None
    latency_ms: float | None = None
    fault: str = ""
    prompt: str = ""
    """The message text with the directives taken out."""
    providers: tuple[tuple[str, str], ...] = ()
    """``::provider NAME SPEC`` directives, as (NAME, SPEC), in order."""
    tool_script: tuple[tuple[tuple[str, str], ...], ...] = ()
    """``::tool`` calls as steps (split at ``::then``), each call (NAME, ARGUMENTS)."""


def _number(name: str, arg: str, limit: float, example: str) -> float:
    word = arg.split()[0] if arg.split() else ""
    try:
        value = float(word)
    except ValueError:
        raise DirectiveError(f"::{name} needs a number, e.g. '{example}' (got {arg!r})") from None
    if not 0 <= value <= limit:
        raise DirectiveError(f"::{name} takes a number from 0 to {limit:g}, got {word}")
    return value


def parse_directives(text: str) -> Directives:
    found: dict[str, str] = {}
    repeated: dict[str, list[str]] = {name: [] for name in REPEATABLE}
    script: list[tuple[str, str]] = []
    for match in _DIRECTIVE.finditer(text):
        name = match.group(1)
        if name in SCRIPT:
            script.append((name, match.group(2).strip()))
        elif name in REPEATABLE:
            repeated[name].append(match.group(2).strip())
        elif name in _ALL_KINDS and name not in found:
            found[name] = match.group(2).strip()
    prompt = _DIRECTIVE.sub(lambda m: "" if m.group(1) in _ALL_KINDS else m.group(0), text).strip()
    kind = next((k for k in CONTENT_KINDS if k in found), None)
    language, size = "python", 0
    if kind == "code":
        language = (found["code"].split() or ["python"])[0].lower()
    elif kind == "long":
        size = int(_number("long", found["long"], MAX_LONG_KB, "::long 20"))
    elif kind == "words":
        size = int(_number("words", found["words"], MAX_WORDS, "::words 50"))
    pace = _number("pace", found["pace"], 1e6, "::pace 20") if "pace" in found else None
    latency = (
        _number("latency", found["latency"], 600_000, "::latency 500")
        if "latency" in found
        else None
    )
    if "fault" in found and not found["fault"]:
        raise DirectiveError("::fault needs a spec, e.g. '::fault status=429;retry_after=1'")
    providers = tuple(_provider(arg) for arg in repeated["provider"])
    return Directives(
        kind,
        language,
        size,
        pace,
        latency,
        found.get("fault", ""),
        prompt,
        providers,
        _tool_script(script),
    )


def _tool_script(items: list[tuple[str, str]]) -> tuple[tuple[tuple[str, str], ...], ...]:
    """``::tool``/``::then`` in order as steps of (NAME, ARGUMENTS) calls."""
    steps: list[list[tuple[str, str]]] = [[]]
    for kind, arg in items:
        if kind == "then":
            steps.append([])
            continue
        name, _, arguments = arg.partition(" ")
        if not re.fullmatch(r"[\w.-]+", name):
            raise DirectiveError(
                "::tool needs a function name, then its arguments as JSON, e.g. "
                '::tool get_weather {"city": "Paris"}'
            )
        steps[-1].append((name, arguments.strip() or "{}"))
    return tuple(tuple(step) for step in steps if step)


def _provider(arg: str) -> tuple[str, str]:
    name, _, spec = arg.partition(" ")
    if not name or not spec.strip():
        raise DirectiveError(
            "::provider needs a provider and what it does, e.g. "
            "'::provider nebula-gpu fault=status=503' or '::provider * latency_ms=2000'"
        )
    return name, spec.strip()
