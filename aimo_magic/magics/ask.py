"""One ``%%aimo`` cell: check the input, send it, stream the answer, record the turn.

Everything that can be refused is refused before anything is sent, and history
changes only once an answer is complete (or deliberately kept as partial).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from aimo_magic.core.errors import AimoError, IncompleteStreamError
from aimo_magic.core.images import count_images, image_parts
from aimo_magic.magics.failures import AnswerInterrupted, CellFailed
from aimo_magic.magics.images import ImagePlaceholders, refusal
from aimo_magic.magics.interpolate import InterpolationError, interpolate
from aimo_magic.magics.params import ParamError, parse_params

if TYPE_CHECKING:
    from argparse import Namespace

    from aimo_magic.conversation import Content, Thread
    from aimo_magic.core.base import RetryEvent
    from aimo_magic.core.types import ChatResult, Model, ProviderOffer
    from aimo_magic.magics.magics import AimoMagics
    from aimo_magic.rendering.footer import FooterInfo
    from aimo_magic.rendering.live import LiveAnswer

KEY_ON_LINE = (
    "Refused: an API key on the magic line would be saved in the notebook. "
    "Run `%aimo login` (hidden prompt) or set AIMO_API_KEY instead."
)
CONTEXT_SHARE = 0.75


def fail(magics: AimoMagics, message: str) -> CellFailed | UsageError:
    """The exception that ends a cell with one line, whichever way errors are shown."""
    return CellFailed(message) if magics.short_errors else UsageError(message)


@dataclass
class Request:
    """Everything decided before sending: nothing here has touched history yet."""

    args: Namespace
    prompt: Content
    model_id: str
    model: Model
    offer: ProviderOffer | None
    thread: Thread | None
    messages: list[dict[str, Any]]
    params: dict[str, Any]
    fmt: str
    cell_id: str | None


def parse_line(magics: AimoMagics, line: str) -> Namespace:
    if "aimo-sk-" in line:
        raise fail(magics, KEY_ON_LINE)
    try:
        argv = shlex.split(line)
    except ValueError as exc:
        raise fail(magics, f"Could not read the magic line ({exc}); check its quotes.") from None
    # IPython's own parse_argstring keeps the quotes; a shell would not.
    return magics.aimo.parser.parse_args(argv)


def request_params(args: Namespace, fmt: str) -> dict[str, Any]:
    params = parse_params(args.param)
    if args.temperature is not None:
        params["temperature"] = args.temperature
    if args.max_tokens is not None:
        params["max_tokens"] = args.max_tokens
    if fmt == "json" and "response_format" not in params:
        params["response_format"] = {"type": "json_object"}
    return params


def history_budget(magics: AimoMagics, model: Model, params: dict[str, Any]) -> int | None:
    """Tokens of history to send: the setting, else a share of the model's context."""
    if magics.history_tokens > 0:
        return magics.history_tokens
    if not model.context_length:
        return None
    reserve = int(params.get("max_tokens") or 0)
    return max(int(model.context_length * CONTEXT_SHARE) - reserve, 256)


def prepare(magics: AimoMagics, line: str, cell: str) -> Request:
    """Validate everything and build the request; raises before anything is sent."""
    args = parse_line(magics, line)
    session = magics.session
    fmt = args.format or magics.default_format
    if args.insert and fmt != "code":
        raise fail(magics, "--insert goes with -f code (it puts the answer's code in a new cell).")
    if args.no_history and args.new:
        raise fail(magics, "--new and --no-history contradict each other; use one of them.")
    prompt = cell.strip()
    if "aimo-sk-" in prompt:
        raise fail(
            magics,
            "Refused: the prompt contains something that looks like an AiMo API key; it would "
            "be sent to the model and saved in the notebook. Remove it and run the cell again.",
        )
    if not prompt:
        raise fail(magics, "The cell has no prompt: write your question below the %%aimo line.")
    params = request_params(args, fmt)
    placeholders = ImagePlaceholders(magics.figures)
    if not args.no_interpolate:
        namespace = magics.shell.user_ns if magics.shell else {}
        prompt = interpolate(prompt, namespace, render=placeholders.text_for)
    content = placeholders.content(prompt)
    model_id = session.resolve_model(args.model)
    model, offer = session.check_model(model_id, magics.client_options())
    if placeholders.images and model.takes_images is False:
        raise fail(magics, refusal(model, session.cached_catalogue or [], len(placeholders.images)))
    thread = None
    if not args.no_history:
        from aimo_magic.conversation import validate_thread_name

        validate_thread_name(args.chat)
        thread = session.conversations.thread(args.chat)
    cell_id = session.current_cell_id
    if thread is None or args.new:
        # --new starts the thread afresh, but only once the answer is in (see record).
        messages = ([{"role": "system", "content": args.system}] if args.system else []) + [
            {"role": "user", "content": content}
        ]
    else:
        messages = thread.messages_for(
            content,
            system=args.system,
            cell_id=cell_id,
            max_turns=magics.history_turns,
            max_tokens=history_budget(magics, model, params),
            # A text-only model gets earlier turns with notes where their images were.
            image_turns=0 if model.takes_images is False else magics.image_turns,
        )
    return Request(args, content, model_id, model, offer, thread, messages, params, fmt, cell_id)


def ask(magics: AimoMagics, line: str, cell: str) -> None:
    """The cell magic: any failure ends in one line unless ``--debug`` asks for more."""
    debug = "--debug" in line.split()
    try:
        request = prepare(magics, line, cell)
    except (AimoError, ParamError, InterpolationError, ValueError) as exc:
        if debug:
            raise
        raise fail(magics, str(exc)) from None
    except KeyboardInterrupt:
        raise AnswerInterrupted("stopped before anything was sent.") from None
    Exchange(magics, request).run()


class Exchange:
    """Sending one request and showing its answer as it arrives."""

    def __init__(self, magics: AimoMagics, request: Request) -> None:
        from aimo_magic.rendering.live import LiveAnswer

        self.magics = magics
        self.request = request
        self.live: LiveAnswer = LiveAnswer(
            fmt=request.fmt,
            min_interval=1.0 / max(magics.render_rate, 0.5),
            metadata=self.provenance(None),
        )

    def provenance(self, result: ChatResult | None) -> dict[str, Any]:
        request = self.request
        record: dict[str, Any] = {
            "model": result.model if result else request.model_id,
            "requested_model": request.model_id,
            "params": request.params,
            "thread": request.args.chat if request.thread is not None else None,
        }
        if result is not None:
            record["provider"] = result.provider
            record["usage"] = result.usage.as_dict() if result.usage else None
            record["finish_reason"] = result.finish_reason
        return {"aimo": record}

    def on_retry(self, event: RetryEvent) -> None:
        self.live.reset(
            f"⟳ {event.reason}: retrying (attempt {event.attempt} of {event.max_retries})…"
        )

    def run(self) -> None:
        from aimo_magic.rendering.warmup import wait_until_warm, warm_up_in_background

        magics, request = self.magics, self.request
        debug = request.args.debug
        warm_up_in_background()
        self.live.show_images(image_parts(request.prompt))
        try:
            client = magics.session.client(magics.client_options())
            if request.args.no_stream or not magics.stream:
                result = client.chat(request.messages, model=request.model_id, **request.params)
                wait_until_warm()
                self.live.append(result.text)
            else:
                with client.stream(
                    request.messages,
                    model=request.model_id,
                    on_retry=self.on_retry,
                    **request.params,
                ) as stream:
                    deltas = iter(stream)
                    first = next(deltas, "")
                    wait_until_warm()
                    self.live.append(first)
                    for delta in deltas:
                        self.live.append(delta)
                    assert stream.result is not None
                    result = stream.result
        except KeyboardInterrupt:
            wait_until_warm()
            self.interrupted()
            raise AnswerInterrupted(
                "the answer was stopped; what arrived stays above, marked as interrupted."
            ) from None
        except AimoError as exc:
            wait_until_warm()
            partial = exc.partial_text if isinstance(exc, IncompleteStreamError) else ""
            if partial and not self.live.text:
                self.live.append(partial)
            self.live.finish(status="error")
            if debug:
                raise
            raise fail(magics, str(exc)) from None
        self.completed(result)

    def footer_info(self, result: ChatResult) -> tuple[FooterInfo, float | None]:
        """The footer, and the cost estimate from the provider that actually answered."""
        from aimo_magic.core.catalogue import find_model
        from aimo_magic.core.pricing import estimate_cost
        from aimo_magic.rendering.footer import FooterInfo

        found = find_model(self.magics.session.cached_catalogue or (), result.model)
        model, offer = found if found else (self.request.model, self.request.offer)
        images = count_images(self.request.messages)
        cost = estimate_cost(result.usage, offer.pricing if offer else None, images=images)
        return FooterInfo(
            model=model.name,
            provider=result.provider or (offer.name if offer else None),
            usage=result.usage,
            cost=cost,
            cost_unit="listed price units" if cost is not None else None,
            first_token_s=result.timings.first_token,
            total_s=result.timings.total,
            notes=[f"{images} image{'s' if images != 1 else ''}"] if images else [],
        ), cost

    def completed(self, result: ChatResult) -> None:
        magics, request = self.magics, self.request
        footer, cost = self.footer_info(result)
        try:
            self.live.finish(
                status="complete",
                footer=footer if magics.footer else None,
                metadata=self.provenance(result),
            )
        except ValueError as exc:
            if request.args.debug:
                raise
            raise fail(magics, str(exc)) from None
        magics.session.usage.record(result.model, result.usage, cost)
        self.record(result.text, result, partial=False)
        if request.args.out and magics.shell is not None:
            magics.shell.user_ns[request.args.out] = result.text
        if request.args.insert and magics.shell is not None:
            from aimo_magic.rendering.bundles import extract_code

            magics.shell.set_next_input(extract_code(result.text)[1], replace=False)

    def interrupted(self) -> None:
        text = self.live.text
        self.live.finish(status="interrupted", metadata=self.provenance(None))
        if text:
            self.record(text, None, partial=True)

    def record(self, text: str, result: ChatResult | None, *, partial: bool) -> None:
        from aimo_magic.conversation import Turn

        request = self.request
        if request.thread is None:
            return
        if request.args.new:
            request.thread = self.magics.session.conversations.new(request.args.chat)
            request.args.new = False
        if request.args.system:
            request.thread.system = request.args.system
        request.thread.record(
            Turn(
                user=request.prompt,
                assistant=text,
                model=result.model if result else request.model_id,
                cell_id=request.cell_id,
                provider=result.provider if result else None,
                params=request.params,
                usage=result.usage if result else None,
                partial=partial,
            )
        )
