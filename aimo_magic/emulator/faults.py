"""Fault specs: the misbehaviours the emulator can put on one chat request.

A spec is a ``;``-separated list of ``key=value`` items and bare flags, for example
``status=429;retry_after=2`` or ``disconnect_after=5`` or ``crlf;nospace;keepalive``.
Specs from several sources (the queue, the ``X-Emulator-Fault`` header, a ``::fault``
directive) are joined in that order; a later value for the same key wins.

========================  ===============================================================
``status=CODE``           answer with HTTP CODE and an error body instead of an answer
``retry_after=S``         with ``status``: ``Retry-After: S`` (seconds)
``retry_after_ms=MS``     with ``status``: ``retry-after-ms: MS`` (OpenAI's header)
``retry_after_date[=S]``  with ``status``: ``Retry-After`` as an HTTP-date S seconds ahead
``body=FORM``             error body form: ``aimo`` (default), ``x402``, ``text``,
                          ``aimo-string`` (``{"error": "message"}``)
``message=TEXT``          the error's message (the whole text for ``body=text``)
``type=TEXT``             the error's ``type`` in the ``aimo`` form
``disconnect_after=N``    drop the connection after N chunks (no ``[DONE]``); not streamed:
                          send the headers and half of the body, then drop
``no_finish``             end with ``[DONE]`` but never send a ``finish_reason``
``eof_no_done``           send ``finish_reason`` but close without ``[DONE]``
``bad_json_after=N``      after N chunks, one ``data:`` frame that is not valid JSON
``stall_after=N``         after N chunks go silent for ``stall_s`` seconds (default 5)
``hold_after=N``          when a test has closed the gate (``handle.hold()``), wait after N
                          chunks until it opens, instead of before the answer starts
``keepalive``             ``: keep-alive`` comment lines between chunks
``slow_first_token=S``    wait S seconds before the first chunk (or the whole answer)
``error_frame_after=N``   after N chunks, a ``data: {"error": {...}}`` frame, then
                          ``[DONE]`` (the status stays 200)
``reject_stream_options`` 400 (or ``=422``) naming ``stream_options`` if the request has it
``crlf``                  CRLF line ends
``nospace``               ``data:{...}`` without the space
``empty_data``            empty ``data:`` lines between chunks
``usage_in_choices``      ``finish_reason`` and ``usage`` inside ``choices[0]``
``no_ids``                chunks without ``id`` and ``object``
``unicode``               answer text with U+2028, U+2029 and emoji (raw, not escaped)
``split``                 write each event in several small pieces
========================  ===============================================================

The first chunk (the assistant ``role`` delta) counts as chunk 1 for the ``..._after=N``
keys; ``N=0`` applies the fault before any chunk. A whole (not streamed) answer only
heeds ``status`` and its companions, ``reject_stream_options``, ``slow_first_token``,
``disconnect_after`` and ``unicode``; so does ``GET /v1/models`` (header only, except
``reject_stream_options`` and ``unicode``). A closed gate holds a whole answer before it
starts, whatever ``hold_after`` says; the models list is never held.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from aimo_magic.emulator.errors import BODY_FORMS, BodyForm


class FaultSpecError(ValueError):
    """A fault spec that cannot be understood; the message says which part and why."""


_FLAGS = (
    "no_finish",
    "eof_no_done",
    "keepalive",
    "crlf",
    "nospace",
    "empty_data",
    "usage_in_choices",
    "no_ids",
    "unicode",
    "split",
)
_COUNTS = (
    "disconnect_after",
    "bad_json_after",
    "stall_after",
    "error_frame_after",
    "hold_after",
)
_SECONDS = ("retry_after", "stall_s", "slow_first_token")


@dataclass(frozen=True)
class FaultSpec:
    status: int | None = None
    retry_after: float | None = None
    retry_after_ms: int | None = None
    retry_after_date: float | None = None
    body: BodyForm = "aimo"
    message: str | None = None
    type: str | None = None
    disconnect_after: int | None = None
    no_finish: bool = False
    eof_no_done: bool = False
    bad_json_after: int | None = None
    stall_after: int | None = None
    stall_s: float = 5.0
    hold_after: int | None = None
    keepalive: bool = False
    slow_first_token: float | None = None
    error_frame_after: int | None = None
    reject_stream_options: int | None = None
    crlf: bool = False
    nospace: bool = False
    empty_data: bool = False
    usage_in_choices: bool = False
    no_ids: bool = False
    unicode: bool = False
    split: bool = False

    @classmethod
    def parse(cls, spec: str) -> FaultSpec:
        return parse_fault_spec(spec)


KNOWN_KEYS: tuple[str, ...] = tuple(f.name for f in fields(FaultSpec))


def _number(key: str, value: str | None, kind: type[int] | type[float]) -> Any:
    if value is None or value == "":
        raise FaultSpecError(f"fault '{key}' needs a value, e.g. {key}=2")
    try:
        number = kind(value)
    except ValueError:
        raise FaultSpecError(f"fault '{key}={value}': {value!r} is not a number") from None
    if number < 0:
        raise FaultSpecError(f"fault '{key}={value}' must not be negative")
    return number


def _item(key: str, value: str | None) -> dict[str, Any]:
    if key in _FLAGS:
        if value not in (None, "", "1", "true", "yes"):
            raise FaultSpecError(f"fault '{key}' is a flag and takes no value")
        return {key: True}
    if key in _COUNTS or key == "retry_after_ms":
        return {key: _number(key, value, int)}
    if key in _SECONDS:
        return {key: _number(key, value, float)}
    if key == "status":
        status = _number(key, value, int)
        if not 200 <= status <= 599:
            raise FaultSpecError(f"fault 'status={value}' must be an HTTP status 200-599")
        return {key: status}
    if key == "retry_after_date":
        return {key: 1.0 if value in (None, "") else _number(key, value, float)}
    if key == "reject_stream_options":
        status = 400 if value in (None, "") else _number(key, value, int)
        if status not in (400, 422):
            raise FaultSpecError("fault 'reject_stream_options' takes 400 or 422")
        return {key: status}
    if key == "body":
        if value not in BODY_FORMS:
            raise FaultSpecError(f"fault 'body={value}': choose one of {', '.join(BODY_FORMS)}")
        return {key: value}
    if key in ("message", "type"):
        if not value:
            raise FaultSpecError(f"fault '{key}' needs a value, e.g. {key}=Try later")
        return {key: value}
    raise FaultSpecError(f"unknown fault '{key}'; known faults: {', '.join(KNOWN_KEYS)}")


def parse_fault_spec(spec: str) -> FaultSpec:
    """Parse ``key=value;flag;...`` into a FaultSpec (an empty spec is no fault)."""
    values: dict[str, Any] = {}
    for raw in spec.split(";"):
        item = raw.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        values.update(_item(key.strip().lower(), value.strip() if sep else None))
    return replace(FaultSpec(), **values)
