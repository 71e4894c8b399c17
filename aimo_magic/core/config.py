"""Client settings: explicit arguments first, then the environment, then defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aimo_magic.core.secrets import mask

if TYPE_CHECKING:
    from aimo_magic.core.budget import Budget

DEFAULT_BASE_URL = "https://devnet.aimo.network/api"
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_RETRY_WAIT = 30.0

ENV_API_KEY = "AIMO_API_KEY"
ENV_BASE_URL = "AIMO_BASE_URL"
ENV_TIMEOUT = "AIMO_TIMEOUT"
ENV_MODEL = "AIMO_MODEL"
ENV_PRICE_UNIT = "AIMO_PRICE_UNIT"

AIMO_DOMAIN = "aimo.network"

NO_MODEL = "No model chosen"
CELL_NO_MODEL_HINT = (
    "Name one on the magic line (%%aimo MODEL), pick one with `%aimo use MODEL` or "
    "`%aimo select`, or set AIMO_MODEL."
)
PYTHON_NO_MODEL_HINT = (
    "Pass model=... (see Client.models()), set AIMO_MODEL, or in a notebook `%aimo use MODEL`."
)


class ConfigurationError(ValueError):
    """A setting that cannot be used as given (for instance AIMO_TIMEOUT=abc)."""


def _env_float(name: str) -> float | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(
            f"{name}={raw!r} is not a number of seconds; set it to e.g. 60 or unset it."
        ) from None
    if value <= 0:
        raise ConfigurationError(f"{name} must be positive, got {raw!r}.")
    return value


def api_root(base_url: str) -> str:
    """Where the ``/v1`` paths live: AiMo's form (``.../api``) and OpenAI's (``.../v1``) both
    work, so a base URL copied from another client does not become ``/v1/v1``."""
    return base_url if base_url.endswith("/v1") else f"{base_url}/v1"


def server_name(base_url: str) -> str:
    """Whom error lines quote: "AiMo" for AiMo's own hosts, else the server's host and port,
    so a LiteLLM proxy's refusal is not put in AiMo's mouth."""
    parts = urlsplit(base_url)
    host = parts.hostname or base_url
    if host == AIMO_DOMAIN or host.endswith("." + AIMO_DOMAIN):
        return "AiMo"
    if ":" in host:  # IPv6
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}:{port}" if port else host


@dataclass(frozen=True)
class Settings:
    """What a client needs; the key is kept out of the repr."""

    api_key: str | None = field(repr=False)
    base_url: str
    timeout: float
    max_retries: int
    max_retry_wait: float
    model: str | None
    price_unit: str = "auto"
    """How listed prices are read (``core.pricing``): auto, token, thousand, million, listed."""
    budget: Budget | None = field(default=None, repr=False)
    """The spending cap every request of a client made from these settings passes
    (``core.budget``); shared, so compared by identity."""

    def __repr__(self) -> str:
        return (
            f"Settings(api_key={mask(self.api_key)!r}, base_url={self.base_url!r}, "
            f"timeout={self.timeout}, max_retries={self.max_retries}, model={self.model!r}, "
            f"price_unit={self.price_unit!r})"
        )

    @property
    def api_root(self) -> str:
        return api_root(self.base_url)

    @property
    def server(self) -> str:
        return server_name(self.base_url)

    @classmethod
    def resolve(
        cls,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        max_retry_wait: float | None = None,
        model: str | None = None,
        price_unit: str | None = None,
        budget: Budget | None = None,
    ) -> Settings:
        """Fill each unset argument from AIMO_* variables, then from the documented defaults."""
        from aimo_magic.core.pricing import PriceUnitError, check_price_unit

        key = api_key or os.environ.get(ENV_API_KEY) or None
        url = (base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL).rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"base_url {url!r} must start with http:// or https:// "
                f"(for AiMo: {DEFAULT_BASE_URL})."
            )
        resolved_timeout = timeout if timeout is not None else _env_float(ENV_TIMEOUT)
        if resolved_timeout is not None and resolved_timeout <= 0:
            raise ConfigurationError(f"timeout must be positive, got {resolved_timeout}.")
        retries = DEFAULT_MAX_RETRIES if max_retries is None else max_retries
        if retries < 0:
            raise ConfigurationError(f"max_retries must be 0 or more, got {retries}.")
        try:
            unit = check_price_unit(price_unit or os.environ.get(ENV_PRICE_UNIT) or "auto")
        except PriceUnitError as exc:
            raise ConfigurationError(str(exc)) from None
        return cls(
            api_key=key,
            base_url=url,
            timeout=resolved_timeout or DEFAULT_TIMEOUT,
            max_retries=retries,
            max_retry_wait=DEFAULT_MAX_RETRY_WAIT if max_retry_wait is None else max_retry_wait,
            model=model or os.environ.get(ENV_MODEL) or None,
            price_unit=unit,
            budget=budget,
        )


def choose_model(name: str | None, *, from_cell: bool = False) -> str:
    """``name``, or the error saying how to choose a model (worded for a cell or for code)."""
    if not name:
        from aimo_magic.core.errors import AimoError

        raise AimoError(NO_MODEL, hint=CELL_NO_MODEL_HINT if from_cell else PYTHON_NO_MODEL_HINT)
    return name
