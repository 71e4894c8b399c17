"""Show the effective settings: each one's value and meaning, the URL and the key source.

Change a setting with `%config AimoMagics.NAME = VALUE`, or for every session with
`c.AimoMagics.NAME = VALUE` in ipython_config.py. The key is shown masked only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aimo_magic.magics.cmd._args import CommandParser, command

if TYPE_CHECKING:
    from aimo_magic.core.budget import BudgetState
    from aimo_magic.magics.cmd._host import MagicsSurface


def parser() -> CommandParser:
    return CommandParser("config", __doc__)


def effective_base_url(magics: MagicsSurface) -> str:
    from aimo_magic.core.config import ConfigurationError

    try:
        return magics.session.resolve(for_request=False).base_url
    except ConfigurationError as exc:
        return f"unusable: {exc}"


def shown_value(name: str, value: Any) -> str:
    from aimo_magic.core.secrets import mask

    if name == "api_key":
        return mask(value) if value else "None"
    return repr(value)


def budget_text(state: BudgetState) -> str:
    return state.summary() if state.cap is not None else f"none; {state.summary()}"


@command(parser)
def run(magics: MagicsSurface, args: Any) -> None:
    from aimo_magic.core.secrets import mask
    from aimo_magic.magics.cmd._table import Table
    from aimo_magic.rendering.sanitize import describe

    traits = magics.traits(config=True)
    rows = [
        (f"AimoMagics.{name}", shown_value(name, getattr(magics, name)), traits[name].help)
        for name in sorted(traits)
    ]
    session = magics.session
    key, source = session.find_key()
    default = session.default_model
    basis = session.price_basis
    rows += [
        ("effective base URL", effective_base_url(magics), "where requests go"),
        ("key source", source, "first found: %aimo login or api_key, AIMO_API_KEY, Colab secrets"),
        ("key", mask(key), "masked; the key itself is never shown"),
        ("effective default model", default or "None", "what %%aimo uses without MODEL"),
        ("costs shown in", basis.describe(), "every cost, estimate and budget (price_unit)"),
        ("budget", budget_text(session.budget.state(basis)), "%aimo budget N|off; %aimo usage"),
        ("HTML sanitiser", describe(), "cleans every answer's HTML; AIMO_SANITIZER chooses"),
    ]
    Table(
        headers=("Setting", "Value", "Meaning"),
        rows=rows,
        title="aimo-magic settings",
        notes=[
            "Change one with %config AimoMagics.NAME = VALUE "
            "(e.g. %config AimoMagics.footer = False)."
        ],
    ).show()
