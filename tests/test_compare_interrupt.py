"""Ctrl-C during ``%%aimo --compare``: a second press while the first one's stop is under
way ends the cell with the same one line, and what arrived is still kept and shown.

The comparison runs in this process against the emulator on loopback, shown through a
sink that records each render; the presses are real SIGINTs raised from inside those
renders, so each one lands exactly where a person's press would: the first while the
answers stream, the second while the stop shows the interrupted panes.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import Any

import pytest

from aimo_magic.core.resolution import Choices
from aimo_magic.emulator import EmulatorHandle
from aimo_magic.magics.ask_context import AskContext, AskSettings
from aimo_magic.magics.cell_options import CellOptions
from aimo_magic.magics.compare import build_compare
from aimo_magic.magics.compare_exchange import INTERRUPTED, CompareExchange
from aimo_magic.magics.failures import AnswerInterrupted
from aimo_magic.rendering.compare_view import WAITING
from aimo_magic.session import AimoSession

MODELS = "openai/gpt-4o,DeepSeek-V3-1"
STALLING = "Tell me about rivers ::words 200 ::fault stall_after=5;stall_s=60"


class PressingSink:
    """Records every render of the panes; presses Ctrl-C at the moments a test names."""

    def __init__(self) -> None:
        self.renders: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.presses = 0

    def open(self, bundle: dict[str, Any], metadata: dict[str, Any]) -> PressingSink:
        self.update(bundle, metadata)
        return self

    def update(self, bundle: dict[str, Any], metadata: dict[str, Any]) -> None:
        self.renders.append((bundle, metadata))
        statuses = [pane["status"] for pane in metadata["aimo"]["panes"]]
        streaming_in_both = WAITING not in bundle["text/plain"] and "streaming" in statuses
        if self.presses == 0 and streaming_in_both:
            self.press()
        elif self.presses == 1 and "interrupted" in statuses:
            self.press()  # again, while the first press's stop is being shown

    def press(self) -> None:
        self.presses += 1
        signal.raise_signal(signal.SIGINT)


@pytest.fixture
def ctx(emu: EmulatorHandle) -> Iterator[AskContext]:
    session = AimoSession()
    session.explicit_key = "aimo-sk-v2-test-compare-interrupt-0000"
    session.configured = Choices(base_url=emu.base_url, timeout=30.0, max_retries=0)
    settings = AskSettings(short_errors=True)
    try:
        yield AskContext(session, settings)
    finally:
        session.close()


def test_a_second_ctrl_c_during_the_stop_is_the_same_one_line(ctx: AskContext) -> None:
    options = CellOptions(compare=MODELS, no_history=True)
    request = build_compare(ctx, options, STALLING)
    sink = PressingSink()
    with pytest.raises(KeyboardInterrupt) as raised:
        CompareExchange(ctx, request, sink=sink).run()
    assert sink.presses == 2, "both presses happened"
    assert type(raised.value) is AnswerInterrupted, "one line, not a traceback"
    assert str(raised.value) == INTERRUPTED
    final, metadata = sink.renders[-1]
    assert [p["status"] for p in metadata["aimo"]["panes"]] == ["interrupted"] * 2
    assert "Not ranked" in final["text/plain"], "the stop finished: the summary is there"
    assert set(metadata["aimo"]["answers"]) == set(MODELS.split(","))
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler, "Ctrl-C works again"
