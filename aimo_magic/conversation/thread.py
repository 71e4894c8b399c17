"""Turns and threads: the history one ``%%aimo`` conversation carries forward.

A turn is recorded whole or not at all, so an answer that failed half-way never
leaves a question without its answer in the history the next cell sends.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

from aimo_magic.conversation.budget import keep_recent
from aimo_magic.core.content import Content, check_content
from aimo_magic.core.image_parts import is_image_part
from aimo_magic.core.tokens import Estimator, estimate_tokens
from aimo_magic.core.types import Usage

MAX_NAME_LENGTH = 64
# What the model reads where an earlier turn's image is not sent again.
IMAGE_LEFT_OUT = "[an image was here; it is not sent again]"


class ThreadNameError(ValueError):
    """A thread name the magic cannot use as a single word on its command line."""


def validate_thread_name(name: object) -> str:
    """Return ``name`` if it can name a thread, else raise a one-line ThreadNameError."""
    if not isinstance(name, str) or not name:
        raise ThreadNameError("a thread name must be a non-empty word, e.g. 'default' or 'draft2'")
    if len(name) > MAX_NAME_LENGTH:
        raise ThreadNameError(
            f"thread name is {len(name)} characters long; use at most {MAX_NAME_LENGTH}"
        )
    if any(ch.isspace() or not ch.isprintable() for ch in name):
        raise ThreadNameError(
            f"thread name {name!r} contains spaces or control characters; use one word"
        )
    return name


def without_images(content: Content) -> Content:
    """``content`` with each image replaced by a short note, for history sent without them."""
    if isinstance(content, str) or not any(is_image_part(part) for part in content):
        return content
    return [
        {"type": "text", "text": IMAGE_LEFT_OUT} if is_image_part(part) else part
        for part in content
    ]


@dataclass(frozen=True)
class Turn:
    """One complete exchange: the user's content and the assistant's answer.

    ``partial`` marks an answer the user interrupted but chose to keep; it is sent
    back to the model as it stands. ``steps`` are the messages between the question and
    the answer when the model called functions: assistant messages with ``tool_calls``
    and the ``tool`` messages that answered them, in order (OpenAI's form).
    """

    user: Content
    assistant: str
    model: str
    cell_id: str | None = None
    provider: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    usage: Usage | None = None
    partial: bool = False
    created: float = field(default_factory=time.time)
    steps: tuple[dict[str, Any], ...] = ()

    def __post_init__(self) -> None:
        # Copies, so a caller reusing its prompt or params dict cannot rewrite history.
        object.__setattr__(self, "user", copy.deepcopy(check_content(self.user, "user content")))
        object.__setattr__(self, "params", copy.deepcopy(dict(self.params)))
        object.__setattr__(self, "steps", tuple(check_step(m) for m in self.steps))
        if not isinstance(self.assistant, str):
            raise ValueError("assistant text must be a string; pass '' for an empty answer")

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        """The calls this turn made, each with the result it sent back (None if none)."""
        results = {
            m.get("tool_call_id"): m.get("content") for m in self.steps if m["role"] == "tool"
        }
        return [
            {**call, "result": results.get(call.get("id"))}
            for m in self.steps
            if m["role"] == "assistant"
            for call in m.get("tool_calls") or ()
        ]

    def messages(self, *, images: bool = True) -> list[dict[str, Any]]:
        """This turn as the user and assistant chat messages the API expects.

        ``images=False`` puts a short note where each image was, so an older turn can
        be resent without paying for its pictures again.
        """
        user = self.user if images else without_images(self.user)
        return [
            {"role": "user", "content": copy.deepcopy(user)},
            *copy.deepcopy(list(self.steps)),
            {"role": "assistant", "content": self.assistant},
        ]


def check_step(message: object) -> dict[str, Any]:
    """A copy of one message of a turn's tool steps, or a one-line ValueError."""
    if not isinstance(message, dict):
        raise ValueError("a tool step must be a message object")
    role = message.get("role")
    if role == "assistant":
        calls = message.get("tool_calls")
        if not isinstance(calls, list) or not all(
            isinstance(c, dict)
            and isinstance(c.get("id"), str)
            and isinstance(c.get("function"), dict)
            and isinstance(c["function"].get("name"), str)
            and isinstance(c["function"].get("arguments"), str)
            for c in calls
        ):
            raise ValueError("an assistant tool step needs tool_calls with id, name, arguments")
        content = message.get("content")
        if content is not None and not isinstance(content, str):
            raise ValueError("an assistant tool step's content must be text or null")
    elif role == "tool":
        if not isinstance(message.get("tool_call_id"), str) or not isinstance(
            message.get("content"), str
        ):
            raise ValueError("a tool result needs a tool_call_id and text content")
    else:
        raise ValueError(f"a tool step is an assistant or tool message, not {role!r}")
    return copy.deepcopy(message)


@dataclass
class Thread:
    """A named conversation: an optional system prompt and its turns, oldest first."""

    name: str
    system: str | None = None
    turns: list[Turn] = field(default_factory=list)

    def __post_init__(self) -> None:
        validate_thread_name(self.name)

    def __len__(self) -> int:
        return len(self.turns)

    def index_of(self, cell_id: str | None) -> int | None:
        """Position of the turn a cell recorded, or None if it has none here."""
        if cell_id is None:
            return None
        for index, turn in enumerate(self.turns):
            if turn.cell_id == cell_id:
                return index
        return None

    def record(self, turn: Turn) -> int:
        """Add a finished turn and return its position.

        A cell that already answered here is replaced where it stood, so re-running
        a cell rewrites its exchange instead of piling up duplicates.
        """
        if not isinstance(turn, Turn):
            raise TypeError("record() takes a Turn; build one with Turn(user=..., assistant=...)")
        index = self.index_of(turn.cell_id)
        if index is None:
            self.turns.append(turn)
            return len(self.turns) - 1
        self.turns[index] = turn
        return index

    def clear(self) -> int:
        """Forget every turn but keep the system prompt; return how many were dropped."""
        dropped = len(self.turns)
        self.turns.clear()
        return dropped

    def messages_for(
        self,
        prompt: Content,
        *,
        system: str | None = None,
        cell_id: str | None = None,
        max_turns: int | None = None,
        max_tokens: int | None = None,
        image_turns: int | None = None,
        estimate: Estimator = estimate_tokens,
    ) -> list[dict[str, Any]]:
        """The messages to send for a new ``prompt``.

        ``system`` overrides the thread's system prompt for this call only; pass ''
        to send none. When ``cell_id`` already has a turn here, only the turns
        before it are sent, so a re-run sees the context its first run saw. The
        history is cut to the budget by dropping the oldest whole turns; the system
        prompt and the new prompt are always sent, even when they alone exceed it.
        ``image_turns`` keeps images only in the newest that many earlier turns (None:
        all; 0: none), so old pictures stop costing tokens; the prompt keeps its own.
        """
        if image_turns is not None and image_turns < 0:
            raise ValueError(
                f"image_turns must be 0 or more, not {image_turns}; use None to keep every image"
            )
        prompt = check_content(prompt, "prompt")
        chosen = self.system if system is None else system
        head: list[dict[str, Any]] = [{"role": "system", "content": chosen}] if chosen else []
        tail = [{"role": "user", "content": copy.deepcopy(prompt)}]

        own = self.index_of(cell_id)
        earlier = self.turns[: own if own is not None else None]
        if max_turns is not None and max_turns >= 0:
            # Build messages only for turns that can be sent: constant cost per call
            # however long the thread grows.
            earlier = earlier[len(earlier) - max_turns :] if max_turns else []
        first_with_images = 0 if image_turns is None else max(len(earlier) - image_turns, 0)
        history = [
            turn.messages(images=index >= first_with_images) for index, turn in enumerate(earlier)
        ]
        fixed = sum(estimate(message) for message in head + tail)
        kept = keep_recent(
            history,
            fixed_tokens=fixed,
            max_turns=max_turns,
            max_tokens=max_tokens,
            estimate=estimate,
        )
        recent = history[len(history) - kept :] if kept else []
        return head + [message for pair in recent for message in pair] + tail
