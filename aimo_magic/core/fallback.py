"""One request through its hops: the chosen provider, then where it falls back to.

``core.routing`` decides the hops; this runs them on a client (sync or async, whole or
streamed). Each hop gets the client's own retries first; a failure that another provider
or model may not share (a server error or timeout after its retries, a 429 that outlasted
them, a provider or model that is gone: ``falls_back``) moves the same request to the
next hop. Failures that would fail anywhere (a bad key, no balance, a bad request) end it
at once. Every move is told to ``on_fallback`` as a ``FellBack``; a stream also yields it
in band, as the restart it is when text had already arrived (the stream contract:
joining the text after the last ``StreamRestart`` gives ``result.text``).

The answer's ``route`` says why its provider was chosen and what failed before it; every
answer and failure of a listed provider is measured into the client's ``provider_log``
(what ``fastest`` ranks by, and what ``%aimo providers`` shows).
"""

from __future__ import annotations

import dataclasses
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterator,
    Sequence,
)
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from aimo_magic.core.errors import (
    AimoError,
    AuthenticationError,
    InvalidRequestError,
    MissingKeyError,
    NotFoundError,
    PaymentError,
)
from aimo_magic.core.retry import StreamRestart, is_retryable

if TYPE_CHECKING:
    from aimo_magic.core.config import Settings
    from aimo_magic.core.protocol import Messages
    from aimo_magic.core.provider_log import ProviderLog
    from aimo_magic.core.retry import RetryHook
    from aimo_magic.core.routing import Hop
    from aimo_magic.core.types import ChatResult, Model

FallbackHook = Callable[["FellBack"], Any]
# What a stream yields: ``str``, or ``str | StreamRestart`` for one opened with restart=True.
Yielded = TypeVar("Yielded", covariant=True)


class Measured(Protocol):
    """What both twins give a run: what to measure with, and a stream of exactly one
    model id (``Client``, ``AsyncClient``: their ``stream_direct``)."""

    catalogue: list[Model] | None
    settings: Settings
    provider_log: ProviderLog | None

    def stream_direct(
        self, messages: str | Messages, *, model: str | None, restart: bool, **o: Any
    ) -> Any: ...


class Client(Measured, Protocol):
    """The sync client's surface a run needs: one try of exactly one model id."""

    def chat_direct(
        self, messages: str | Messages, *, model: str | None, **o: Any
    ) -> ChatResult: ...


class AsyncClient(Measured, Protocol):
    """The async client's surface a run needs."""

    async def chat_direct(
        self, messages: str | Messages, *, model: str | None, **o: Any
    ) -> ChatResult: ...


def falls_back(error: BaseException) -> bool:
    """Whether another provider or model may answer where this failure happened."""
    if not isinstance(error, AimoError):
        return False
    if isinstance(error, (AuthenticationError, PaymentError, InvalidRequestError, MissingKeyError)):
        return False
    return isinstance(error, NotFoundError) or is_retryable(error)


@dataclass(frozen=True)
class FellBack(StreamRestart):
    """The request moved from ``failed`` to ``trying`` because of ``reason``.

    A ``StreamRestart``: what a stream yielded before it (``discarded_text``, possibly
    empty) is void, and what follows is the next hop's answer from its start.
    """

    failed: str = ""
    trying: str = ""

    @property
    def notice(self) -> str:
        """The one line a display shows about it."""
        return f"↪ {self.failed} failed ({self.reason}); asking {self.trying}…"


@dataclass
class Trail:
    """What happened on the way: the hops that failed (and why), the one that answered."""

    failures: list[tuple[Hop, str]] = field(default_factory=list)
    answered: Hop | None = None

    def note(self) -> str | None:
        """Why the answering provider was chosen, and what failed before it; None when
        there is nothing to say (AiMo's routing, first time)."""
        parts = [self.answered.why] if self.answered is not None and self.answered.why else []
        if self.failures:
            failed = "; ".join(f"{hop.label} failed ({why})" for hop, why in self.failures)
            parts.append(f"after {failed}")
        return ", ".join(parts) or None


def _reason(error: AimoError) -> str:
    status = f"HTTP {error.status}: " if error.status else ""
    words = error.detail if len(error.detail) <= 80 else error.detail[:79] + "…"
    return f"{status}{words}"


def _move(trail: Trail, hops: Sequence[Hop], index: int, error: AimoError, shown: str) -> FellBack:
    """Record the failure of hop ``index`` and say where the request goes next."""
    hop = hops[index]
    reason = _reason(error)
    trail.failures.append((hop, reason))
    return FellBack(
        attempt=index + 1,
        max_retries=len(hops) - 1,
        reason=reason,
        discarded_text=shown,
        failed=hop.label,
        trying=hops[index + 1].label,
    )


def _answered(client: Measured, trail: Trail, hop: Hop, result: ChatResult) -> ChatResult:
    trail.answered = hop
    _measure(client, [result], trail)
    note = trail.note()
    return dataclasses.replace(result, route=note) if note else result


def _measure(client: Measured, results: Sequence[ChatResult], trail: Trail) -> None:
    """Answers and failures of listed providers into the client's provider log, if any."""
    log = getattr(client, "provider_log", None)
    if log is None:
        return
    from aimo_magic.core.provider_log import answer_outcome, failure_outcome

    catalogue = client.catalogue
    outcomes = [answer_outcome(result, catalogue) for result in results]
    outcomes += [failure_outcome(hop.model_id, catalogue) for hop, _ in trail.failures]
    log.record(client.settings.base_url, outcomes)


def _last_chance(error: AimoError, hops: Sequence[Hop], index: int) -> bool:
    return index + 1 >= len(hops) or not falls_back(error)


def chat(
    client: Client,
    hops: Sequence[Hop],
    messages: str | Messages,
    *,
    on_retry: RetryHook | None = None,
    on_fallback: FallbackHook | None = None,
    **options: Any,
) -> ChatResult:
    """One whole answer from the first hop that gives one; raises the last failure."""
    trail = Trail()
    for index, hop in enumerate(hops):
        try:
            result = client.chat_direct(messages, model=hop.model_id, on_retry=on_retry, **options)
        except AimoError as error:
            _fall_back(client, trail, hops, index, error, "", on_fallback)
            continue
        return _answered(client, trail, hop, result)
    raise AssertionError("a request has at least one hop")


async def achat(
    client: AsyncClient,
    hops: Sequence[Hop],
    messages: str | Messages,
    *,
    on_retry: RetryHook | None = None,
    on_fallback: FallbackHook | None = None,
    **options: Any,
) -> ChatResult:
    """The async twin of ``chat``."""
    trail = Trail()
    for index, hop in enumerate(hops):
        try:
            result = await client.chat_direct(
                messages, model=hop.model_id, on_retry=on_retry, **options
            )
        except AimoError as error:
            _fall_back(client, trail, hops, index, error, "", on_fallback)
            continue
        return _answered(client, trail, hop, result)
    raise AssertionError("a request has at least one hop")


class _HopsStream:
    """What both stream twins hold: the client, the hops, the request, the hooks."""

    def __init__(
        self,
        client: Client | AsyncClient,
        hops: Sequence[Hop],
        messages: str | Messages,
        *,
        on_retry: RetryHook | None,
        on_fallback: FallbackHook | None,
        restart: bool,
        options: dict[str, Any],
    ) -> None:
        self._client = client
        self._hops = hops
        self._messages = messages
        self._on_retry = on_retry
        self._on_fallback = on_fallback
        self._restart = restart
        self._options = options
        self.result: ChatResult | None = None

    def _broke(self, trail: Trail, index: int, error: AimoError, shown: str) -> FellBack | None:
        """Hop ``index`` failed after showing ``shown``: the move to the next hop, to
        yield in band (None without ``restart``); raises ``error`` when there is none, or
        when text was shown and the caller did not opt in to restarts."""
        if shown and not self._restart:  # never restarted behind its back
            _measure(self._client, [], trail)
            raise error
        moved = _fall_back(self._client, trail, self._hops, index, error, shown, self._on_fallback)
        return moved if self._restart else None


class FallbackStream(_HopsStream, Generic[Yielded]):
    """A stream over the hops: text deltas and, with ``restart=True``, ``StreamRestart``
    (a hop's own restart) and ``FellBack`` (a move to the next hop); ``.result`` once done.

    Without ``restart``, a move happens only before any text was yielded: a break after
    text ends the stream as a client's stream does (``IncompleteStreamError``).
    """

    _client: Client
    _iterator: Generator[Any, None, None] | None = None

    def __enter__(self) -> FallbackStream[Yielded]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Yielded]:
        if self._iterator is None:
            self._iterator = self._run()
        return self._iterator

    def close(self) -> None:
        """Drop the connection at once (the hop's stream is closed with the iterator)."""
        if self._iterator is not None:
            self._iterator.close()

    def until_done(self) -> ChatResult:
        for _ in self:
            pass
        assert self.result is not None
        return self.result

    def _run(self) -> Generator[Any, None, None]:
        client, hops, trail = self._client, self._hops, Trail()
        for index, hop in enumerate(hops):
            shown: list[str] = []
            stream = client.stream_direct(
                self._messages,
                model=hop.model_id,
                on_retry=self._on_retry,
                restart=self._restart,
                **self._options,
            )
            try:
                with stream:
                    for delta in stream:
                        _follow(shown, delta)
                        yield delta
            except AimoError as error:
                moved = self._broke(trail, index, error, "".join(shown))
                if moved is not None:
                    yield moved
                continue
            assert stream.result is not None
            self.result = _answered(client, trail, hop, stream.result)
            return


class AsyncFallbackStream(_HopsStream, Generic[Yielded]):
    """The async twin of ``FallbackStream``; ``plan``, when given, decides the hops as
    the stream starts (what they depend on may need a request first: the catalogue)."""

    _client: AsyncClient
    _iterator: AsyncGenerator[Any, None] | None = None

    def __init__(
        self,
        *args: Any,
        plan: Callable[[], Awaitable[Sequence[Hop]]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._planner = plan

    async def __aenter__(self) -> AsyncFallbackStream[Yielded]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __aiter__(self) -> AsyncIterator[Yielded]:
        if self._iterator is None:
            self._iterator = self._run()
        return self._iterator

    async def aclose(self) -> None:
        if self._iterator is not None:
            await self._iterator.aclose()

    async def until_done(self) -> ChatResult:
        async for _ in self:
            pass
        assert self.result is not None
        return self.result

    async def _run(self) -> AsyncGenerator[Any, None]:
        if self._planner is not None:
            self._hops = await self._planner()
        client, hops, trail = self._client, self._hops, Trail()
        for index, hop in enumerate(hops):
            shown: list[str] = []
            stream = client.stream_direct(
                self._messages,
                model=hop.model_id,
                on_retry=self._on_retry,
                restart=self._restart,
                **self._options,
            )
            try:
                async with stream:
                    async for delta in stream:
                        _follow(shown, delta)
                        yield delta
            except AimoError as error:
                moved = self._broke(trail, index, error, "".join(shown))
                if moved is not None:
                    yield moved
                continue
            assert stream.result is not None
            self.result = _answered(client, trail, hop, stream.result)
            return


def _follow(shown: list[str], delta: Any) -> None:
    """Keep the text yielded since the stream began or last restarted."""
    if isinstance(delta, StreamRestart):
        shown.clear()
    else:
        shown.append(delta)


def _fall_back(
    client: Measured,
    trail: Trail,
    hops: Sequence[Hop],
    index: int,
    error: AimoError,
    shown: str,
    on_fallback: FallbackHook | None,
) -> FellBack:
    """The move after hop ``index`` failed, told to ``on_fallback``; raises ``error``
    when there is no next hop or the failure would fail anywhere."""
    if _last_chance(error, hops, index):
        _measure(client, [], trail)
        raise error
    moved = _move(trail, hops, index, error, shown)
    if on_fallback is not None:
        on_fallback(moved)
    return moved


class StickyHops:
    """A client whose ``chat`` and ``stream`` go through fixed hops, for requests that
    belong together (the steps of a tool loop): each starts at the hop that answered the
    one before, so a conversation that fell back stays where it landed instead of
    asking a failed provider again at every step, and every answer after the move keeps
    its ``route`` note (what failed, and why it is here). ``model`` is ignored: the hops
    say where each request goes."""

    def __init__(
        self, client: Client, hops: Sequence[Hop], on_fallback: FallbackHook | None = None
    ) -> None:
        self._client = client
        self._hops = tuple(hops)
        self._on_fallback = on_fallback
        self._at = 0
        self._landed_note: str | None = None

    def _moved(self, moved: FellBack) -> None:
        self._at += 1  # a move always goes to the very next hop
        if self._on_fallback is not None:
            self._on_fallback(moved)

    def _landed(self, result: ChatResult, started_at: int) -> ChatResult:
        if self._at != started_at:
            self._landed_note = result.route
        elif self._landed_note is not None:
            result = dataclasses.replace(result, route=self._landed_note)
        return result

    def chat(
        self,
        messages: str | Messages,
        *,
        model: str | None = None,
        on_retry: RetryHook | None = None,
        **options: Any,
    ) -> ChatResult:
        started_at = self._at
        result = chat(
            self._client,
            self._hops[started_at:],
            messages,
            on_retry=on_retry,
            on_fallback=self._moved,
            **options,
        )
        return self._landed(result, started_at)

    def stream(
        self,
        messages: str | Messages,
        *,
        model: str | None = None,
        on_retry: RetryHook | None = None,
        restart: bool = False,
        **options: Any,
    ) -> FallbackStream[Any]:
        return _StickyStream(
            self,
            self._client,
            self._hops[self._at :],
            messages,
            on_retry=on_retry,
            on_fallback=self._moved,
            restart=restart,
            options=options,
        )


class _StickyStream(FallbackStream[Any]):
    """A ``FallbackStream`` whose result ``StickyHops`` settles (where it landed)."""

    def __init__(self, sticky: StickyHops, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sticky = sticky
        self._started_at = sticky._at

    def _run(self) -> Generator[Any, None, None]:
        yield from super()._run()
        assert self.result is not None
        self.result = self._sticky._landed(self.result, self._started_at)
