"""This process's answers: the ones it used (for ``save``), and the answer file it replays.

One of each per process, because a kernel is one notebook and every client in it
(a cell's, a batch's, a comparison's, a tool loop's) must see the same: the client's
one answer hook (``core.answer_use``) reads them for every request.

* ``LOG`` keeps every answer a request used once recording has started (the extension
  starts it when it loads; ``record_answers()`` from plain Python): asked live, taken
  from the answer cache or replayed from a file. Only ``save_answers`` writes it out.
* ``use_answers(FILE)`` loads a file to replay (``AIMO_ANSWERS=FILE`` does the same on
  the first request; ``AIMO_ANSWERS_STRICT=1`` makes it strict). Nothing ever writes to
  the file being replayed.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from aimo_magic.core.answer_log import LOG

if TYPE_CHECKING:
    from pathlib import Path

    from aimo_magic.core.answer_file import AnswerFile, RecordedAnswer
    from aimo_magic.core.types import Model

ENV_ANSWERS = "AIMO_ANSWERS"
"""A file to replay (``off``: none, even where a notebook's setup cell would use one)."""
ENV_STRICT = "AIMO_ANSWERS_STRICT"
"""``1``: a request not in the file stops, even with a key (nothing is ever sent)."""
ENV_PACE = "AIMO_ANSWERS_PACE"
"""Words per second a replayed stream is shown at (0: at once); overrides the caller's."""
OFF = "off"
READABLE_PACE = 40.0
"""Words per second: about as fast as a model streams, slow enough to read along."""
LONGEST_REPLAY_S = 6.0
"""A long answer is replayed faster, so that none takes longer than this to show."""


@dataclass(frozen=True)
class Replay:
    """An answer file in use: its answers, whether a miss may still be sent, the pace."""

    file: AnswerFile
    strict: bool = False
    pace: float | None = READABLE_PACE

    @property
    def name(self) -> str:
        return self.file.name

    @property
    def path(self) -> Path:
        return self.file.path

    @property
    def models(self) -> list[dict[str, Any]] | None:
        return self.file.models

    @property
    def problems(self) -> list[str]:
        return self.file.problems

    def find(self, key: str) -> RecordedAnswer | None:
        return self.file.answers.get(key)

    def __len__(self) -> int:
        return len(self.file.answers)

    def describe(self) -> str:
        """``quickstart.answers.jsonl (14 answers, recorded 2025-05-01)``."""
        from datetime import datetime

        count = len(self)
        days = sorted(
            {
                datetime.fromtimestamp(a.answered_at).strftime("%Y-%m-%d")
                for a in self.file.answers.values()
            }
        )
        when = ""
        if days:
            when = f", recorded {days[0]}" + (f" to {days[-1]}" if len(days) > 1 else "")
        return f"{self.name} ({count} answer{'s' if count != 1 else ''}{when})"


_lock = threading.Lock()
_replay: Replay | None = None
_environment_read = False


def record_answers() -> None:
    """Start keeping every answer used, for ``save_answers`` (a notebook starts at once)."""
    LOG.start()


__all__ = ["LOG", "Replay", "record_answers", "save_answers", "stop_using_answers", "use_answers"]


def replay_in_use() -> Replay | None:
    """The answer file being replayed, if any; ``AIMO_ANSWERS`` is read the first time."""
    global _environment_read
    if not _environment_read:
        with _lock:
            if not _environment_read:
                _environment_read = True
                _from_environment()
    return _replay


def _from_environment() -> None:
    global _replay
    chosen = os.environ.get(ENV_ANSWERS, "").strip()
    if not chosen or chosen.lower() == OFF:
        return
    strict = os.environ.get(ENV_STRICT, "").strip().lower() in ("1", "true", "yes")
    _replay = _load(chosen, strict, READABLE_PACE)
    LOG.start()
    for problem in _replay.problems:
        print(f"⚠ {problem} (from {ENV_ANSWERS})", file=sys.stderr)


def answers_switched_off() -> bool:
    """``AIMO_ANSWERS=off``: no answer file, even the one a setup cell would use."""
    return os.environ.get(ENV_ANSWERS, "").strip().lower() == OFF


def answers_from_environment() -> str | None:
    """The file ``AIMO_ANSWERS`` names, if it names one."""
    chosen = os.environ.get(ENV_ANSWERS, "").strip()
    return chosen if chosen and chosen.lower() != OFF else None


def pace_from(pace: float | None) -> float | None:
    """``AIMO_ANSWERS_PACE`` when set (0: none), else ``pace``."""
    raw = os.environ.get(ENV_PACE, "").strip()
    if raw:
        try:
            pace = float(raw)
        except ValueError:
            raise ValueError(
                f"{ENV_PACE}={raw!r} is not a number of words per second; set it to e.g. "
                "40, 0 to show replayed answers at once, or unset it."
            ) from None
    return pace if pace and pace > 0 else None


def _load(path: str | os.PathLike[str], strict: bool, pace: float | None) -> Replay:
    from aimo_magic.core.answer_file import read_answer_file

    return Replay(read_answer_file(path), strict=strict, pace=pace_from(pace))


def use_answers(
    path: str | os.PathLike[str],
    *,
    strict: bool = False,
    pace: float | None = READABLE_PACE,
    quiet: bool = False,
) -> Replay:
    """Answer every request found in ``path`` from it, from now on, in this process.

    A request not in the file is sent as usual when a key is set; without one (or with
    ``strict=True``, whatever the key) it fails with ``NotRecordedError``. Streams
    replay at ``pace`` words per second (None or 0: at once; ``AIMO_ANSWERS_PACE``
    overrides). A missing, newer or damaged file does not raise: each problem is one
    line in the returned replay's ``problems`` (printed to stderr unless ``quiet``),
    and what could be read is used. Recording starts too, so ``save_answers`` can
    write what the notebook used.
    """
    global _replay, _environment_read
    replay = _load(path, strict, pace)
    with _lock:
        _environment_read = True
        _replay = replay
    LOG.start()
    if not quiet:
        for problem in replay.problems:
            print(f"⚠ {problem}", file=sys.stderr)
    return replay


def stop_using_answers() -> Replay | None:
    """Stop replaying; returns the replay that was in use, if any."""
    global _replay, _environment_read
    with _lock:
        _environment_read = True
        stopped, _replay = _replay, None
    return stopped


@dataclass(frozen=True)
class SavedAnswers:
    path: Path
    answers: int
    models: bool


def save_answers(
    path: str | os.PathLike[str], *, catalogue: Sequence[Model] | None = None
) -> SavedAnswers:
    """Write every answer this process used (since recording started) to ``path``.

    Costs unknown so far are priced from the model list seen (``catalogue``, else the
    one recorded). Raises ValueError when nothing was recorded (nothing is written
    then) and OSError when the file cannot be written (the old file stays whole).
    """
    from aimo_magic.core.answer_file import answer_file_text, write_answer_file

    if not LOG.recording:
        raise ValueError(
            "No answers are being recorded in this process: call aimo_magic.record_answers() "
            "before asking (a notebook with %load_ext aimo_magic records from the start)."
        )
    answers = LOG.answers
    if not answers:
        raise ValueError("No answers to save yet: run the cells that ask first, then save.")
    models = LOG.models
    prices = list(catalogue) if catalogue else _parsed(models)
    priced = [_priced(answer, prices) for answer in answers]
    target = write_answer_file(path, answer_file_text(priced, models))
    return SavedAnswers(target, len(priced), models is not None)


def _parsed(models: list[dict[str, Any]] | None) -> list[Model]:
    from aimo_magic.core.catalogue import parse_catalogue

    return parse_catalogue({"data": models}) if models else []


def _priced(answer: RecordedAnswer, catalogue: Sequence[Model]) -> RecordedAnswer:
    """The answer with its cost from the listed prices of the provider that served it
    (left unknown when the list has no price for it)."""
    if answer.cost is not None or not catalogue:
        return answer
    from aimo_magic.core.catalogue import find_model
    from aimo_magic.core.image_parts import count_images
    from aimo_magic.core.pricing import estimate_cost

    found = find_model(catalogue, answer.result.model) or find_model(catalogue, answer.model)
    offer = found[1] if found else None
    if offer is None and found is not None and len(found[0].providers) == 1:
        offer = found[0].providers[0]
    if offer is None:
        return answer
    images = count_images(answer.messages)
    cost = estimate_cost(answer.result.usage, offer.pricing, images=images)
    return replace(answer, cost=cost)
