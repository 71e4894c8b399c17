"""The chat wire format without any I/O: request bodies, chunk decoding, results.

Shared by the sync and async clients so both read streams the same way, including
every variant AiMo and OpenAI-compatible servers are known to send.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from typing import Any

from aimo_magic.core.errors import AimoError, IncompleteStreamError, error_from_frame
from aimo_magic.core.types import ChatResult, Timings, ToolCall, Usage

Messages = Sequence[Mapping[str, Any]]

# (position of the call in the answer, its id, its name, a piece of its arguments) as
# the model writes them; names and ids come with the first piece of each call.
ToolCallListener = Callable[[int, "str | None", "str | None", str], None]
TOOL_CALL_LISTENER: ContextVar[ToolCallListener | None] = ContextVar(
    "aimo_tool_call_listener", default=None
)
"""Told of tool-call pieces as a stream carries them, in this context only: how the
tool loop shows arguments while they are written without a second stream API."""


def normalise_messages(messages: str | Messages) -> list[dict[str, Any]]:
    """A bare string is one user message, for quick use from plain Python."""
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    normalised = []
    for number, message in enumerate(messages, 1):
        try:  # a Mapping, or anything dict() reads as one (a pydantic message, say)
            if isinstance(message, (str, bytes)):
                raise TypeError("a string is not a message")
            normalised.append(dict(message))
        except (TypeError, ValueError):
            raise TypeError(
                f"messages must be a string or a list of messages, and message {number} is a "
                f"{type(message).__name__}: write each as {{'role': 'user', 'content': ...}} "
                "(a text and an image go in one message whose content is a list of parts: "
                "[{'type': 'text', 'text': ...}, aimo_magic.image(fig)])."
            ) from None
    return normalised


REPEAT_PARAM = "aimo_magic_repeat"
"""A parameter that is never sent: which repeat of an otherwise identical request this is
(an evaluation's ``repeats``). It is part of the answer's key in the cache and in answer
files, so that each repeat keeps, and replays, its own answer."""


def chat_body(
    messages: str | Messages,
    model: str,
    params: Mapping[str, Any],
    *,
    stream: bool,
    include_usage: bool = False,
) -> dict[str, Any]:
    """OpenAI's body: unknown parameters pass through untouched (``REPEAT_PARAM`` is
    never sent)."""
    body: dict[str, Any] = {"model": model, "messages": normalise_messages(messages)}
    body.update(params)
    body.pop(REPEAT_PARAM, None)
    tools = params.get("tools")
    if isinstance(tools, (list, tuple)) and any(not isinstance(t, Mapping) for t in tools):
        from aimo_magic.core.tools import tool_specs

        body["tools"] = tool_specs(tools)
    body["stream"] = stream
    if stream and include_usage and "stream_options" not in params:
        body["stream_options"] = {"include_usage": True}
    return body


def rejects_stream_options(error: AimoError) -> bool:
    """Some OpenAI-compatible servers refuse ``stream_options`` with a 400 or 422 naming it."""
    return error.status in (400, 422) and "stream_options" in error.detail


_NO_CHOICE: dict[str, Any] = {}
# raw_decode skips json.loads' argument checks and whitespace scans (the data is stripped);
# the caller checks that nothing trails the object.
_raw_decode = json.JSONDecoder().raw_decode


def _first_choice(chunk: Mapping[str, Any]) -> Mapping[str, Any]:
    choices = chunk.get("choices")
    if choices and type(choices) is list:
        first = choices[0]
        # json gives dicts; the isinstance check (slow for an ABC) is for other mappings.
        if type(first) is dict or isinstance(first, Mapping):
            return first
    return _NO_CHOICE


class ChunkAccumulator:
    """Feeds on SSE ``data`` payloads; collects text, finish reason, usage and model."""

    def __init__(self, api_key: str | None = None, server: str = "AiMo") -> None:
        self._api_key = api_key
        self._server = server
        self._parts: list[str] = []
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.model: str | None = None
        self.response_id: str | None = None
        self.done = False
        # position -> [id, name, argument pieces]
        self._calls: dict[int, list[Any]] = {}

    @property
    def text(self) -> str:
        return "".join(self._parts)

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        """The calls received so far, in the order the model wrote them."""
        return tuple(
            ToolCall(slot[0] or f"call_{index}", slot[1] or "", "".join(slot[2]))
            for index, slot in sorted(self._calls.items())
        )

    def _absorb_calls(self, calls: list[Any]) -> None:
        """OpenAI's ``tool_calls`` whole (a message) or in pieces (deltas keyed by index)."""
        listener = TOOL_CALL_LISTENER.get()
        for call in calls:
            if type(call) is not dict:
                continue
            call_id = call.get("id") if type(call.get("id")) is str else None
            index = call.get("index")
            if type(index) is not int:
                # No index: a call with a new id starts a call, anything else continues one.
                newest = max(self._calls, default=-1)
                starts = newest < 0 or (call_id is not None and call_id != self._calls[newest][0])
                index = newest + 1 if starts else newest
            slot = self._calls.setdefault(index, [None, None, []])
            if call_id and not slot[0]:
                slot[0] = call_id
            function = call.get("function")
            function = function if type(function) is dict else {}
            name = function.get("name")
            if type(name) is str and name and not slot[1]:
                slot[1] = name
            arguments = function.get("arguments")
            if arguments is not None and type(arguments) is not str:
                arguments = json.dumps(arguments, ensure_ascii=False)
            piece = arguments or ""
            if piece:
                slot[2].append(piece)
            if listener is not None:
                listener(index, slot[0], slot[1], piece)

    def feed(self, data: str) -> str:
        """Consume one event's data and return the text it adds ("" for none)."""
        data = data.strip()
        if not data:
            return ""
        if data == "[DONE]":
            self.done = True
            return ""
        try:
            chunk, end = _raw_decode(data)
        except ValueError:
            end = -1
        if end != len(data):
            raise IncompleteStreamError(
                "The stream carried a chunk that is not valid JSON", partial_text=self.text
            )
        if type(chunk) is not dict and not isinstance(chunk, Mapping):
            raise IncompleteStreamError(
                "The stream carried a chunk that is not a JSON object", partial_text=self.text
            )
        if chunk.get("error"):
            raise error_from_frame(chunk, api_key=self._api_key, server=self._server)
        return self._absorb(chunk)

    def _absorb(self, chunk: Mapping[str, Any]) -> str:
        # Runs once per token: plain lookups, and work only for keys that are present.
        model = chunk.get("model")
        if model and model != self.model and type(model) is str:
            self.model = model
        if self.response_id is None and type(chunk.get("id")) is str:
            self.response_id = chunk["id"]
        choice = _first_choice(chunk)
        usage = chunk.get("usage") or choice.get("usage")
        if usage:
            self.usage = Usage.from_dict(usage) or self.usage
        finish = chunk.get("finish_reason") or choice.get("finish_reason")
        if finish and type(finish) is str:
            self.finish_reason = finish
        delta = choice.get("delta") or choice.get("message")
        content = None
        if type(delta) is dict:
            content = delta.get("content")
            calls = delta.get("tool_calls")
            if calls and type(calls) is list:
                self._absorb_calls(calls)
        if content is None:
            content = choice.get("text")
        if content and type(content) is str:
            self._parts.append(content)
            return content
        return ""

    def result(
        self,
        requested_model: str,
        provider: str | None,
        timings: Timings,
        request_id: str | None,
        notes: tuple[str, ...] = (),
    ) -> ChatResult:
        return ChatResult(
            text=self.text,
            finish_reason=self.finish_reason,
            usage=self.usage,
            model=self.model or requested_model,
            provider=provider,
            timings=timings,
            request_id=request_id,
            notes=notes,
            tool_calls=self.tool_calls,
        )


def completion_result(
    payload: Any,
    requested_model: str,
    provider_lookup: Any,
    timings: Timings,
    request_id: str | None,
    api_key: str | None = None,
    server: str = "AiMo",
) -> ChatResult:
    """A non-streamed ``chat.completion`` body, read with the same tolerance as chunks."""
    if not isinstance(payload, Mapping):
        raise IncompleteStreamError("The server's answer was not a JSON object")
    if payload.get("error"):
        raise error_from_frame(payload, api_key=api_key, server=server)
    accumulator = ChunkAccumulator(api_key, server)
    accumulator._absorb(payload)
    model = accumulator.model or requested_model
    text = accumulator.text
    result = accumulator.result(requested_model, provider_lookup(model), timings, request_id)
    return ChatResult(
        text=text,
        finish_reason=result.finish_reason,
        usage=result.usage,
        model=model,
        provider=result.provider,
        timings=Timings(first_token=timings.total if text else None, total=timings.total),
        request_id=request_id,
        raw=dict(payload),
        tool_calls=result.tool_calls,
    )


def loads_or_text(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None
