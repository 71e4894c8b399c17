"""``aimo_magic.compare`` and ``Comparison`` against the emulator on loopback."""

from __future__ import annotations

import _thread
import json
import threading
from collections.abc import Iterator

import pytest
from waiting import count_in_flight_afresh, wait_until

import aimo_magic
from aimo_magic.core.catalogue import parse_catalogue
from aimo_magic.core.comparison import CompareInterrupted, Comparison, Delta, Finished
from aimo_magic.core.errors import AimoError, NotFoundError
from aimo_magic.core.resolution import expand_models, split_models
from aimo_magic.emulator import EmulatorHandle, provider_id

GPT = "openai/gpt-4o"
DEEPSEEK = "DeepSeek-V3-1"
GPT_PROVIDERS = [f"{provider_id(name)}:{GPT}" for name in ("nebula-gpu", "solstice-labs")]
WORDS = "Tell me about rivers ::words 60"


@pytest.fixture
def emu(emulator: EmulatorHandle) -> Iterator[EmulatorHandle]:
    emulator.clear_faults()
    emulator.clear_requests()
    count_in_flight_afresh(emulator)
    yield emulator
    emulator.clear_faults()


def options(emu: EmulatorHandle) -> dict[str, str]:
    return {"api_key": emu.api_key, "base_url": emu.base_url}


def served_models(emu: EmulatorHandle) -> list[str]:
    return sorted(json.loads(r["body"])["model"] for r in emu.requests)


def test_split_and_expand_models() -> None:
    assert split_models(" a, b ,,a") == ["a", "b"]
    assert split_models(["x", "y", "x"]) == ["x", "y"]
    catalogue = parse_catalogue(
        {
            "data": [
                {"name": "m", "providers": [{"id": "P1", "name": "one"}, {"id": "P2"}]},
                {"name": "lonely", "providers": []},
            ]
        }
    )
    assert expand_models(["m@*", "other", "P1:m"], catalogue) == ["P1:m", "P2:m", "other"]
    with pytest.raises(NotFoundError, match="'nope' is not in the catalogue"):
        expand_models(["nope@*"], catalogue)
    with pytest.raises(NotFoundError, match="lists no providers"):
        expand_models(["lonely@*"], catalogue)


def test_the_requests_are_concurrent(emu: EmulatorHandle) -> None:
    # No answer starts until all three requests are at the server: sent one after another,
    # the first would wait for ever (here: until the client's timeout).
    emu.hold(until=3)
    answers = aimo_magic.compare(
        WORDS, [GPT, DEEPSEEK, "openai/gpt-4o-mini"], timeout=30, **options(emu)
    )
    assert emu.max_in_flight == 3, "all three streams were being served at once"
    assert list(answers) == [GPT, DEEPSEEK, "openai/gpt-4o-mini"]
    for model, answer in answers.items():
        assert answer.ok and answer.model == model
        assert len(answer.text.split()) == 60
        assert answer.usage is not None and answer.usage.completion_tokens > 0
        assert answer.timings is not None and answer.timings.first_token is not None
        assert answer.provider and answer.served_model and answer.cost is not None


def test_every_provider_of_a_model(emu: EmulatorHandle) -> None:
    answers = aimo_magic.compare("::echo", f"{GPT}@*", **options(emu))
    assert list(answers) == GPT_PROVIDERS
    assert served_models(emu) == sorted(GPT_PROVIDERS)
    providers = [answers[m].provider for m in GPT_PROVIDERS]
    assert providers == ["nebula-gpu", "solstice-labs"]
    for model, answer in answers.items():
        assert json.loads(answer.text)["model_requested"] == model


def test_a_failing_model_leaves_the_others(emu: EmulatorHandle) -> None:
    emu.queue_faults("status=402")  # the first request to arrive gets it, whichever it is
    answers = aimo_magic.compare(
        "::words 30", [GPT, DEEPSEEK, "openai/gpt-4o-mini"], **options(emu)
    )
    failed = [a for a in answers.values() if not a.ok]
    assert len(failed) == 1 and failed[0].status == "error"
    assert failed[0].error and "HTTP 402" in failed[0].error and "\n" not in failed[0].error
    assert all(len(a.text.split()) == 30 for a in answers.values() if a.ok)


def test_not_streamed(emu: EmulatorHandle) -> None:
    answers = aimo_magic.compare("::words 5", [GPT, DEEPSEEK], stream=False, **options(emu))
    assert [len(a.text.split()) for a in answers.values()] == [5, 5]
    assert all(json.loads(r["body"]).get("stream") is not True for r in emu.requests)


def test_cancel_stops_streams_waiting_for_their_next_token(emu: EmulatorHandle) -> None:
    prompt = "::words 200 ::fault stall_after=5;stall_s=60"
    comparison = Comparison(prompt, [GPT, DEEPSEEK], **options(emu)).start()
    deltas = {0: 0, 1: 0}
    for event in comparison.events(tick=0.1):
        if isinstance(event, Delta):
            deltas[event.index] += 1
        assert not isinstance(event, Finished)
        if all(count >= 3 for count in deltas.values()):
            break
    answers = comparison.cancel()
    assert comparison._thread is not None and not comparison._thread.is_alive(), (
        "the streams stopped although the server was silent"
    )
    assert [a.status for a in answers.values()] == ["interrupted", "interrupted"]
    assert all(a.text.strip() for a in answers.values()), "what arrived is kept"


def test_ctrl_c_raises_with_what_arrived(emu: EmulatorHandle) -> None:
    prompt = "::words 200 ::fault stall_after=5;stall_s=60"
    comparison = Comparison(prompt, [GPT, DEEPSEEK], **options(emu))
    seen = threading.Event()

    def interrupt_once_text_arrives() -> None:
        # What each model has sent so far, as the comparison holds it for a partial answer.
        wait_until(
            lambda: all(progress.parts for progress in comparison._progress),
            "both models' first words have arrived",
        )
        seen.set()
        _thread.interrupt_main()

    threading.Thread(target=interrupt_once_text_arrives, daemon=True).start()
    with pytest.raises(CompareInterrupted) as raised:
        comparison.run()
    assert seen.is_set()
    answers = raised.value.answers
    assert set(answers) == {GPT, DEEPSEEK}
    assert all(a.status == "interrupted" and a.text for a in answers.values())


def test_an_unknown_wildcard_fails_before_sending(emu: EmulatorHandle) -> None:
    with pytest.raises(NotFoundError, match="names no provider"):
        aimo_magic.compare("hi", "no/such-model@*", **options(emu))
    assert emu.requests == []


def test_requests_one_after_the_other_are_never_in_flight_together(emu: EmulatorHandle) -> None:
    with aimo_magic.Client(**options(emu)) as client:
        for _ in range(3):
            with client.stream("::words 20 ::pace 200", model=DEEPSEEK) as stream:
                stream.until_done()
    assert len(emu.requests) == 3 and emu.max_in_flight == 1


def test_where_no_thread_can_start_a_comparison_is_one_error_and_sends_nothing(
    emu: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pyodide (JupyterLite) cannot start threads: say so, in the package's own error."""

    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    with pytest.raises(AimoError, match="needs a background thread"):
        aimo_magic.compare("Hi", [GPT, DEEPSEEK], **options(emu))
    assert emu.requests == []
