"""Answer files in plain Python against the emulator on loopback: record, save, replay.

The clients are real (sync and async twins), the server is the emulator, whose request
log shows what was sent; replaying clients point at it too, so a request that leaks
would be seen.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from image_samples import image_part

import aimo_magic
from aimo_magic.core import answer_book
from aimo_magic.core.answer_file import FORMAT_VERSION, read_answer_file
from aimo_magic.core.answer_use import NotRecordedError, paced
from aimo_magic.emulator import EmulatorHandle

MODEL = "DeepSeek-V3-1"
VISION = "openai/gpt-4o"


@pytest.fixture(autouse=True)
def fresh_book(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No answer file in use and an empty, stopped log, before and after each test."""
    for name in (answer_book.ENV_ANSWERS, answer_book.ENV_STRICT, answer_book.ENV_PACE):
        monkeypatch.delenv(name, raising=False)
    answer_book.stop_using_answers()
    answer_book.LOG.clear()
    answer_book.LOG.recording = False
    yield
    answer_book.stop_using_answers()
    answer_book.LOG.clear()
    answer_book.LOG.recording = False


def live(emu: EmulatorHandle) -> aimo_magic.Client:
    return aimo_magic.Client(api_key=emu.api_key, base_url=emu.base_url, max_retries=0)


def keyless(emu: EmulatorHandle) -> aimo_magic.Client:
    return aimo_magic.Client(api_key=None, base_url=emu.base_url, max_retries=0)


def record_some(emu: EmulatorHandle, path: Path) -> dict[str, str]:
    """Ask a few things every way a client can, save them, forget the server's log."""
    aimo_magic.record_answers()
    picture = [
        {"role": "user", "content": [{"type": "text", "text": "What is this?"}, image_part(40, 30)]}
    ]
    with live(emu) as client:
        client.models()
        texts = {"chat": client.chat("What is 2 + 2?", model=MODEL).text}
        with client.stream("Tell me about rivers.", model=MODEL) as stream:
            texts["stream"] = "".join(stream)
        texts["image"] = client.chat(picture, model=VISION).text
        texts["tuned"] = client.chat("Name a colour.", model=MODEL, temperature=0.2).text

    async def ask_async() -> str:
        client = aimo_magic.AsyncClient(api_key=emu.api_key, base_url=emu.base_url)
        async with client, client.stream("Name a mountain.", model=MODEL) as stream:
            return "".join([piece async for piece in stream])

    texts["async"] = asyncio.run(ask_async())
    aimo_magic.save_answers(path)
    emu.clear_requests()
    return texts


def test_recorded_answers_replay_without_a_key_and_send_nothing(
    emu: EmulatorHandle, tmp_path: Path
) -> None:
    path = tmp_path / "lesson.answers.jsonl"
    texts = record_some(emu, path)
    replay = aimo_magic.use_answers(path, pace=0)
    assert len(replay) == 5 and replay.problems == []
    picture = [
        {"role": "user", "content": [{"type": "text", "text": "What is this?"}, image_part(40, 30)]}
    ]
    with keyless(emu) as client:
        assert [m.name for m in client.models()], "the model list comes from the file"
        chat = client.chat("What is 2 + 2?", model=MODEL)
        assert chat.text == texts["chat"]
        assert chat.recorded_in == path.name and chat.cached_at is not None
        assert chat.usage is not None and chat.usage.completion_tokens > 0
        with client.stream("Tell me about rivers.", model=MODEL, cache=False) as stream:
            assert "".join(stream) == texts["stream"]
        assert client.chat(picture, model=VISION).text == texts["image"]
        assert client.chat("Name a colour.", model=MODEL, temperature=0.2).text == texts["tuned"]
        with pytest.raises(NotRecordedError, match=r"was not recorded in lesson\.answers\.jsonl"):
            client.chat("Name a colour.", model=MODEL, temperature=0.7)
        other_picture = [
            {
                "role": "user",
                "content": [{"type": "text", "text": "What is this?"}, image_part(41, 30)],
            }
        ]
        with pytest.raises(NotRecordedError):
            client.chat(other_picture, model=VISION)

    async def ask_async() -> str:
        client = aimo_magic.AsyncClient(api_key=None, base_url=emu.base_url)
        async with client, client.stream("Name a mountain.", model=MODEL) as stream:
            return "".join([piece async for piece in stream])

    assert asyncio.run(ask_async()) == texts["async"]
    assert emu.requests == []


def test_the_file_is_json_lines_with_a_version_first_and_no_key_or_image_bytes(
    emu: EmulatorHandle, tmp_path: Path
) -> None:
    path = tmp_path / "lesson.answers.jsonl"
    record_some(emu, path)
    text = path.read_text(encoding="utf-8")
    assert emu.api_key not in text and "aimo-sk-" not in text
    assert "base64" not in text and "data:image" not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[0] == {"format": "aimo-magic answers", "version": FORMAT_VERSION}
    answers = [line for line in lines if "answer" in line]
    assert [a["model"] for a in answers] == [MODEL, MODEL, VISION, MODEL, MODEL]
    tuned = answers[3]
    assert tuned["params"] == {"temperature": 0.2}
    assert tuned["messages"] == [{"role": "user", "content": "Name a colour."}]
    assert set(tuned["answer"]) >= {
        "text",
        "finish_reason",
        "model",
        "provider",
        "usage",
        "cost",
        "answered_at",
    }
    assert tuned["answer"]["cost"] is not None, "priced from the model list seen"
    # Saving the same answers again gives the same file: diffs show only what changed.
    aimo_magic.save_answers(tmp_path / "again.answers.jsonl")
    assert (tmp_path / "again.answers.jsonl").read_text(encoding="utf-8") == text


def test_strict_replay_sends_nothing_even_with_a_key(emu: EmulatorHandle, tmp_path: Path) -> None:
    path = tmp_path / "lesson.answers.jsonl"
    texts = record_some(emu, path)
    aimo_magic.use_answers(path, strict=True, pace=0)
    with live(emu) as client:
        assert client.chat("What is 2 + 2?", model=MODEL).text == texts["chat"]
        with pytest.raises(NotRecordedError, match="strict replay, even with a key"):
            client.chat("Something new", model=MODEL)
    aimo_magic.use_answers(path, pace=0)
    with live(emu) as client:
        fresh = client.chat("Something new", model=MODEL)
    assert fresh.recorded_in is None and len(emu.requests) == 1, "sent once --strict is off"


def test_a_request_not_recorded_goes_to_the_server_when_a_key_is_set_and_is_recorded(
    emu: EmulatorHandle, tmp_path: Path
) -> None:
    path = tmp_path / "lesson.answers.jsonl"
    record_some(emu, path)
    aimo_magic.use_answers(path, pace=0)
    with live(emu) as client:
        client.chat("What is 2 + 2?", model=MODEL)
        client.chat("A new question", model=MODEL)
    aimo_magic.save_answers(tmp_path / "more.answers.jsonl")
    saved = read_answer_file(tmp_path / "more.answers.jsonl")
    asked = [a.messages[0]["content"] for a in saved.answers.values()]
    assert asked[-1] == "A new question" and "What is 2 + 2?" in asked
    before = read_answer_file(path)
    assert len(before.answers) == 5, "the file replayed is never written"


def test_a_damaged_line_a_newer_file_and_a_missing_file_are_one_line_each(
    emu: EmulatorHandle, tmp_path: Path
) -> None:
    path = tmp_path / "lesson.answers.jsonl"
    texts = record_some(emu, path)
    lines = path.read_text(encoding="utf-8").splitlines()
    answer_lines = [i for i, line in enumerate(lines) if '"answer"' in line]
    lines[answer_lines[1]] = lines[answer_lines[1]][: len(lines[answer_lines[1]]) // 2]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    replay = aimo_magic.use_answers(path, pace=0, quiet=True)
    (problem,) = replay.problems
    assert (
        f"line {answer_lines[1] + 1} could not be read" in problem and "other 4 answers" in problem
    )
    with keyless(emu) as client:
        assert client.chat("What is 2 + 2?", model=MODEL).text == texts["chat"]

    newer = tmp_path / "newer.answers.jsonl"
    newer.write_text(json.dumps({"format": "aimo-magic answers", "version": 99}) + "\n")
    (problem,) = aimo_magic.use_answers(newer, quiet=True).problems
    assert "newer aimo-magic (answer format 99; this one reads 1)" in problem
    assert "\n" not in problem

    missing = aimo_magic.use_answers(tmp_path / "nowhere.answers.jsonl", quiet=True)
    nowhere = tmp_path / "nowhere.answers.jsonl"
    assert missing.problems == [
        f"There is no answer file at {nowhere}; nothing is replayed from it."
    ]
    with keyless(emu) as client, pytest.raises(NotRecordedError, match="no API key is set"):
        client.chat("What is 2 + 2?", model=MODEL)
    assert emu.requests == []
    assert not (tmp_path / "nowhere.answers.jsonl").exists(), "replaying writes nothing"


def test_nothing_to_save_says_so_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="record_answers"):
        aimo_magic.save_answers(tmp_path / "a.answers.jsonl")
    aimo_magic.record_answers()
    with pytest.raises(ValueError, match="No answers to save yet"):
        aimo_magic.save_answers(tmp_path / "a.answers.jsonl")
    assert list(tmp_path.iterdir()) == []


def test_a_replayed_stream_arrives_word_by_word_at_its_pace() -> None:
    text = "one two three four five six seven eight nine ten " * 3
    pieces = paced(text, 20.0)
    assert "".join(piece for _, piece in pieces) == text
    assert len(pieces) == 30 and pieces[0][0] == 0.0
    assert sum(wait for wait, _ in pieces) == pytest.approx(29 / 20, rel=0.01)
    long = "word " * 5000
    waits = sum(wait for wait, _ in paced(long, 20.0))
    assert waits <= answer_book.LONGEST_REPLAY_S, "a long answer is shown faster"
    assert paced(text, None) == [(0.0, text)]


def test_the_environment_replays_from_the_first_request(
    emu: EmulatorHandle, tmp_path: Path
) -> None:
    path = tmp_path / "lesson.answers.jsonl"
    texts = record_some(emu, path)
    script = (
        "import aimo_magic\n"
        f"c = aimo_magic.Client(base_url={emu.base_url!r})\n"
        f"r = c.chat('What is 2 + 2?', model={MODEL!r})\n"
        "print(repr(r.text), r.recorded_in)\n"
        "try:\n"
        f"    c.chat('Something new', model={MODEL!r})\n"
        "except aimo_magic.NotRecordedError as e:\n"
        "    print('refused:', e)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIMO_")}
    env.update({"AIMO_ANSWERS": str(path), "AIMO_ANSWERS_STRICT": "1", "AIMO_API_KEY": emu.api_key})
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    first, refused = done.stdout.splitlines()
    assert first == f"{texts['chat']!r} {path.name}"
    assert refused.startswith("refused: This request to DeepSeek-V3-1 was not recorded")
    assert emu.requests == []


def test_a_paced_replay_takes_its_time(emu: EmulatorHandle, tmp_path: Path) -> None:
    """Pacing is real time, so it is measured (not bounded): a replay at 20 words per
    second takes at least the waits it was given."""
    path = tmp_path / "lesson.answers.jsonl"
    texts = record_some(emu, path)
    aimo_magic.use_answers(path, pace=20)
    expected = sum(wait for wait, _ in paced(texts["stream"], 20))
    started = time.perf_counter()
    with keyless(emu) as client, client.stream("Tell me about rivers.", model=MODEL) as stream:
        pieces = list(stream)
    assert time.perf_counter() - started >= expected
    assert len(pieces) > 5 and "".join(pieces) == texts["stream"]


def test_each_repeat_of_an_evaluation_keeps_and_replays_its_own_answer(
    emu: EmulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Repeats send identical requests (their number is never sent), yet the file keeps
    one answer per repeat, and a replay gives each repeat its own: an edited repeat 2
    comes back as edited, the others as asked."""
    path = tmp_path / "repeats.answers.jsonl"
    rows = ["What is 2 + 2?", "Name a colour: red or blue."]
    monkeypatch.setenv("AIMO_BASE_URL", emu.base_url)
    monkeypatch.setenv("AIMO_API_KEY", emu.api_key)
    monkeypatch.setenv("AIMO_CACHE_DIR", str(tmp_path / "recording-cache"))

    def evaluation() -> aimo_magic.Evaluation:
        return aimo_magic.evaluate(
            "{}",
            rows,
            models=[MODEL],
            score=lambda a, e, r: 1.0,
            repeats=3,
            progress=False,
            temperature=1.0,
        )

    aimo_magic.record_answers()
    asked = evaluation()
    asked.run()
    sent = [json.loads(r["body"]) for r in emu.requests]
    assert len(sent) == 6 and all("aimo_magic_repeat" not in body for body in sent)
    aimo_magic.save_answers(path)

    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    answers = [line for line in lines if "answer" in line]
    assert sorted(line["params"].get("aimo_magic_repeat", 0) for line in answers) == [
        0,
        0,
        1,
        1,
        2,
        2,
    ]
    for line in answers:
        if line["params"].get("aimo_magic_repeat") == 2:
            line["answer"]["text"] = "edited for repeat 2"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")

    emu.clear_requests()
    monkeypatch.delenv("AIMO_API_KEY")
    monkeypatch.setenv("AIMO_CACHE_DIR", str(tmp_path / "replaying-cache"))
    aimo_magic.use_answers(path, strict=True, pace=0)
    replayed = evaluation()
    replayed.run()
    table = replayed.table
    by_repeat = {k: list(part["answer"]) for k, part in table.groupby("repeat")}
    assert by_repeat[2] == ["edited for repeat 2"] * 2
    assert by_repeat[0] == by_repeat[1] == list(asked.table.query("repeat == 0")["answer"])
    assert emu.requests == []
