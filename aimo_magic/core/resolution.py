"""Where a request goes, decided once: ``resolve()`` and the frozen ``Resolution`` it returns.

Every front end asks here and nowhere else: ``%%aimo`` and ``%aimo explain`` (through
``AimoSession.resolve``), ``%%aimo --each`` and ``aimo_magic.batch`` (one resolution per
batch), ``%%aimo --compare`` and ``aimo_magic.compare`` (``resolve_many``: one per model).
Each setting is taken, in order, from

1. what the call gave: ``Choices`` (explicit arguments), or an explicit client, whose
   settings are copied and whose model list is used;
2. the notebook's session (``%aimo login``, ``%config AimoMagics...``, ``%aimo use``,
   aliases), when there is one: anything with ``choices``, ``aliases`` and
   ``known_models`` (``aimo_magic.session.AimoSession``);
3. the environment (``AIMO_API_KEY``, ``AIMO_BASE_URL``, ``AIMO_TIMEOUT``, ``AIMO_MODEL``,
   Colab's secrets), then the documented defaults.

Then the model id has its alias applied and is checked against the server's model list
as ``check_models`` says (``core.model_check``). The result holds the key (masked in its
repr, never printed), the base URL and client options (``settings``), the model id, its
catalogue entry and provider offer, the note to show once when models could not be
checked, and where the answer cache lives. Clients are made from it by
``core.clients`` (sync and async twins).

Adding to it: a check of what a model can take (images, context size) is one more step
in ``_resolve`` (or in ``KnownModels.check``), returning a changed ``Resolution`` with
``dataclasses.replace``; every front end then has it, and none needs to change.

The route (``auto``, ``cheapest``, ``fastest``), ``max_price`` and the ``fallback`` models
are resolved here like every other choice; which provider serves depends on the request
itself (its prompt tokens, its ``max_tokens``), so ``Resolution.routed(messages, params)``
takes that last step once the messages are known (``core.routing``), and the hops it sets
are what ``core.fallback`` runs.

>>> where = resolve(Choices(model="DeepSeek-V3-1"))          # doctest: +SKIP
>>> where.model_id, where.settings.base_url                   # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from aimo_magic.core.routing import split_models
from aimo_magic.core.secrets import mask

if TYPE_CHECKING:
    from aimo_magic.core.budget import Budget
    from aimo_magic.core.config import Settings
    from aimo_magic.core.model_check import KnownModels
    from aimo_magic.core.pricing import PriceBasis
    from aimo_magic.core.routing import Hop
    from aimo_magic.core.types import Model, ProviderOffer

__all__ = [
    "WILDCARD",
    "Choices",
    "NotebookSession",
    "Resolution",
    "expand_models",
    "resolve",
    "resolve_many",
    "split_models",
    "unalias",
]

WILDCARD = "@*"


@dataclass(frozen=True)
class Choices:
    """What one source chose for its requests; None means "not chosen here, ask the next".

    The call's arguments and the notebook's settings are both ``Choices``; ``resolve``
    takes each setting from the first that has it.
    """

    api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None
    timeout: float | None = None
    max_retries: int | None = None
    model: str | None = None
    check_models: bool | None = None
    cache_dir: str | None = None
    cache_max_mb: float | None = None
    route: str | None = None
    max_price: float | None = None
    fallback: tuple[str, ...] | None = None
    price_unit: str | None = None
    budget: Budget | None = field(default=None, compare=False)

    def __repr__(self) -> str:
        chosen = ", ".join(
            f"{f.name}={mask(value) if f.name == 'api_key' else value!r}"
            for f in dataclasses.fields(self)
            if (value := getattr(self, f.name)) is not None
        )
        return f"Choices({chosen})"

    def over(self, later: Choices) -> Choices:
        """These choices, with the ones left open taken from ``later``."""
        merged = {}
        for f in dataclasses.fields(self):
            mine = getattr(self, f.name)
            merged[f.name] = mine if mine is not None else getattr(later, f.name)
        return Choices(**merged)


class NotebookSession(Protocol):
    """What a notebook's session gives the resolution (``AimoSession`` is one)."""

    @property
    def choices(self) -> Choices: ...

    @property
    def aliases(self) -> Mapping[str, str]: ...

    @property
    def known_models(self) -> KnownModels: ...


@dataclass(frozen=True)
class Resolution:
    """Where one request goes. Immutable; the key stays inside ``settings`` (masked repr).

    ``model_id`` is the id sent (alias applied; None only when nothing was asked of it);
    ``model`` and ``offer`` are its catalogue entry and provider, None when it was not
    checked; ``note`` is the line to show about that (once per session).
    """

    settings: Settings
    model_id: str | None = None
    model: Model | None = None
    offer: ProviderOffer | None = None
    note: str | None = None
    check_models: bool = True
    cache_dir: str | None = None
    cache_max_mb: float | None = None
    key_source: str = "not set"
    known: KnownModels | None = field(default=None, repr=False, compare=False)
    route: str = "auto"
    max_price: float | None = None
    fallback: tuple[str, ...] | None = None
    hops: tuple[Hop, ...] = ()
    """Where the request goes, in order, once ``routed`` for it: the first is sent (it
    is ``model_id``), the others take a failure that falls back (``core.fallback``)."""

    @property
    def api_key(self) -> str | None:
        return self.settings.api_key

    @property
    def base_url(self) -> str:
        return self.settings.base_url

    def require_key(self) -> str:
        """The key, or the one-line error that says how to set one. While an answer
        file is replayed no key is needed ("" then): the client answers from the file,
        and says so in one line for a request the file does not hold."""
        from aimo_magic.core.keys import require_key

        if not self.settings.api_key:
            from aimo_magic.core.answer_book import replay_in_use

            if replay_in_use() is not None:
                return ""
        return require_key(self.settings.api_key)

    def models(self, *, refresh: bool = False) -> list[Model]:
        """This server's model list (fetched once and kept); raises AimoError on failure."""
        return self._known().models(self.settings, refresh=refresh)

    @property
    def catalogue(self) -> list[Model] | None:
        """The model list if it was had already (names providers, prices answers)."""
        return self._known().listed(self.settings)

    @property
    def routes(self) -> bool:
        """Whether a route, price cap or fallback asks for more than the id as given."""
        return self.route != "auto" or self.max_price is not None or self.fallback is not None

    def routed(
        self, messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any]
    ) -> Resolution:
        """This resolution with its provider chosen for one request (``core.routing``):
        ``model_id``, ``offer`` and ``hops`` set. Fallback models are checked against the
        model list as the model was. Raises RouteError (max_price), NotFoundError."""
        from aimo_magic.core.pricing import price_basis
        from aimo_magic.core.routing import Hop, RequestSize, plan_route

        model_id = self.model_id or ""
        if not self.routes:
            return dataclasses.replace(self, hops=(Hop(model_id, self.model, self.offer),))
        catalogue = self._routing_catalogue()
        for name in self.fallback or ():
            self._known().check(name, self.settings, enabled=self.check_models)
        measured = None
        if self.route == "fastest":
            from aimo_magic.core.provider_log import log_at

            measured = log_at(self.cache_dir)
        hops = plan_route(
            model_id,
            catalogue,
            RequestSize.of(messages, params),
            route=self.route,
            max_price=self.max_price,
            fallback=self.fallback,
            measured=measured,
            base_url=self.settings.base_url,
            basis=price_basis(self.settings.price_unit, catalogue),
        )
        first = hops[0]
        return dataclasses.replace(
            self, model_id=first.model_id, model=first.model, offer=first.offer, hops=hops
        )

    def _routing_catalogue(self) -> list[Model] | None:
        from aimo_magic.core.errors import AimoError

        try:
            return self.catalogue if self.catalogue is not None else self.models()
        except AimoError:
            return None

    @property
    def price_basis(self) -> PriceBasis:
        """How listed prices are read here: the ``price_unit`` chosen, inferred from the
        model list when ``auto`` (``core.pricing``)."""
        from aimo_magic.core.pricing import price_basis

        return price_basis(self.settings.price_unit, self.catalogue)

    def _known(self) -> KnownModels:
        if self.known is not None:
            return self.known
        from aimo_magic.core.model_check import PROCESS_MODELS

        return PROCESS_MODELS


def resolve(
    given: Choices | None = None,
    session: NotebookSession | None = None,
    *,
    client: Any = None,
    for_request: bool = True,
    from_cell: bool = False,
) -> Resolution:
    """Where a request goes: from ``given``, then ``session``, then the environment.

    ``client`` is an explicit ``Client``/``AsyncClient``: its settings are used as they
    are (the session is then not asked). ``for_request=False`` describes the destination
    only (listing models, showing the default): no model is required or checked.
    ``from_cell`` words the refusals for a notebook cell rather than Python code.
    Raises AimoError (no model, unknown model) or ConfigurationError (a bad setting).
    """
    return _resolve(given or Choices(), session, client, for_request, from_cell, aliased=False)


def resolve_many(
    names: str | Iterable[str],
    session: NotebookSession | None = None,
    given: Choices | None = None,
    *,
    from_cell: bool = False,
) -> list[Resolution]:
    """One resolution per model named, for a comparison: aliases applied, ``NAME@*``
    expanded to every provider of NAME (from the model list), each id checked."""
    choices = given or Choices()
    requested = split_models(names)
    if not requested:
        raise ValueError("Name at least one model to compare.")
    aliases: Mapping[str, str] = session.aliases if session is not None else {}
    named = [unalias(name, aliases) for name in requested]
    catalogue = None
    if any(name.endswith(WILDCARD) for name in named):
        catalogue = _resolve(choices, session, None, False, from_cell, aliased=True).models()
    return [
        _resolve(dataclasses.replace(choices, model=model_id), session, None, True, from_cell, True)
        for model_id in expand_models(named, catalogue)
    ]


def _resolve(
    given: Choices,
    session: NotebookSession | None,
    client: Any,
    for_request: bool,
    from_cell: bool,
    aliased: bool,
) -> Resolution:
    """The one place the order is decided; every public function comes through here."""
    from aimo_magic.core.config import Settings, choose_model
    from aimo_magic.core.keys import find_key
    from aimo_magic.core.model_check import PROCESS_MODELS, KnownModels
    from aimo_magic.core.routing import check_max_price, check_route

    known: KnownModels = PROCESS_MODELS
    aliases: Mapping[str, str] = {}
    if client is not None:
        settings = getattr(client, "settings", None)
        if not isinstance(settings, Settings):
            raise TypeError(
                f"client must be an aimo_magic Client or AsyncClient, not {type(client).__name__}."
            )
        if client.catalogue is not None:
            known = KnownModels(models=list(client.catalogue))
        if given.price_unit is not None:
            from aimo_magic.core.pricing import check_price_unit

            settings = dataclasses.replace(settings, price_unit=check_price_unit(given.price_unit))
        chosen = given
        key_source = "the client given"
        model_name = given.model or settings.model
    else:
        if session is not None:
            given = given.over(session.choices)
            aliases = session.aliases
            known = session.known_models
        key, key_source = find_key(given.api_key)
        settings = Settings.resolve(
            api_key=key,
            base_url=given.base_url,
            timeout=given.timeout,
            max_retries=given.max_retries,
            model=given.model,
            price_unit=given.price_unit,
            budget=given.budget,
        )
        chosen = given
        model_name = settings.model
    check_models = True if chosen.check_models is None else chosen.check_models
    route = chosen.route or getattr(client, "route", None) or "auto"
    max_price = (
        chosen.max_price if chosen.max_price is not None else getattr(client, "max_price", None)
    )
    fallback = chosen.fallback if chosen.fallback is not None else getattr(client, "fallback", None)
    resolution = Resolution(
        settings,
        check_models=check_models,
        cache_dir=chosen.cache_dir,
        cache_max_mb=chosen.cache_max_mb,
        key_source=key_source,
        known=known,
        route=check_route(route),
        max_price=check_max_price(max_price),
        fallback=None if fallback is None else tuple(unalias(m, aliases) for m in fallback),
    )
    if model_name and not aliased:
        model_name = unalias(model_name, aliases)
    if not for_request:
        return dataclasses.replace(resolution, model_id=model_name)
    model_id = choose_model(model_name, from_cell=from_cell)
    found = known.check(model_id, settings, enabled=check_models, from_cell=from_cell)
    return dataclasses.replace(
        resolution, model_id=model_id, model=found.model, offer=found.offer, note=found.note
    )


def unalias(name: str, aliases: Mapping[str, str]) -> str:
    """The id an alias stands for (``ALIAS@*``: every provider of it); other names as given."""
    if name.endswith(WILDCARD):
        base = name[: -len(WILDCARD)]
        return aliases.get(base, base) + WILDCARD
    return aliases.get(name, name)


def expand_models(models: Iterable[str], catalogue: Sequence[Model] | None) -> list[str]:
    """``NAME@*`` becomes every provider of NAME (``provider_pubkey:model_name`` ids, in
    the catalogue's order); other ids are kept as they are. Repeats are dropped."""
    from aimo_magic.core.errors import NotFoundError

    listed = list(catalogue or ())
    expanded: list[str] = []
    for name in models:
        ids = [name]
        if name.endswith(WILDCARD):
            base = name[: -len(WILDCARD)]
            model = next((m for m in listed if m.name == base), None)
            if model is None or not model.providers:
                reason = "is not in the catalogue" if model is None else "lists no providers"
                raise NotFoundError(
                    f"{base!r} {reason}, so {name!r} names no provider",
                    hint="See `%aimo models` (or Client.models()) for the models and providers.",
                )
            ids = [offer.id for offer in model.providers]
        expanded.extend(i for i in ids if i not in expanded)
    return expanded
