"""From options and a prompt to one immutable request: everything decided before sending.

``build_request`` refuses everything that can be refused before anything is sent or
recorded. The request it returns is frozen, and holds copies of what it was given,
so sending it, rendering it and recording it cannot change it, and several can be
built from one set of options (one per model, one per row) without interfering.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from aimo_magic.conversation import Content
    from aimo_magic.core.resolution import Choices, Resolution
    from aimo_magic.core.routing import Hop
    from aimo_magic.core.tools import Tool
    from aimo_magic.core.types import Model, ProviderOffer
    from aimo_magic.magics.ask_context import AskContext
    from aimo_magic.magics.cell_options import CellOptions
    from aimo_magic.magics.fill_report import Fill

DEFAULT_MAX_STEPS = 8


class ReadOnlyDict(dict[str, Any]):
    """A dict that refuses changes, yet still copies, pickles and serialises as JSON."""

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("a request's parameters and messages cannot be changed; use replace()")

    __setitem__ = __delitem__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __ior__(self, other: Any) -> NoReturn:  # type: ignore[misc]
        self._refuse()

    def __reduce__(self) -> tuple[Any, ...]:
        return (ReadOnlyDict, (dict(self),))

    def __deepcopy__(self, memo: dict[int, Any]) -> ReadOnlyDict:
        return ReadOnlyDict(copy.deepcopy(dict(self), memo))


@dataclass(frozen=True)
class AskRequest:
    """One request to one model, and what to do with its answer.

    ``prompt`` is the user message as sent and as recorded: text, or a list of
    OpenAI content parts (text and images). ``resolution`` is where it goes (key,
    base URL, ``model_id``, its catalogue entry ``model``), decided by
    ``core.resolution``; another ``model_id`` given alone is sent unchecked. ``thread``
    is None when no history is sent or recorded; ``new_thread`` starts it afresh once
    the answer is in. ``fills`` says what each ``{placeholder}`` became, and ``notes``
    what else the user should know (models not checked); both are shown, never sent
    or recorded.
    """

    prompt: Content
    model_id: str
    resolution: Resolution
    messages: tuple[Mapping[str, Any], ...]
    params: Mapping[str, Any]
    fmt: str = "markdown"
    thread: str | None = None
    new_thread: bool = False
    system: str | None = None
    cell_id: str | None = None
    stream: bool = True
    out: str | None = None
    insert: bool = False
    debug: bool = False
    fills: tuple[Fill, ...] = ()
    cache: bool = False
    notes: tuple[str, ...] = ()
    tools: tuple[Tool, ...] = ()
    max_steps: int = 8
    approve_all: bool = False

    def __post_init__(self) -> None:
        # Private, read-only copies: a caller reusing its dicts cannot rewrite a
        # request, and a request cannot rewrite the caller's dicts.
        set_field = object.__setattr__
        set_field(self, "prompt", copy.deepcopy(self.prompt))
        set_field(
            self, "messages", tuple(ReadOnlyDict(copy.deepcopy(dict(m))) for m in self.messages)
        )
        set_field(self, "params", ReadOnlyDict(copy.deepcopy(dict(self.params))))
        if self.resolution.model_id != self.model_id:
            unchecked = dataclasses.replace(
                self.resolution, model_id=self.model_id, model=None, offer=None, note=None, hops=()
            )
            set_field(self, "resolution", unchecked)

    @property
    def model(self) -> Model | None:
        """The catalogue entry of the model, None when the id was not checked."""
        return self.resolution.model

    @property
    def offer(self) -> ProviderOffer | None:
        return self.resolution.offer

    @property
    def hops(self) -> tuple[Hop, ...]:
        """Where it goes, in order (``Resolution.routed``): its provider first, then
        where a failure falls back; the model id alone when it was not routed."""
        from aimo_magic.core.routing import Hop

        return self.resolution.hops or (Hop(self.model_id, self.model, self.offer),)

    def message_list(self) -> list[dict[str, Any]]:
        """The messages as the client sends them: fresh, mutable copies."""
        return [copy.deepcopy(dict(message)) for message in self.messages]

    def param_dict(self) -> dict[str, Any]:
        """The API parameters as a fresh dict (for the client, metadata and history)."""
        return copy.deepcopy(dict(self.params))

    def replace(self, **changes: Any) -> AskRequest:
        """A copy with some fields changed (another model, another prompt...)."""
        return dataclasses.replace(self, **changes)


def request_params(options: CellOptions, fmt: str) -> dict[str, Any]:
    """The API parameters the options ask for; ``-p`` first, named options win."""
    from aimo_magic.magics.params import parse_params

    params = parse_params(options.param)
    if options.temperature is not None:
        params["temperature"] = options.temperature
    if options.max_tokens is not None:
        params["max_tokens"] = options.max_tokens
    if fmt == "json" and "response_format" not in params:
        params["response_format"] = {"type": "json_object"}
    return params


def routing_choices(options: CellOptions) -> Choices:
    """The cell's route, price cap and fallback models (unset: the session's)."""
    from aimo_magic.core.resolution import Choices, split_models
    from aimo_magic.core.routing import check_max_price

    fallback = None if options.fallback is None else tuple(split_models(options.fallback))
    return Choices(
        route=options.route, max_price=check_max_price(options.max_price), fallback=fallback
    )


def check_options(options: CellOptions, fmt: str) -> None:
    """Refuse options that contradict each other (ValueError, one line)."""
    if options.insert and fmt != "code":
        raise ValueError("--insert goes with -f code (it puts the answer's code in a new cell).")
    if options.no_history and options.new:
        raise ValueError("--new and --no-history contradict each other; use one of them.")
    if options.tools is None and (options.max_steps is not None or options.approve):
        option = "--max-steps" if options.max_steps is not None else "--approve"
        raise ValueError(f"{option} goes with --tools NAME[,NAME...]; add --tools or drop it.")
    if options.max_steps is not None and options.max_steps < 1:
        raise ValueError(f"--max-steps {options.max_steps}: give 1 or more (default 8).")


def check_fit(
    ctx: AskContext,
    messages: Sequence[Mapping[str, Any]],
    models: Sequence[Model | None],
    *,
    with_history: bool,
) -> None:
    """Refuse, before sending, a request some of its models cannot take: images for a
    model listed as text only, a prompt larger than a model's listed context.

    A model the catalogue does not describe (not checked, or ``takes_images`` and
    ``context_length`` not listed) passes, and the server decides.
    """
    from aimo_magic.core.model_fit import refuse_what_does_not_fit

    what = "The prompt, with the history that would go with it," if with_history else "The prompt"
    refuse_what_does_not_fit(models, messages, ctx.session.cached_catalogue or [], what=what)


def build_request(
    ctx: AskContext,
    options: CellOptions,
    prompt: Content,
    *,
    namespace: Mapping[str, Any] | None = None,
    fit_models: Sequence[Model | None] | None = None,
    resolution: Resolution | None = None,
) -> AskRequest:
    """Check everything and decide the request; raises before anything is sent or kept.

    ``namespace`` fills ``{placeholders}`` (unless ``--no-interpolate``); None
    leaves the prompt as given. The options are checked before any placeholder
    is evaluated, so a refused cell runs none of the user's expressions.
    ``fit_models`` are the catalogue entries of every model the messages go to (a
    comparison's), when not just the one the options name. ``resolution`` is where the
    request goes when the caller resolved it already (a comparison's model), else the
    session resolves ``options.model``.
    Raises AimoError (model, key) or ValueError (options, prompt, thread name).
    """
    from aimo_magic.conversation import DEFAULT_THREAD, validate_thread_name
    from aimo_magic.magics.prompt_fill import fill_prompt
    from aimo_magic.magics.prompt_messages import prompt_messages
    from aimo_magic.magics.tool_names import offered_tools

    session, settings = ctx.session, ctx.settings
    fmt = options.format or settings.default_format
    check_options(options, fmt)
    params = request_params(options, fmt)
    routing = routing_choices(options)
    tools = offered_tools(
        options.tools if options.tools is not None else settings.tools, namespace or {}
    )
    filled = fill_prompt(prompt, None if options.no_interpolate else namespace, ctx.figures)
    where = resolution if resolution is not None else session.resolve(options.model, given=routing)
    models = [where.model] if fit_models is None else list(fit_models)
    thread = None if options.no_history else validate_thread_name(options.chat or DEFAULT_THREAD)
    messages = prompt_messages(
        ctx,
        filled.content,
        thread=thread,
        new=options.new,
        system=options.system,
        model=where.model,
        params=params,
        text_only=any(m is not None and m.takes_images is False for m in models),
    )
    sent_alone = 1 + bool(messages and messages[0].get("role") == "system")
    check_fit(ctx, messages, models, with_history=len(messages) > sent_alone)
    where = where.routed(messages, params)
    return AskRequest(
        prompt=filled.content,
        model_id=where.model_id or "",
        resolution=where,
        messages=tuple(messages),
        params=params,
        fmt=fmt,
        thread=thread,
        new_thread=options.new,
        system=options.system,
        cell_id=session.current_cell_id,
        stream=settings.stream and not options.no_stream,
        out=options.out,
        insert=options.insert,
        debug=options.debug,
        fills=filled.fills,
        cache=settings.cache if options.cache is None else options.cache,
        notes=(where.note,) if where.note else (),
        tools=tools,
        max_steps=options.max_steps or DEFAULT_MAX_STEPS,
        approve_all=options.approve == "all",
    )
