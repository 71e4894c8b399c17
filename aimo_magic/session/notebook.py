"""``AimoSession``: what one kernel session knows and keeps.

The magics, the selector widget, the subcommands and Python code in the notebook
(``aimo_magic.batch``, ``aimo_magic.compare``) all read and change this one object, so a
choice made in one shows in the others. The magics keep ``configured`` up to date with
their settings (``%config AimoMagics...``); where a request goes is decided from it by
``core.resolution.resolve``, never here. It imports no IPython.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from aimo_magic.core.budget import Budget
from aimo_magic.core.config import ENV_MODEL
from aimo_magic.core.resolution import Choices
from aimo_magic.core.usage import UsageLedger

if TYPE_CHECKING:
    from aimo_magic.conversation import ConversationStore
    from aimo_magic.core.cache import AnswerCache, CacheUnavailableError
    from aimo_magic.core.client import Client
    from aimo_magic.core.clients import ClientKeeper
    from aimo_magic.core.config import Settings
    from aimo_magic.core.model_check import KnownModels
    from aimo_magic.core.pricing import PriceBasis
    from aimo_magic.core.provider_log import ProviderLog
    from aimo_magic.core.resolution import Resolution
    from aimo_magic.core.types import Model
    from aimo_magic.session.answer_store import SessionAnswerStore


class AimoSession:
    """State shared by every front end of one kernel."""

    def __init__(self) -> None:
        self.explicit_key: str | None = None
        self.configured = Choices()
        """The notebook's settings (base URL, timeout, retries, check_models, cache place
        and size), kept up to date by the magics; the key and default model are apart."""
        self.aliases: dict[str, str] = {}
        self.usage = UsageLedger()
        self.budget = Budget()
        """What this session's requests spend, and its cap (``%aimo budget``; none at
        first). Every client the session's resolutions make carries it."""
        self.current_cell_id: str | None = None
        self._conversations: ConversationStore | None = None
        self._default_model: str | None = None
        self._model_listeners: list[Callable[[str | None], None]] = []
        self._clients: ClientKeeper | None = None
        self._answers: SessionAnswerStore | None = None
        self._known_models: KnownModels | None = None

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

    # What the resolution reads -----------------------------------------------
    @property
    def choices(self) -> Choices:
        """Everything this session chose for requests: settings, key, default model, and
        its budget (so every client made for it passes the same cap)."""
        return dataclasses.replace(
            self.configured,
            api_key=self.explicit_key,
            model=self._default_model,
            budget=self.budget,
        )

    @property
    def price_basis(self) -> PriceBasis:
        """How this session reads listed prices (``price_unit``, inferred from the model
        list it has when ``auto``): the unit of every cost and of the budget it shows."""
        from aimo_magic.core.pricing import price_basis

        catalogue = self.cached_catalogue
        if catalogue is None and self._clients is not None and self._clients.current is not None:
            catalogue = self._clients.current.catalogue  # listed by the client for a budget
        return price_basis(self.configured.price_unit, catalogue)

    @property
    def known_models(self) -> KnownModels:
        """The server's model list as this session has it (fetched on first need)."""
        if self._known_models is None:
            from aimo_magic.core.model_check import KnownModels

            self._known_models = KnownModels(fetch=self._fetch_models)
        return self._known_models

    def resolve(
        self,
        model: str | None = None,
        *,
        for_request: bool = True,
        given: Choices | None = None,
    ) -> Resolution:
        """Where a cell's request for ``model`` (else the default) goes; ``given`` adds the
        cell's other choices (route, max_price, fallback); see ``core.resolution.resolve``.
        Raises AimoError (no model, unknown model)."""
        from aimo_magic.core.resolution import resolve

        chosen = dataclasses.replace(given or Choices(), model=model)
        return resolve(chosen, self, for_request=for_request, from_cell=True)

    @property
    def provider_log(self) -> ProviderLog:
        """What this user's answers measured of providers, kept with the answer cache at
        the configured place (``core.provider_log``)."""
        from aimo_magic.core.provider_log import log_at

        return log_at(self.configured.cache_dir)

    def find_key(self) -> tuple[str | None, str]:
        """The key and where it came from, in the documented order of precedence."""
        from aimo_magic.core.keys import find_key

        return find_key(self.explicit_key)

    # The client ------------------------------------------------------------
    def client(self, resolution: Resolution, *, cache: bool = False) -> Client:
        """A client for ``resolution``, reused while its settings stay the same; with
        ``cache``, the session's answer cache is opened for it first."""
        resolution.require_key()
        if cache:
            self.answer_cache(resolution)
        return self._client_for(resolution.settings)

    def _client_for(self, settings: Settings) -> Client:
        if self._clients is None:
            from aimo_magic.core.clients import ClientKeeper

            self._clients = ClientKeeper(on_cache_error=self.cache_unusable)
        client = self._clients.client(settings)
        client.provider_log = self.provider_log
        if self.known_models.cached is not None:
            client.catalogue = self.known_models.cached
        client.cache = self._answers.store if self._answers is not None else None
        return client

    def _fetch_models(self, settings: Settings) -> list[Model]:
        """Listing models needs no key: the kept client asks, with one if there is one."""
        return self._client_for(settings).models()

    def close(self) -> None:
        if self._clients is not None:
            self._clients.close()
        self.close_cache()

    # The model list ----------------------------------------------------------
    def catalogue(self, given: Choices | None = None, *, refresh: bool = False) -> list[Model]:
        """The model list, fetched once per session unless asked to refresh."""
        from aimo_magic.core.resolution import resolve

        return resolve(given, self, for_request=False).models(refresh=refresh)

    @property
    def cached_catalogue(self) -> list[Model] | None:
        return self._known_models.cached if self._known_models is not None else None

    # The answer cache ------------------------------------------------------
    def answer_cache(self, where: Resolution | None = None) -> AnswerCache | None:
        """The session's answer cache at ``where``'s place (else the configured one),
        opened on first use; None while it is unusable there. The client handed out
        afterwards uses it, for the calls that ask for it."""
        from aimo_magic.session.answer_store import SessionAnswerStore

        if self._answers is None:
            self._answers = SessionAnswerStore()
        source = where if where is not None else self.configured
        store = self._answers.open(source.cache_dir, source.cache_max_mb)
        if store is None:
            self._unplug_cache()
        return store

    @property
    def cache_problem(self) -> CacheUnavailableError | None:
        return self._answers.problem if self._answers is not None else None

    def cache_unusable(self, exc: CacheUnavailableError) -> None:
        """One warning line; caching stays off until the cache settings change."""
        from aimo_magic.session.answer_store import SessionAnswerStore

        if self._answers is None:
            self._answers = SessionAnswerStore()
        self._answers.unusable(exc)
        self._unplug_cache()

    def close_cache(self) -> None:
        if self._answers is not None:
            self._answers.close()
        self._unplug_cache()

    def _unplug_cache(self) -> None:
        client = self._clients.current if self._clients is not None else None
        if client is not None:
            client.cache = None

    # The default model -----------------------------------------------------
    @property
    def default_model(self) -> str | None:
        return self._default_model or os.environ.get(ENV_MODEL) or None

    @property
    def default_model_id(self) -> str | None:
        """The default model with an alias replaced by the id it stands for."""
        from aimo_magic.core.resolution import unalias

        default = self.default_model
        return unalias(default, self.aliases) if default else None

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
