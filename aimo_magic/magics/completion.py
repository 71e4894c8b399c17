"""Tab completion for ``%aimo`` subcommands and the ``%%aimo`` line.

Completions come only from what the session already holds (the cached catalogue,
aliases, threads): pressing Tab must never wait on the network. The matcher uses
IPython's v2 matcher API so it can replace a whole word, ``/`` and ``:`` included,
which model ids are full of.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from aimo_magic.core.resolution import WILDCARD

if TYPE_CHECKING:
    from aimo_magic.magics.aimo_magics import AimoMagics

# What each positional argument of a subcommand names, in order.
ARGUMENTS: dict[str, tuple[str, ...]] = {
    "alias": ("alias", "model"),
    "explain": ("model",),
    "help": ("command",),
    "history": ("thread",),
    "reset": ("thread",),
    "unalias": ("alias",),
    "use": ("model",),
}
CELL_VALUE_KINDS = {
    "-c": "thread",
    "--chat": "thread",
    "-f": "format",
    "--format": "format",
    "--compare": "model list",
    "--keep": "compared model",
}
MATCHER_ID = "aimo_magic.completion"

_INSTALLED: dict[int, Any] = {}


def _threads(magics: AimoMagics) -> list[str]:
    from aimo_magic.conversation import DEFAULT_THREAD

    names = magics.session.conversations.names()
    return names if DEFAULT_THREAD in names else [DEFAULT_THREAD, *names]


def _models(magics: AimoMagics) -> list[str]:
    session = magics.session
    ids = list(session.aliases)
    for model in session.cached_catalogue or ():
        ids.extend(model.ids)
    return ids


def _values(magics: AimoMagics, kind: str | None) -> list[str]:
    from aimo_magic.magics.cmd import COMMANDS
    from aimo_magic.rendering.bundles import FORMATS

    sources: dict[str, Callable[[], Iterable[str]]] = {
        "command": lambda: sorted(COMMANDS),
        "model": lambda: _models(magics),
        "alias": lambda: sorted(magics.session.aliases),
        "thread": lambda: _threads(magics),
        "format": lambda: FORMATS,
    }
    source = sources.get(kind or "")
    return list(source()) if source else []


def _model_list(magics: AimoMagics, fragment: str) -> list[str]:
    """``--compare a,b,c``: the list so far with one more model (or ``NAME@*``) after it."""
    done, _, _ = fragment.rpartition(",")
    prefix = f"{done}," if done else ""
    names = [m.name + WILDCARD for m in magics.session.cached_catalogue or () if m.providers]
    return [prefix + model for model in [*_models(magics), *names]]


def _compared(magics: AimoMagics, before: list[str]) -> list[str]:
    """``--keep``: the models the line compares (as written, ``NAME@*`` as its providers'
    names and ids, which ``--keep`` accepts); every model while no ``--compare`` is typed."""
    from aimo_magic.core.resolution import split_models, unalias

    spec = None
    for index, word in enumerate(before):
        if word == "--compare" and index + 1 < len(before):
            spec = before[index + 1]
        elif word.startswith("--compare="):
            spec = word.partition("=")[2]
    if spec is None:
        return _models(magics)
    session = magics.session
    offered: list[str] = []
    for name in split_models(spec):
        if not name.endswith(WILDCARD):
            offered.append(name)
            continue
        base = unalias(name, session.aliases)[: -len(WILDCARD)]
        model = next((m for m in session.cached_catalogue or () if m.name == base), None)
        offers = model.providers if model is not None else ()
        offered.extend([*(o.name for o in offers), *(o.id for o in offers)])
    return offered


def _filter(options: Iterable[str], fragment: str) -> list[str]:
    """Prefix matches, else case-blind prefix matches, else case-blind substrings."""
    options = list(dict.fromkeys(options))
    lowered = fragment.lower()
    for test in (
        lambda o: o.startswith(fragment),
        lambda o: o.lower().startswith(lowered),
        lambda o: lowered in o.lower(),
    ):
        found = [o for o in options if test(o)]
        if found:
            return found
    return []


def _cell_actions(magics: AimoMagics) -> list[Any]:
    """The ``%%aimo`` line's argparse actions (magic_arguments keeps its parser there)."""
    return list(getattr(getattr(magics.aimo, "parser", None), "_actions", ()))


def _option_strings(magics: AimoMagics, subcommand: str | None) -> list[str]:
    if subcommand is None:
        actions = _cell_actions(magics)
        return [s for a in actions for s in a.option_strings if s not in ("-h", "--help")]
    from aimo_magic.magics.cmd import command_module

    module = command_module(subcommand)
    make_parser = getattr(module, "parser", None)
    return make_parser().option_strings() if make_parser else []


def _line_kind(
    magics: AimoMagics, before: list[str], fragment: str
) -> tuple[str | None, list[str]]:
    """What the word being typed on a ``%aimo`` line names, and any options to offer."""
    if not before:
        return "command", []
    subcommand = before[0]
    if fragment.startswith("-"):
        return None, _option_strings(magics, subcommand)
    position = len([word for word in before[1:] if not word.startswith("-")])
    kinds = ARGUMENTS.get(subcommand, ())
    return (kinds[position] if position < len(kinds) else None), []


def _cell_kind(
    magics: AimoMagics, before: list[str], fragment: str
) -> tuple[str | None, list[str]]:
    """What the word being typed on a ``%%aimo`` line names, and any options to offer."""
    if fragment.startswith("-"):
        return None, _option_strings(magics, None)
    takes_value = {s for a in _cell_actions(magics) if a.nargs != 0 for s in a.option_strings}
    if before and before[-1] in takes_value:
        return CELL_VALUE_KINDS.get(before[-1]), []
    positional = [
        word
        for index, word in enumerate(before)
        if not word.startswith("-") and (index == 0 or before[index - 1] not in takes_value)
    ]
    return ("model" if not positional else None), []


def completions_for(
    magics: AimoMagics, line_before_cursor: str, *, first_line: bool = True
) -> tuple[str, list[str]] | None:
    """The word being completed and its completions, or None when the line is not ours."""
    words = line_before_cursor.split()
    if not words or words[0] not in ("%aimo", "%%aimo"):
        return None
    cell = words[0] == "%%aimo"
    if cell and not first_line:
        return None
    ends_word = not line_before_cursor[-1:].isspace()
    if ends_word and len(words) == 1:
        return None
    fragment = words[-1] if ends_word else ""
    before = words[1:-1] if ends_word else words[1:]
    kind, options = (_cell_kind if cell else _line_kind)(magics, before, fragment)
    if kind == "model list":
        values = _model_list(magics, fragment)
    elif kind == "compared model":
        values = _compared(magics, before)
    else:
        values = _values(magics, kind)
    found = _filter([*options, *values], fragment)
    return (fragment, found) if found else None


def make_matcher(magics: AimoMagics) -> Any:
    """An IPython v2 matcher bound to one session."""
    from IPython.core.completer import SimpleCompletion, context_matcher

    @context_matcher(identifier=MATCHER_ID, priority=1)
    def aimo_matcher(context: Any) -> dict[str, Any]:
        found = completions_for(
            magics, context.text_until_cursor, first_line=context.cursor_line == 0
        )
        if found is None:
            return {"completions": [], "suppress": False}
        fragment, texts = found
        return {
            "completions": [SimpleCompletion(text, type="aimo") for text in texts],
            "matched_fragment": fragment,
            "suppress": True,
            "ordered": True,
        }

    return aimo_matcher


def install(shell: Any, magics: AimoMagics) -> None:
    completer = getattr(shell, "Completer", None)
    if completer is None or id(shell) in _INSTALLED:
        return
    matcher = make_matcher(magics)
    completer.custom_matchers.append(matcher)
    _INSTALLED[id(shell)] = matcher


def uninstall(shell: Any) -> None:
    matcher = _INSTALLED.pop(id(shell), None)
    completer = getattr(shell, "Completer", None)
    if matcher is not None and completer is not None and matcher in completer.custom_matchers:
        completer.custom_matchers.remove(matcher)
