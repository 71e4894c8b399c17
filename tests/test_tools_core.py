"""Tools from plain Python: schemas from signatures, validation, results, and the loop
against the emulator (no IPython): calls, errors, refusals, approval, step limit,
interrupt, sync and async."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Annotated, Any, Literal

import pandas as pd
import pytest
from pydantic import AfterValidator, Field

import aimo_magic
from aimo_magic.core.tool_loop import (
    DECLINED,
    CallRecord,
    LoopEvents,
    ToolLoop,
    ToolLoopInterrupted,
)
from aimo_magic.core.tool_results import cut, error_text, result_text
from aimo_magic.core.tools import (
    REGISTRY,
    ToolArgumentsError,
    ToolDefinitionError,
    as_tool,
    make_tool,
    tool,
)
from aimo_magic.emulator import EmulatorHandle

KEY = "aimo-sk-v2-test-0000"
MODEL = "openai/gpt-4o"


@tool
def column_stats(column: str, decimals: int = 2, how: Literal["mean", "spread"] = "mean") -> dict:
    """Summary statistics of one column of the sales data.

    Args:
        column: the column's name, as in the table
        decimals: digits after the point
    """
    return {"column": column, "mean": round(3.14159, decimals), "how": how}


def client(emu: EmulatorHandle, **kwargs: Any) -> aimo_magic.Client:
    return aimo_magic.Client(base_url=emu.base_url, api_key=KEY, **kwargs)


def sent_bodies(emu: EmulatorHandle) -> list[dict[str, Any]]:
    return [json.loads(r["body"]) for r in emu.requests if r["path"].endswith("completions")]


def sent_messages(emu: EmulatorHandle) -> list[list[dict[str, Any]]]:
    return [body["messages"] for body in sent_bodies(emu)]


class Recorder(LoopEvents):
    def __init__(self) -> None:
        self.pieces: dict[tuple[int, int], list[str]] = {}
        self.statuses: list[tuple[str, str]] = []
        self.steps: list[int] = []
        self.texts: list[str] = []

    def step_started(self, step: int) -> None:
        self.steps.append(step)

    def text(self, delta: str) -> None:
        self.texts.append(delta)

    def call_written(
        self, step: int, index: int, call_id: str | None, name: str | None, piece: str
    ) -> None:
        self.pieces.setdefault((step, index), []).append(piece)

    def call_changed(self, record: CallRecord) -> None:
        self.statuses.append((record.call.name, record.status))


# -- schemas and checks ------------------------------------------------------------------


def test_schema_comes_from_signature_hints_and_docstring() -> None:
    described = make_tool(column_stats)
    spec = described.spec()["function"]
    assert spec["name"] == "column_stats"
    assert spec["description"] == "Summary statistics of one column of the sales data."
    parameters = spec["parameters"]
    assert parameters["required"] == ["column"]
    assert parameters["additionalProperties"] is False
    properties = parameters["properties"]
    assert properties["column"] == {
        "type": "string",
        "description": "the column's name, as in the table",
    }
    assert properties["decimals"]["type"] == "integer"
    assert properties["decimals"]["default"] == 2
    assert properties["how"]["enum"] == ["mean", "spread"]


def test_numpy_docstrings_and_annotated_fields_describe_parameters() -> None:
    def scale(
        factor: Annotated[float, Field(gt=0, description="how much bigger")],
        label: str = "x",
    ) -> float:
        """Scale the series.

        Parameters
        ----------
        label : str
            the label of
            the result

        Returns
        -------
        float
        """
        return factor

    properties = make_tool(scale).parameters["properties"]
    assert properties["factor"]["description"] == "how much bigger"
    assert properties["factor"]["exclusiveMinimum"] == 0
    assert properties["label"]["description"] == "the label of the result"
    assert make_tool(scale).description == "Scale the series."


def test_decorator_returns_the_function_and_registers_it() -> None:
    @tool
    def shout(text: str) -> str:
        """Upper-case the text."""
        return text.upper()

    @tool(approve=True, concurrent=True)
    def erase(path: str) -> str:
        """Delete a file."""
        return path

    assert shout("hi") == "HI"  # still the plain function
    assert REGISTRY.get("shout") is as_tool(shout)
    assert as_tool(shout).approve is False
    assert as_tool(erase).approve is True and as_tool(erase).concurrent is True

    def plain(x: int) -> int:
        return x

    assert as_tool(plain).approve is True  # nobody said a plain function is safe


def test_functions_that_cannot_be_described_are_refused_in_one_line() -> None:
    def star(*columns: str) -> None: ...

    def frame(df: pd.DataFrame) -> None: ...

    with pytest.raises(ToolDefinitionError, match=r"\*columns cannot be described"):
        make_tool(star)
    with pytest.raises(ToolDefinitionError) as caught:
        make_tool(frame)
    assert "frame: its parameters cannot be described as JSON" in str(caught.value)
    assert "\n" not in str(caught.value).split("(", 1)[0]
    with pytest.raises(ToolDefinitionError, match="cannot name a tool"):
        make_tool(lambda: 1)  # "<lambda>"


def test_arguments_are_validated_before_the_call() -> None:
    described = make_tool(column_stats)
    assert described.arguments('{"column": "price"}') == {
        "column": "price",
        "decimals": 2,
        "how": "mean",
    }
    for raw, words in [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"column": 3}', "column: Input should be a valid string"),
        ('{"column": "a", "rm": "-rf"}', "rm: Extra inputs are not permitted"),
        ('{"decimals": 1}', "column: Field required"),
        ('{"column": "a", "how": "median"}', "how: Input should be 'mean' or 'spread'"),
    ]:
        with pytest.raises(ToolArgumentsError, match=words):
            described.arguments(raw)


def test_results_are_converted_for_the_model() -> None:
    frame = pd.DataFrame({"price": range(1000), "region": ["north", "south"] * 500})
    text = result_text(frame)
    assert "[DataFrame 1,000×2: 10 of 1,000 rows shown]" in text
    assert text.count("\n") < 20
    assert result_text({"mean": 2.5, "n": 3}) == '{"mean": 2.5, "n": 3}'
    assert result_text(None) == "null"
    long = result_text("x" * 20_000, limit=100)
    assert long.startswith("x" * 100)
    assert long.endswith("[cut: the first 100 of 20,000 characters are shown]")
    assert cut("short") == "short"
    assert error_text(ValueError("no column 'pricee'")) == "Error: ValueError: no column 'pricee'"


# -- the client ----------------------------------------------------------------------------


def test_chat_accepts_functions_and_returns_the_calls(emu: EmulatorHandle) -> None:
    with client(emu) as c:
        result = c.chat("Please call column_stats", model=MODEL, tools=[column_stats])
        streamed = c.stream("Please call column_stats", model=MODEL, tools=[column_stats])
        with streamed:
            assert "".join(streamed) == ""
        assert streamed.result is not None
    for answer in (result, streamed.result):
        assert answer.finish_reason == "tool_calls"
        (call,) = answer.tool_calls
        assert call.name == "column_stats"
        make_tool(column_stats).arguments(call.arguments)  # valid against the schema
    sent = sent_bodies(emu)[0]["tools"]
    assert sent == [make_tool(column_stats).spec()]


# -- the loop ------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
def test_loop_runs_the_call_and_sends_its_result_back(emu: EmulatorHandle, stream: bool) -> None:
    events = Recorder()
    with client(emu) as c:
        loop = ToolLoop([column_stats], events=events)
        done = loop.run(c, "What does column_stats say?", model=MODEL, stream=stream)
    assert done.stopped == "answer"
    assert len(done.steps) == 2 and events.steps == [1, 2]
    (record,) = done.calls
    assert record.status == "done" and record.seconds is not None
    arguments = json.loads(record.call.arguments)
    assert json.loads(record.result)["column"] == arguments["column"]
    assert "".join(events.pieces[(1, 0)]) == record.call.arguments
    assert events.statuses == [("column_stats", "running"), ("column_stats", "done")]
    second = sent_messages(emu)[1]
    assert second[1]["tool_calls"][0]["id"] == record.call.id
    assert second[2] == {"role": "tool", "tool_call_id": record.call.id, "content": record.result}
    assert done.text == done.steps[-1].text and done.text
    assert [m["role"] for m in done.messages] == ["assistant", "tool", "assistant"]
    total = done.usage
    assert total is not None
    assert total.total_tokens == sum(s.usage.total_tokens for s in done.steps if s.usage)


def test_a_failing_function_reports_its_error_to_the_model(emu: EmulatorHandle) -> None:
    def lookup(column: str) -> str:
        """Look a column up."""
        raise KeyError(f"no column {column!r}")

    with client(emu) as c:
        done = ToolLoop([lookup], approve=True).run(c, "Call lookup", model=MODEL)
    (record,) = done.calls
    assert record.status == "failed"
    assert record.result.startswith("Error: KeyError: ")
    assert "Traceback" not in record.result
    assert sent_messages(emu)[1][-1]["content"] == record.result
    assert done.stopped == "answer"


PICKED: list[str] = []


def known_column(column: str) -> str:
    if column not in ("price", "units"):
        raise ValueError(f"{column!r} is not a column of the sales data")
    return column


def pick(column: Annotated[str, AfterValidator(known_column)]) -> str:
    """Pick a column (the validator is not in the schema, as a model might not heed it)."""
    PICKED.append(column)
    return column


def test_arguments_that_do_not_validate_are_refused(emu: EmulatorHandle) -> None:
    with client(emu) as c:
        done = ToolLoop([pick], approve=True).run(c, "Call pick", model=MODEL)
    (record,) = done.calls
    assert record.status == "refused" and not PICKED
    assert record.result.startswith("Refused: the arguments do not fit pick: column: ")
    assert "is not a column of the sales data" in record.result
    assert sent_messages(emu)[1][-1]["content"] == record.result


def test_a_function_not_offered_is_refused(emu: EmulatorHandle) -> None:
    with client(emu) as c:
        loop = ToolLoop([column_stats])
        # The request also lists a function the loop does not hold: the model may name it,
        # the loop must not run anything for it.
        loop.specs.append({"type": "function", "function": {"name": "drop_table"}})
        done = loop.run(c, "Call drop_table now", model=MODEL)
    (record,) = done.calls
    assert record.call.name == "drop_table"
    assert record.status == "refused"
    assert record.result == (
        "Refused: no function named 'drop_table' was offered (offered: column_stats)."
    )


def test_the_step_limit_stops_the_loop_with_a_valid_conversation(emu: EmulatorHandle) -> None:
    forced = {"type": "function", "function": {"name": "column_stats"}}
    with client(emu) as c:
        done = ToolLoop([column_stats], max_steps=3).run(c, "Go", model=MODEL, tool_choice=forced)
    assert done.stopped == "max_steps"
    assert len(done.steps) == 3 and len(sent_messages(emu)) == 3
    assert [r.status for r in done.calls] == ["done", "done", "not run"]
    assert done.calls[-1].result == "Not run: the limit of 3 model steps was reached."
    ids = [m["tool_call_id"] for m in done.messages if m["role"] == "tool"]
    assert ids == [r.call.id for r in done.calls]  # every call answered
    with pytest.raises(ValueError, match="max_steps must be 1 or more"):
        ToolLoop([column_stats], max_steps=0)


def erase_file(path: str) -> str:
    """Delete a file."""
    return f"deleted {path}"


@pytest.mark.parametrize(
    ("approve", "status", "result"),
    [
        (None, "refused", "Refused: erase_file needs the user's approval and nobody can give"),
        (lambda call, tool, args: "skip", "declined", DECLINED),
        (lambda call, tool, args: "run", "done", "deleted "),
        (True, "done", "deleted "),
    ],
)
def test_approval(emu: EmulatorHandle, approve: Any, status: str, result: str) -> None:
    with client(emu) as c:
        done = ToolLoop([erase_file], approve=approve).run(c, "Use erase_file", model=MODEL)
    (record,) = done.calls
    assert record.status == status
    assert record.result.startswith(result)


def test_approving_all_stops_asking(emu: EmulatorHandle) -> None:
    asked: list[dict[str, Any]] = []

    def approve(call: Any, described: Any, arguments: dict[str, Any]) -> str:
        asked.append(arguments)
        return "all"

    forced = {"type": "function", "function": {"name": "erase_file"}}
    events = Recorder()
    with client(emu) as c:
        done = ToolLoop([erase_file], approve=approve, max_steps=4, events=events).run(
            c, "Go", model=MODEL, tool_choice=forced
        )
    assert [r.status for r in done.calls] == ["done", "done", "done", "not run"]
    assert len(asked) == 1 and "path" in asked[0]
    assert events.statuses[:3] == [
        ("erase_file", "waiting"),
        ("erase_file", "running"),
        ("erase_file", "done"),
    ]


def test_interrupt_stops_at_once_and_keeps_what_arrived(emu: EmulatorHandle) -> None:
    def slow(column: str) -> str:
        """A function the user gives up on."""
        raise KeyboardInterrupt

    with client(emu) as c, pytest.raises(ToolLoopInterrupted) as caught:
        ToolLoop([slow, column_stats], approve=True).run(c, "Call slow", model=MODEL)
    partial = caught.value.partial
    assert partial.stopped == "interrupted"
    assert len(partial.steps) == 1 and len(sent_messages(emu)) == 1
    (record,) = partial.calls
    assert record.status == "not run" and record.result == "Not run: the user interrupted."
    assert [m["role"] for m in partial.messages] == ["assistant", "tool"]


def test_ask_runs_the_whole_loop(emu: EmulatorHandle) -> None:
    with client(emu) as c:
        done = aimo_magic.ask(
            "What does column_stats give?", model=MODEL, tools=[column_stats], client=c
        )
    assert done.stopped == "answer" and done.text
    assert [r.call.name for r in done.calls] == ["column_stats"]


def test_async_loop_awaits_coroutine_functions(emu: EmulatorHandle) -> None:
    async def fetch_rate(currency: str) -> float:
        """The exchange rate of a currency."""
        await asyncio.sleep(0)
        return 1.25

    async def main() -> Any:
        async with aimo_magic.AsyncClient(base_url=emu.base_url, api_key=KEY) as c:
            events = Recorder()
            loop = ToolLoop([fetch_rate], approve=True, events=events)
            return await loop.arun(c, "Call fetch_rate", model=MODEL), events

    done, events = asyncio.run(main())
    (record,) = done.calls
    assert record.status == "done" and record.result == "1.25"
    assert "".join(events.pieces[(1, 0)]) == record.call.arguments
    assert done.stopped == "answer"


# -- the answer cache ----------------------------------------------------------------------

RATE = {"value": 1.25}


@tool
def exchange_rate(currency: str) -> float:
    """Today's exchange rate of a currency."""
    return RATE["value"]


def test_cache_replays_a_loop_with_the_same_results_and_asks_again_when_one_changes(
    emu: EmulatorHandle, tmp_path: Any
) -> None:
    RATE["value"] = 1.25
    with client(emu, cache=tmp_path / "answers.sqlite3") as c:
        first = ToolLoop([exchange_rate]).run(c, "Call exchange_rate", model=MODEL)
        assert len(sent_bodies(emu)) == 2
        again = ToolLoop([exchange_rate]).run(c, "Call exchange_rate", model=MODEL)
        assert len(sent_bodies(emu)) == 2  # both steps from the cache: free
        assert all(step.cached_at is not None for step in again.steps)
        assert again.text == first.text
        assert again.calls[0].call == first.calls[0].call
        RATE["value"] = 2.5
        changed = ToolLoop([exchange_rate]).run(c, "Call exchange_rate", model=MODEL)
    bodies = sent_bodies(emu)
    assert len(bodies) == 3  # the first step is the same request; the second is not
    assert bodies[-1]["messages"][-1]["content"] == "2.5"
    assert changed.steps[0].cached_at is not None and changed.steps[1].cached_at is None


def test_a_cache_file_from_before_tool_calls_gains_their_column(tmp_path: Any) -> None:
    import sqlite3

    from aimo_magic.core.cache import AnswerCache, cache_key
    from aimo_magic.core.types import ChatResult, Timings, ToolCall

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(
        """CREATE TABLE answers (id BLOB NOT NULL UNIQUE, model TEXT NOT NULL,
        served_model TEXT NOT NULL, provider TEXT, text TEXT NOT NULL, finish_reason TEXT,
        usage TEXT, timings TEXT, stored_at REAL NOT NULL, used_at REAL NOT NULL,
        size INTEGER NOT NULL);
        PRAGMA user_version = 1;"""
    )
    db.close()
    call = ToolCall("call_1", "exchange_rate", '{"currency": "EUR"}')
    step = ChatResult("", "tool_calls", None, MODEL, None, Timings(None, 0.1), tool_calls=(call,))
    key = cache_key("http://x", MODEL, "q", {})
    with AnswerCache(path) as store:
        store.put(key, step)
        found = store.get(key)
    assert found is not None and found.result.tool_calls == (call,)


# -- several calls in one step (a scripted server: the emulator writes one per step) -------

ORDER: list[str] = []
MEETING = threading.Barrier(2, timeout=30)


@tool
def first(x: int) -> int:
    """Runs in order."""
    ORDER.append(f"first {x}")
    return x


@tool
def second(x: int) -> int:
    """Runs in order."""
    ORDER.append(f"second {x}")
    return x * 2


@tool(concurrent=True)
def meet(x: int) -> str:
    """Returns only once another call is running at the same time (or fails)."""
    MEETING.wait()
    return f"met {x}"


@pytest.mark.parametrize("stream", [True, False])
def test_several_calls_in_one_step_run_in_order_and_answer_in_order(stream: bool) -> None:
    from fixture_servers import serve_scripted_calls

    ORDER.clear()
    script = [
        [("second", '{"x": 3}'), ("first", '{"x": 2}'), ("nowhere", "{}"), ("first", '{"x": "a"}')],
        "All done.",
    ]
    with (
        serve_scripted_calls(script) as server,
        aimo_magic.Client(base_url=server.base_url, api_key=KEY) as c,
    ):
        done = ToolLoop([first, second]).run(c, "Go", model=MODEL, stream=stream)
    assert ORDER == ["second 3", "first 2"]
    assert [r.status for r in done.calls] == ["done", "done", "refused", "refused"]
    sent = server.bodies[1]["messages"]
    assert [m["tool_call_id"] for m in sent if m["role"] == "tool"] == [
        r.call.id for r in done.calls
    ]
    assert [m["content"] for m in sent if m["role"] == "tool"][:2] == ["6", "2"]
    assert done.text == "All done." and done.stopped == "answer"


def test_calls_marked_concurrent_run_at_the_same_time() -> None:
    from fixture_servers import serve_scripted_calls

    script = [[("meet", '{"x": 1}'), ("meet", '{"x": 2}')], "Both met."]
    with (
        serve_scripted_calls(script) as server,
        aimo_magic.Client(base_url=server.base_url, api_key=KEY) as c,
    ):
        done = ToolLoop([meet]).run(c, "Go", model=MODEL)
    # each call waits at a barrier for the other: run one after the other, both would fail
    assert [r.result for r in done.calls] == ["met 1", "met 2"]


@tool(concurrent=True)
def double(x: int) -> int:
    """Twice x (safe to run alongside other calls)."""
    return 2 * x


@pytest.mark.parametrize("stream", [True, False])
def test_the_loop_needs_no_threads(monkeypatch: pytest.MonkeyPatch, stream: bool) -> None:
    """As in the browser's Pyodide kernel: no thread can start, yet concurrent calls run
    (one after the other) and the answer streams."""
    from fixture_servers import serve_scripted_calls

    import aimo_magic.core.tool_loop as tool_loop

    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    script = [[("double", '{"x": 1}'), ("double", '{"x": 2}')], "Both doubled."]
    # the server's own thread starts before threads go
    with (
        serve_scripted_calls(script) as server,
        aimo_magic.Client(base_url=server.base_url, api_key=KEY) as c,
    ):
        monkeypatch.setattr(tool_loop, "_threads_available", lambda: False)
        monkeypatch.setattr(threading.Thread, "start", refuse)
        done = ToolLoop([double]).run(c, "Go", model=MODEL, stream=stream)
        monkeypatch.undo()
    assert [r.result for r in done.calls] == ["2", "4"]
    assert done.text == "Both doubled."


def test_async_loop_runs_concurrent_calls_together_and_streams_calls() -> None:
    from fixture_servers import serve_scripted_calls

    script = [[("meet", '{"x": 1}'), ("meet", '{"x": 2}')], "Both met."]

    async def main(base_url: str) -> Any:
        async with aimo_magic.AsyncClient(base_url=base_url, api_key=KEY) as c:
            return await ToolLoop([meet]).arun(c, "Go", model=MODEL, stream=True)

    with serve_scripted_calls(script) as server:
        done = asyncio.run(main(server.base_url))
    assert [r.result for r in done.calls] == ["met 1", "met 2"]  # each waited for the other
    assert done.text == "Both met."


def test_without_pydantic_a_tool_is_described_or_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As in the offline browser site, where pydantic cannot be installed: the common
    types are described and checked without it (tests/test_tools_plain_schema.py
    compares the two), anything else is refused in one line."""
    import sys

    monkeypatch.setitem(sys.modules, "pydantic", None)

    def lookup(column: str) -> str:
        """Look a column up."""
        return column

    def frame(df: pd.DataFrame) -> None: ...

    assert make_tool(lookup).arguments('{"column": "price"}') == {"column": "price"}
    with pytest.raises(ToolArgumentsError, match="column: Input should be a valid string"):
        make_tool(lookup).arguments('{"column": 3}')
    with pytest.raises(ToolDefinitionError) as caught:
        make_tool(frame)
    assert str(caught.value).startswith("frame: without pydantic the type of df: DataFrame")
    assert "pip install 'pydantic>=2'" in str(caught.value) and "\n" not in str(caught.value)


def test_a_tool_built_by_hand_is_checked_against_its_function() -> None:
    from aimo_magic.core.tools import Tool

    def double(x: int) -> int:
        return 2 * x

    by_hand = Tool(double, "double", "Double it.", {"type": "object"})
    assert by_hand.arguments('{"x": "3"}') == {"x": 3}
    with pytest.raises(ToolArgumentsError, match="x: Field required; y: Extra inputs"):
        by_hand.arguments('{"y": 1}')
