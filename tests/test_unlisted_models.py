"""Servers that do not list what they serve: send unchecked, say so once, refuse typos.

The servers are real, on loopback (tests/fixture_servers.py): the emulator's chat
behind a model list that is absent, failing, or names other models.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fixture_servers import ModelsServer, serve_models
from kernel_harness import CellRun, Kernel

from aimo_magic.core.errors import NotFoundError
from aimo_magic.core.resolution import Choices, Resolution, resolve
from aimo_magic.emulator import EmulatorHandle
from aimo_magic.session import AimoSession

MODEL = "DeepSeek-V3-1"
KEY = "aimo-sk-v2-test-unlisted-0000"


@pytest.fixture(scope="module")
def absent() -> Iterator[ModelsServer]:
    with serve_models("absent") as server:
        yield server


@pytest.fixture(scope="module")
def failing() -> Iterator[ModelsServer]:
    with serve_models("failing") as server:
        yield server


@pytest.fixture(scope="module")
def wildcard() -> Iterator[ModelsServer]:
    with serve_models(["openai/*", "anthropic/*", "DeepSeek-R1"]) as server:
        yield server


def check(session: AimoSession, model: str, server: Any, *, enabled: bool = True) -> Resolution:
    """A cell's resolution of ``model`` against ``server``, checked as ``enabled`` says."""
    choices = Choices(base_url=server.base_url, timeout=30.0, max_retries=0, check_models=enabled)
    return resolve(Choices(model=model).over(choices), session, from_cell=True)


@pytest.mark.parametrize("kind", ["absent", "failing"])
def test_a_list_that_cannot_be_had_is_said_once_and_asked_for_once(
    kind: str, absent: ModelsServer, failing: ModelsServer
) -> None:
    server = absent if kind == "absent" else failing
    session = AimoSession()
    before = server.model_lists
    try:
        first = check(session, MODEL, server)
        assert first.model is None and first.offer is None
        assert first.note and first.note.startswith("Models could not be checked (")
        assert ("404" in first.note) if kind == "absent" else ("500" in first.note)
        assert "List the available models" not in first.note, "no hint to list them"
        if kind == "absent":
            assert "this server lists no models" in first.note
        again = check(session, MODEL, server)
        assert again.model is None and again.note is None, "said once per session"
        assert server.model_lists - before == 1, "later cells do not ask again"
    finally:
        session.close()


def test_a_model_missing_from_a_list_that_was_had_is_refused_with_suggestions(
    wildcard: ModelsServer,
) -> None:
    session = AimoSession()
    try:
        with pytest.raises(NotFoundError) as caught:
            check(session, "DeepSeek-R2", wildcard)
        message = str(caught.value)
        assert "Unknown model 'DeepSeek-R2'" in message and "DeepSeek-R1" in message
        assert "check_models = False" in message
        before = wildcard.model_lists
        off = check(session, "DeepSeek-R2", wildcard, enabled=False)
        assert off.model is None and off.note is None and wildcard.model_lists == before
    finally:
        session.close()


def test_the_emulator_still_checks_and_suggests(emulator: EmulatorHandle) -> None:
    session = AimoSession()
    try:
        found = check(session, MODEL, emulator)
        assert found.model is not None and found.model.name == MODEL and found.note is None
        with pytest.raises(NotFoundError, match="Did you mean"):
            check(session, "DeepSeek-V3-2", emulator)
    finally:
        session.close()


def one_line_error(run: CellRun) -> str:
    assert run.status == "error"
    assert run.error is not None and len(run.error["traceback"]) == 1, run.error
    return str(run.error["evalue"])


def preface(run: CellRun) -> str:
    return "".join(
        o["data"]["text/plain"]
        for o in run.final_outputs()
        if o["metadata"].get("aimo", {}).get("output") == "preface"
    )


@pytest.mark.kernel
def test_cells_reach_servers_that_do_not_list_their_models(
    absent: ModelsServer, failing: ModelsServer, wildcard: ModelsServer
) -> None:
    kernel = Kernel(env={"AIMO_BASE_URL": absent.base_url, "AIMO_API_KEY": KEY})
    try:
        assert kernel.execute("%load_ext aimo_magic").status == "ok"
        used = kernel.execute(f"%aimo use {MODEL}")
        assert used.status == "ok", used.error
        assert "Models could not be checked" in used.stdout and "(not checked)" in used.stdout

        run = kernel.execute("%%aimo --no-history\n::echo")
        assert run.status == "ok", run.error
        assert preface(run) == "", "the note was already given, by %aimo use"
        assert absent.requests() and json.loads(absent.requests()[-1]["body"])["model"] == MODEL

        kernel.execute(f"%config AimoMagics.base_url = '{failing.base_url}'")
        second = kernel.execute("%%aimo --no-history\n::echo")
        assert second.status == "ok", second.error
        assert failing.requests(), "sent anyway"

        kernel.execute(f"%config AimoMagics.base_url = '{wildcard.base_url}'")
        refused = one_line_error(kernel.execute("%%aimo --no-history\n::echo"))
        assert f"Unknown model '{MODEL}'" in refused and "check_models = False" in refused
        assert wildcard.requests() == []
        kernel.execute("%config AimoMagics.check_models = False")
        sent = kernel.execute("%%aimo --no-history\n::echo")
        assert sent.status == "ok", sent.error
        assert len(wildcard.requests()) == 1
        assert MODEL in sent.plain(), "the footer names the model it was asked"
        usage = kernel.execute("%aimo usage").plain()
        total = next(line for line in usage.splitlines() if line.startswith("Total"))
        assert total.rstrip().endswith("unknown"), "no listed price: unknown, never 0.0"
    finally:
        kernel.close()


@pytest.mark.kernel
def test_the_first_cell_says_models_could_not_be_checked(absent: ModelsServer) -> None:
    kernel = Kernel(env={"AIMO_BASE_URL": absent.base_url, "AIMO_API_KEY": KEY})
    try:
        assert kernel.execute("%load_ext aimo_magic").status == "ok"
        first = kernel.execute(f"%%aimo {MODEL} --no-history\n::words 3")
        assert first.status == "ok", first.error
        note = preface(first)
        assert note.startswith("Models could not be checked") and "sending anyway" in note
        second = kernel.execute(f"%%aimo {MODEL} --no-history\n::words 3")
        assert second.status == "ok" and preface(second) == ""
    finally:
        kernel.close()


@pytest.mark.kernel
def test_models_says_the_server_lists_none_and_how_to_use_one_anyway(
    absent: ModelsServer, failing: ModelsServer
) -> None:
    kernel = Kernel(env={"AIMO_BASE_URL": absent.base_url, "AIMO_API_KEY": KEY})
    try:
        assert kernel.execute("%load_ext aimo_magic").status == "ok"
        listed = kernel.execute("%aimo models")
        assert listed.status == "ok", listed.error
        said = listed.stdout
        assert said.startswith("This server lists no models (its model list answered HTTP 404)")
        assert "`%%aimo MODEL`" in said and "`%aimo use MODEL`" in said
        assert "`%aimo models`" not in said, "no hint to run the command that just failed"
        used = kernel.execute(f"%%aimo {MODEL} --no-history\n::words 3")
        assert used.status == "ok", used.error

        kernel.execute(f"%config AimoMagics.base_url = '{failing.base_url}'")
        broken = one_line_error(kernel.execute("%aimo models --refresh"))
        assert "HTTP 500" in broken, "a list that failed is still an error"
    finally:
        kernel.close()
