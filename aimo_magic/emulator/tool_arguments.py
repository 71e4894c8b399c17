"""A tool call's arguments, taken from the prompt where it says them, valid against the
tool's JSON schema in any case.

A model asked "What's the weather in Paris?" with a ``get_weather(city)`` tool calls it
with ``city="Paris"``, not a placeholder; asked to "use column_stats on the orders column"
it passes ``column="orders"``. Each string argument is looked for, in order: written as
``name=value`` or ``name: value``; the word before or after the parameter's name (``the
orders column``); for a path, a file name (``spread.png``); a quoted or backticked value;
a proper noun; and last, the prompt's telling word. Numbers come from ``name=N`` or the
prompt's numbers in order, within the schema's bounds. Enums take the value the prompt
points to. What the prompt does not say, the schema's own example fills (``schema``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from aimo_magic.emulator.questions import STOPWORDS, expected_option, key_word
from aimo_magic.emulator.schema import schema_instance

_QUOTED = re.compile(r"`([^`\n]{1,80})`|\"([^\"\n]{1,80})\"|'([^'\n]{1,80})'")
_FILE = re.compile(r"(?<![\w/.-])([\w-]+(?:/[\w-]+)*\.[A-Za-z0-9]{1,5})(?![\w])")
_PROPER = re.compile(r"(?<=[a-z,;:] )([A-Z][a-zA-Z-]+(?: [A-Z][a-zA-Z-]+)?)")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")
_PATH_NAMES = re.compile(r"path|file|filename", re.I)


class _PromptReader:
    """Reads argument values out of one prompt, each value used once."""

    def __init__(self, prompt: str) -> None:
        self.prompt = prompt
        self.used: set[str] = set()

    def _take(self, value: str | None) -> str | None:
        if value is None or not value.strip() or value in self.used:
            return None
        self.used.add(value)
        return value

    def _named(self, name: str) -> str | None:
        spaced = re.escape(name).replace("_", "[_ ]")
        written = re.search(
            rf"\b{spaced}\s*(?:=|:)\s*(?:`([^`]+)`|\"([^\"]+)\"|'([^']+)'|([\w.@/-]+))",
            self.prompt,
            re.I,
        )
        if written:
            return self._take(next(g for g in written.groups() if g))
        for pattern in (rf"\b([\w.-]+)\s+{spaced}\b", rf"\b{spaced}\s+([\w.-]+)"):
            for match in re.finditer(pattern, self.prompt, re.I):
                word = match.group(1)
                if word.lower() not in STOPWORDS and len(word) > 1:
                    taken = self._take(word)
                    if taken:
                        return taken
        return None

    def text(self, name: str, schema: dict[str, Any]) -> str | None:
        """The prompt's value for string parameter ``name``: what the prompt says for it,
        else the parameter's default, else a guess from the prompt."""
        found = self._named(name)
        if found:
            return found
        if _PATH_NAMES.search(name):
            for match in _FILE.finditer(self.prompt):
                taken = self._take(match.group(1))
                if taken:
                    return taken
        for match in _QUOTED.finditer(self.prompt):
            taken = self._take(next(g for g in match.groups() if g))
            if taken:
                return taken
        if isinstance(schema.get("default"), str):
            return str(schema["default"])
        for match in _PROPER.finditer(self.prompt):
            taken = self._take(match.group(1))
            if taken:
                return taken
        plain = " ".join(w for w in self.prompt.split() if "_" not in w)  # not tool names
        return self._take(key_word(plain, self.prompt).lower())

    def number(self, name: str) -> float | None:
        """The prompt's value for numeric parameter ``name``: written as ``name=N``, else
        the first number not used yet."""
        spaced = re.escape(name).replace("_", "[_ ]")
        written = re.search(rf"\b{spaced}\s*(?:=|:|of)\s*(-?\d+(?:\.\d+)?)", self.prompt, re.I)
        candidates = [written.group(1)] if written else []
        candidates += [m.group() for m in _NUMBER.finditer(self.prompt)]
        for raw in candidates:
            if raw not in self.used:
                self.used.add(raw)
                return float(raw)
        return None

    def choose(self, values: Sequence[Any]) -> Any:
        if all(isinstance(v, str) for v in values):
            return expected_option(tuple(values), self.prompt, None)
        return values[0]


def tool_arguments(parameters: dict[str, Any] | None, prompt: str) -> str:
    """The arguments, as the JSON string a tool call carries."""
    schema = parameters or {"type": "object", "properties": {}}
    reader = _PromptReader(prompt)
    value = schema_instance(schema, reader.choose, reader.text, reader.number)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
