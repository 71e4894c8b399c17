"""Panes side by side against a recording sink and a hand-driven clock: no real time."""

from __future__ import annotations

import io
import math
import re

import pytest
from test_cell_magic import assert_inert
from test_rendering_live import Clock, RecordingSink

from aimo_magic.core.types import Usage
from aimo_magic.rendering.compare_view import ComparePanes, TerminalPanes, compare_panes
from aimo_magic.rendering.footer import FooterInfo
from aimo_magic.rendering.markdown import render_markdown
from aimo_magic.rendering.panes import Standing, columns_for, grid_html, summary_text
from aimo_magic.rendering.sinks import TerminalSink

HOSTILE = (
    "# Hi\n\n<script>alert(1)</script> <img src=x onerror=alert(2)>\n\n"
    "[click](javascript:alert(3))\n"
)


def panes(titles: list[str], clock: Clock, sink: RecordingSink | None = None) -> ComparePanes:
    return ComparePanes(sink or RecordingSink(clock), titles, min_interval=0.1, clock=clock)


def pane_bodies(html: str) -> list[str]:
    return re.findall(r'<div class="aimo-pane-body">(.*?)</div>(?=<div|</div>)', html, re.S)


def test_one_display_shows_every_pane_and_updates_in_place() -> None:
    clock = Clock()
    sink = RecordingSink(clock)
    view = panes(["a", "b"], clock, sink)
    for step in range(20):
        clock.now += 0.05
        view.append(step % 2, f"word{step} ")
    assert len(sink.outputs) == 1, "the grid is one output, updated in place"
    view.flush()
    html = sink.outputs[0].bundle["text/html"]
    assert html.count('class="aimo-pane"') == 2
    a, b = pane_bodies(html)
    assert " ".join(f"word{n}" for n in range(0, 20, 2)) in a
    assert " ".join(f"word{n}" for n in range(1, 20, 2)) in b
    plain = sink.outputs[0].bundle["text/plain"]
    assert plain.index("── a ──") < plain.index("── b ──")


def test_updates_are_rate_bounded_and_quiet_text_is_flushed() -> None:
    clock = Clock()
    sink = RecordingSink(clock)
    view = panes(["a", "b"], clock, sink)
    for _ in range(200):  # two seconds of tokens, 100 a second per pane
        clock.now += 0.01
        view.append(0, "x ")
        view.append(1, "y ")
    updates = len(sink.outputs[0].history) - 1
    assert 15 <= updates <= 22, updates
    view.append(0, "x ")
    view.append(1, "y ")
    view.tick()  # the streams fell quiet, but too soon after the last update
    assert len(sink.outputs[0].history) - 1 == updates
    clock.now += 0.2
    view.tick()
    assert len(sink.outputs[0].history) - 1 == updates + 1
    shown = sink.outputs[0].bundle["text/plain"]
    assert shown.count("x") == 201 and shown.count("y") == 201


def test_only_the_panes_that_changed_are_rendered_again() -> None:
    clock = Clock()
    view = panes(["a", "b"], clock)
    view.append(0, "first")
    view.append(1, "second")
    clock.now += 1
    view.flush()
    untouched = view.panes[1].html
    clock.now += 1
    view.append(0, " more")
    assert view.panes[1].html is untouched
    assert "more" in view.panes[0].html


def test_a_failed_pane_shows_its_error_while_the_others_carry_on() -> None:
    clock = Clock()
    sink = RecordingSink(clock)
    view = panes(["good", "bad"], clock, sink)
    view.append(0, "partial ")
    view.finish_pane(1, "error", "", error_message="Insufficient balance <b>now</b> (HTTP 402)")
    for _ in range(5):
        clock.now += 0.2
        view.append(0, "more ")
    footer = FooterInfo(model="good", provider="p", usage=Usage(3, 7, 10), total_s=1.5)
    view.finish_pane(0, "complete", "partial more more more more more ", footer=footer)
    view.finish("Fastest: good 1.5 s")
    html = sink.outputs[0].bundle["text/html"]
    assert "✖ Error: Insufficient balance &lt;b&gt;now&lt;/b&gt; (HTTP 402)" in html
    assert "<b>now" not in html
    assert "3 → 7 tokens" in html and "1.5 s" in html
    assert 'data-status="error"' in html and 'data-status="complete"' in html
    assert "Fastest: good 1.5 s" in html
    metadata = sink.outputs[0].metadata["aimo"]
    assert metadata["output"] == "compare"
    assert [p["status"] for p in metadata["panes"]] == ["complete", "error"]


def test_model_output_and_names_are_sanitised() -> None:
    clock = Clock()
    sink = RecordingSink(clock)
    view = panes(['<img src=x onerror="alert(1)">', "b"], clock, sink)
    view.append(0, HOSTILE)
    view.finish_pane(0, "complete", HOSTILE)
    view.finish_pane(1, "complete", "fine")
    view.finish()
    html = sink.outputs[0].bundle["text/html"]
    assert_inert(html)
    assert "<h1>Hi</h1>" in html and "&lt;script&gt;" in html
    assert "&lt;img src=x onerror=" in html, "the title is shown as text"


def test_a_long_pane_renders_like_the_whole_answer() -> None:
    clock = Clock()
    view = panes(["a", "b"], clock)
    text = "".join(f"Paragraph {n} says something about rivers.\n\n" for n in range(400))
    for start in range(0, len(text), 97):
        clock.now += 0.05
        view.append(0, text[start : start + 97])
    view.finish_pane(0, "complete", text)
    view.finish_pane(1, "complete", "short")
    assert pane_bodies(view.panes[0].render())[0] == render_markdown(text)


def test_the_update_interval_stretches_with_the_grid() -> None:
    clock = Clock()
    sink = RecordingSink(clock)
    view = panes(["a", "b"], clock, sink)
    chunk = "Some words about a river, and more. " * 30 + "\n\n"
    for _ in range(600):  # 600 KB over 60 simulated seconds
        clock.now += 0.1
        view.append(0, chunk)
        view.append(1, chunk)
    sent = sum(len(b["text/html"]) for b, _ in sink.outputs[0].history)
    assert sent / clock.now < 3 * 200_000, "bytes per second stay bounded"


def test_retry_notice_replaces_the_pane_text() -> None:
    clock = Clock()
    view = panes(["a", "b"], clock)
    view.append(0, "lost words")
    view.reset(0, "⟳ stream broke: retrying (attempt 1 of 2)…")
    html = view.panes[0].render()
    assert "lost words" not in html and "retrying" in html


def test_grid_columns_and_summary() -> None:
    assert [columns_for(n) for n in (1, 2, 3, 4, 5, 9)] == [1, 2, 3, 4, 4, 4]
    html = grid_html(["<div>p</div>"] * 3, "a < b")
    assert "calc(100% / 3 - 0.8em)" in html and "auto-fill" in html
    line = summary_text(
        [
            Standing("slow", True, cost=0.002, total_s=3.0),
            Standing("fast", True, cost=0.005, total_s=0.5),
            Standing("broken", False),
            Standing("free", True, cost=0.0, total_s=1.0),
        ],
        cost_unit="listed price units",
    )
    assert line.startswith("Cheapest: free ≈0 < slow ≈0.002 < fast ≈0.005 (listed price units)")
    assert "Fastest: fast 0.50 s < free 1.0 s < slow 3.0 s" in line
    assert line.endswith("Not ranked (no complete answer): broken")


def test_a_tie_at_the_shown_precision_is_shown_as_a_tie() -> None:
    """'a 0.36 s < b 0.36 s' claims an order the figures do not show."""
    line = summary_text(
        [
            Standing("a", True, cost=245.0, total_s=0.3611),
            Standing("b", True, cost=245.0, total_s=0.3649),
            Standing("c", True, cost=269.5, total_s=1.2),
        ],
        cost_unit="listed price units",
    )
    assert "Cheapest: a ≈245 = b ≈245 < c ≈269.5 (listed price units)" in line
    assert "Fastest: a 0.36 s = b 0.36 s < c 1.2 s" in line


def test_terminal_prints_answers_one_after_the_other_under_their_names() -> None:
    out = io.StringIO()
    view = compare_panes(["m1", "m2", "m3"], sink=TerminalSink(out))
    assert isinstance(view, TerminalPanes)
    for word in ("one ", "two ", "three "):
        view.append(0, f"A-{word}")
        view.append(1, f"B-{word}")
        view.append(2, f"C-{word}")
    view.finish_pane(2, "complete", "C-one C-two C-three ")
    view.finish_pane(1, "error", "B-one B-two B-three ", error_message="boom")
    view.append(0, "A-four")
    view.finish_pane(0, "complete", "A-one A-two A-three A-four", footer=FooterInfo(model="m1"))
    view.finish("Fastest: m1 1.0 s")
    text = out.getvalue()
    assert text == (
        "── m1 ──\nA-one A-two A-three A-four\nm1\n"
        "\n── m2 ──\nB-one B-two B-three \n✖ Error: boom (partial answer above)\n"
        "\n── m3 ──\nC-one C-two C-three \n"
        "\nFastest: m1 1.0 s\n"
    )


def test_terminal_interrupt_ends_every_answer_with_what_arrived() -> None:
    out = io.StringIO()
    view = TerminalPanes(TerminalSink(out), ["m1", "m2"])
    view.append(0, "A-partial")
    view.append(1, "B-partial")
    view.finish()
    text = out.getvalue()
    assert "A-partial\n■ Interrupted — partial answer" in text
    assert "── m2 ──\nB-partial\n■ Interrupted — partial answer" in text


def test_only_markdown_and_text_panes() -> None:
    with pytest.raises(ValueError, match="-f markdown or -f text"):
        compare_panes(["a"], "json", sink=TerminalSink(io.StringIO()))
    clock = Clock()
    sink = RecordingSink(clock)
    view = ComparePanes(sink, ["a"], "text", clock=clock)
    view.finish_pane(0, "complete", "# not a heading <b>")
    assert "<pre># not a heading &lt;b&gt;</pre>" in sink.outputs[0].bundle["text/html"]


def test_an_answer_whose_time_is_unknown_is_not_ranked_by_time() -> None:
    """A replayed answer recorded without its timings has a NaN total: it is neither the
    fastest nor 'nan s'; its cost still ranks."""
    line = summary_text(
        [
            Standing("old", True, cost=0.001, total_s=math.nan),
            Standing("new", True, cost=0.002, total_s=1.5),
        ],
        cost_unit="listed price units",
    )
    assert "Cheapest: old ≈0.001 < new ≈0.002" in line
    assert "Fastest: new 1.5 s" in line and "nan" not in line
