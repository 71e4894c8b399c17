"""``%%aimo --each VAR``: the cell asked of every row of a notebook variable, as one batch.

The cell becomes a batch template (``interpolate.row_template``): ``{column}`` names a
field of VAR's rows, other ``{expr}`` placeholders are filled once from the notebook.
The cell shows the batch's live progress, then a preview of the first results and the
summary line; ``-o OUT`` keeps the values (shaped like VAR). Rows never enter the
conversation. Everything that can be refused is refused before anything is sent, and
a stopped or failed batch keeps what it finished (in OUT too).
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from aimo_magic.magics.failures import AnswerInterrupted, fail, user_errors

if TYPE_CHECKING:
    from aimo_magic.batching import Batch
    from aimo_magic.magics.ask_context import AskContext
    from aimo_magic.magics.cell_options import CellOptions

PREVIEW_ROWS = 5
PREVIEW_CHARS = 160
DEFAULT_CONCURRENCY = 16
ROW_FORMATS = {"markdown": "text", "text": "text", "json": "json"}


def check_each_options(options: CellOptions, fmt: str) -> None:
    """What does not go with ``--each`` (ValueError, one line)."""
    if options.each is None:
        raise ValueError("--concurrency goes with --each VAR (it bounds a batch's requests).")
    if fmt not in ROW_FORMATS:
        raise ValueError(
            f"--each answers as text (-f text or markdown) or JSON (-f json), not -f {fmt}."
        )
    if options.insert:
        raise ValueError("--insert does not go with --each (there is one answer per row).")
    if options.fallback is not None:
        raise ValueError(
            "--fallback does not go with --each; to share the rows among a model's "
            "providers, name it MODEL@* (each provider then takes its own share)."
        )
    if options.chat is not None or options.new:
        raise ValueError(
            "--each rows are never added to a conversation, so -c/--chat and --new do not apply."
        )


def rows_of(namespace: Mapping[str, Any], name: str) -> Any:
    """VAR: a variable, or an expression over the notebook's variables (``df.head(50)``)."""
    if name.isidentifier():
        if name not in namespace:
            raise ValueError(f"--each {name}: there is no variable {name!r} in the notebook.")
        return namespace[name]
    try:
        return eval(compile(name, "<aimo --each>", "eval"), dict(namespace))
    except Exception as exc:
        raise ValueError(f"--each {name}: {type(exc).__name__}: {exc}") from None


def template_and_rows(ctx: AskContext, options: CellOptions, cell: str) -> tuple[str, Any]:
    """The cell as a row template, and VAR's rows; raises (ValueError) before anything is
    sent. ``--each`` and ``--each --compare`` (an evaluation) both start here."""
    from aimo_magic.batching.rows import field_names
    from aimo_magic.core.secrets import looks_like_key
    from aimo_magic.magics.prompt_fill import KEY_IN_PROMPT, check_prompt
    from aimo_magic.magics.row_template import row_template

    assert options.each is not None
    prompt = check_prompt(cell)
    if not isinstance(prompt, str):
        raise ValueError("--each takes a text prompt.")
    data = rows_of(ctx.namespace, options.each)
    template = row_template(
        prompt,
        ctx.namespace,
        field_names(data),
        fill=not options.no_interpolate,
        rows=f"{options.each}'s rows",
    )
    if looks_like_key(template):
        raise ValueError(KEY_IN_PROMPT)
    return template, data


def prepare_each(ctx: AskContext, options: CellOptions, cell: str) -> Batch:
    """The batch the cell asks for; raises (ValueError, AimoError) before anything is sent."""
    from aimo_magic.batching import Batch
    from aimo_magic.batching.api import SPREAD_ALL
    from aimo_magic.core.resolution import WILDCARD
    from aimo_magic.magics.request import request_params, routing_choices

    fmt = options.format or ctx.settings.default_format
    check_each_options(options, fmt)
    template, data = template_and_rows(ctx, options, cell)
    model, providers = options.model, None
    if model is not None and model.endswith(WILDCARD):  # spread over its providers
        model, providers = model[: -len(WILDCARD)], SPREAD_ALL
    batch = Batch(
        template,
        data,
        resolution=ctx.session.resolve(model, given=routing_choices(options)),
        providers=providers,
        system=options.system,
        concurrency=options.concurrency or DEFAULT_CONCURRENCY,
        format=ROW_FORMATS[fmt],
        cache=True if options.cache is None else options.cache,
        **request_params(options, fmt),
    )
    batch.announce = False  # the cell shows the summary under its preview
    return batch


def run_each(ctx: AskContext, options: CellOptions, cell: str) -> None:
    from aimo_magic.batching import BatchError, BatchInterrupted
    from aimo_magic.core.errors import AimoError

    with user_errors(ctx.settings, debug=options.debug):
        batch = prepare_each(ctx, options, cell)
    try:
        values = batch.run()
    except BatchInterrupted as stopped:
        finish(ctx, options, stopped.values, batch.summary)
        raise AnswerInterrupted(
            "the batch was stopped; the finished rows are kept: run the cell again to resume."
        ) from None
    except BatchError as exc:
        finish(ctx, options, exc.values, "")
        if options.debug:
            raise
        raise fail(ctx.settings, str(exc)) from None
    except (AimoError, ValueError) as exc:  # refused before the first request (a row too large)
        if options.debug:
            raise
        raise fail(ctx.settings, str(exc)) from None
    finish(ctx, options, values, batch.summary)


def finish(ctx: AskContext, options: CellOptions, values: Any, summary: str) -> None:
    """Keep the values in ``-o OUT``, then show the preview and the summary line."""
    namespace: MutableMapping[str, Any] = ctx.namespace
    if options.out and values is not None:
        namespace[options.out] = values
    if values is not None:
        show_preview(values)
    if summary:
        print(summary, flush=True)


def show_preview(values: Any) -> None:
    """The first rows as a table: pandas' own (escaped) for pandas, a small one for lists."""
    from IPython.display import display

    if hasattr(values, "__dask_graph__"):
        print("A lazy dask result: nothing is sent until it is computed (.compute()).")
        return
    if hasattr(values, "head"):
        head = values.head(PREVIEW_ROWS)
        if hasattr(head, "to_frame"):  # a Series: as a one-column table
            head = head.to_frame(name=head.name if head.name is not None else "answer")
        display(head)
        return
    rows = [(str(n), _short(v)) for n, v in enumerate(values[:PREVIEW_ROWS])]
    cells = "".join(
        f"<tr><td>{html.escape(n)}</td><td>{html.escape(text)}</td></tr>" for n, text in rows
    )
    more = len(values) - len(rows)
    tail = f"<p><small>… and {more:,} more rows</small></p>" if more > 0 else ""
    markup = f"<table><thead><tr><th>row</th><th>answer</th></tr></thead>{cells}</table>{tail}"
    plain = "\n".join(f"{n}: {text}" for n, text in rows) + (
        f"\n… and {more:,} more" if more > 0 else ""
    )
    display({"text/html": markup, "text/plain": plain}, raw=True)


def _short(value: Any) -> str:
    text = "—" if value is None else value if isinstance(value, str) else json.dumps(value)
    text = " ".join(text.split())
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"
