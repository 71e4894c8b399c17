"""The ``%%aimo`` line: its options declared once, read into a typed, frozen value.

This is only the first step of a cell (see ``magics/ask.py``): reading the line.
Nothing here looks at the prompt, the session or the network, so every kind of
cell (``%%aimo``, ``%aimo explain``, and whatever comes next) can build its
``CellOptions`` directly instead of writing a magic line for another parser.

To add an option: declare it in ``cell_arguments`` and add the field of the same
name (argparse's ``dest``) to ``CellOptions``; a test checks they match.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from IPython.core.magic_arguments import argument, magic_arguments

from aimo_magic.core.routing import ROUTES
from aimo_magic.magics.failures import ShowsErrors, fail, line_words
from aimo_magic.rendering.bundles import FORMATS

if TYPE_CHECKING:
    from argparse import ArgumentParser, Namespace


@dataclass(frozen=True)
class CellOptions:
    """What the magic line asked for, before anything is looked up or checked.

    ``chat=None`` means the default thread; ``param`` keeps the raw ``KEY=VALUE``
    texts, which ``build_request`` reads (and refuses) with the other options.
    """

    model: str | None = None
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    param: tuple[str, ...] = ()
    format: str | None = None
    insert: bool = False
    chat: str | None = None
    new: bool = False
    no_history: bool = False
    no_stream: bool = False
    no_interpolate: bool = False
    out: str | None = None
    cache: bool | None = None
    compare: str | None = None
    keep: str | None = None
    each: str | None = None
    concurrency: int | None = None
    route: str | None = None
    max_price: float | None = None
    fallback: str | None = None
    expected: str | None = None
    score: str | None = None
    tools: str | None = None
    max_steps: int | None = None
    approve: str | None = None
    debug: bool = False

    @classmethod
    def from_namespace(cls, namespace: Namespace) -> CellOptions:
        """The parsed line as options; lists become tuples so nothing can change them."""
        values = {f.name: getattr(namespace, f.name) for f in fields(cls)}
        values["param"] = tuple(values["param"] or ())
        return cls(**values)


_ARGUMENTS = (
    argument("model", nargs="?", help="Model id, provider_pubkey:model_name id, or alias."),
    argument("-s", "--system", help="System prompt (kept for the thread)."),
    argument("-t", "--temperature", type=float, help="Sampling temperature."),
    argument("--max-tokens", type=int, help="Longest answer, in tokens."),
    argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Any API parameter; VALUE is read as JSON, a bare word as a string. Repeatable.",
    ),
    argument("-f", "--format", choices=FORMATS, help="How to show the answer."),
    argument("--insert", action="store_true", help="With -f code: put the code in a new cell."),
    argument("-c", "--chat", metavar="NAME", help="Conversation thread (without it: default)."),
    argument("--new", action="store_true", help="Start the thread afresh."),
    argument("--no-history", action="store_true", help="Send no history and record nothing."),
    argument("--no-stream", action="store_true", help="Wait for the whole answer."),
    argument("--no-interpolate", action="store_true", help="Leave {placeholders} as written."),
    argument(
        "-o",
        "--out",
        metavar="VAR",
        help="Also store the answer in VAR: its text, or with -f json the parsed value.",
    ),
    argument(
        "--cache",
        dest="cache",
        action="store_true",
        default=None,
        help="Answer from the answer cache if this request was answered before.",
    ),
    argument("--no-cache", dest="cache", action="store_false", help="Ask the model, cache or not."),
    argument(
        "--compare",
        metavar="M1,M2",
        help="Ask these models at once, answers side by side; NAME@* is every provider.",
    ),
    argument("--keep", metavar="MODEL", help="With --compare: keep this answer as the turn."),
    argument(
        "--each",
        metavar="VAR",
        help="Ask the cell of every row of VAR (a list, Series or DataFrame, or a dask one); "
        "{column} names a field of the row. Rows never enter the conversation.",
    ),
    argument(
        "--expected",
        metavar="COLUMN",
        help="With --each VAR --compare M1,M2 (an evaluation): the column of VAR each answer "
        "is scored against; -o keeps the Evaluation.",
    ),
    argument(
        "--score",
        metavar="SCORER",
        help="With --each VAR --compare M1,M2: exact (default), contains, regex:PATTERN, "
        "number[:TOL], json, choice[:A,B,...].",
    ),
    argument(
        "--concurrency",
        type=int,
        metavar="N",
        help="With --each: at most N requests in flight (default 16).",
    ),
    argument(
        "--tools",
        metavar="NAME[,NAME...]",
        help="Let the model call these functions of the notebook (`all`: every one "
        "decorated with @aimo_magic.tool); `%aimo tools` lists them.",
    ),
    argument(
        "--max-steps",
        type=int,
        metavar="N",
        help="With --tools: at most N requests to the model (default 8).",
    ),
    argument(
        "--approve",
        choices=["all"],
        help="With --tools: `all` runs every call without asking (for headless runs).",
    ),
    argument(
        "--route",
        choices=ROUTES,
        help="Which provider: cheapest (lowest price for this request), fastest (best "
        "measured here), auto (AiMo's routing; the default, %%config AimoMagics.route).",
    ),
    argument(
        "--max-price",
        type=float,
        metavar="PRICE",
        help="Refuse providers whose price for this request would pass PRICE.",
    ),
    argument(
        "--fallback",
        metavar="M2,M3",
        help="If the provider or model fails in a way another may not, ask the model's "
        "next provider, then these models in turn.",
    ),
    argument("--debug", action="store_true", help="Show full tracebacks on errors."),
)


def cell_arguments(func: Callable[..., Any]) -> Any:
    """Declare the ``%%aimo`` options on the magic, as stacked ``@argument`` lines would.

    IPython builds the parser (``func.parser``) and the ``%%aimo?`` help from them.
    """
    for declared in reversed(_ARGUMENTS):  # decorators apply bottom-up
        func = declared(func)
    return magic_arguments()(func)


def parse_cell_line(host: ShowsErrors, parser: ArgumentParser, line: str) -> CellOptions:
    """Read the magic line; a key on it is refused before it is even split."""
    from IPython.core.error import UsageError

    from aimo_magic.magics.parse_errors import parse_error_line

    argv = line_words(host, line, "the magic line")
    try:
        namespace = parser.parse_args(argv)
    except UsageError as exc:  # IPython's parser raises it for any bad option
        message = parse_error_line("%%aimo", parser, str(exc))
        raise fail(host, f"{message} `%%aimo?` lists the options.") from None
    options = CellOptions.from_namespace(namespace)
    if options.out is not None:
        refused = out_name_refusal(options.out)
        if refused:
            raise fail(host, refused)
    return options


def out_name_refusal(name: str) -> str | None:
    """Why ``-o NAME`` cannot be a variable, or None when it can.

    The answer is stored in the user's namespace under NAME; a name that is not an
    identifier (``1bad``, ``a.b``, ``x[0]``) or is a keyword would be stored under a
    key that ordinary code cannot reach, so it is refused before anything is sent.
    """
    import keyword

    if name.isidentifier() and not keyword.iskeyword(name):
        return None
    why = "is a Python keyword" if keyword.iskeyword(name) else "is not a Python variable name"
    return (
        f"-o {name}: {why}, so the answer could not be read back; "
        "use letters, digits and _ (not starting with a digit), e.g. -o answer."
    )
