"""The answer cache: turn it on or off for %%aimo, see its size and hits, or clear it.

  %aimo cache on | off        answer %%aimo cells from the cache (off by default)
  %aimo cache stats           entries, size, hits and misses this session, location
  %aimo cache clear [--model M] [--older-than DAYS]

A cell can choose for itself with --cache / --no-cache. The cache keeps complete
answers only, keyed by the base URL, model, messages and parameters; a hit is shown
at once and charges no tokens.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from aimo_magic.magics.cmd._args import CommandParser, command

if TYPE_CHECKING:
    from aimo_magic.core.cache import AnswerCache
    from aimo_magic.core.pricing import PriceBasis
    from aimo_magic.magics.cmd._host import MagicsSurface

ACTIONS = ("on", "off", "stats", "clear")


def parser() -> CommandParser:
    p = CommandParser("cache", __doc__)
    p.add_argument("action", nargs="?", choices=ACTIONS, metavar="on|off|stats|clear")
    p.add_argument("--model", metavar="M", help="clear: only answers of this model")
    p.add_argument(
        "--older-than",
        type=float,
        metavar="DAYS",
        help="clear: only answers stored more than DAYS days ago",
    )
    return p


def megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.2f} MB"


def open_store(magics: MagicsSurface) -> AnswerCache | None:
    """The session's cache, or None after saying in one line why it cannot be used
    (a problem found just now has already been announced by the session)."""
    known = magics.session.cache_problem
    store = magics.session.answer_cache()
    problem = magics.session.cache_problem
    if store is None and problem is not None and problem is known:
        print(f"The answer cache at {problem.path} cannot be used ({problem.reason}).")
    return store


def state_line(magics: MagicsSurface) -> str:
    problem = magics.session.cache_problem
    if problem is not None:
        return f"off for this session: the file cannot be used ({problem.reason})"
    return "on for %%aimo cells" if magics.cache else "off for %%aimo cells (--cache turns it on)"


def saved(ledger: dict[str, float], basis: PriceBasis) -> str:
    from aimo_magic.core.pricing import money
    from aimo_magic.core.usage import amount

    if not ledger["cache_hits"]:
        return "none yet"
    return f"{money(amount(ledger, 'saved', basis), basis)} (see %aimo usage)"


def show_stats(magics: MagicsSurface, store: AnswerCache) -> None:
    from aimo_magic.magics.cmd._table import Table

    stats = store.stats()
    ledger = magics.session.usage.totals()
    rows = [
        ("Entries", f"{stats.entries:,}"),
        ("Answers' size", megabytes(stats.content_bytes)),
        ("File size (with its WAL)", megabytes(stats.file_bytes)),
        ("Largest size", f"{megabytes(stats.max_bytes)} (AimoMagics.cache_max_mb)"),
        ("Hits this session", f"{stats.hits:,}"),
        ("Misses this session", f"{stats.misses:,}"),
        ("Answers stored this session", f"{stats.stores:,}"),
        ("Est. cost saved by hits this session", saved(ledger, magics.session.price_basis)),
        ("Location", stats.path),
        ("State", state_line(magics)),
    ]
    Table(headers=("Answer cache", ""), rows=rows, title="aimo-magic answer cache").show()


def clear(magics: MagicsSurface, store: AnswerCache, args: Any) -> None:
    from aimo_magic.magics.cmd._table import count
    from aimo_magic.magics.failures import fail

    if args.older_than is not None and args.older_than < 0:
        raise fail(magics, "--older-than takes a number of days, 0 or more.")
    removed = store.clear(model=args.model, older_than_days=args.older_than)
    which = []
    if args.model:
        which.append(f"of {args.model}")
    if args.older_than is not None:
        cutoff = datetime.now().timestamp() - args.older_than * 86400
        which.append(f"stored before {datetime.fromtimestamp(cutoff):%Y-%m-%d %H:%M}")
    print(f"Forgot {count(removed, 'cached answer')}{' ' if which else ''}{' '.join(which)}.")


@command(parser)
def run(magics: MagicsSurface, args: Any) -> None:
    from aimo_magic.core.cache import CacheUnavailableError
    from aimo_magic.magics.failures import fail

    action = args.action
    if (args.model or args.older_than is not None) and action != "clear":
        raise fail(magics, "--model and --older-than go with `%aimo cache clear`.")
    if action == "on":
        magics.cache = True
        store = open_store(magics)
        where = f" ({store.path})" if store is not None else ""
        if store is not None:
            print(f"The answer cache is on for %%aimo cells{where}; --no-cache skips it.")
        return
    if action == "off":
        magics.cache = False
        print("The answer cache is off for %%aimo cells; --cache uses it for one cell.")
        return
    store = open_store(magics)
    if store is None:
        return
    try:
        if action == "clear":
            clear(magics, store, args)
        elif action == "stats":
            show_stats(magics, store)
        else:
            print(f"The answer cache is {state_line(magics)}; it lives in {store.path}.")
    except CacheUnavailableError as exc:
        magics.session.cache_unusable(exc)
