"""The messages a prompt is sent with: the system prompt, the thread's earlier turns
that fit, and the prompt itself.

The third step of a cell's prompt (after its placeholders are filled, before it is
sent). The thread is only read here; the answer is recorded once it is in
(``magics/record.py``), so a failed request leaves the conversation as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aimo_magic.core.content import Content
    from aimo_magic.core.types import Model
    from aimo_magic.magics.ask_context import AskContext, AskSettings

CONTEXT_SHARE = 0.75


def history_budget(
    settings: AskSettings, model: Model | None, params: Mapping[str, Any]
) -> int | None:
    """Tokens of history to send: the setting, else a share of the model's context."""
    if settings.history_tokens > 0:
        return settings.history_tokens
    if model is None or not model.context_length:
        return None
    reserve = int(params.get("max_tokens") or 0)
    return max(int(model.context_length * CONTEXT_SHARE) - reserve, 256)


def prompt_messages(
    ctx: AskContext,
    prompt: Content,
    *,
    thread: str | None,
    new: bool,
    system: str | None,
    model: Model | None,
    params: Mapping[str, Any],
    text_only: bool = False,
) -> list[dict[str, Any]]:
    """The messages for ``prompt``: with the history of ``thread`` unless there is none
    (``--no-history``) or it starts afresh (``--new``).

    ``text_only``: a model they go to takes no images (a comparison's may be another
    than ``model``), so earlier turns carry notes where their images were.
    """
    store = ctx.session.conversations
    if thread is None or new or thread not in store.names():
        # --new starts the thread afresh, but only once the answer is in (see record);
        # a thread not begun yet is made then too, so a refused cell leaves none behind.
        opening = [{"role": "system", "content": system}] if system else []
        return [*opening, {"role": "user", "content": prompt}]
    return store.thread(thread).messages_for(
        prompt,
        system=system,
        cell_id=ctx.session.current_cell_id,
        max_turns=ctx.settings.history_turns,
        max_tokens=history_budget(ctx.settings, model, params),
        image_turns=0 if text_only else ctx.settings.image_turns,
    )
