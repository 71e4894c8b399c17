"""Per-kernel conversation threads for ``%%aimo``: turns, trimming, saving."""

from aimo_magic.conversation.budget import IMAGE_TOKENS, estimate_tokens
from aimo_magic.conversation.persist import (
    FORMAT_VERSION,
    ConversationFileError,
    ConversationSecretError,
)
from aimo_magic.conversation.store import DEFAULT_THREAD, ConversationStore
from aimo_magic.conversation.thread import (
    Content,
    Thread,
    ThreadNameError,
    Turn,
    content_text,
    validate_thread_name,
)

__all__ = [
    "DEFAULT_THREAD",
    "FORMAT_VERSION",
    "IMAGE_TOKENS",
    "Content",
    "ConversationFileError",
    "ConversationSecretError",
    "ConversationStore",
    "Thread",
    "ThreadNameError",
    "Turn",
    "content_text",
    "estimate_tokens",
    "validate_thread_name",
]
