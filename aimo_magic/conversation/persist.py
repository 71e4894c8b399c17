"""Conversations as JSON: checked fully on the way in, scrubbed of secrets on the way out.

Decoding builds every thread before handing any back, so a damaged file can be
rejected without having touched the caller's store.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aimo_magic.conversation.thread import Thread, ThreadNameError, Turn, validate_thread_name
from aimo_magic.core.secrets import KEY_MARKER, looks_like_key
from aimo_magic.core.types import Usage

FORMAT_NAME = "aimo-magic-conversations"
FORMAT_VERSION = 1

_DAMAGED = "the file is damaged or was not written by aimo-magic; restore it or save again"


class ConversationFileError(ValueError):
    """A conversation file that cannot be read, written or understood."""


class ConversationSecretError(ValueError):
    """Saving refused because a turn holds something that looks like an API key."""


def _looks_secret(value: object) -> bool:
    if isinstance(value, str):
        return looks_like_key(value)
    if isinstance(value, dict):
        return any(_looks_secret(k) or _looks_secret(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_looks_secret(v) for v in value)
    return False


def _turn_to_dict(turn: Turn, where: str) -> dict[str, Any]:
    if _looks_secret([turn.params, turn.model, turn.provider, turn.cell_id, list(turn.steps)]):
        raise ConversationSecretError(
            f"refusing to save: {where} holds text that looks like an AiMo key "
            f"({KEY_MARKER}...) in its settings; drop that turn or reset the thread, then save"
        )
    try:
        json.dumps(turn.params, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ConversationFileError(
            f"cannot save: {where} has settings JSON cannot hold ({exc}); "
            "use plain numbers, strings and lists"
        ) from None
    return {
        "user": turn.user,
        "assistant": turn.assistant,
        "model": turn.model,
        "provider": turn.provider,
        "cell_id": turn.cell_id,
        "params": turn.params,
        "usage": turn.usage.as_dict() if turn.usage is not None else None,
        "partial": turn.partial,
        "created": turn.created,
        **({"steps": list(turn.steps)} if turn.steps else {}),
    }


def threads_to_dict(threads: Iterable[Thread]) -> dict[str, Any]:
    """The saved form of ``threads``; raises ConversationSecretError rather than leak a key."""
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "threads": [
            {
                "name": thread.name,
                "system": thread.system,
                "turns": [
                    _turn_to_dict(turn, f"turn {i + 1} of thread {thread.name!r}")
                    for i, turn in enumerate(thread.turns)
                ],
            }
            for thread in threads
        ],
    }


class _Reader:
    """Pulls typed fields out of untrusted JSON, naming the exact place that is wrong."""

    def fail(self, where: str, problem: str) -> ConversationFileError:
        return ConversationFileError(f"{where} {problem}; {_DAMAGED}")

    def obj(self, value: object, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, "must be a JSON object")
        return value

    def items(self, value: object, where: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(where, "must be a JSON list")
        return value

    def text(self, data: dict[str, Any], key: str, where: str, *, optional: bool = False) -> Any:
        value = data.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, str):
            raise self.fail(f"{where}.{key}", "must be a string")
        return value

    def count(self, value: object, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(where, "must be a whole number, 0 or more")
        return value

    def usage(self, value: object, where: str) -> Usage | None:
        if value is None:
            return None
        data = self.obj(value, where)
        keys = ("prompt_tokens", "completion_tokens", "total_tokens")
        prompt, completion, total = (self.count(data.get(k), f"{where}.{k}") for k in keys)
        return Usage(prompt, completion, total)

    def turn(self, value: object, where: str) -> Turn:
        data = self.obj(value, where)
        created = data.get("created")
        if (
            isinstance(created, bool)
            or not isinstance(created, (int, float))
            or not math.isfinite(created)
        ):
            raise self.fail(f"{where}.created", "must be a time in seconds")
        partial = data.get("partial", False)
        if not isinstance(partial, bool):
            raise self.fail(f"{where}.partial", "must be true or false")
        try:
            return Turn(
                user=data.get("user"),  # type: ignore[arg-type]  # Turn checks it
                assistant=self.text(data, "assistant", where),
                model=self.text(data, "model", where),
                cell_id=self.text(data, "cell_id", where, optional=True),
                provider=self.text(data, "provider", where, optional=True),
                params=self.obj(data.get("params", {}), f"{where}.params"),
                usage=self.usage(data.get("usage"), f"{where}.usage"),
                partial=partial,
                created=float(created),
                steps=tuple(self.items(data.get("steps", []), f"{where}.steps")),
            )
        except ConversationFileError:
            raise
        except ValueError as exc:
            raise self.fail(where, f"is not a valid turn ({exc})") from None

    def thread(self, value: object, where: str) -> Thread:
        data = self.obj(value, where)
        try:
            name = validate_thread_name(data.get("name"))
        except ThreadNameError as exc:
            raise self.fail(f"{where}.name", f"is not usable ({exc})") from None
        system = self.text(data, "system", where, optional=True)
        turns = [
            self.turn(item, f"{where}.turns[{i}]")
            for i, item in enumerate(self.items(data.get("turns"), f"{where}.turns"))
        ]
        return Thread(name=name, system=system, turns=turns)


def threads_from_dict(data: object) -> list[Thread]:
    """Every thread in a saved form, or ConversationFileError naming the first fault."""
    reader = _Reader()
    top = reader.obj(data, "the top level")
    if top.get("format") != FORMAT_NAME:
        raise ConversationFileError(
            f'not an aimo-magic conversation file (no "format": "{FORMAT_NAME}"); '
            "pick a file written by saving a conversation"
        )
    version = top.get("version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        newer = isinstance(version, int) and not isinstance(version, bool) and version > 0
        advice = "upgrade aimo-magic to load it" if newer else _DAMAGED
        raise ConversationFileError(
            f"conversation format version {version!r} is not supported "
            f"(this aimo-magic reads version {FORMAT_VERSION}); {advice}"
        )
    threads = [
        reader.thread(item, f"threads[{i}]")
        for i, item in enumerate(reader.items(top.get("threads"), "threads"))
    ]
    seen: set[str] = set()
    for i, thread in enumerate(threads):
        if thread.name in seen:
            raise reader.fail(f"threads[{i}].name", f"repeats the thread name {thread.name!r}")
        seen.add(thread.name)
    return threads


def write_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` so the file is either the old one or the new one, never half."""
    target = Path(path).expanduser()
    fd = -1
    temp = ""
    try:
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            fd = -1  # the file object owns it now
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
        temp = ""
    except OSError as exc:
        raise ConversationFileError(
            f"cannot write {target}: {exc.strerror or exc}; check the folder exists and is writable"
        ) from None
    finally:
        if fd != -1:
            os.close(fd)
        if temp:
            Path(temp).unlink(missing_ok=True)
    return target


def save_threads(path: str | os.PathLike[str], threads: Iterable[Thread]) -> Path:
    """Save ``threads`` to ``path`` as JSON; checks for secrets before touching the disk."""
    data = threads_to_dict(threads)
    try:
        text = json.dumps(data, ensure_ascii=False, indent=1, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ConversationFileError(
            f"cannot save: a turn holds content JSON cannot hold ({exc}); "
            "keep prompts to text and image_url parts"
        ) from None
    return write_atomic(path, text + "\n")


def read_threads(path: str | os.PathLike[str]) -> list[Thread]:
    """Load and fully check every thread in ``path``; ConversationFileError if anything is off."""
    source = Path(path).expanduser()
    try:
        raw = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConversationFileError(
            f"cannot read {source}: {exc.strerror or exc}; check the path"
        ) from None
    except UnicodeDecodeError:
        raise ConversationFileError(
            f"{source} is not UTF-8 text; pick a file written by saving a conversation"
        ) from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConversationFileError(
            f"{source} is not valid JSON (line {exc.lineno}, column {exc.colno}); "
            "pick a file written by saving a conversation"
        ) from None
    except RecursionError:
        raise ConversationFileError(f"{source}: nested too deeply; {_DAMAGED}") from None
    try:
        return threads_from_dict(data)
    except ConversationFileError as exc:
        raise ConversationFileError(f"{source}: {exc}") from None
