"""Per-kernel conversation threads for ``%%aimo``: turns, trimming, saving."""

from aimo_magic.conversation.persist import (
    FORMAT_VERSION,
    ConversationFileError,
    ConversationSecretError,
)
from aimo_magic.conversation.store import DEFAULT_THREAD, ConversationStore
from aimo_magic.conversation.thread import (
    Thread,
    ThreadNameError,
    Turn,
    validate_thread_name,
)
from aimo_magic.core.content import Content, content_text
from aimo_magic.core.tokens import IMAGE_TOKENS, estimate_tokens

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
