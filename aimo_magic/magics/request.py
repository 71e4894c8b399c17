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
    from aimo_magic.core.types import Model, ProviderOffer
    from aimo_magic.magics.ask_context import AskContext, AskSettings
    from aimo_magic.magics.cell_options import CellOptions
    from aimo_magic.magics.figures import FigureMemory
    from aimo_magic.magics.fill_report import Fill

CONTEXT_SHARE = 0.75
KEY_IN_PROMPT = (
    "Refused: the prompt contains something that looks like an AiMo API key; it would "
    "be sent to the model and saved in the notebook. Remove it and run the cell again."
)
NO_PROMPT = "The cell has no prompt: write your question below the %%aimo line."


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
    OpenAI content parts (text and images). ``thread`` is None when no history
    is sent or recorded; ``new_thread`` starts it afresh once the answer is in.
    ``model`` is the catalogue entry, None when the id was not checked.
    ``fills`` says what each ``{placeholder}`` became, and ``notes`` what else the
    user should know (models not checked); both are shown, never sent or recorded.
    """

    prompt: Content
    model_id: str
    messages: tuple[Mapping[str, Any], ...]
    params: Mapping[str, Any]
    fmt: str = "markdown"
    model: Model | None = None
    offer: ProviderOffer | None = None
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

    def __post_init__(self) -> None:
        # Private, read-only copies: a caller reusing its dicts cannot rewrite a
        # request, and a request cannot rewrite the caller's dicts.
        set_field = object.__setattr__
        set_field(self, "prompt", copy.deepcopy(self.prompt))
        set_field(
            self, "messages", tuple(ReadOnlyDict(copy.deepcopy(dict(m))) for m in self.messages)
        )
        set_field(self, "params", ReadOnlyDict(copy.deepcopy(dict(self.params))))

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


def history_budget(
    settings: AskSettings, model: Model | None, params: Mapping[str, Any]
) -> int | None:
    """Tokens of history to send: the setting, else a share of the model's context."""
    if settings.history_tokens > 0:
        return settings.history_tokens
    if model is None or not model.context_length:
        return None
    reserve = int(params.get("max_tokens") or 0)
    return max(int(model.context_length * CONTEXT_SHARE) - reserve, 256)


def check_options(options: CellOptions, fmt: str) -> None:
    """Refuse options that contradict each other (ValueError, one line)."""
    if options.insert and fmt != "code":
        raise ValueError("--insert goes with -f code (it puts the answer's code in a new cell).")
    if options.no_history and options.new:
        raise ValueError("--new and --no-history contradict each other; use one of them.")


def check_prompt(prompt: Content) -> Content:
    """The prompt without surrounding blank space, if it is one that may be sent."""
    from aimo_magic.conversation.thread import check_content, content_text
    from aimo_magic.core.secrets import looks_like_key

    prompt = check_content(prompt, "the prompt")
    if isinstance(prompt, str):
        prompt = prompt.strip()
    text = content_text(prompt)
    if looks_like_key(text):
        raise ValueError(KEY_IN_PROMPT)
    if not text.strip() and not _has_non_text_part(prompt):
        raise ValueError(NO_PROMPT)
    return prompt


def _has_non_text_part(prompt: Content) -> bool:
    return not isinstance(prompt, str) and any(part.get("type") != "text" for part in prompt)


def fill_placeholders(
    prompt: Content, namespace: Mapping[str, Any], figures: FigureMemory | None = None
) -> tuple[Content, tuple[Fill, ...]]:
    """``{expr}`` placeholders replaced from the user's variables, in every text part,
    and what each one became (shown above the answer, never sent or recorded).

    A placeholder whose value is an image becomes an image part where it stood, the
    text around it kept in order (see ``magics/image_placeholders.py``).
    """
    from aimo_magic.magics.image_placeholders import ImagePlaceholders
    from aimo_magic.magics.interpolate import interpolate_with_fills

    images = ImagePlaceholders(figures)
    fills: list[Fill] = []

    def fill(text: str) -> Content:
        filled, found = interpolate_with_fills(text, namespace, render=images.text_for)
        fills.extend(images.report(one) for one in found)
        return images.content(filled)

    if isinstance(prompt, str):
        return fill(prompt), tuple(fills)
    parts: list[dict[str, Any]] = []
    for part in prompt:
        if part.get("type") != "text":
            parts.append(part)
            continue
        content = fill(str(part.get("text", "")))
        parts.extend([{**part, "text": content}] if isinstance(content, str) else content)
    return parts, tuple(fills)


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
) -> AskRequest:
    """Check everything and decide the request; raises before anything is sent or kept.

    ``namespace`` fills ``{placeholders}`` (unless ``--no-interpolate``); None
    leaves the prompt as given. The options are checked before any placeholder
    is evaluated, so a refused cell runs none of the user's expressions.
    ``fit_models`` are the catalogue entries of every model the messages go to (a
    comparison's), when not just the one the options name.
    Raises AimoError (model, key) or ValueError (options, prompt, thread name).
    """
    from aimo_magic.conversation import DEFAULT_THREAD, validate_thread_name

    session, settings = ctx.session, ctx.settings
    fmt = options.format or settings.default_format
    check_options(options, fmt)
    prompt = check_prompt(prompt)
    params = request_params(options, fmt)
    fills: tuple[Fill, ...] = ()
    if namespace is not None and not options.no_interpolate:
        prompt, fills = fill_placeholders(prompt, namespace, ctx.figures)
        prompt = check_prompt(prompt)
    model_id = session.resolve_model(options.model)
    check = session.check_model(model_id, settings.client, enabled=settings.check_models)
    models = [check.model] if fit_models is None else list(fit_models)
    thread = None if options.no_history else validate_thread_name(options.chat or DEFAULT_THREAD)
    text_only = any(m is not None and m.takes_images is False for m in models)
    messages = conversation_messages(ctx, options, thread, prompt, check.model, params, text_only)
    sent_alone = 1 + bool(messages and messages[0].get("role") == "system")
    check_fit(ctx, messages, models, with_history=len(messages) > sent_alone)
    return AskRequest(
        prompt=prompt,
        model_id=model_id,
        messages=tuple(messages),
        params=params,
        fmt=fmt,
        model=check.model,
        offer=check.offer,
        thread=thread,
        new_thread=options.new,
        system=options.system,
        cell_id=session.current_cell_id,
        stream=settings.stream and not options.no_stream,
        out=options.out,
        insert=options.insert,
        debug=options.debug,
        fills=fills,
        cache=settings.cache if options.cache is None else options.cache,
        notes=(check.note,) if check.note else (),
    )


def conversation_messages(
    ctx: AskContext,
    options: CellOptions,
    thread: str | None,
    prompt: Content,
    model: Model | None,
    params: Mapping[str, Any],
    text_only: bool = False,
) -> Sequence[Mapping[str, Any]]:
    """The system prompt, the thread's earlier turns that fit, and the new prompt.

    ``text_only``: a model it goes to takes no images, so earlier turns carry notes
    where their images were.
    """
    store = ctx.session.conversations
    if thread is None or options.new or thread not in store.names():
        # --new starts the thread afresh, but only once the answer is in (see record);
        # a thread not yet begun is made then too, so a refused cell leaves none behind.
        system = [{"role": "system", "content": options.system}] if options.system else []
        return [*system, {"role": "user", "content": prompt}]
    return store.thread(thread).messages_for(
        prompt,
        system=options.system,
        cell_id=ctx.session.current_cell_id,
        max_turns=ctx.settings.history_turns,
        max_tokens=history_budget(ctx.settings, model, params),
        image_turns=0 if text_only else ctx.settings.image_turns,
    )
