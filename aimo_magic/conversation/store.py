"""All of a kernel session's threads, by name, with saving and loading.

One store lives per kernel, so cells in a notebook share threads while separate
notebooks (separate kernels) never see each other's history.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from aimo_magic.conversation.persist import (
    read_threads,
    save_threads,
    threads_from_dict,
    threads_to_dict,
)
from aimo_magic.conversation.thread import Thread, validate_thread_name

DEFAULT_THREAD = "default"


class ConversationStore:
    """Named threads, created on first use."""

    def __init__(self, threads: list[Thread] | None = None) -> None:
        self._threads: dict[str, Thread] = {}
        for thread in threads or []:
            self._threads[thread.name] = thread

    def __contains__(self, name: object) -> bool:
        return name in self._threads

    def __len__(self) -> int:
        return len(self._threads)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ConversationStore):
            return NotImplemented
        return list(self._threads.values()) == list(other._threads.values())

    def thread(self, name: str = DEFAULT_THREAD) -> Thread:
        """The thread called ``name``, made empty on first use."""
        validate_thread_name(name)
        found = self._threads.get(name)
        if found is None:
            found = self._threads[name] = Thread(name)
        return found

    def new(self, name: str = DEFAULT_THREAD, *, system: str | None = None) -> Thread:
        """Start ``name`` afresh: no turns, and only the given system prompt."""
        fresh = Thread(validate_thread_name(name), system=system)
        self._threads[name] = fresh
        return fresh

    def names(self) -> list[str]:
        """Thread names in the order they were first used."""
        return list(self._threads)

    def reset(self, name: str = DEFAULT_THREAD) -> int:
        """Forget a thread's turns, keeping its system prompt; return how many went."""
        validate_thread_name(name)
        found = self._threads.get(name)
        return found.clear() if found is not None else 0

    def reset_all(self) -> int:
        """Forget the turns of every thread, keeping names and system prompts."""
        return sum(thread.clear() for thread in self._threads.values())

    def summary(self) -> list[tuple[str, int]]:
        """(name, number of turns) for each thread, for listing."""
        return [(name, len(thread)) for name, thread in self._threads.items()]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; raises ConversationSecretError if a turn holds a key."""
        return threads_to_dict(self._threads.values())

    @classmethod
    def from_dict(cls, data: object) -> ConversationStore:
        """Rebuild a store; raises ConversationFileError naming the first fault."""
        return cls(threads_from_dict(data))

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write every thread to ``path`` atomically; returns the path written."""
        return save_threads(path, self._threads.values())

    def load(self, path: str | os.PathLike[str], *, merge: bool = False) -> list[str]:
        """Read threads from ``path`` and return their names.

        Without ``merge`` the file replaces every thread; with it, the file's threads
        replace only same-named ones. The file is checked in full first, so a bad
        file leaves the store exactly as it was.
        """
        loaded = read_threads(path)
        if not merge:
            self._threads.clear()
        for thread in loaded:
            self._threads[thread.name] = thread
        return [thread.name for thread in loaded]
