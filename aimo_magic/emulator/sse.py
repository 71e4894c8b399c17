"""Completion objects and their server-sent-event wire form, in each known layout."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any, Literal

from aimo_magic.emulator.faults import FaultSpec

UsageLayout = Literal["aimo", "openai", "in_choices"]


def dumps(data: Any) -> str:
    # Raw UTF-8 on purpose: U+2028/U+2029 and emoji must reach clients unescaped.
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class ToolCall:
    """The head of a tool call; its ``arguments`` are the completion's tokens marked with
    its index in ``Completion.call_of``."""

    id: str
    name: str


@dataclass(frozen=True)
class Completion:
    """One answer, ready to be sent whole or as chunks: text, or tool calls whose arguments
    stream as the tokens do (each token belongs to the call ``call_of`` names)."""

    id: str
    created: int
    model: str
    tokens: list[str]
    finish_reason: str
    usage: dict[str, int]
    tool_calls: tuple[ToolCall, ...] = ()
    call_of: tuple[int, ...] = ()
    """For each token of a tool-call answer, the index of the call whose arguments it is."""

    @property
    def text(self) -> str:
        return "".join(self.tokens)

    def arguments(self, index: int) -> str:
        return "".join(t for t, c in zip(self.tokens, self.call_of, strict=True) if c == index)

    def _assistant(self) -> dict[str, Any]:
        if not self.tool_calls:
            return {"role": "assistant", "content": self.text}
        calls = []
        for index in range(len(self.tool_calls)):
            call = self._call_head(index)
            call["function"]["arguments"] = self.arguments(index)
            calls.append(call)
        return {"role": "assistant", "content": None, "tool_calls": calls}

    def _call_head(self, index: int) -> dict[str, Any]:
        tool_call = self.tool_calls[index]
        return {
            "id": tool_call.id,
            "type": "function",
            "function": {"name": tool_call.name, "arguments": ""},
        }

    def _deltas(self) -> list[dict[str, Any]]:
        """The role delta, then one delta per token: content, or for each call a delta
        naming it followed by its arguments in pieces (OpenAI's form)."""
        if not self.tool_calls:
            return [{"role": "assistant", "content": ""}] + [
                {"content": token} for token in self.tokens
            ]
        deltas: list[dict[str, Any]] = []
        for index in range(len(self.tool_calls)):
            head: dict[str, Any] = {"tool_calls": [{"index": index, **self._call_head(index)}]}
            if index == 0:
                head = {"role": "assistant", "content": None, **head}
            deltas.append(head)
            deltas += [
                {"tool_calls": [{"index": index, "function": {"arguments": token}}]}
                for token, call in zip(self.tokens, self.call_of, strict=True)
                if call == index
            ]
        return deltas

    def message(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": self._assistant(),
                    "finish_reason": self.finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": self.usage,
        }

    def chunks(self, layout: UsageLayout, fault: FaultSpec) -> list[dict[str, Any]]:
        """Role chunk, one chunk per token, then the closing chunk(s) of the layout."""
        base: dict[str, Any] = {"created": self.created, "model": self.model}
        if not fault.no_ids:
            base = {"id": self.id, "object": "chat.completion.chunk", **base}
        if layout == "openai":
            base["usage"] = None

        def chunk(delta: dict[str, Any], **extra: Any) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "finish_reason": None}
            return {**base, "choices": [choice], **extra}

        finish = None if fault.no_finish else self.finish_reason
        chunks = [chunk(delta) for delta in self._deltas()]
        if layout == "openai":
            last = chunk({})
            last["choices"][0]["finish_reason"] = finish
            chunks += [last, {**base, "choices": [], "usage": self.usage}]
        elif layout == "in_choices":
            last = chunk({})
            last["choices"][0].update(finish_reason=finish, usage=self.usage)
            chunks.append(last)
        else:
            closing: dict[str, Any] = {"usage": self.usage}
            if finish is not None:
                closing = {"finish_reason": finish, **closing}
            chunks.append(chunk({}, **closing))
        return chunks


def frame(payload: str, fault: FaultSpec) -> bytes:
    """One SSE event carrying ``payload`` as its data, in the fault's line style."""
    prefix = "data:" if fault.nospace else "data: "
    end = "\r\n" if fault.crlf else "\n"
    return f"{prefix}{payload}{end}{end}".encode()


def filler(fault: FaultSpec) -> bytes:
    """What goes between events (and before the first): keep-alive comments and/or empty
    data lines."""
    end = "\r\n" if fault.crlf else "\n"
    text = ""
    if fault.keepalive:
        text += f": keep-alive{end}{end}"
    if fault.empty_data:
        text += f"data:{end}{end}"
    return text.encode()


def split_points(data: bytes) -> list[bytes]:
    """Cut an event inside ``data:``, inside a multi-byte character, and mid-way."""
    cuts = {3, len(data) // 2, len(data) - 1}
    multibyte = next((i for i, b in enumerate(data) if b >= 0xC0), None)
    if multibyte is not None:
        cuts.add(multibyte + 1)
    edges = [0, *sorted(c for c in cuts if 0 < c < len(data)), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges) if b > a]
