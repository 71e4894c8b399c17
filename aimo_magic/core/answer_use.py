"""Where one request's answer comes from, and where it is kept: the client's one hook.

Every chat request of either client twin passes here (cells, comparisons, batches,
evaluations, tool-loop steps), so none of them needs code of its own:

1. the answer file being replayed (``core.answer_book``): a request found there is
   answered from it, free; one not found stops with ``NotRecordedError`` when no key
   is set or the replay is strict, and otherwise goes on;
2. the answer cache, when the call uses one (``core.cache_use``);
3. the server. Whichever answered, the answer goes to the log of answers used (for
   ``%aimo answers save``), and a live one to the cache.

A batch looks its rows up in the cache itself, a chunk at a time; it asks
:func:`answer_use` for the same object per row, so its rows are replayed and recorded
by the same rules.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from aimo_magic.core.errors import AimoError

if TYPE_CHECKING:
    from aimo_magic.core.answer_book import Replay
    from aimo_magic.core.cache_use import CacheUse
    from aimo_magic.core.types import ChatResult


class NotRecordedError(AimoError):
    """A request not in the answer file being replayed, with no key (or a strict replay)
    to send it: nothing was sent."""


def not_recorded(model: str, replay: Replay, *, has_key: bool) -> NotRecordedError:
    """The one line that says which cell asked what, and what to do."""
    from aimo_magic.core.running_cell import current_cell

    cell = current_cell()
    who = f"{cell.capitalize()}'s request" if cell else "This request"
    what = f"{who} to {model} was not recorded in {replay.name}"
    if replay.strict:
        return NotRecordedError(
            f"{what}; nothing is sent (strict replay{', even with a key' if has_key else ''})",
            hint="Record it again (%aimo answers save), or replay without --strict to send it.",
        )
    return NotRecordedError(
        f"{what}, and no API key is set to ask AiMo",
        hint="Set a key (%aimo login) to ask, or run the cell as it was recorded.",
    )


class AnswerUse:
    """The answer file's, the cache's and the log's part in one request."""

    def __init__(
        self,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        params: Mapping[str, Any],
        *,
        replay: Replay | None,
        cache: CacheUse | None = None,
        has_key: bool = True,
    ) -> None:
        from aimo_magic.core.answer_file import request_params

        self.model = model
        self._sent = messages
        self.params = request_params(params)
        self.replay = replay
        self.cache = cache
        self.has_key = has_key

    @cached_property
    def messages(self) -> list[dict[str, Any]]:
        """The messages as the file keeps them (images as their hash and size)."""
        from aimo_magic.core.answer_file import without_image_bytes

        return without_image_bytes(self._sent)

    @cached_property
    def key(self) -> str:
        """The request's key in an answer file (made only when a file or the log needs it)."""
        from aimo_magic.core.answer_file import request_key

        return request_key(self.model, self.messages, self.params)

    @property
    def pace(self) -> float | None:
        """Words per second a replayed answer streams at (None: at once)."""
        return self.replay.pace if self.replay is not None else None

    def recorded(self, *, note: bool = True) -> ChatResult | None:
        """The answer from the file being replayed, or None (not in it, or no file);
        ``note``: it is used (not only counted), so it goes to the log."""
        replay = self.replay
        if replay is None:
            return None
        found = replay.find(self.key)
        if found is None:
            return None
        if note:
            from aimo_magic.core.answer_log import LOG

            LOG.note(found)
        return found.replayed(replay.name)

    def lookup(self) -> ChatResult | None:
        """The answer without asking the server: recorded, else cached; None to ask.

        Raises ``NotRecordedError`` for a request the replay may not send (no key, or
        strict); a cached answer is still used then, since it sends nothing.
        """
        hit = self.recorded()
        if hit is not None:
            return hit
        if self.cache is not None:
            from aimo_magic.core.cache_use import as_read

            started = time.perf_counter()
            stored = self.cache.lookup()
            if stored is not None:
                self.used(stored)  # kept with the timings first measured, not this read's
                return as_read(stored, started)
        replay = self.replay
        if replay is not None and (replay.strict or not self.has_key):
            raise not_recorded(self.model, replay, has_key=self.has_key)
        return None

    def remember(self, result: ChatResult | None) -> None:
        """A live answer: into the cache (if the call uses one) and the log."""
        if result is None:
            return
        if self.cache is not None:
            self.cache.remember(result)
        self.used(result)

    def used(self, result: ChatResult) -> None:
        """Keep an answer this request used in the log (whole answers only), with its
        timings: a cached answer's are the ones measured when it was first answered."""
        from aimo_magic.core.answer_file import RecordedAnswer
        from aimo_magic.core.answer_log import LOG
        from aimo_magic.core.cache import is_storable

        if not LOG.recording or not is_storable(result):
            return
        answered_at = result.cached_at if result.cached_at is not None else time.time()
        kept = replace(result, cached_at=None, recorded_in=None, raw=None, request_id=None)
        LOG.note(
            RecordedAnswer(self.model, self.messages, self.params, kept, answered_at, key=self.key)
        )


def answer_use(
    model: str,
    body: Mapping[str, Any],
    *,
    cache: CacheUse | None = None,
    has_key: bool = True,
) -> AnswerUse | None:
    """The request's ``AnswerUse``, or None when there is nothing to do (no file
    replayed, nothing recorded, no cache): a plain script then pays nothing more."""
    from aimo_magic.core.answer_book import LOG, replay_in_use

    replay = replay_in_use()
    if replay is None and not LOG.recording and cache is None:
        return None
    return AnswerUse(model, body["messages"], body, replay=replay, cache=cache, has_key=has_key)


PIECE_S = 0.03
"""A replayed answer's text arrives in pieces at least this far apart (fewer, larger
pieces for a fast pace), as a stream's chunks would."""


def paced(text: str, pace: float | None) -> list[tuple[float, str]]:
    """``text`` as pieces to yield, each with the seconds to wait before it: word by word
    at ``pace`` words per second, never longer than ``LONGEST_REPLAY_S`` in all; the
    whole text at once without a pace."""
    from aimo_magic.core.answer_book import LONGEST_REPLAY_S

    words = [w for w in re.split(r"(?<=\s)(?=\S)", text) if w]
    if not pace or len(words) < 2:
        return [(0.0, text)]
    duration = min(len(words) / pace, LONGEST_REPLAY_S)
    count = max(1, min(len(words), int(duration / PIECE_S)))
    size = -(-len(words) // count)
    pieces = ["".join(words[i : i + size]) for i in range(0, len(words), size)]
    wait = duration / len(pieces)
    return [(0.0 if i == 0 else wait, piece) for i, piece in enumerate(pieces)]
