"""Open a panel to search models, compare providers and prices, and pick the default.

SEARCH fills the search box (every word must match a model's names, providers or
modalities). "Use this model" sets the default of the following %%aimo cells; a
default set elsewhere shows in the panel. `sel = %aimo select` keeps the panel as a
Python object (`sel.selected_id`, `sel.choose()`); `aimo_magic.ModelSelector()` is
the same panel from Python.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aimo_magic.magics.cmd._args import CommandParser, command

if TYPE_CHECKING:
    from aimo_magic.magics.cmd._host import MagicsSurface
    from aimo_magic.widgets.selector import ModelSelector


def parser() -> CommandParser:
    p = CommandParser("select", __doc__)
    p.add_argument("search", nargs="*", metavar="SEARCH", help="words to search for")
    return p


def load_after_cell(shell: Any, selector: ModelSelector) -> None:
    """Fetch once the cell has ended, so the panel is already shown while it loads."""

    def hook(*_args: Any) -> None:
        shell.events.unregister("post_run_cell", hook)
        selector.ensure_loaded()

    shell.events.register("post_run_cell", hook)


@command(parser)
def run(magics: MagicsSurface, args: Any) -> ModelSelector:
    from aimo_magic.widgets.selector import ModelSelector

    selector = ModelSelector(magics=magics, search=" ".join(args.search), load=False)
    shell = magics.shell
    if shell is not None and hasattr(shell, "events"):
        load_after_cell(shell, selector)
    else:
        selector.load()
    return selector
