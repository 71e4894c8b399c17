"""Plain records the client returns: immutable, typed, free of IPython."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Usage:
    """Token counts as the server reported them (zero when it reported none)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Usage | None:
        if not isinstance(data, dict):
            return None
        prompt = int(data.get("prompt_tokens") or 0)
        completion = int(data.get("completion_tokens") or 0)
        total = int(data.get("total_tokens") or (prompt + completion))
        return cls(prompt, completion, total)

    def as_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


@dataclass(frozen=True)
class Timings:
    """Seconds from sending the request; ``first_token`` is None when no text arrived.

    A replayed answer carries the timings measured when it was recorded; one recorded
    without them has :data:`UNKNOWN_TIMINGS` (``total`` NaN, as pandas writes unknown,
    so a median skips it and nothing reads it as an instant answer).
    """

    first_token: float | None
    total: float

    @property
    def known(self) -> bool:
        """Whether these were measured (False for an answer recorded without them)."""
        return not math.isnan(self.total)


UNKNOWN_TIMINGS = Timings(first_token=None, total=math.nan)
"""The timings of an answer recorded without them (a line of an older answer file)."""


@dataclass(frozen=True)
class ToolCall:
    """One function call a model asked for: ``arguments`` is the JSON text it wrote,
    unparsed and untrusted (see ``core/tools.py`` for how it is checked)."""

    id: str
    name: str
    arguments: str

    def as_dict(self) -> dict[str, Any]:
        """The call as OpenAI's assistant message lists it under ``tool_calls``."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass(frozen=True)
class ChatResult:
    """One finished answer, the same whether it was streamed or not.

    ``cached_at`` is when a cached answer was first stored (seconds since the epoch),
    None for an answer that came live from the server; a replayed answer has it too
    (when it was recorded), and ``recorded_in`` names the answer file it came from.
    ``notes`` tells of quirks in how an accepted answer arrived (for ``--debug``), for
    example a stream that closed without ``[DONE]`` after its finish_reason.
    ``tool_calls`` are the functions the model asked to call (requests with ``tools``).
    ``route`` says why the provider that answered was chosen and what failed before it,
    when a route or a fallback chose it (``core.routing``, ``core.fallback``).
    """

    text: str
    finish_reason: str | None
    usage: Usage | None
    model: str
    provider: str | None
    timings: Timings
    request_id: str | None = None
    raw: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    cached_at: float | None = None
    notes: tuple[str, ...] = ()
    tool_calls: tuple[ToolCall, ...] = ()
    recorded_in: str | None = None
    route: str | None = None

    def assistant_message(self) -> dict[str, Any]:
        """The answer as the assistant message a conversation sends back next time."""
        message: dict[str, Any] = {"role": "assistant", "content": self.text}
        if self.tool_calls:
            message["content"] = self.text or None
            message["tool_calls"] = [call.as_dict() for call in self.tool_calls]
        return message


@dataclass(frozen=True)
class Pricing:
    """Prices per token exactly as the server listed them; the unit is not documented."""

    prompt: float | None
    completion: float | None
    image: float | None = None
    unit: str = "as reported by the server, per token"

    @property
    def is_free(self) -> bool:
        return (self.prompt or 0) == 0 and (self.completion or 0) == 0


@dataclass(frozen=True)
class ProviderOffer:
    """One provider serving a model; ``id`` is the routable ``provider_pubkey:model_name``."""

    id: str
    provider_id: str
    name: str
    pricing: Pricing | None


@dataclass(frozen=True)
class Model:
    """A catalogue entry normalised from either the AiMo or the OpenAI listing shape."""

    name: str
    display_name: str
    context_length: int | None = None
    input_modalities: tuple[str, ...] = ("text",)
    output_modalities: tuple[str, ...] = ("text",)
    providers: tuple[ProviderOffer, ...] = ()
    owned_by: str | None = None
    modalities_listed: bool = True
    """False when the listing did not say which inputs the model takes (OpenAI's shape)."""

    @property
    def takes_images(self) -> bool | None:
        """Whether the model accepts image input; None when the catalogue does not say."""
        if not self.modalities_listed:
            return None
        return "image" in self.input_modalities

    @property
    def ids(self) -> tuple[str, ...]:
        """Every id a request may use for this model: the routing name first."""
        return (self.name, *(p.id for p in self.providers))

    def offer(self, model_id: str) -> ProviderOffer | None:
        """The provider behind a ``provider_pubkey:model_name`` id, if it is one of ours."""
        for offer in self.providers:
            if offer.id == model_id:
                return offer
        return None
