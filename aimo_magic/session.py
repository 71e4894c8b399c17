"""What one kernel session knows: key, client, catalogue, default model, aliases, usage.

The magics, the selector widget and the subcommands all read and change this one
object, so a choice made in one shows in the others. It imports no IPython.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aimo_magic.core.config import ENV_API_KEY, ENV_BASE_URL, ENV_MODEL

if TYPE_CHECKING:
    from aimo_magic.conversation import ConversationStore
    from aimo_magic.core.cache import AnswerCache, CacheUnavailableError
    from aimo_magic.core.client import Client
    from aimo_magic.core.types import Model, ProviderOffer, Usage

NO_KEY_HINT = (
    "Run `%aimo login` (hidden prompt), or set the AIMO_API_KEY environment variable "
    "before starting Jupyter; to try things offline, start the emulator with "
    "`import aimo_magic.emulator as e; e.start().configure()` or `aimo-magic emulator`."
)


@dataclass(frozen=True)
class ModelCheck:
    """What the catalogue says about a model id.

    ``model`` is None when the id was not checked: checking is off, or the server's
    model list could not be had. ``note`` is the line to show about that, given
    once per session.
    """

    model: Model | None = None
    offer: ProviderOffer | None = None
    note: str | None = None


@dataclass(frozen=True)
class ClientOptions:
    """The settings a client is built from; a change means a new client."""

    base_url: str | None
    timeout: float | None
    max_retries: int | None


def colab_secret(name: str) -> str | None:
    """Colab keeps secrets in ``google.colab.userdata``; only asked for inside Colab."""
    if "google.colab" not in sys.modules:
        return None
    try:
        from google.colab import userdata

        value = userdata.get(name)
    except Exception:  # not granted, not defined: both mean "no key from Colab"
        return None
    return str(value) if value else None


USAGE_FIELDS = (
    "calls",
    "prompt_tokens",
    "completion_tokens",
    "cost",
    "unpriced",
    "cache_hits",
    "saved",
)


@dataclass
class UsageLedger:
    """Tokens and estimated cost per model for this session, and what cache hits saved.

    ``cost`` sums the answers whose cost is known; ``unpriced`` counts the others
    (no listed price, or no usage reported), so an unknown cost is never read as 0.
    A cache hit charges nothing: it counts in ``cache_hits``, and the cost its tokens
    would have had at the serving provider's prices in ``saved``.
    """

    per_model: dict[str, dict[str, float]] = field(default_factory=dict)

    def _row(self, model: str) -> dict[str, float]:
        return self.per_model.setdefault(model, dict.fromkeys(USAGE_FIELDS, 0))

    def record(
        self, model: str, usage: Usage | None, cost: float | None, *, calls: int = 1
    ) -> None:
        """Add ``calls`` answers (a batch adds its rows at once) and their summed usage."""
        row = self._row(model)
        row["calls"] += calls
        if usage is not None:
            row["prompt_tokens"] += usage.prompt_tokens
            row["completion_tokens"] += usage.completion_tokens
        if cost is None:
            row["unpriced"] += calls
        else:
            row["cost"] += cost

    def record_hit(self, model: str, saved: float | None, *, hits: int = 1) -> None:
        row = self._row(model)
        row["cache_hits"] += hits
        if saved is not None:
            row["saved"] += saved

    @property
    def cache_hits(self) -> int:
        return int(sum(row["cache_hits"] for row in self.per_model.values()))

    def totals(self) -> dict[str, float]:
        total = dict.fromkeys(USAGE_FIELDS, 0.0)
        for row in self.per_model.values():
            for key in total:
                total[key] += row[key]
        return total


@dataclass(frozen=True)
class CacheOptions:
    """Where the answer cache lives and how big it may grow; a change reopens it."""

    directory: str | None
    max_mb: float


class AimoSession:
    """State shared by every front end of one kernel."""

    def __init__(self) -> None:
        self.explicit_key: str | None = None
        self._conversations: ConversationStore | None = None
        self.aliases: dict[str, str] = {}
        self.usage = UsageLedger()
        self.current_cell_id: str | None = None
        self._default_model: str | None = None
        self._model_listeners: list[Callable[[str | None], None]] = []
        self._catalogue: list[Model] | None = None
        self._catalogue_unavailable = False  # for this client: cells stop asking
        self._said_unchecked = False
        self._client: Client | None = None
        self._client_signature: tuple[Any, ...] | None = None
        self._answer_cache: AnswerCache | None = None
        self._cache_options: CacheOptions | None = None
        self.cache_problem: CacheUnavailableError | None = None
        # Set by the magics: their current client and cache settings, for code that
        # finds this session from Python (``aimo_magic.batch`` in a notebook).
        # (client options, cache options, check_models)
        self.settings_source: Callable[[], tuple[ClientOptions, CacheOptions, bool]] | None = None

    def __repr__(self) -> str:
        key = "set" if self.explicit_key else "not set"
        return f"AimoSession(model={self._default_model!r}, explicit_key={key})"

    @property
    def conversations(self) -> ConversationStore:
        """Created on first use, so loading the extension does not pay for it."""
        if self._conversations is None:
            from aimo_magic.conversation import ConversationStore

            self._conversations = ConversationStore()
        return self._conversations

    # The key ---------------------------------------------------------------
    def find_key(self) -> tuple[str | None, str]:
        """The key and where it came from, in the documented order of precedence."""
        if self.explicit_key:
            return self.explicit_key, "set in this kernel (%aimo login or configuration)"
        if os.environ.get(ENV_API_KEY):
            return os.environ[ENV_API_KEY], f"the {ENV_API_KEY} environment variable"
        from_colab = colab_secret(ENV_API_KEY)
        if from_colab:
            return from_colab, f"Colab's secrets ({ENV_API_KEY})"
        return None, "not set"

    def require_key(self) -> str:
        from aimo_magic.core.errors import MissingKeyError

        key, _ = self.find_key()
        if not key:
            raise MissingKeyError("No AiMo API key is set", hint=NO_KEY_HINT)
        return key

    # The client ------------------------------------------------------------
    def client(self, options: ClientOptions, *, require_key: bool = True) -> Client:
        """A client for the current key and settings, reused while they stay the same.

        Listing models needs no key, so the catalogue asks with ``require_key=False``.
        """
        from aimo_magic.core.client import Client

        key = self.require_key() if require_key else self.find_key()[0]
        # The URL from the environment counts too: a restarted emulator has a new one.
        signature = (key, options, os.environ.get(ENV_BASE_URL))
        if self._client is None or self._client_signature != signature:
            if self._client is not None:
                self._client.close()
                self._catalogue = None
                self._catalogue_unavailable = False
            self._client = Client(
                key,
                base_url=options.base_url or None,
                timeout=options.timeout,
                max_retries=options.max_retries,
                on_cache_error=self.cache_unusable,
            )
            self._client_signature = signature
        if self._catalogue is not None:
            self._client.catalogue = self._catalogue
        self._client.cache = self._answer_cache
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        self.close_cache()

    # The answer cache ------------------------------------------------------
    def answer_cache(self, options: CacheOptions) -> AnswerCache | None:
        """The session's answer cache, opened on first use (so loading the extension
        pays nothing for SQLite); None while it is unusable at these options.

        The client handed out afterwards uses it, for the calls that ask for it.
        """
        from aimo_magic.core.cache import AnswerCache, CacheUnavailableError

        if self._cache_options != options:
            self.close_cache()
            self.cache_problem = None
            self._cache_options = options
        if self._answer_cache is None and self.cache_problem is None:
            try:
                self._answer_cache = AnswerCache(options.directory, max_mb=options.max_mb)
            except CacheUnavailableError as exc:
                self.cache_unusable(exc)
        return self._answer_cache

    def cache_unusable(self, exc: CacheUnavailableError) -> None:
        """One warning line; caching stays off until the cache settings change."""
        if self.cache_problem is not None:
            return
        self.cache_problem = exc
        self.close_cache()
        print(
            f"⚠ The answer cache at {exc.path} cannot be used ({exc.reason}). Caching is off "
            "for this session and cells keep working; delete that file or set "
            "AimoMagics.cache_dir to fix it.",
            file=sys.stderr,
        )

    def close_cache(self) -> None:
        if self._answer_cache is not None:
            self._answer_cache.close()
            self._answer_cache = None
        if self._client is not None:
            self._client.cache = None

    # The catalogue ---------------------------------------------------------
    def catalogue(self, options: ClientOptions, *, refresh: bool = False) -> list[Model]:
        """The model list, fetched once per session unless asked to refresh."""
        client = self.client(options, require_key=False)
        if self._catalogue is None or refresh:
            self._catalogue = client.models()
            self._catalogue_unavailable = False
        return self._catalogue

    @property
    def cached_catalogue(self) -> list[Model] | None:
        return self._catalogue

    def resolve_model(self, name: str | None) -> str:
        """An alias, or the default when no name is given, turned into a model id."""
        from aimo_magic.core.errors import AimoError

        chosen = name or self.default_model
        if not chosen:
            raise AimoError(
                "No model chosen",
                hint="Name one on the magic line (%%aimo MODEL), pick one with "
                "`%aimo use MODEL` or `%aimo select`, or set AIMO_MODEL.",
            )
        return self.aliases.get(chosen, chosen)

    def check_model(
        self, model_id: str, options: ClientOptions, *, enabled: bool = True
    ) -> ModelCheck:
        """The catalogue entry for an id, or a not-found error naming the closest ids.

        Servers that do not list their models (no ``/v1/models``, a failing or empty
        list) are not a reason to refuse: the request is sent unchecked and the
        server has the last word; the first time, ``note`` says so. An id missing
        from a list that was had is refused, since it is most likely a typo.
        """
        from aimo_magic.core.catalogue import find_model, suggest
        from aimo_magic.core.errors import AimoError, NotFoundError

        if not enabled:
            return ModelCheck()
        models: list[Model] = []
        if not self._catalogue_unavailable or self._catalogue is not None:
            try:
                models = self.catalogue(options)
            except AimoError as exc:
                return ModelCheck(note=self._unchecked(f"the model list failed: {exc}"))
        if not models:
            return ModelCheck(note=self._unchecked("the server lists no models"))
        found = find_model(models, model_id)
        if found is not None:
            return ModelCheck(*found)
        close = suggest(models, model_id)
        hint = f"Did you mean {', '.join(close)}?" if close else ""
        raise NotFoundError(
            f"Unknown model {model_id!r}",
            hint=f"{hint} See `%aimo models` for the catalogue; if the server serves "
            "models it does not list, `%config AimoMagics.check_models = False`.".strip(),
        )

    def _unchecked(self, why: str) -> str | None:
        """The line saying models could not be checked, the first time only."""
        from aimo_magic.core.secrets import redact

        self._catalogue_unavailable = True
        if self._said_unchecked:
            return None
        self._said_unchecked = True
        first_line = redact(why).splitlines()[0] if why else ""
        return (
            f"Models could not be checked ({first_line}); sending anyway, the server "
            "decides. `%aimo models --refresh` tries the list again."
        )

    # The default model -----------------------------------------------------
    @property
    def default_model(self) -> str | None:
        return self._default_model or os.environ.get(ENV_MODEL) or None

    def set_default_model(self, model_id: str | None) -> None:
        """Set the default and tell every listener (an open selector widget, say)."""
        if model_id == self._default_model:
            return
        self._default_model = model_id
        for listener in list(self._model_listeners):
            listener(model_id)

    def on_default_model(self, listener: Callable[[str | None], None]) -> Callable[[], None]:
        """Subscribe to default-model changes; returns the unsubscribe function."""
        self._model_listeners.append(listener)
        return lambda: self._model_listeners.remove(listener)


_BY_SHELL: dict[int, AimoSession] = {}


def attach_session(shell: Any, session: AimoSession) -> None:
    """Make ``session`` the one Python code in ``shell`` finds (the extension's own)."""
    _BY_SHELL[id(shell)] = session


def detach_session(shell: Any) -> None:
    _BY_SHELL.pop(id(shell), None)


def current_session() -> AimoSession | None:
    """The loaded extension's session in the running IPython, if any.

    Never imports IPython: outside IPython (a script, a dask worker) there is none.
    """
    if not _BY_SHELL or "IPython" not in sys.modules:
        return None
    shell = sys.modules["IPython"].get_ipython()
    return _BY_SHELL.get(id(shell)) if shell is not None else None
