"""The tool-call loop: model → calls → results → model … until an answer or the step limit.

Plain Python, no IPython and no threads required: whoever runs it supplies the client,
the approval callback and (optionally) ``LoopEvents`` to show progress, so the same
loop serves ``aimo_magic.ask``, the ``%%aimo --tools`` cell and the browser's Pyodide
kernel. Nothing the model writes runs as code: it can only name a function it was
offered, with arguments that validate against that function's schema; anything else
is refused and the refusal goes back to the model as the call's result, as do a
function's errors (type and message). Calls marked ``concurrent`` run together where
threads exist; the rest run in the order the model wrote them.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Union

from aimo_magic.core.protocol import TOOL_CALL_LISTENER, Messages, normalise_messages
from aimo_magic.core.retry import StreamRestart
from aimo_magic.core.tool_results import DEFAULT_LIMIT, error_text, result_text
from aimo_magic.core.tools import Tool, ToolArgumentsError, as_tools
from aimo_magic.core.types import ChatResult, ToolCall, Usage

DEFAULT_MAX_STEPS = 8
Decision = Literal["run", "skip", "all"]
Approver = Callable[[ToolCall, Tool, Mapping[str, Any]], Any]
"""Asked before a call that needs approval: ``"run"`` (or True), ``"skip"`` (or False),
or ``"all"`` to run this and every later call of the loop without asking; None (or
raising ``NobodyToAsk``) when nobody could be asked, which refuses the call."""
Approval = Union[bool, Approver, None]  # noqa: UP007 - a runtime alias must work on 3.10

Status = Literal[
    "pending", "waiting", "running", "done", "failed", "declined", "refused", "not run"
]
DECLINED = "Declined by the user: the function was not run."
NEEDS_APPROVAL = (
    "Refused: {name} needs the user's approval and nobody can give it here, so it was not run."
)
STEP_LIMIT = "Not run: the limit of {steps} model steps was reached."
INTERRUPTED = "Not run: the user interrupted."


@dataclass
class CallRecord:
    """One call and what became of it; ``result`` is exactly what the model is sent."""

    step: int
    index: int
    call: ToolCall
    status: Status = "pending"
    result: str = ""
    seconds: float | None = None
    value: Any = field(default=None, repr=False)
    needs_approval: bool = False

    def message(self) -> dict[str, Any]:
        """The ``tool`` message that answers this call."""
        return {"role": "tool", "tool_call_id": self.call.id, "content": self.result}

    def as_dict(self) -> dict[str, Any]:
        """What a conversation file and a notebook's metadata keep of the call."""
        return {
            "id": self.call.id,
            "name": self.call.name,
            "arguments": self.call.arguments,
            "status": self.status,
            "result": self.result,
            "seconds": self.seconds,
            "step": self.step,
        }


def sum_usage(results: Iterable[ChatResult]) -> Usage | None:
    """Tokens over every step; None when no step reported any."""
    reported = [r.usage for r in results if r.usage is not None]
    if not reported:
        return None
    return Usage(
        sum(u.prompt_tokens for u in reported),
        sum(u.completion_tokens for u in reported),
        sum(u.total_tokens for u in reported),
    )


@dataclass(frozen=True)
class ToolsResult:
    """A finished loop: the final answer, every step's result and every call.

    ``messages`` are the messages the loop added after the prompt (assistant messages
    with ``tool_calls``, ``tool`` results, the final answer), ready to send again.
    ``stopped`` is ``"answer"``, ``"max_steps"`` or ``"interrupted"``.
    """

    text: str
    steps: tuple[ChatResult, ...]
    calls: tuple[CallRecord, ...]
    messages: tuple[dict[str, Any], ...]
    stopped: str
    seconds: float

    @property
    def result(self) -> ChatResult | None:
        """The last step's result (the final answer when ``stopped == "answer"``)."""
        return self.steps[-1] if self.steps else None

    @property
    def usage(self) -> Usage | None:
        return sum_usage(self.steps)

    @property
    def model(self) -> str | None:
        return self.steps[-1].model if self.steps else None


class NobodyToAsk(Exception):
    """Raised by an approver that found nobody to answer (no front end can show the
    question): the call is refused as if no approver had been given."""


class ToolLoopInterrupted(KeyboardInterrupt):
    """The loop was interrupted; ``partial`` holds what arrived until then."""

    def __init__(self, partial: ToolsResult) -> None:
        super().__init__("the tool loop was interrupted")
        self.partial = partial


class LoopEvents:
    """What a display is told as the loop runs; every method does nothing by default."""

    def step_started(self, step: int) -> None:
        """A request to the model is about to be sent."""

    def text(self, delta: str) -> None:
        """A piece of the model's text in the current step."""

    def restarted(self, restart: StreamRestart) -> None:
        """The current step's stream started over (a ``FellBack`` when it moved to the
        next provider or model): forget its text and calls so far."""

    def call_written(
        self, step: int, index: int, call_id: str | None, name: str | None, piece: str
    ) -> None:
        """A piece of a call as the model writes it (name first, then the arguments)."""

    def call_changed(self, record: CallRecord) -> None:
        """A call's status changed (waiting for approval, running, done...)."""

    def step_finished(self, step: int, result: ChatResult) -> None:
        """The model's answer for this step is complete."""


def _threads_available() -> bool:
    import sys

    return sys.platform != "emscripten"


class ToolLoop:
    """The calls' bookkeeping, shared by the sync ``run`` and the async ``arun``."""

    def __init__(
        self,
        tools: Iterable[Any],
        *,
        approve: Approval = None,
        max_steps: int = DEFAULT_MAX_STEPS,
        events: LoopEvents | None = None,
        result_limit: int = DEFAULT_LIMIT,
    ) -> None:
        if max_steps < 1:
            raise ValueError(f"max_steps must be 1 or more, not {max_steps}")
        offered = as_tools(tools)
        self.tools = {one.name: one for one in offered}
        self.specs = [one.spec() for one in offered]
        self.approve_all = approve is True
        self.approver: Approver | None = approve if callable(approve) else None
        self.max_steps = max_steps
        self.events = events or LoopEvents()
        self.result_limit = result_limit
        self._started = time.perf_counter()
        self._steps: list[ChatResult] = []
        self._calls: list[CallRecord] = []
        self._added: list[dict[str, Any]] = []
        self._step_text: list[str] = []
        self._step = 0

    # -- shared bookkeeping ------------------------------------------------------------

    def _listener(self, index: int, call_id: str | None, name: str | None, piece: str) -> None:
        self.events.call_written(self._step, index, call_id, name, piece)

    def _text(self, delta: Any) -> None:
        if isinstance(delta, str):
            if delta:
                self._step_text.append(delta)
                self.events.text(delta)
        else:  # a StreamRestart: the step's answer starts over
            self._step_text.clear()
            self.events.restarted(delta)

    def _begin_step(self) -> list[dict[str, Any]]:
        self._step += 1
        self._step_text = []
        self.events.step_started(self._step)
        return self._added

    def _end_step(self, result: ChatResult) -> list[CallRecord]:
        """Record the step's answer; the calls it asks for (none: it is the answer)."""
        self._steps.append(result)
        self.events.step_finished(self._step, result)
        self._added.append(result.assistant_message())
        records = [CallRecord(self._step, i, call) for i, call in enumerate(result.tool_calls)]
        self._calls.extend(records)
        if records and self._step >= self.max_steps:
            for record in records:
                self._settle(record, "not run", STEP_LIMIT.format(steps=self.max_steps))
            self._answer_calls(records)
        return records

    def _next(self, result: ChatResult) -> ToolsResult | list[CallRecord]:
        """After a step's answer: the finished loop, or the calls to run next."""
        records = self._end_step(result)
        if not records:
            return self._result("answer")
        if self._step >= self.max_steps:
            return self._result("max_steps")
        return records

    def _checked(self, records: list[CallRecord]) -> list[tuple[CallRecord, Tool, dict[str, Any]]]:
        """The calls that passed their checks, each with its tool and arguments."""
        checked = ((record, self._check(record)) for record in records)
        return [(record, *found) for record, found in checked if found is not None]

    @staticmethod
    def _split(
        runnable: list[tuple[CallRecord, Tool, dict[str, Any]]],
    ) -> tuple[list[tuple[CallRecord, Tool, dict[str, Any]]], list[Any]]:
        """The calls to run together (marked concurrent; only worth it for two or more),
        and those to run in order after them."""
        together = [item for item in runnable if item[1].concurrent]
        if len(together) < 2:
            return [], runnable
        return together, [item for item in runnable if not item[1].concurrent]

    def _answer_calls(self, records: list[CallRecord]) -> None:
        self._added.extend(record.message() for record in records)

    def _settle(self, record: CallRecord, status: Status, text: str) -> None:
        record.status = status
        record.result = text
        self.events.call_changed(record)

    def _check(self, record: CallRecord) -> tuple[Tool, dict[str, Any]] | None:
        """The tool and validated arguments of a call, or None once it is refused."""
        name = record.call.name
        found = self.tools.get(name)
        if found is None:
            offered = ", ".join(self.tools) or "none"
            self._settle(
                record,
                "refused",
                f"Refused: no function named {name!r} was offered (offered: {offered}).",
            )
            return None
        try:
            arguments = found.arguments(record.call.arguments)
        except ToolArgumentsError as exc:
            self._settle(record, "refused", f"Refused: {exc}.")
            return None
        record.needs_approval = found.approve and not self.approve_all
        return found, arguments

    def _decision(self, answer: Any) -> bool:
        """Whether to run, from what the approver said (``"all"`` also stops asking)."""
        if answer == "all":
            self.approve_all = True
            return True
        return answer is True or answer == "run"

    def _before_approval(self, record: CallRecord) -> bool:
        """False once the call is settled as refused because nobody can approve it."""
        if self.approver is None:
            self._settle(record, "refused", NEEDS_APPROVAL.format(name=record.call.name))
            return False
        record.status = "waiting"
        self.events.call_changed(record)
        return True

    def _ask(self, record: CallRecord, tool: Tool, arguments: dict[str, Any]) -> Any:
        """The approver's answer; None when it found nobody to ask."""
        assert self.approver is not None
        try:
            return self.approver(record.call, tool, arguments)
        except NobodyToAsk:
            return None

    def _after_approval(self, record: CallRecord, answer: Any) -> bool:
        if self._decision(answer):
            return True
        if answer is None:
            self._settle(record, "refused", NEEDS_APPROVAL.format(name=record.call.name))
        else:
            self._settle(record, "declined", DECLINED)
        return False

    def _started_call(self, record: CallRecord) -> float:
        record.status = "running"
        self.events.call_changed(record)
        return time.perf_counter()

    def _finished_call(
        self, record: CallRecord, started: float, value: Any, error: BaseException | None
    ) -> None:
        record.seconds = time.perf_counter() - started
        if error is not None:
            self._settle(record, "failed", error_text(error))
            return
        record.value = value
        self._settle(record, "done", result_text(value, self.result_limit))

    def _run_one(self, record: CallRecord, tool: Tool, arguments: dict[str, Any]) -> None:
        started = self._started_call(record)
        try:
            value = tool.function(**arguments)
            if inspect.isawaitable(value):
                close = getattr(value, "close", None)
                if callable(close):
                    close()
                raise TypeError(
                    f"{tool.name} is a coroutine function; use the async loop (ToolLoop.arun)"
                )
        except Exception as exc:
            self._finished_call(record, started, None, exc)
        else:
            self._finished_call(record, started, value, None)

    def _interrupted(self) -> ToolLoopInterrupted:
        """The loop's state as a partial result: calls left unanswered say so, so the
        messages stay a valid conversation."""
        answered = {m.get("tool_call_id") for m in self._added if m.get("role") == "tool"}
        asked = [
            record
            for record in self._calls
            if record.call.id not in answered and record.step == self._step
        ]
        for record in asked:
            if record.status in ("pending", "waiting", "running"):
                self._settle(record, "not run", INTERRUPTED)
        if asked:
            self._answer_calls(asked)
        return ToolLoopInterrupted(self._result("interrupted", "".join(self._step_text)))

    def _result(self, stopped: str, text: str | None = None) -> ToolsResult:
        final = self._steps[-1] if self._steps else None
        if text is None:
            text = final.text if final is not None and stopped == "answer" else ""
        return ToolsResult(
            text=text,
            steps=tuple(self._steps),
            calls=tuple(self._calls),
            messages=tuple(self._added),
            stopped=stopped,
            seconds=time.perf_counter() - self._started,
        )

    # -- the sync loop -----------------------------------------------------------------

    def run(
        self,
        client: Any,
        messages: str | Messages,
        *,
        model: str | None = None,
        stream: bool = True,
        **options: Any,
    ) -> ToolsResult:
        """Run the loop with a ``Client``; ``options`` go to each request (``cache``,
        ``on_retry``, API parameters). Raises ``ToolLoopInterrupted`` on Ctrl-C."""
        prompt = normalise_messages(messages)
        try:
            while True:
                added = self._begin_step()
                after = self._next(self._request(client, [*prompt, *added], model, stream, options))
                if isinstance(after, ToolsResult):
                    return after
                self._run_calls(after)
        except KeyboardInterrupt:
            raise self._interrupted() from None

    def _request(
        self,
        client: Any,
        messages: list[dict[str, Any]],
        model: str | None,
        stream: bool,
        options: dict[str, Any],
    ) -> ChatResult:
        token = TOOL_CALL_LISTENER.set(self._listener)
        try:
            if not stream:
                result: ChatResult = client.chat(messages, model=model, tools=self.specs, **options)
                self._text(result.text)
                return result
            # restart=True: a stream that breaks after some text starts the step over, and
            # says so in band (a StreamRestart), so cards and text can be cleared.
            with client.stream(
                messages, model=model, tools=self.specs, restart=True, **options
            ) as answer:
                for delta in answer:
                    self._text(delta)
                assert answer.result is not None
                return answer.result
        finally:
            TOOL_CALL_LISTENER.reset(token)

    def _run_calls(self, records: list[CallRecord]) -> None:
        runnable = []
        for record, tool, arguments in self._checked(records):
            if record.needs_approval and not self.approve_all:
                if not self._before_approval(record):
                    continue
                if not self._after_approval(record, self._ask(record, tool, arguments)):
                    continue
            runnable.append((record, tool, arguments))
        together, in_order = self._split(runnable)
        if together and not _threads_available():
            together, in_order = [], runnable
        if together:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=min(len(together), 8)) as pool:
                for future in [pool.submit(self._run_one, *item) for item in together]:
                    future.result()
        for item in in_order:
            self._run_one(*item)
        self._answer_calls(records)

    # -- the async loop ----------------------------------------------------------------

    async def arun(
        self,
        client: Any,
        messages: str | Messages,
        *,
        model: str | None = None,
        stream: bool = True,
        **options: Any,
    ) -> ToolsResult:
        """``run`` with an ``AsyncClient``; coroutine functions are awaited, and calls
        marked concurrent run together (sync ones in worker threads)."""
        prompt = normalise_messages(messages)
        try:
            while True:
                added = self._begin_step()
                result = await self._arequest(client, [*prompt, *added], model, stream, options)
                after = self._next(result)
                if isinstance(after, ToolsResult):
                    return after
                await self._arun_calls(after)
        except (KeyboardInterrupt, asyncio.CancelledError):
            raise self._interrupted() from None

    async def _arequest(
        self,
        client: Any,
        messages: list[dict[str, Any]],
        model: str | None,
        stream: bool,
        options: dict[str, Any],
    ) -> ChatResult:
        token = TOOL_CALL_LISTENER.set(self._listener)
        try:
            if not stream:
                result: ChatResult = await client.chat(
                    messages, model=model, tools=self.specs, **options
                )
                self._text(result.text)
                return result
            async with client.stream(
                messages, model=model, tools=self.specs, restart=True, **options
            ) as answer:
                async for delta in answer:
                    self._text(delta)
                assert answer.result is not None
                return answer.result
        finally:
            TOOL_CALL_LISTENER.reset(token)

    async def _arun_one(self, record: CallRecord, tool: Tool, arguments: dict[str, Any]) -> None:
        if not inspect.iscoroutinefunction(tool.function):
            if tool.concurrent and _threads_available():
                await asyncio.to_thread(self._run_one, record, tool, arguments)
            else:
                self._run_one(record, tool, arguments)
            return
        started = self._started_call(record)
        try:
            value = await tool.function(**arguments)
        except Exception as exc:
            self._finished_call(record, started, None, exc)
        else:
            self._finished_call(record, started, value, None)

    async def _arun_calls(self, records: list[CallRecord]) -> None:
        runnable = []
        for record, tool, arguments in self._checked(records):
            if record.needs_approval and not self.approve_all:
                if not self._before_approval(record):
                    continue
                answer = self._ask(record, tool, arguments)
                if inspect.isawaitable(answer):
                    try:
                        answer = await answer
                    except NobodyToAsk:
                        answer = None
                if not self._after_approval(record, answer):
                    continue
            runnable.append((record, tool, arguments))
        together, in_order = self._split(runnable)
        if together:
            await asyncio.gather(*(self._arun_one(*item) for item in together))
        for item in in_order:
            await self._arun_one(*item)
        self._answer_calls(records)


def ask(
    prompt: str | Messages,
    *,
    model: str | None = None,
    tools: Iterable[Any] = (),
    approve: Approval = None,
    max_steps: int = DEFAULT_MAX_STEPS,
    client: Any = None,
    events: LoopEvents | None = None,
    stream: bool = False,
    **options: Any,
) -> ToolsResult:
    """Ask once, letting the model call ``tools``, and return the final answer with its calls.

    ``approve``: True runs every call; a callback ``(call, tool, arguments) -> "run" |
    "skip" | "all"`` decides each call of a function that needs approval; None (the
    default) refuses such calls, since nobody was asked. Without ``client``, the request
    is resolved as every front end's is (``core.resolution``: in a notebook its key, base
    URL, aliases, model check and budget; else the environment) and sent by a client made
    for it (closed afterwards). Other keyword arguments go to each request
    (``temperature=0.2``, ``cache=False``...).
    """
    loop = ToolLoop(tools, approve=approve, max_steps=max_steps, events=events)
    if client is not None:
        return loop.run(client, prompt, model=model, stream=stream, **options)
    from aimo_magic.core.clients import new_client
    from aimo_magic.core.notebooks import current_session
    from aimo_magic.core.resolution import Choices, resolve

    where = resolve(Choices(model=model), current_session())
    with new_client(where.settings, catalogue=where.catalogue) as own:
        return loop.run(own, prompt, model=where.model_id, stream=stream, **options)
