"""The model list one server publishes, kept once fetched, and the check of an id against it.

A notebook's session keeps one ``KnownModels`` (its cells, ``%aimo models``, the selector
and its batches share the list); code outside a notebook shares ``PROCESS_MODELS``, whose
list is asked for again after ten minutes, so dask workers running many partitions ask
once. ``check`` is where an id is accepted or refused; checks of what a model can take
(images, context size) belong beside it, called from ``core.resolution``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aimo_magic.core.config import Settings
    from aimo_magic.core.errors import AimoError
    from aimo_magic.core.types import Model, ProviderOffer

Fetch = Callable[["Settings"], "list[Model]"]

PROCESS_TTL_S = 600.0
CELL_UNKNOWN_HINT = (
    "See `%aimo models` for the catalogue; if the server serves models it does not "
    "list, `%config AimoMagics.check_models = False`."
)
PYTHON_UNKNOWN_HINT = "See `%aimo models` or Client.models() for the catalogue."


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


def fetch_with_new_client(settings: Settings) -> list[Model]:
    """``GET /v1/models`` on a client made for this one request."""
    from aimo_magic.core.clients import new_client

    with new_client(settings) as client:
        return client.models()


class KnownModels:
    """One server's model list: fetched on first need, kept, and checked against.

    The list belongs to a base URL: asked about another, it forgets the old one. With
    ``ttl`` it is fetched again once that many seconds have passed.
    """

    def __init__(
        self,
        fetch: Fetch = fetch_with_new_client,
        *,
        ttl: float | None = None,
        models: list[Model] | None = None,
    ) -> None:
        self._fetch = fetch
        self._ttl = ttl
        self._models = models
        self._base_url: str | None = None
        self._fetched_at = time.monotonic()
        self._unavailable = False  # for this base URL: cells stop asking
        self._said_unchecked = False
        self._lock = threading.Lock()

    def __deepcopy__(self, memo: dict[int, Any]) -> KnownModels:
        """Shared, never copied: a copy of a request still reads its session's list."""
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        """A pickled request takes no memory along: unpickled, it starts an empty one."""
        return (KnownModels, ())

    def __repr__(self) -> str:
        count = "not fetched" if self._models is None else f"{len(self._models)} models"
        return f"KnownModels({self._base_url!r}, {count})"

    @property
    def cached(self) -> list[Model] | None:
        """The list as last fetched, without asking the server."""
        return self._models

    def listed(self, settings: Settings) -> list[Model] | None:
        """The kept list if it is this server's, without asking the server."""
        self._follow(settings)
        return self._models

    def _follow(self, settings: Settings) -> None:
        """Forget the list of another server, or one kept longer than ``ttl``."""
        if self._base_url is None:
            self._base_url = settings.base_url
            return
        expired = self._ttl is not None and time.monotonic() - self._fetched_at >= self._ttl
        if self._base_url != settings.base_url or expired:
            self._base_url = settings.base_url
            self._models = None
            self._unavailable = False

    def models(self, settings: Settings, *, refresh: bool = False) -> list[Model]:
        """The list, fetched once (or again with ``refresh``); raises AimoError on failure."""
        with self._lock:
            self._follow(settings)
            if self._models is None or refresh:
                self._models = self._fetch(settings)
                self._fetched_at = time.monotonic()
                self._unavailable = False
            return self._models

    def check(
        self, model_id: str, settings: Settings, *, enabled: bool = True, from_cell: bool = True
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
        self._follow(settings)
        models: list[Model] = []
        if not self._unavailable or self._models is not None:
            try:
                models = self.models(settings)
            except AimoError as exc:
                return ModelCheck(note=self._unchecked(_list_failure(exc)))
        if not models:
            return ModelCheck(note=self._unchecked("the server lists no models"))
        found = find_model(models, model_id)
        if found is not None:
            return ModelCheck(*found)
        close = suggest(models, model_id)
        hint = f"Did you mean {', '.join(close)}?" if close else ""
        where = CELL_UNKNOWN_HINT if from_cell else PYTHON_UNKNOWN_HINT
        raise NotFoundError(f"Unknown model {model_id!r}", hint=f"{hint} {where}".strip())

    def _unchecked(self, why: str) -> str | None:
        """The line saying models could not be checked, the first time only."""
        from aimo_magic.core.secrets import redact

        self._unavailable = True
        if self._said_unchecked:
            return None
        self._said_unchecked = True
        first_line = redact(why).splitlines()[0] if why else ""
        return (
            f"Models could not be checked ({first_line}); sending anyway, the server "
            "decides. `%aimo models --refresh` tries the list again."
        )


# Statuses of a server that has no model list at all (rather than one that failed).
NO_LIST_STATUSES = (404, 405, 501)


def _list_failure(error: AimoError) -> str:
    """Why the list could not be had, without the error's hint: that hint says to list
    the models, which is what just failed."""
    status = f" (HTTP {error.status})" if error.status else ""
    if error.status in NO_LIST_STATUSES:
        return f"this server lists no models: its model list answered HTTP {error.status}"
    return f"the model list failed: {error.detail}{status}"


PROCESS_MODELS = KnownModels(ttl=PROCESS_TTL_S)
"""The list shared by code that runs outside a notebook's session (scripts, dask workers)."""
