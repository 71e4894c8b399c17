"""Keeping API keys out of every string a user or a log might see.

Keys reach messages in unexpected ways (a server echoing the key it refused, a
traceback of a failed request), so redaction is applied to any text that leaves
the client, not only where a key is known to be.
"""

from __future__ import annotations

import logging
import re
import weakref

KEY_MARKER = "aimo-sk-"
_KEY_PATTERN = re.compile(r"aimo-sk-[A-Za-z0-9_\-\.]+")
_known_keys: weakref.WeakSet[_KeyHolder] = weakref.WeakSet()


class _KeyHolder:
    """A boxed key, so a set can track live keys without keeping them alive."""

    __slots__ = ("__weakref__", "value")

    def __init__(self, value: str) -> None:
        self.value = value


def looks_like_key(text: str) -> bool:
    """Whether text holds something that looks like an AiMo key, in any case.

    The one guard every front end uses before text could reach a notebook, a saved
    file or a model: a key pasted in capitals or inside a word is still refused.
    """
    return KEY_MARKER in text.lower()


def mask(key: str | None) -> str:
    """A recognisable but useless form of a key, for reprs and `%aimo config`."""
    if not key:
        return "<not set>"
    prefix = "aimo-sk-" if key.startswith("aimo-sk-") else ""
    return f"{prefix}…{key[-4:]}" if len(key) > len(prefix) + 8 else f"{prefix}…"


def redact(text: str, *keys: str | None) -> str:
    """Replace every key-looking token, and each given or registered key, with a mask."""
    for holder in list(_known_keys):
        if holder.value and holder.value in text:
            text = text.replace(holder.value, mask(holder.value))
    for key in keys:
        if key and key in text:
            text = text.replace(key, mask(key))
    return _KEY_PATTERN.sub(lambda m: mask(m.group(0)), text)


def register_key(key: str) -> _KeyHolder:
    """Track a key so log records mentioning it are redacted; keep the holder alive."""
    holder = _KeyHolder(key)
    _known_keys.add(holder)
    return holder


class RedactingFilter(logging.Filter):
    """Scrubs keys from records of httpx2 and httpcore2, whose DEBUG logs echo requests."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logger's problem, not a leak
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_filter = RedactingFilter()

# A logger's filters see only the records made on that very logger, not those its
# children pass up, so every logger that sees our requests is named here: httpx2 logs
# each request on "httpx2", httpcore2 traces connections and HTTP/1.1 and HTTP/2
# exchanges on one child logger per module.
LOGGER_PREFIXES = ("httpx2", "httpcore2", "aimo_magic")
LOGGER_NAMES = (
    "httpx2",
    "httpcore2",
    "httpcore2.connection",
    "httpcore2.http11",
    "httpcore2.http2",
    "httpcore2.proxy",
    "httpcore2.socks",
    "aimo_magic",
)


def _watched_loggers() -> set[str]:
    """The known names, and any logger already made under their prefixes."""
    existing = {
        name
        for name in list(logging.root.manager.loggerDict)
        if name.split(".", 1)[0] in LOGGER_PREFIXES
    }
    return existing.union(LOGGER_NAMES)


def install_log_redaction() -> None:
    """Attach the filter once to each logger that sees our requests."""
    for name in _watched_loggers():
        logger = logging.getLogger(name)
        if _filter not in logger.filters:
            logger.addFilter(_filter)
