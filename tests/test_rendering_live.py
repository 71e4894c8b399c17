"""LiveAnswer against a recording sink and a hand-driven clock: no mocks, no real time."""

from __future__ import annotations

import io
import itertools
import json
import random
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from waiting import wait_until

from aimo_magic.core.types import Usage
from aimo_magic.rendering.bundles import FormatError
from aimo_magic.rendering.footer import FooterInfo
from aimo_magic.rendering.live import LiveAnswer
from aimo_magic.rendering.markdown import render_markdown
from aimo_magic.rendering.sinks import TerminalSink, rich_frontend_available


@dataclass
class RecordedOutput:
    """One output area: every bundle and metadata it was given, in order."""

    history: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)

    def update(self, bundle: dict[str, Any], metadata: dict[str, Any]) -> None:
        self.history.append((dict(bundle), metadata))
        self.sink.events.append(self)
        self.sink.threads.append(threading.current_thread().name)
        self.sink.times.append(self.sink.clock.now if self.sink.clock else 0.0)

    @property
    def bundle(self) -> dict[str, Any]:
        return self.history[-1][0]

    @property
    def metadata(self) -> dict[str, Any]:
        return self.history[-1][1]

    sink: RecordingSink = field(default=None, repr=False)  # type: ignore[assignment]


class RecordingSink:
    """A real sink that keeps what a notebook would show, output by output."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock
        self.outputs: list[RecordedOutput] = []
        self.events: list[RecordedOutput] = []  # one entry per open or update, in order
        self.times: list[float] = []  # the clock's reading at each event
        self.threads: list[str] = []  # the thread that sent each event

    def open(self, bundle: dict[str, Any], metadata: dict[str, Any]) -> RecordedOutput:
        output = RecordedOutput(sink=self)
        self.outputs.append(output)
        output.update(bundle, metadata)
        return output

    def role(self, output: RecordedOutput) -> str:
        return str(output.metadata["aimo"]["output"])

    def answers(self) -> list[RecordedOutput]:
        return [o for o in self.outputs if self.role(o) == "answer"]

    def shown_html(self) -> str:
        return "".join(o.bundle["text/html"] for o in self.answers())

    def shown_plain(self) -> str:
        return "".join(o.bundle["text/plain"] for o in self.answers())


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def stream(live: LiveAnswer, clock: Clock, text: str, *, chunk: int, step: float) -> None:
    for start in range(0, len(text), chunk):
        clock.now += step
        live.append(text[start : start + chunk])


def long_markdown(size: int, seed: int = 7) -> str:
    """A deterministic answer mixing the block kinds models write."""
    rng = random.Random(seed)
    words = [
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
        "zeta",
        "theta",
        "kappa",
        "lambda",
        "sigma",
        "omega",
    ]

    def sentence(n: int) -> str:
        return " ".join(rng.choice(words) for _ in range(n)) + "."

    parts: list[str] = []
    while sum(map(len, parts)) < size:
        kind = rng.randrange(5)
        if kind == 0:
            parts.append(f"{sentence(40)} Math $x_{len(parts)} * y$ stays.\n\n")
        elif kind == 1:
            parts.append(f"## {sentence(4)}\n\n")
        elif kind == 2:
            parts.append("".join(f"- {sentence(6)}\n" for _ in range(4)) + "\n")
        elif kind == 3:
            body = "".join(f"def f{i}(x):\n    return x * {i}\n" for i in range(6))
            parts.append(f"```python\n{body}```\n\n")
        else:
            rows = "".join(f"| {sentence(2)} | {i} |\n" for i in range(5))
            parts.append(f"| name | value |\n|---|--:|\n{rows}\n")
    return "".join(parts)


class Timers:
    """A hand-driven scheduler: timers fire only when a test says the time has come."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.due: list[tuple[float, Callable[[], None]]] = []
        self.cancelled = 0

    def __call__(self, delay: float, callback: Callable[[], None]) -> Callable[[], None]:
        entry = (self.clock.now + delay, callback)
        self.due.append(entry)

        def cancel() -> None:
            if entry in self.due:
                self.due.remove(entry)
                self.cancelled += 1

        return cancel

    def advance(self, seconds: float) -> None:
        """Move the clock on, firing the timers that come due on the way."""
        end = self.clock.now + seconds
        while self.due and min(when for when, _ in self.due) <= end:
            entry = min(self.due, key=lambda e: e[0])
            self.due.remove(entry)
            self.clock.now = max(self.clock.now, entry[0])  # a late timer fires now
            entry[1]()
        self.clock.now = end


def make(fmt: str = "markdown", **kwargs: Any) -> tuple[LiveAnswer, RecordingSink, Clock]:
    live, sink, clock, _ = make_timed(fmt, **kwargs)
    return live, sink, clock


def make_timed(
    fmt: str = "markdown", **kwargs: Any
) -> tuple[LiveAnswer, RecordingSink, Clock, Timers]:
    clock = Clock()
    sink = RecordingSink(clock)
    timers = Timers(clock)
    live = LiveAnswer(
        fmt, sink=sink, clock=clock, scheduler=timers, metadata={"model": "m/x"}, **kwargs
    )
    return live, sink, clock, timers


def test_updates_arrive_while_streaming_and_the_final_render_is_complete() -> None:
    live, sink, clock = make()
    text = "# Title\n\nSome *streamed* answer with `code` and more words.\n"
    stream(live, clock, text, chunk=3, step=0.05)
    clock.now += 1
    live.append("!")  # published at once: the last publish was long ago
    updates_before_finish = len(sink.events)
    clock.now += 0.01
    live.append(" Last words.")  # too soon after that publish to be shown yet
    assert sink.shown_plain() == text + "!"
    live.finish("complete")
    assert updates_before_finish >= 5
    assert live.text == text + "! Last words."
    assert sink.shown_plain() == live.text
    assert sink.shown_html() == render_markdown(live.text)


def test_rate_is_bounded_by_min_interval_not_by_token_count() -> None:
    live, sink, clock = make(min_interval=0.1)
    stream(live, clock, "word " * 2000, chunk=1, step=0.001)  # 10,000 tokens over 10 s
    moments = sorted(set(sink.times))
    assert 90 <= len(moments) <= 101
    assert all(later - earlier >= 0.1 - 1e-9 for earlier, later in itertools.pairwise(moments))
    live2, sink2, _ = make(min_interval=0.1)
    for _ in range(500):
        live2.append("x")  # the clock never moves: only the first append publishes
    assert len(sink2.events) == 1


def test_frozen_outputs_concatenate_to_the_render_of_the_whole_answer() -> None:
    live, sink, clock = make(freeze_at=1024, split_at=1 << 30)
    text = long_markdown(30_000)
    stream(live, clock, text, chunk=40, step=0.02)
    live.finish("complete")
    answers = sink.answers()
    assert len(answers) > 5
    assert sink.shown_plain() == text
    assert sink.shown_html() == render_markdown(text)
    for output in answers:
        assert output.bundle["text/markdown"]  # every part is a full bundle
        assert output.metadata["aimo"]["model"] == "m/x"


def test_only_the_last_output_is_ever_updated() -> None:
    live, sink, clock = make(freeze_at=1024)
    stream(live, clock, long_markdown(20_000), chunk=25, step=0.02)
    live.finish("complete")
    opened: list[RecordedOutput] = []
    for output in sink.events:
        if output not in opened:
            opened.append(output)
        assert output is opened[-1], "a frozen output was sent again"


@pytest.mark.parametrize(
    "text",
    [
        long_markdown(100_000, seed=3),
        "```python\n"
        + "".join(f"value_{i} = compute({i})  # step\n" for i in range(3000))
        + "```\n",
        "| k | v |\n|---|---|\n" + "".join(f"| key {i} | value {i} |\n" for i in range(4000)),
        "".join(f"{i}. item number {i} of a very long list\n" for i in range(1, 3000)),
        "".join(f"> quoted line {i}\n>\n" for i in range(3000)),
    ],
    ids=["mixed", "one-code-block", "one-table", "one-list", "one-quote"],
)
def test_update_size_stays_bounded_however_long_the_answer(text: str) -> None:
    live, sink, clock = make()
    stream(live, clock, text, chunk=10, step=0.0005)  # 100 KB over 5 s, as a fast model
    live.finish("complete")
    assert len(text) > 60_000
    assert sink.shown_plain() == text
    largest = max(len(bundle["text/plain"]) for o in sink.outputs for bundle, _ in o.history)
    assert largest < 16_000, "a live update re-sent most of the answer"
    sent = sum(len(json.dumps(bundle)) for o in sink.outputs for bundle, _ in o.history)
    final = sum(len(json.dumps(o.bundle)) for o in sink.outputs)
    assert sent < 3 * final


def test_a_split_code_block_keeps_every_line_highlighted_in_order() -> None:
    live, sink, clock = make(freeze_at=512, split_at=1024)
    lines = [f"total_{i} = total_{i - 1} + {i}" for i in range(1, 400)]
    text = "Code:\n\n```python\n" + "\n".join(lines) + "\n```\n\nDone.\n"
    stream(live, clock, text, chunk=30, step=0.05)
    live.finish("complete")
    assert len(sink.answers()) > 3
    html = sink.shown_html()
    positions = [html.find(f"total_{i} = total_{i - 1} + <span") for i in range(1, 400)]
    assert all(p >= 0 for p in positions)
    assert positions == sorted(positions)
    assert "```" not in html
    assert sink.shown_plain() == text


def test_flush_shows_text_the_rate_limit_held_back() -> None:
    live, sink, _ = make(min_interval=0.1)
    live.append("first ")
    live.append("second")  # same instant: held back
    assert sink.shown_plain() == "first "
    live.flush()
    assert sink.shown_plain() == "first second"
    events = len(sink.events)
    live.flush()  # nothing new: no update
    assert len(sink.events) == events


@pytest.mark.parametrize(
    ("fmt", "pieces"),
    [
        ("markdown", ["first ", "second ", "third"]),
        ("text", ["first ", "second ", "third"]),
        ("json", ['{"a": ', "1, ", '"b": 2}']),
    ],
)
def test_text_held_back_is_shown_when_the_model_pauses(fmt: str, pieces: list[str]) -> None:
    live, sink, clock, timers = make_timed(fmt, min_interval=0.1)
    live.append(pieces[0])
    clock.now += 0.01
    live.append(pieces[1])
    live.append(pieces[2])
    assert sink.shown_plain() == pieces[0]
    timers.advance(0.05)
    assert sink.shown_plain() == pieces[0], "not before the interval is over"
    timers.advance(0.05)
    assert pieces[2].rstrip("}") in sink.shown_plain()  # json is shown pretty once it parses
    assert sink.times[-1] == pytest.approx(0.1)
    assert timers.due == []
    events = len(sink.events)
    timers.advance(10)  # a long pause with nothing held: no more updates
    assert len(sink.events) == events
    live.finish("complete")
    assert timers.due == []


def test_the_timer_keeps_to_the_rate_when_text_was_shown_since() -> None:
    live, sink, clock, timers = make_timed(min_interval=0.1)
    live.append("a ")  # shown at 0
    clock.now = 0.05
    live.append("b ")  # held: a timer for 0.1
    clock.now = 0.12
    live.append("c ")  # shown at 0.12 by the stream itself
    clock.now = 0.15
    live.append("d ")  # held, and the 0.1 timer is still pending
    timers.advance(0.0)  # the 0.1 timer, late: the rate allows an update only at 0.22
    assert sink.times == [0.0, 0.12]
    timers.advance(0.1)
    assert sink.times == [0.0, 0.12, pytest.approx(0.22)]
    assert sink.shown_plain() == "a b c d "


def test_no_timer_outlives_the_answer() -> None:
    live, sink, _, timers = make_timed(min_interval=0.1)
    live.append("a ")
    live.append("b ")
    assert len(timers.due) == 1
    live.reset("retrying")
    assert timers.due == [] and timers.cancelled == 1
    live.append("c ")
    live.append("d ")
    live.finish("complete")
    assert timers.due == [] and timers.cancelled == 2
    assert sink.shown_plain() == "c d "


def test_a_timer_firing_after_the_end_changes_nothing() -> None:
    clock = Clock()
    sink = RecordingSink(clock)
    fired: list[Callable[[], None]] = []
    live = LiveAnswer(
        sink=sink,
        clock=clock,
        min_interval=0.1,
        scheduler=lambda _d, cb: (fired.append(cb), lambda: None)[1],
    )
    live.append("a ")
    live.append("b ")
    live.finish("complete")
    events = len(sink.events)
    fired[0]()  # a timer thread that had already started when finish cancelled it
    assert len(sink.events) == events and sink.shown_plain() == "a b "


def test_appends_and_timer_flushes_from_two_threads_never_mix_up_the_text() -> None:
    """Real timer threads flush while the stream appends: the text stays whole and in order.

    The rate is judged on a hand-driven clock, so every pause in the stream is sure to leave
    text held back; the test waits until the timer thread has shown it, then goes on."""
    clock = Clock()
    sink = RecordingSink()
    live = LiveAnswer(sink=sink, clock=clock, min_interval=0.002, freeze_at=200, split_at=400)
    text = long_markdown(6_000, seed=3)
    for start in range(0, len(text), 7):
        pause = start > 0 and start % 210 == 0
        if not pause:
            clock.now += 0.0005  # now and then the rate allows this thread an update
        # A piece at the same reading as the last update or the last held piece is held.
        live.append(text[start : start + 7])
        if pause:
            shown_by_timers = sink.threads.count("aimo-render-flush")
            clock.now += 0.002  # the pause: only the timer thread can show what is held
            wait_until(
                lambda: sink.threads.count("aimo-render-flush") > shown_by_timers,  # noqa: B023
                "the timer thread shows the text held back",
            )
    live.finish("complete")
    assert "".join(o.bundle["text/plain"] for o in sink.answers()) == text
    for output in sink.answers():
        states = [bundle["text/plain"] for bundle, _ in output.history]
        assert all(b.startswith(a) or a.startswith(b) for a, b in itertools.pairwise(states))


def test_reset_clears_every_output_and_starts_over() -> None:
    live, sink, clock = make(freeze_at=512)
    stream(live, clock, long_markdown(5_000, seed=1), chunk=50, step=0.2)
    shown_before = list(sink.outputs)
    assert len(shown_before) >= 2
    live.reset("Connection lost — retrying (attempt 2 of 3)…")
    assert live.text == ""
    assert "retrying" in shown_before[0].bundle["text/plain"]
    for output in shown_before[1:]:
        assert output.bundle["text/plain"] == ""
        assert "text/html" not in output.bundle
    stream(live, clock, "Fresh answer.", chunk=4, step=0.2)
    live.finish("complete")
    assert sink.outputs[: len(shown_before)] == shown_before  # outputs are reused in place
    assert shown_before[0].bundle["text/plain"] == "Fresh answer."
    assert "alpha" not in "".join(o.bundle["text/plain"] for o in sink.outputs)


def test_reset_before_any_text_shows_the_notice() -> None:
    live, sink, _ = make()
    live.reset("Retrying…")
    assert [o.bundle["text/plain"] for o in sink.outputs] == ["Retrying…"]


def test_a_notice_does_not_outlive_the_answer() -> None:
    live, sink, _ = make()
    live.reset("Retrying…")
    live.finish("complete")  # the retry brought no text and there is no footer
    assert [o.bundle["text/plain"] for o in sink.outputs] == [""]
    live2, sink2, _ = make()
    live2.reset("Retrying…")
    live2.finish("error", error_message="gave up after 3 attempts")
    assert [o.bundle["text/plain"] for o in sink2.outputs] == ["✖ Error: gave up after 3 attempts"]


@pytest.mark.parametrize(
    ("status", "marker"),
    [("interrupted", "Interrupted"), ("partial", "Partial answer"), ("error", "Error")],
)
def test_unfinished_statuses_mark_the_answer_and_keep_its_text(status: str, marker: str) -> None:
    live, sink, clock = make()
    stream(live, clock, "Half an answ", chunk=4, step=0.2)
    live.finish(status, error_message="server closed the stream" if status == "error" else None)
    assert sink.shown_plain() == "Half an answ"
    trailer = sink.outputs[-1]
    assert sink.role(trailer) == "footer"
    assert marker in trailer.bundle["text/plain"]
    assert marker in trailer.bundle["text/html"]
    if status == "error":
        assert "server closed the stream" in trailer.bundle["text/plain"]
    assert trailer.metadata["aimo"]["status"] == status


def test_complete_answer_without_footer_adds_no_output() -> None:
    live, sink, clock = make()
    stream(live, clock, "Done.", chunk=2, step=0.2)
    live.finish("complete")
    assert [sink.role(o) for o in sink.outputs] == ["answer"]


def test_footer_is_its_own_output_and_final_metadata_lands_on_the_final_render() -> None:
    live, sink, clock = make(freeze_at=256)
    stream(live, clock, long_markdown(3_000, seed=5), chunk=20, step=0.05)
    usage = {"prompt_tokens": 12, "completion_tokens": 34, "total_tokens": 46}
    footer = FooterInfo(
        model="openai/gpt-4o",
        provider="akash-ml",
        usage=Usage(12, 34, 46),
        cost=0.0012,
        cost_unit="USDC",
        first_token_s=0.31,
        total_s=2.4,
    )
    live.finish("complete", footer=footer, metadata={"usage": usage})
    *answers, trailer = sink.outputs
    assert trailer.bundle["text/plain"] == (
        "openai/gpt-4o · via akash-ml · 12 → 34 tokens · ≈0.0012 (USDC) · "
        "first token 0.31 s · 2.4 s"
    )
    assert "text/markdown" not in trailer.bundle
    assert answers[-1].metadata["aimo"]["usage"] == usage
    assert trailer.metadata["aimo"]["usage"] == usage
    assert "usage" not in answers[0].history[0][1]["aimo"]


def test_finish_twice_or_append_after_finish_is_refused() -> None:
    live, _, _ = make()
    live.finish("complete")
    with pytest.raises(RuntimeError, match="start a new LiveAnswer"):
        live.append("more")
    with pytest.raises(RuntimeError):
        live.finish("complete")


def test_unknown_status_is_refused_before_any_output() -> None:
    live, sink, _ = make()
    with pytest.raises(ValueError, match="use one of"):
        live.finish("done")
    assert sink.outputs == []


def test_context_manager_marks_an_interrupt() -> None:
    live, sink, clock = make()
    with pytest.raises(KeyboardInterrupt), live:
        stream(live, clock, "partial text", chunk=3, step=0.2)
        raise KeyboardInterrupt
    assert live.status == "interrupted"
    assert "Interrupted" in sink.outputs[-1].bundle["text/plain"]


def test_json_streams_as_text_and_ends_parsed() -> None:
    live, sink, clock = make("json")
    text = '```json\n{"name": "aimo", "tags": ["a", "b"]}\n```'
    stream(live, clock, text, chunk=5, step=0.2)
    assert all("application/json" not in o.history[0][0] for o in sink.outputs)
    live.finish("complete")
    assert sink.outputs[0].bundle["application/json"] == {"name": "aimo", "tags": ["a", "b"]}
    assert live.format_error is None


def test_invalid_json_keeps_the_text_and_says_so() -> None:
    live, sink, clock = make("json")
    stream(live, clock, '{"name": "aimo",', chunk=5, step=0.2)
    with pytest.raises(FormatError, match="not valid JSON"):
        live.finish("complete")
    assert live.format_error is not None
    assert live.finished
    assert sink.outputs[0].bundle["text/plain"] == '{"name": "aimo",'
    assert "not valid JSON" in sink.outputs[-1].bundle["text/plain"]


@pytest.mark.parametrize("fmt", ["markdown", "text", "code", "json", "html", "math"])
def test_every_published_bundle_has_plain_text(fmt: str) -> None:
    live, sink, clock = make(fmt, freeze_at=256)
    stream(live, clock, long_markdown(2_000), chunk=17, step=0.3)
    live.reset("retrying")
    stream(live, clock, '{"a": 1}', chunk=3, step=0.3)
    live.finish("interrupted", footer=FooterInfo(model="m"))
    bundles = [bundle for o in sink.outputs for bundle, _ in o.history]
    assert len(bundles) > 3
    assert all(isinstance(b.get("text/plain"), str) for b in bundles)


def test_carriage_returns_split_across_chunks_become_single_newlines() -> None:
    live, sink, clock = make()
    for piece in ["line one\r", "\nline two\r", "\r\nline three"]:
        clock.now += 0.2
        live.append(piece)
    live.finish("complete")
    assert sink.answers()[-1].bundle["text/markdown"] == "line one\nline two\n\nline three"


def test_terminal_sink_streams_raw_deltas_and_one_footer_line() -> None:
    out = io.StringIO()
    live = LiveAnswer(sink=TerminalSink(out), metadata={"model": "m"})
    for delta in ["# Head", "ing\n\nSome ", "**bold** text"]:
        live.append(delta)
    assert out.getvalue() == "# Heading\n\nSome **bold** text"
    live.finish("complete", footer=FooterInfo(model="openai/gpt-4o", total_s=1.25))
    assert out.getvalue() == "# Heading\n\nSome **bold** text\nopenai/gpt-4o · 1.2 s\n"
    assert "<" not in out.getvalue()


def test_terminal_sink_shows_retries_and_markers() -> None:
    out = io.StringIO()
    live = LiveAnswer(sink=TerminalSink(out))
    live.append("first try")
    live.reset("retrying")
    live.append("second")
    live.finish("interrupted")
    assert out.getvalue() == "first try\n[retrying]\nsecond\n■ Interrupted — partial answer\n"
    assert live.text == "second"


def test_no_rich_frontend_outside_a_kernel() -> None:
    assert rich_frontend_available() is False  # pytest runs no IPython shell
    code = (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "InteractiveShell.instance()\n"
        "from aimo_magic.rendering.sinks import rich_frontend_available, default_sink\n"
        "print(rich_frontend_available(), type(default_sink()).__name__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "TerminalSink"]


def test_importing_the_package_loads_no_heavy_library() -> None:
    code = (
        "import sys\n"
        "import aimo_magic.rendering as r\n"
        "r.LiveAnswer, r.FooterInfo, r.render_bundle, r.rich_frontend_available\n"
        "heavy = ('markdown_it', 'pygments', 'nh3', 'justhtml', 'IPython', 'mdit_py_plugins')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_a_callers_aimo_record_is_extended_not_nested() -> None:
    sink, clock = RecordingSink(), Clock()
    live = LiveAnswer(sink=sink, clock=clock, metadata={"aimo": {"model": "a"}, "other": 1})
    stream(live, clock, "Answer.", chunk=3, step=0.2)
    live.finish("complete", metadata={"aimo": {"model": "a", "usage": {"total_tokens": 3}}})
    final = sink.outputs[-1].metadata
    assert final["other"] == 1
    assert final["aimo"] == {
        "model": "a",
        "usage": {"total_tokens": 3},
        "output": "answer",
        "part": 0,
        "status": "complete",
    }


def test_an_interrupted_json_answer_is_shown_as_text_without_raising() -> None:
    live, sink, clock = make("json")
    stream(live, clock, '{"name": "ai', chunk=4, step=0.2)
    live.finish("interrupted")
    assert live.format_error is None
    assert sink.outputs[0].bundle["text/plain"] == '{"name": "ai'
    assert "Interrupted" in sink.outputs[-1].bundle["text/plain"]


def test_where_no_thread_can_start_held_text_waits_for_the_next_piece(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pyodide has no threads: the default timer must not break the answer there."""

    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Timer, "start", refuse)
    clock = Clock()
    sink = RecordingSink(clock)
    live = LiveAnswer("markdown", sink=sink, clock=clock, min_interval=0.1, metadata={})
    live.append("a ")
    live.append("b ")  # held back by the rate; no timer could be started for it
    assert sink.shown_plain() == "a "
    clock.now += 1
    live.append("c ")
    assert sink.shown_plain() == "a b c "
    live.finish("complete")
    assert sink.shown_plain() == "a b c "
