"""``%%aimo --each VAR --compare M1,M2 --expected COLUMN [--score S] -o ev``: an evaluation.

A thin front end: the cell becomes the row template as for ``--each``
(``each.template_and_rows``), the models are resolved as for ``--compare`` (aliases,
``NAME@*``, each checked), and ``aimo_magic.evaluate`` does the rest on the batch
engine. The cell shows a bar per model, then the summary and the one-line report;
``-o ev`` keeps the ``Evaluation`` (``ev.table``, ``ev.plot()``, ``ev.best()``). A
stopped evaluation keeps its answers in ``ev`` and in the answer cache, so running the
cell again asks only the rest.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

from aimo_magic.magics.each import DEFAULT_CONCURRENCY, ROW_FORMATS
from aimo_magic.magics.failures import AnswerInterrupted, user_errors

if TYPE_CHECKING:
    from aimo_magic.evaluation import Evaluation
    from aimo_magic.magics.ask_context import AskContext
    from aimo_magic.magics.cell_options import CellOptions


def check_evaluation_options(options: CellOptions, fmt: str) -> None:
    """What an evaluation cell needs and what does not go with it (ValueError, one line)."""
    if options.each is None or options.compare is None:
        raise ValueError(
            "--expected and --score make an evaluation: they go with --each VAR --compare "
            "M1,M2 (every row asked of every model, each answer scored)."
        )
    if options.expected is None and (options.score is None or _needs_expected(options.score)):
        raise ValueError(
            "--each with --compare is an evaluation: add --expected COLUMN (the right answer "
            "of each row), or a --score that needs none (regex:PATTERN, json)."
        )
    if fmt not in ROW_FORMATS:
        raise ValueError(f"An evaluation answers as text or JSON (-f text or json), not -f {fmt}.")
    if options.keep is not None:
        raise ValueError("--keep does not go with --each: the answers are scored, not kept.")
    if options.insert or options.chat is not None or options.new:
        raise ValueError(
            "An evaluation's rows never enter a conversation: --insert, -c and --new do not apply."
        )


def _needs_expected(score: str) -> bool:
    from aimo_magic.evaluation.scorers import NEEDS_EXPECTED

    return score.partition(":")[0] in NEEDS_EXPECTED


def prepare_evaluation(ctx: AskContext, options: CellOptions, cell: str) -> Evaluation:
    """The evaluation the cell asks for; raises before anything is sent."""
    from aimo_magic.core.resolution import resolve_many
    from aimo_magic.evaluation import Evaluation
    from aimo_magic.magics.each import template_and_rows
    from aimo_magic.magics.request import request_params

    fmt = options.format or ctx.settings.default_format
    check_evaluation_options(options, fmt)
    assert options.compare is not None
    template, data = template_and_rows(ctx, options, cell)
    ctx.session.resolve(for_request=False).require_key()
    params = request_params(options, fmt)
    evaluation = Evaluation(
        template,
        data,
        models=options.compare,
        resolutions=resolve_many(options.compare, ctx.session, from_cell=True),
        expected=options.expected,
        score=options.score,
        system=options.system,
        concurrency=options.concurrency or DEFAULT_CONCURRENCY,
        cache=True if options.cache is None else options.cache,
        **params,
    )
    evaluation.announce = False  # the cell shows the report under the summary
    return evaluation


def run_evaluation(ctx: AskContext, options: CellOptions, cell: str) -> None:
    """Prepare, run and show; every refusal and error is one line, and a stop keeps ``-o``."""
    from aimo_magic.evaluation import EvaluationInterrupted

    with user_errors(ctx.settings, debug=options.debug):
        evaluation = prepare_evaluation(ctx, options, cell)
    keep(ctx, options, evaluation)
    summary = None
    try:
        with user_errors(ctx.settings, debug=options.debug):
            summary = evaluation.run()
    except EvaluationInterrupted:
        raise AnswerInterrupted(
            "the evaluation was stopped; its answers are kept: run the cell again to resume."
        ) from None
    finally:
        show(evaluation, summary)


def keep(ctx: AskContext, options: CellOptions, evaluation: Evaluation) -> None:
    """``-o ev``: the Evaluation itself, kept before it runs so that a stop keeps it too."""
    namespace: MutableMapping[str, Any] = ctx.namespace
    if options.out:
        namespace[options.out] = evaluation


def show(evaluation: Evaluation, summary: Any) -> None:
    """The summary table (pandas' own, escaped) and the one-line report."""
    from IPython.display import display

    if summary is not None:
        display(summary)
    if evaluation.report:
        print(evaluation.report, flush=True)
