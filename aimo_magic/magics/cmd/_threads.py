"""Looking up a thread by name without creating it, as a read or a reset must not."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aimo_magic.conversation import DEFAULT_THREAD, validate_thread_name

if TYPE_CHECKING:
    from aimo_magic.conversation import ConversationStore, Thread


def existing_thread(store: ConversationStore, name: str) -> Thread | None:
    """The thread, None for a default thread not used yet; ValueError for an unknown name."""
    validate_thread_name(name)
    if name in store:
        return store.thread(name)
    if name == DEFAULT_THREAD:
        return None
    known = ", ".join(store.names()) or "none yet"
    raise ValueError(f"No thread named {name!r} (threads: {known}); `%aimo chats` lists them.")
