"""The client core: plain Python, no IPython, usable on its own."""

from aimo_magic.core.async_client import AsyncChatStream, AsyncClient
from aimo_magic.core.base import RetryEvent
from aimo_magic.core.client import ChatStream, Client
from aimo_magic.core.config import DEFAULT_BASE_URL, ConfigurationError, Settings
from aimo_magic.core.errors import (
    AimoError,
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    IncompleteStreamError,
    InvalidRequestError,
    MissingKeyError,
    NotFoundError,
    PaymentError,
    RateLimitError,
    ServerError,
)
from aimo_magic.core.types import ChatResult, Model, Pricing, ProviderOffer, Timings, Usage

__all__ = [
    "DEFAULT_BASE_URL",
    "APIConnectionError",
    "APITimeoutError",
    "AimoError",
    "AsyncChatStream",
    "AsyncClient",
    "AuthenticationError",
    "ChatResult",
    "ChatStream",
    "Client",
    "ConfigurationError",
    "IncompleteStreamError",
    "InvalidRequestError",
    "MissingKeyError",
    "Model",
    "NotFoundError",
    "PaymentError",
    "Pricing",
    "ProviderOffer",
    "RateLimitError",
    "RetryEvent",
    "ServerError",
    "Settings",
    "Timings",
    "Usage",
]
