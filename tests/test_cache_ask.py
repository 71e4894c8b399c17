"""The ask path's use of the answer cache, without a kernel: options, the request's
decision, a hit's footer and its place in the usage ledger and the thread."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aimo_magic.core.resolution import Choices
from aimo_magic.emulator import EmulatorHandle
from aimo_magic.magics.ask import ask
from aimo_magic.magics.ask_context import AskContext, AskSettings
from aimo_magic.magics.cell_options import CellOptions, cell_arguments, parse_cell_line
from aimo_magic.magics.request import build_request
from aimo_magic.session import AimoSession

MODEL = "DeepSeek-V3-1"


def parser() -> Any:
    def aimo(line: str, cell: str | None = None) -> None:
        """A stand-in for the magic."""

    return cell_arguments(aimo).parser


def context(emulator: EmulatorHandle, tmp_path: Path, *, cache: bool) -> AskContext:
    session = AimoSession()
    session.explicit_key = "aimo-sk-v2-test-cache-ask-0000"
    session.configured = Choices(
        base_url=emulator.base_url,
        timeout=30.0,
        max_retries=0,
        cache_dir=str(tmp_path),
        cache_max_mb=200.0,
    )
    settings = AskSettings(cache=cache)
    return AskContext(session, settings)


@pytest.fixture
def ctx(emulator: EmulatorHandle, tmp_path: Path) -> Iterator[AskContext]:
    emulator.clear_requests()
    made = context(emulator, tmp_path, cache=True)
    try:
        yield made
    finally:
        made.session.close()


def test_the_line_says_cache_no_cache_or_nothing() -> None:
    settings = AskSettings()
    assert parse_cell_line(settings, parser(), "--cache").cache is True
    assert parse_cell_line(settings, parser(), "--no-cache").cache is False
    assert parse_cell_line(settings, parser(), "").cache is None


@pytest.mark.parametrize(
    ("setting", "option", "expected"),
    [(False, None, False), (True, None, True), (True, False, False), (False, True, True)],
)
def test_the_cell_option_wins_over_the_setting(
    emulator: EmulatorHandle,
    tmp_path: Path,
    setting: bool,
    option: bool | None,
    expected: bool,
) -> None:
    made = context(emulator, tmp_path, cache=setting)
    try:
        options = CellOptions(model=MODEL, no_history=True, cache=option)
        assert build_request(made, options, "hi").cache is expected
    finally:
        made.session.close()


def test_a_hit_is_free_marked_and_recorded(
    ctx: AskContext, emulator: EmulatorHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    options = CellOptions(model=MODEL, chat="notes")
    ctx.session.current_cell_id = "cell-1"
    live = ask(ctx, options, "::echo the question")
    first = capsys.readouterr().out
    hit = ask(ctx, options, "::echo the question")  # the same cell re-run: same history
    shown = capsys.readouterr().out
    assert len(emulator.requests) == 1
    assert hit.text == live.text and hit.cached_at is not None
    assert "from the cache (stored " in shown and "no tokens charged" in shown
    assert "from the cache" not in first
    assert "≈" not in shown.splitlines()[-1], "a hit shows no cost"
    row = ctx.session.usage.per_model[live.model]
    assert (row["calls"], row["cache_hits"]) == (1, 1)
    assert row["saved"] == pytest.approx(row["cost"]) and row["cost"] > 0
    turns = ctx.session.conversations.thread("notes").turns
    assert [(t.assistant, t.cell_id) for t in turns] == [(hit.text, "cell-1")]


def cache_at(session: AimoSession, directory: str, max_mb: float) -> Any:
    """The session's cache once ``AimoMagics.cache_dir`` and ``cache_max_mb`` say this."""
    session.configured = Choices(cache_dir=directory, cache_max_mb=max_mb)
    return session.answer_cache()


def test_the_session_reopens_the_cache_when_its_settings_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session = AimoSession()
    try:
        (tmp_path / "bad").mkdir()
        (tmp_path / "bad" / "answers.sqlite3").write_bytes(b"junk" * 1000)
        assert cache_at(session, str(tmp_path / "bad"), 200.0) is None
        assert cache_at(session, str(tmp_path / "bad"), 200.0) is None
        warned = capsys.readouterr().err
        assert warned.count("cannot be used") == 1 and len(warned.strip().splitlines()) == 1
        good = cache_at(session, str(tmp_path / "good"), 200.0)
        assert good is not None and session.cache_problem is None
        smaller = cache_at(session, str(tmp_path / "good"), 1.0)
        assert smaller is not None and smaller is not good and smaller.max_bytes == 1024 * 1024
    finally:
        session.close()
