"""Keeping a finished answer: the thread's turn, the ``-o`` variable, the ``--insert`` cell.

Separate from running a request so a caller decides what a result is kept as: a
cell keeps all three; a cell that runs many requests may store their results
together instead; a partial answer is only recorded as a partial turn.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aimo_magic.conversation import ConversationStore
    from aimo_magic.core.types import ChatResult
    from aimo_magic.magics.ask_context import AskContext
    from aimo_magic.magics.request import AskRequest


def record_turn(
    store: ConversationStore,
    request: AskRequest,
    text: str,
    result: ChatResult | None,
    *,
    partial: bool,
    steps: Iterable[Mapping[str, Any]] = (),
) -> None:
    """Add the exchange to the request's thread (a re-run cell replaces its own turn,
    tool calls and all). ``steps`` are the tool calls and results between question and
    answer.

    ``--new`` replaces the thread only now, once there is an answer, so a failed
    request leaves the old conversation as it was.
    """
    from aimo_magic.conversation import Turn

    if request.thread is None:
        return
    if request.new_thread:
        thread = store.new(request.thread, system=request.system)
    else:
        thread = store.thread(request.thread)
        if request.system:
            thread.system = request.system
    thread.record(
        Turn(
            user=request.prompt,
            assistant=text,
            model=result.model if result else request.model_id,
            cell_id=request.cell_id,
            provider=result.provider if result else None,
            params=request.param_dict(),
            usage=result.usage if result else None,
            partial=partial,
            steps=tuple(dict(m) for m in tool_steps(steps)),
        )
    )


def tool_steps(messages: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Of the messages a tool loop added, those between question and answer: assistant
    messages with calls and the ``tool`` results (not the final answer)."""
    return [m for m in messages if m.get("role") == "tool" or m.get("tool_calls")]


def keep_partial(
    ctx: AskContext,
    request: AskRequest,
    text: str,
    steps: Iterable[Mapping[str, Any]] = (),
) -> None:
    """What a cell does with an interrupted answer: record what arrived, marked partial
    (calls the model made before the interrupt included)."""
    steps = tool_steps(steps)
    if text or steps:
        record_turn(ctx.session.conversations, request, text, None, partial=True, steps=steps)


def answer_value(request: AskRequest, text: str) -> Any:
    """What ``-o VAR`` stores: the parsed value for ``-f json``, else the text.

    By now a json answer has parsed (rendering refuses one that does not), so
    the fallback to text is only for the unexpected.
    """
    if request.fmt != "json":
        return text
    from aimo_magic.core.answer_text import parse_json_answer

    try:
        return parse_json_answer(text)
    except ValueError:
        return text


def keep_result(
    ctx: AskContext,
    request: AskRequest,
    result: ChatResult,
    steps: Iterable[Mapping[str, Any]] = (),
) -> None:
    """What a cell does with a complete answer: record it, store it, offer its code."""
    record_turn(ctx.session.conversations, request, result.text, result, partial=False, steps=steps)
    if ctx.shell is None:
        return
    if request.out:
        ctx.shell.user_ns[request.out] = answer_value(request, result.text)
    if request.insert:
        from aimo_magic.core.answer_text import extract_code

        # The block -f code showed: the kernel's language, else untagged, else the first.
        code = extract_code(result.text, prefer=ctx.code_language)[1]
        ctx.shell.set_next_input(code, replace=False)
