"""The ask path's steps used directly: options, an immutable request, recording a turn.

The catalogue comes from the emulator on loopback; nothing here needs a kernel.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.error import UsageError

from aimo_magic.core.resolution import Choices
from aimo_magic.core.types import ChatResult, Timings
from aimo_magic.emulator import EmulatorHandle
from aimo_magic.magics.ask_context import AskContext, AskSettings
from aimo_magic.magics.cell_options import CellOptions, cell_arguments, parse_cell_line
from aimo_magic.magics.record import record_turn
from aimo_magic.magics.request import AskRequest, build_request
from aimo_magic.session import AimoSession

MODEL = "DeepSeek-V3-1"


@pytest.fixture
def ctx(emulator: EmulatorHandle) -> Iterator[AskContext]:
    session = AimoSession()
    session.explicit_key = "aimo-sk-v2-test-request-0000"
    session.configured = Choices(base_url=emulator.base_url, timeout=30.0, max_retries=0)
    settings = AskSettings()
    try:
        yield AskContext(session, settings)
    finally:
        session.close()


def parser() -> Any:
    def aimo(line: str, cell: str | None = None) -> None:
        """A stand-in for the magic."""

    return cell_arguments(aimo).parser


def test_every_option_of_the_line_is_a_field_of_the_options() -> None:
    dests = {action.dest for action in parser()._actions if action.dest != "help"}
    assert dests == {field.name for field in dataclasses.fields(CellOptions)}


def test_the_line_is_read_into_frozen_options() -> None:
    settings = AskSettings(short_errors=False)
    options = parse_cell_line(settings, parser(), f"{MODEL} -t 0.5 -p top_p=0.9 -c side --new")
    assert options == CellOptions(
        model=MODEL, temperature=0.5, param=("top_p=0.9",), chat="side", new=True
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.chat = "other"  # type: ignore[misc]
    with pytest.raises(UsageError, match="saved in the notebook"):
        parse_cell_line(settings, parser(), "-p key=AIMO-SK-v2-shouting")


def test_a_request_is_immutable_and_shares_nothing_with_its_maker(ctx: AskContext) -> None:
    prompt: list[dict[str, Any]] = [{"type": "text", "text": "What is this?"}]
    request = build_request(ctx, CellOptions(model=MODEL, no_history=True, param=("n=1",)), prompt)
    prompt[0]["text"] = "changed"
    assert request.prompt == [{"type": "text", "text": "What is this?"}]
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.model_id = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        request.params["n"] = 2  # type: ignore[index]
    sent = request.message_list()
    sent[0]["content"] = "rewritten"
    assert request.messages[0]["content"] == [{"type": "text", "text": "What is this?"}]
    other = request.replace(model_id="openai/gpt-4o")
    assert other.model_id == "openai/gpt-4o" and request.model_id == MODEL
    assert request.thread is None and request.model is not None and request.model.name == MODEL


def test_refused_options_evaluate_no_placeholder(ctx: AskContext) -> None:
    calls: list[int] = []

    def counter() -> int:
        calls.append(1)
        return len(calls)

    namespace = {"counter": counter}
    with pytest.raises(ValueError, match="-f code"):
        build_request(
            ctx, CellOptions(model=MODEL, insert=True), "n={counter()}", namespace=namespace
        )
    assert calls == []
    request = build_request(
        ctx, CellOptions(model=MODEL, no_history=True), "n={counter()}", namespace=namespace
    )
    assert request.prompt == "n=1" and calls == [1]


def test_a_key_reached_through_a_placeholder_is_refused(ctx: AskContext) -> None:
    with pytest.raises(ValueError, match="looks like an AiMo API key"):
        build_request(
            ctx, CellOptions(model=MODEL), "{secret}", namespace={"secret": "aimo-sk-v2-leak"}
        )


def test_recording_a_new_thread_replaces_it_and_leaves_the_request_alone(ctx: AskContext) -> None:
    store = ctx.session.conversations
    old = store.thread("t")
    old.system = "old system"
    request = build_request(ctx, CellOptions(model=MODEL, chat="t", new=True, system="new"), "hi")
    before = dataclasses.asdict(request)
    result = ChatResult("hello", "stop", None, MODEL, "prov", Timings(None, 0.1))
    record_turn(store, request, result.text, result, partial=False)
    record_turn(store, request, result.text, result, partial=False)
    thread = store.thread("t")
    assert thread is not old and thread.system == "new"
    assert [t.assistant for t in thread.turns] == ["hello"]
    assert dataclasses.asdict(request) == before, "recording changes nothing in the request"


def test_the_request_type_is_what_every_cell_builds() -> None:
    fields = {field.name for field in dataclasses.fields(AskRequest)}
    assert {"model_id", "thread", "messages", "params", "fmt", "cell_id"} <= fields


def test_read_only_parameters_still_copy_and_serialise(ctx: AskContext) -> None:
    import copy
    import json
    import pickle

    request = build_request(ctx, CellOptions(model=MODEL, no_history=True, param=("n=1",)), "x")
    for change in (
        lambda p: p.update(n=2),
        lambda p: p.pop("n"),
        lambda p: p.setdefault("m", 1),
        lambda p: p.clear(),
    ):
        with pytest.raises(TypeError):
            change(request.params)
    assert json.loads(json.dumps(request.params)) == {"n": 1}
    assert copy.deepcopy(request) == request == pickle.loads(pickle.dumps(request))
    assert dataclasses.asdict(request)["params"] == {"n": 1}
