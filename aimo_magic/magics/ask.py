"""Asking a model from a cell: the one path a prompt takes, each step a module it
enters once, in this order, handing its result on (nothing calls back up):

1. parse the line into ``CellOptions`` (``magics/cell_options.py``; a subcommand
   such as ``%aimo explain`` builds its options directly);
2. decide the request (``magics/request.py``, ``build_request``): the options and
   their API parameters are checked first, then the prompt goes through
   a. ``magics/prompt_fill.py``: checked, ``{placeholders}`` filled; values are
      placed by ``magics/interpolate.py`` and become text or image parts in
      ``magics/image_placeholders.py`` (encoded by ``core/image_parts.py``);
   b. the model is resolved and checked (the session), images refused for a
      text-only model;
   c. ``magics/prompt_messages.py``: the messages, from the thread's history
      (``conversation/thread.py``, read only);
   and the result is one frozen ``AskRequest``: everything that can be refused is
   refused here, before anything is sent;
3. send it and render the answer (``magics/exchange.py``: the session's client,
   ``rendering/live.py``);
4. record the result: thread, ``-o`` variable, ``--insert`` (``magics/record.py``).

``--compare`` runs the same steps once per model (``magics/compare.py`` builds the
requests, ``magics/compare_exchange.py`` runs and shows them side by side);
``--each`` builds one request per row of data and runs them as a batch
(``magics/each.py``); ``--each`` with ``--compare`` is an evaluation of those models
over the rows (``magics/evaluate_cell.py``).

History changes only once an answer is complete (or deliberately kept as
partial). This module and the ones it uses import nothing from the magics class
or the subcommands: they get an ``AskContext`` instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aimo_magic.magics.failures import AnswerInterrupted, fail, user_errors

if TYPE_CHECKING:
    from argparse import ArgumentParser

    from aimo_magic.conversation import Content
    from aimo_magic.core.types import ChatResult
    from aimo_magic.magics.ask_context import AskContext
    from aimo_magic.magics.cell_options import CellOptions
    from aimo_magic.magics.request import AskRequest


def run_cell(ctx: AskContext, parser: ArgumentParser, line: str, cell: str) -> None:
    """``%%aimo LINE`` over ``cell``: the cell is the prompt, placeholders filled."""
    from aimo_magic.magics.cell_options import parse_cell_line

    options = parse_cell_line(ctx.settings, parser, line)
    comparing = options.compare is not None or options.keep is not None
    each = options.each is not None or options.concurrency is not None
    scoring = options.expected is not None or options.score is not None
    if options.tools is not None and (comparing or each or scoring):
        kind = "--compare" if comparing else "--each" if each else "an evaluation"
        raise fail(
            ctx.settings,
            f"--tools does not go with {kind} yet: let one model use the tools in a cell "
            f"of its own, or drop --tools.",
        )
    if (comparing and each) or scoring:
        from aimo_magic.magics.evaluate_cell import run_evaluation

        run_evaluation(ctx, options, cell)
        return
    if comparing:
        from aimo_magic.magics.compare_exchange import compare_cell

        compare_cell(ctx, options, cell, namespace=ctx.namespace)
        return
    if each:
        from aimo_magic.magics.each import run_each

        run_each(ctx, options, cell)
        return
    ask(ctx, options, cell, namespace=ctx.namespace)


def ask(
    ctx: AskContext,
    options: CellOptions,
    prompt: Content,
    *,
    namespace: Mapping[str, Any] | None = None,
) -> ChatResult:
    """Build the request (failing in one line), run it, keep its result."""
    request = prepare(ctx, options, prompt, namespace=namespace)
    return answer(ctx, request)


def prepare(
    ctx: AskContext,
    options: CellOptions,
    prompt: Content,
    *,
    namespace: Mapping[str, Any] | None = None,
) -> AskRequest:
    """``build_request`` with its refusals as one-line failures (tracebacks under --debug)."""
    from aimo_magic.magics.request import build_request

    try:
        with user_errors(ctx.settings, debug=options.debug):
            return build_request(ctx, options, prompt, namespace=namespace)
    except KeyboardInterrupt:  # e.g. while the catalogue was being fetched
        raise AnswerInterrupted("stopped before anything was sent.") from None


def answer(ctx: AskContext, request: AskRequest) -> ChatResult:
    """Send one request in its own display, then keep the answer as the cell does."""
    from aimo_magic.magics.exchange import Exchange
    from aimo_magic.magics.record import keep_partial, keep_result

    if request.tools:
        from aimo_magic.magics.tool_exchange import ToolExchange

        tools = ToolExchange(ctx, request)
        try:
            result = tools.run()
        except AnswerInterrupted:
            keep_partial(ctx, request, tools.partial_text, tools.partial_steps)
            raise
        assert tools.tools_result is not None
        keep_result(ctx, request, result, tools.tools_result.messages)
        return result
    exchange = Exchange(ctx, request)
    try:
        result = exchange.run()
    except AnswerInterrupted:
        keep_partial(ctx, request, exchange.partial_text)
        raise
    keep_result(ctx, request, result)
    return result
