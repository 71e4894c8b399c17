"""List the functions a model may call: each registered tool, whether it asks first, and
the JSON Schema of its arguments.

Decorate a function with @aimo_magic.tool (or @aimo_magic.tool(approve=True) for one
with effects) to register it; `%%aimo --tools NAME,...` or `--tools all` offers them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aimo_magic.magics.cmd._args import CommandParser, command, first_paragraph

if TYPE_CHECKING:
    from aimo_magic.magics.cmd._host import MagicsSurface


def parser() -> CommandParser:
    return CommandParser("tools", __doc__)


@command(parser)
def run(magics: MagicsSurface, args: Any) -> None:
    import json

    from aimo_magic.core.tools import REGISTRY
    from aimo_magic.magics.cmd._table import Table

    registered = REGISTRY.all()
    if not registered:
        print(
            "No tools are registered yet: decorate a function with @aimo_magic.tool "
            "(@aimo_magic.tool(approve=True) for one that changes things), then "
            "`%%aimo --tools NAME`."
        )
        return
    rows = [
        (
            tool.name,
            "asks first" if tool.approve else "runs",
            first_paragraph(tool.description),
            json.dumps(tool.parameters, ensure_ascii=False),
        )
        for tool in sorted(registered, key=lambda t: t.name)
    ]
    Table(
        headers=("Tool", "Calls", "Description", "Arguments (JSON Schema)"),
        rows=rows,
        code_columns=frozenset({0, 3}),
        notes=["`%%aimo --tools NAME[,NAME...]` offers some; `--tools all` offers every one."],
    ).show()
