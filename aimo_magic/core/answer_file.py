"""The answer file: a notebook's answers as JSON lines, meant to be committed beside it.

The first line says what the file is and its format version; then, one per line, the
model list the notebook saw (if it listed one) and every answer it used, in the order
first used. An answer's line holds what the request asked (model, parameters,
messages) and what came back (text, tool calls, finish reason, the model and provider
that served it, usage, cost, when, and the seconds it took: ``timings``, to the first
token and in all, as measured when it was first answered). Images in messages are kept
as their SHA-256 and size, never their bytes; an API key is never written (every known
key is masked).

A request is found in the file by :func:`request_key`: a hash of the model as
requested, its messages with each image replaced by its hash, and every parameter that
decides the answer. The base URL is not in it, so answers recorded from the emulator
answer the same requests sent to AiMo, and the key can be recomputed from the line
itself (a line edited by hand is found by what it now says).

``timings`` came after format version 1 was first written, as an optional field: a line
without it still reads (its answer's timings are unknown, never 0), and older readers
ignore it, so the version is unchanged.

Reading never fails as a whole: a file from a newer version, a damaged line or a
missing file each become one line in ``problems``, and what could be read is kept.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from aimo_magic.core.secrets import redact
from aimo_magic.core.types import UNKNOWN_TIMINGS, ChatResult, Timings, ToolCall, Usage

FORMAT = "aimo-magic answers"
FORMAT_VERSION = 1
SUFFIX = ".answers.jsonl"
# Parameters that change how an answer travels, not what it says (as for the cache).
NOT_IN_KEY = frozenset({"stream", "stream_options"})


# Requests ----------------------------------------------------------------------------
def image_stand_in(url: str) -> dict[str, Any] | None:
    """What a ``data:`` image URL is kept as: its hash, size and type (None for a URL
    that is not inline bytes: that is kept as it is)."""
    from aimo_magic.core.image_parts import decode_data_url

    decoded = decode_data_url(url)
    if decoded is None:
        return None
    media_type, data = decoded
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "type": media_type}


def without_image_bytes(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The messages with each inline image replaced by its stand-in (a copy)."""
    from aimo_magic.core.image_parts import is_image_part, part_url

    kept: list[dict[str, Any]] = []
    for message in messages:
        content = message.get("content")
        if not isinstance(content, list):
            kept.append(dict(message))
            continue
        parts: list[Any] = []
        for part in content:
            url = part_url(part) if is_image_part(part) else None
            stand_in = image_stand_in(url) if url is not None else None
            if stand_in is None:
                parts.append(part)
                continue
            inner = part.get("image_url")
            extra = (
                {k: v for k, v in inner.items() if k != "url"} if isinstance(inner, Mapping) else {}
            )
            parts.append({**part, "image_url": {**extra, **stand_in}})
        kept.append({**message, "content": parts})
    return kept


def request_params(body: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters of a chat body that decide its answer."""
    return {k: v for k, v in body.items() if k not in ("model", "messages") and k not in NOT_IN_KEY}


def request_key(
    model: str, messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any]
) -> str:
    """The hex SHA-256 of one request as the file keeps it (``messages`` already without
    image bytes): the model as requested, the messages, the parameters."""
    material = {"v": FORMAT_VERSION, "model": model, "messages": messages, "params": params}
    canonical = json.dumps(
        material, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# Answers -----------------------------------------------------------------------------
@dataclass(frozen=True)
class RecordedAnswer:
    """One request and the answer it got, as the file holds it.

    ``messages`` are without image bytes; ``result`` is the answer as first received,
    with the timings measured then (``UNKNOWN_TIMINGS`` for a line without them);
    ``answered_at`` is when it was first received (seconds since the epoch); ``cost``
    the listed prices times its tokens, when known.
    """

    model: str
    messages: list[dict[str, Any]]
    params: dict[str, Any]
    result: ChatResult
    answered_at: float
    cost: float | None = None
    key: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", request_key(self.model, self.messages, self.params))

    def replayed(self, source: str) -> ChatResult:
        """The answer as a replay returns it: free (``cached_at``), and from ``source``,
        with the timings measured when it was recorded (what an evaluation shows; the
        cell footers and the provider measurements leave a stored answer's out)."""
        return replace(self.result, cached_at=self.answered_at, recorded_in=source, request_id=None)


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds")


def _seconds(text: Any) -> float:
    if not isinstance(text, str):
        raise ValueError("'answered_at' is not a date")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def answer_line(answer: RecordedAnswer) -> dict[str, Any]:
    result = answer.result
    came_back: dict[str, Any] = {"text": result.text}
    if result.tool_calls:
        came_back["tool_calls"] = [call.as_dict() for call in result.tool_calls]
    came_back.update(
        finish_reason=result.finish_reason,
        model=result.model,
        provider=result.provider,
        usage=result.usage.as_dict() if result.usage is not None else None,
        cost=answer.cost,
        answered_at=_when(answer.answered_at),
    )
    if result.timings.known:
        came_back["timings"] = _timings_line(result.timings)
    return {
        "model": answer.model,
        "params": answer.params,
        "messages": answer.messages,
        "answer": came_back,
    }


def _timings_line(timings: Timings) -> dict[str, float | None]:
    """Seconds to the millisecond: finer is noise, and the file stays easy to read."""
    first = timings.first_token
    return {
        "first_token": round(first, 3) if first is not None else None,
        "total": round(timings.total, 3),
    }


def _seconds_or_none(raw: Any) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
        return None
    return float(raw) if raw >= 0 else None


def _timings(raw: Any) -> Timings:
    """The timings a line recorded; unknown for a line without them (an older file) or
    with ones that are not seconds: they describe the answer, so they never make it
    unreadable."""
    total = _seconds_or_none(raw.get("total")) if isinstance(raw, dict) else None
    if total is None:
        return UNKNOWN_TIMINGS
    return Timings(first_token=_seconds_or_none(raw.get("first_token")), total=total)


def _calls(raw: Any) -> tuple[ToolCall, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ValueError("'tool_calls' is not a list")
    return tuple(
        ToolCall(str(c["id"]), str(c["function"]["name"]), str(c["function"]["arguments"]))
        for c in raw
    )


def answer_from(line: Mapping[str, Any]) -> RecordedAnswer:
    """The answer a line holds; ValueError (or KeyError/TypeError) when it is not one."""
    came_back = line["answer"]
    model, messages, params = line["model"], line["messages"], line.get("params") or {}
    if not isinstance(model, str) or not isinstance(messages, list):
        raise ValueError("'model' or 'messages' is missing")
    if not isinstance(params, dict) or not isinstance(came_back, dict):
        raise ValueError("'params' or 'answer' is not an object")
    text = came_back.get("text")
    if not isinstance(text, str):
        raise ValueError("the answer has no text")
    cost = came_back.get("cost")
    result = ChatResult(
        text=text,
        finish_reason=came_back.get("finish_reason"),
        usage=Usage.from_dict(came_back.get("usage")),
        model=str(came_back.get("model") or model),
        provider=came_back.get("provider"),
        timings=_timings(came_back.get("timings")),
        tool_calls=_calls(came_back.get("tool_calls")),
    )
    return RecordedAnswer(
        model=model,
        messages=messages,
        params=params,
        result=result,
        answered_at=_seconds(came_back.get("answered_at")),
        cost=float(cost) if isinstance(cost, (int, float)) else None,
    )


# The file ----------------------------------------------------------------------------
@dataclass
class AnswerFile:
    """What a file held: its answers by request key, its model list (the entries of
    ``/v1/models``, or None) and one line for each thing that could not be read."""

    path: Path
    answers: dict[str, RecordedAnswer] = field(default_factory=dict)
    models: list[dict[str, Any]] | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name


def read_answer_file(path: str | os.PathLike[str]) -> AnswerFile:
    """The answers in ``path``; never raises for a missing, newer or damaged file."""
    where = Path(path).expanduser()
    found = AnswerFile(where)
    try:
        text = where.read_text(encoding="utf-8")
    except FileNotFoundError:
        found.problems.append(f"There is no answer file at {where}; nothing is replayed from it.")
        return found
    except (OSError, UnicodeDecodeError) as exc:
        found.problems.append(
            f"The answer file {where} cannot be read ({exc}); nothing is replayed."
        )
        return found
    lines = text.splitlines()
    header = _header(lines[0] if lines else "")
    if isinstance(header, str):
        found.problems.append(f"{where} {header}; nothing is replayed from it.")
        return found
    damaged: list[int] = []
    for number, raw in enumerate(lines[1:], start=2):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
            if isinstance(line, dict) and "listed" in line:
                found.models = [*(found.models or []), dict(line["listed"])]
                continue
            answer = answer_from(line)
        except (ValueError, KeyError, TypeError, AttributeError):
            damaged.append(number)
            continue
        found.answers.setdefault(answer.key, answer)
    if damaged:
        which = ", ".join(map(str, damaged[:5])) + (", …" if len(damaged) > 5 else "")
        plural = "s" if len(damaged) > 1 else ""
        found.problems.append(
            f"{where}: line{plural} {which} could not be read and {'are' if plural else 'is'} "
            f"skipped; the other {len(found.answers)} answers are used."
        )
    return found


def _header(line: str) -> dict[str, Any] | str:
    """The first line, or the words saying why the file cannot be used."""
    try:
        header = json.loads(line)
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        return "is not an aimo-magic answer file (its first line does not say so)"
    version = header.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        return (
            f"was written by a newer aimo-magic (answer format {version}; this one reads "
            f"{FORMAT_VERSION}): upgrade aimo-magic to replay it"
        )
    return header


def answer_file_text(
    answers: Iterable[RecordedAnswer], models: Sequence[Mapping[str, Any]] | None
) -> str:
    """The file's text: the header, the model list, then one line per answer.

    Readable and diffable: one object per line, keys in a fixed order, text as it is
    (no ASCII escapes), every known API key masked.
    """
    lines = [{"format": FORMAT, "version": FORMAT_VERSION}]
    lines.extend({"listed": dict(entry)} for entry in models or ())
    lines.extend(answer_line(answer) for answer in answers)
    text = "".join(json.dumps(line, ensure_ascii=False, default=repr) + "\n" for line in lines)
    return redact(text)


def write_answer_file(path: str | os.PathLike[str], text: str) -> Path:
    """Write the whole file at once (a temporary file renamed over it), so a failure
    never leaves half a file where the old one was."""
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", text=True)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        os.chmod(temporary, 0o666 & ~_umask())  # as an ordinary new file, not mkstemp's 0600
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
