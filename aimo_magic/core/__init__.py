"""The client core: plain Python, no IPython, usable on its own.

Names load on first use, so that importing the record types (as the conversation
layer does) does not pay for httpx2.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "AsyncChatStream": "async_client",
    "AsyncClient": "async_client",
    "RetryEvent": "retry",
    "Budget": "budget",
    "BudgetError": "budget",
    "PriceBasis": "pricing",
    "StreamRestart": "retry",
    "Replay": "answer_book",
    "record_answers": "answer_book",
    "save_answers": "answer_book",
    "stop_using_answers": "answer_book",
    "use_answers": "answer_book",
    "RecordedAnswer": "answer_file",
    "NotRecordedError": "answer_use",
    "FellBack": "fallback",
    "FallbackStream": "fallback",
    "RouteError": "errors",
    "ProviderLog": "provider_log",
    "AnswerCache": "cache",
    "CachedAnswer": "cache",
    "CacheStats": "cache",
    "CacheUnavailableError": "cache",
    "cache_key": "cache",
    "ChatStream": "client",
    "CompareInterrupted": "comparison",
    "ComparedAnswer": "comparison",
    "Comparison": "comparison",
    "compare": "comparison",
    "Client": "client",
    "DEFAULT_BASE_URL": "config",
    "ConfigurationError": "config",
    "Settings": "config",
    "AimoError": "errors",
    "APIConnectionError": "errors",
    "APITimeoutError": "errors",
    "AuthenticationError": "errors",
    "IncompleteStreamError": "errors",
    "InvalidRequestError": "errors",
    "MissingKeyError": "errors",
    "NotFoundError": "errors",
    "PaymentError": "errors",
    "RateLimitError": "errors",
    "ServerError": "errors",
    "EncodedImage": "image_parts",
    "ImageError": "image_parts",
    "encode_image": "image_parts",
    "image": "image_parts",
    "DoesNotFit": "model_fit",
    "ChatResult": "types",
    "Model": "types",
    "Pricing": "types",
    "ProviderOffer": "types",
    "Timings": "types",
    "Usage": "types",
    "ToolCall": "types",
    "Tool": "tools",
    "ToolDefinitionError": "tools",
    "tool": "tools",
    "CallRecord": "tool_loop",
    "LoopEvents": "tool_loop",
    "ToolLoop": "tool_loop",
    "ToolLoopInterrupted": "tool_loop",
    "ToolsResult": "tool_loop",
    "ask": "tool_loop",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'aimo_magic.core' has no attribute {name!r}")
    return getattr(importlib.import_module(f"aimo_magic.core.{module}"), name)
