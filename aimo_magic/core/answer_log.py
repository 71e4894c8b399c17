"""The answers this process used, kept for ``save_answers``: one log per process.

Its own small module, so that loading the extension (which starts recording) pays for
nothing else; ``core.answer_book`` holds the rest (the file replayed, saving).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aimo_magic.core.answer_file import RecordedAnswer


class AnswerLog:
    """Every answer this process used since recording started, once per request, in
    the order first used; and the model list last seen."""

    def __init__(self) -> None:
        self.recording = False
        self._answers: dict[str, RecordedAnswer] = {}
        self._models: list[dict[str, Any]] | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        self.recording = True

    def note(self, answer: RecordedAnswer) -> None:
        """Keep an answer used (the first one for its request stays)."""
        if not self.recording:
            return
        with self._lock:
            self._answers.setdefault(answer.key, answer)

    def note_models(self, entries: Sequence[dict[str, Any]]) -> None:
        if self.recording:
            with self._lock:
                self._models = [dict(entry) for entry in entries]

    @property
    def answers(self) -> list[RecordedAnswer]:
        with self._lock:
            return list(self._answers.values())

    @property
    def models(self) -> list[dict[str, Any]] | None:
        return self._models

    def clear(self) -> None:
        with self._lock:
            self._answers.clear()
            self._models = None


LOG = AnswerLog()
"""Every answer this process used since recording started (``core.answer_use`` adds them)."""
