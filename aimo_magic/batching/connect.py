"""Where a batch sends its requests, with which key and model, and where its usage goes.

In order: an explicit ``client=`` (its settings are copied, never the client itself:
the batch needs its own AsyncClient on its own event loop); else, inside IPython with
the extension loaded, the notebook's session (found through ``session.current_session``,
so this layer never imports the magics) (its key from ``%aimo login``, its
settings, default model, aliases and catalogue, and ``%aimo usage`` gets the usage);
else the environment (``AIMO_API_KEY``, ``AIMO_BASE_URL``, ``AIMO_MODEL``...).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aimo_magic.core.config import Settings
from aimo_magic.core.errors import AimoError, MissingKeyError, NotFoundError

if TYPE_CHECKING:
    from aimo_magic.core.cache import AnswerCache
    from aimo_magic.core.types import Model
    from aimo_magic.session import AimoSession, CacheOptions, ClientOptions

CATALOGUE_TTL_S = 600.0
_catalogues: dict[str, tuple[float, list[Model]]] = {}
_catalogue_lock = threading.Lock()


@dataclass
class Target:
    """The resolved settings of one batch; the key stays inside ``settings`` (masked repr)."""

    settings: Settings
    catalogue: list[Model] | None = None
    session: AimoSession | None = None
    options: ClientOptions | None = None
    cache_options: CacheOptions | None = None
    aliases: dict[str, str] = field(default_factory=dict)
    default_model: str | None = None
    check_models: bool = True

    def model(self, given: str | None) -> str:
        chosen = given or self.default_model or self.settings.model
        if not chosen:
            raise AimoError(
                "No model given",
                hint="Pass model=..., set AIMO_MODEL, or in a notebook `%aimo use MODEL`.",
            )
        return self.aliases.get(chosen, chosen)

    def require_key(self) -> str:
        if not self.settings.api_key:
            from aimo_magic.session import NO_KEY_HINT

            raise MissingKeyError("No AiMo API key is set", hint=NO_KEY_HINT)
        return self.settings.api_key

    def models(self) -> list[Model]:
        """The catalogue: the client's or the session's, else fetched once per process.

        A server that lists no models (no ``/v1/models``, or one that fails) gets the
        batch anyway, unchecked and without prices; one that cannot be reached at all
        is an error, since every row would fail the same way.
        """
        from aimo_magic.core.errors import APIConnectionError

        if self.catalogue is None:
            try:
                if self.session is not None and self.options is not None:
                    self.catalogue = self.session.catalogue(self.options)
                else:
                    self.catalogue = _fetch_catalogue(self.settings)
            except APIConnectionError:
                raise
            except AimoError:
                self.catalogue = []
        return self.catalogue

    def answer_store(self, choice: Any) -> tuple[AnswerCache | None, bool]:
        """The store ``cache=`` names, and whether the batch opened it (and must close it).

        In a notebook ``True`` is the session's own store (one file: ``%aimo cache stats``
        sees the batch); elsewhere the default file. A file that cannot be used is
        reported once and the batch runs without it.
        """
        from aimo_magic.batching.stored import report_unusable
        from aimo_magic.core.cache import AnswerCache, CacheUnavailableError

        if choice is None or choice is False:
            return None, False
        if isinstance(choice, AnswerCache):
            return choice, False
        if choice is True and self.session is not None and self.cache_options is not None:
            return self.session.answer_cache(self.cache_options), False
        try:
            return AnswerCache(None if choice is True else choice), True
        except CacheUnavailableError as exc:
            report_unusable(exc, self.session)
            return None, False

    def check_model(self, model_id: str) -> None:
        """Refuse an unknown model before anything is sent, naming the closest ids."""
        from aimo_magic.core.catalogue import find_model, suggest

        if not self.check_models:
            return
        models = self.models()
        if not models or find_model(models, model_id) is not None:
            return
        close = suggest(models, model_id)
        hint = f"Did you mean {', '.join(close)}?" if close else ""
        raise NotFoundError(
            f"Unknown model {model_id!r}",
            hint=f"{hint} See `%aimo models` or Client.models() for the catalogue.".strip(),
        )


def _fetch_catalogue(settings: Settings) -> list[Model]:
    """One ``GET /v1/models`` per base URL and process (dask workers run many partitions)."""
    from aimo_magic.core.client import Client

    with _catalogue_lock:
        cached = _catalogues.get(settings.base_url)
        if cached is not None and time.monotonic() - cached[0] < CATALOGUE_TTL_S:
            return cached[1]
        with Client(
            settings.api_key, base_url=settings.base_url, timeout=settings.timeout
        ) as client:
            models = client.models()
        _catalogues[settings.base_url] = (time.monotonic(), models)
        return models


def resolve(client: Any = None) -> Target:
    """The batch's target from an explicit client, the notebook's session, or the environment."""
    if client is not None:
        settings = getattr(client, "settings", None)
        if not isinstance(settings, Settings):
            raise TypeError(
                f"client must be an aimo_magic Client or AsyncClient, not {type(client).__name__}."
            )
        return Target(settings, catalogue=client.catalogue, default_model=settings.model)
    from aimo_magic.session import current_session

    session = current_session()
    if session is None or session.settings_source is None:
        return Target(Settings.resolve())
    options, cache_options, check_models = session.settings_source()
    settings = Settings.resolve(
        api_key=session.find_key()[0],
        base_url=options.base_url,
        timeout=options.timeout,
        max_retries=options.max_retries,
    )
    return Target(
        settings,
        catalogue=session.cached_catalogue,
        session=session,
        options=options,
        cache_options=cache_options,
        aliases=dict(session.aliases),
        default_model=session.default_model,
        check_models=check_models,
    )
