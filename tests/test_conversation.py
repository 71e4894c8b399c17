"""Conversation threads: recording, re-runs, trimming, and saving without secrets."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

from aimo_magic.conversation import (
    IMAGE_TOKENS,
    ConversationFileError,
    ConversationSecretError,
    ConversationStore,
    Thread,
    ThreadNameError,
    Turn,
    estimate_tokens,
    validate_thread_name,
)
from aimo_magic.core.types import Usage

IMAGE_PART: dict[str, Any] = {
    "type": "image_url",
    "image_url": {"url": "data:image/png;base64,AAAA"},
}


def turn(n: int, cell_id: str | None = None, **extra: Any) -> Turn:
    return Turn(user=f"q{n}", assistant=f"a{n}", model="m", cell_id=cell_id, **extra)


def contents(messages: list[dict[str, Any]]) -> list[Any]:
    return [m["content"] for m in messages]


def length_estimate(message: Any) -> int:
    return len(message["content"])


def one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(exc.value)
    assert text and "\n" not in text
    return text


# --- recording ---------------------------------------------------------------


def test_record_appends_whole_turns_in_order() -> None:
    thread = Thread("default")
    assert thread.record(turn(1)) == 0
    assert thread.record(turn(2)) == 1
    assert [t.user for t in thread.turns] == ["q1", "q2"]
    assert thread.messages_for("q3") == [
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "q2"},
        {"role": "assistant", "content": "a2"},
        {"role": "user", "content": "q3"},
    ]


def test_turn_keeps_its_own_copies_of_prompt_and_params() -> None:
    prompt: list[dict[str, Any]] = [{"type": "text", "text": "look"}, IMAGE_PART]
    params: dict[str, Any] = {"temperature": 0.2, "stop": ["x"]}
    thread = Thread("t")
    thread.record(Turn(user=prompt, assistant="ok", model="m", params=params))
    prompt[0]["text"] = "changed"
    params["stop"].append("y")
    sent = thread.messages_for("next")
    sent[0]["content"][0]["text"] = "changed by caller"
    assert thread.turns[0].user[0] == {"type": "text", "text": "look"}
    assert thread.turns[0].params == {"temperature": 0.2, "stop": ["x"]}


def test_record_rejects_bad_content() -> None:
    with pytest.raises(ValueError, match="user content must be a string or a list"):
        Turn(user=42, assistant="a", model="m")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="prompt must be a string or a list"):
        Thread("t").messages_for([{"text": "no type"}])


def test_rerun_replaces_the_cells_turn_in_place() -> None:
    thread = Thread("default")
    thread.record(turn(1, "c1"))
    thread.record(turn(2, "c2"))
    thread.record(turn(3, "c3"))
    assert thread.record(Turn(user="q2 again", assistant="a2 again", model="m", cell_id="c2")) == 1
    assert [t.user for t in thread.turns] == ["q1", "q2 again", "q3"]
    assert [t.cell_id for t in thread.turns] == ["c1", "c2", "c3"]


def test_turns_without_cell_id_always_append() -> None:
    thread = Thread("default")
    thread.record(turn(1))
    thread.record(turn(1))
    assert len(thread) == 2


def test_rerun_history_excludes_own_and_later_turns() -> None:
    thread = Thread("default", system="be brief")
    for n in (1, 2, 3):
        thread.record(turn(n, f"c{n}"))
    assert contents(thread.messages_for("q2 again", cell_id="c2")) == [
        "be brief",
        "q1",
        "a1",
        "q2 again",
    ]
    assert contents(thread.messages_for("first again", cell_id="c1")) == [
        "be brief",
        "first again",
    ]
    # A cell that has not answered in this thread sees everything.
    assert len(thread.messages_for("q4", cell_id="c4")) == 1 + 6 + 1


def test_system_prompt_explicit_overrides_thread_and_empty_sends_none() -> None:
    thread = Thread("t", system="thread system")
    thread.record(turn(1))
    assert thread.messages_for("q")[0] == {"role": "system", "content": "thread system"}
    assert thread.messages_for("q", system="call system")[0]["content"] == "call system"
    assert [m["role"] for m in thread.messages_for("q", system="")] == [
        "user",
        "assistant",
        "user",
    ]


def test_partial_turn_is_sent_as_is() -> None:
    thread = Thread("t")
    thread.record(Turn(user="long story", assistant="Once upon a", model="m", partial=True))
    assert thread.messages_for("go on")[1] == {"role": "assistant", "content": "Once upon a"}


# --- trimming ----------------------------------------------------------------


def test_trim_by_turns_drops_oldest_and_keeps_system_and_prompt() -> None:
    thread = Thread("t", system="sys")
    for n in range(1, 6):
        thread.record(turn(n))
    assert contents(thread.messages_for("new", max_turns=2)) == [
        "sys",
        "q4",
        "a4",
        "q5",
        "a5",
        "new",
    ]
    assert contents(thread.messages_for("new", max_turns=0)) == ["sys", "new"]


def test_trim_by_tokens_drops_whole_oldest_turns() -> None:
    thread = Thread("t", system="S" * 10)
    for n in range(1, 5):
        thread.record(Turn(user="u" * 10, assistant=f"a{n}" + "x" * 8, model="m"))
    # system 10 + prompt 10 + two turns of 20 each = 60: the budget fits exactly two.
    for budget in (60, 79):
        sent = thread.messages_for("P" * 10, max_tokens=budget, estimate=length_estimate)
        assert [m["content"][:2] for m in sent] == ["SS", "uu", "a3", "uu", "a4", "PP"]
    # One token short of a whole turn drops the whole turn, never half of it.
    sent = thread.messages_for("P" * 10, max_tokens=59, estimate=length_estimate)
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[2]["content"].startswith("a4")


def test_trim_never_drops_system_or_prompt_even_over_budget() -> None:
    thread = Thread("t", system="S" * 100)
    thread.record(turn(1))
    sent = thread.messages_for("P" * 100, max_tokens=5, estimate=length_estimate)
    assert contents(sent) == ["S" * 100, "P" * 100]


def test_trim_by_turns_and_tokens_together_takes_the_tighter() -> None:
    thread = Thread("t")
    for n in range(1, 6):
        thread.record(turn(n))
    by_turns = thread.messages_for("p", max_turns=1, max_tokens=10_000, estimate=length_estimate)
    assert contents(by_turns) == ["q5", "a5", "p"]
    by_tokens = thread.messages_for("p", max_turns=4, max_tokens=9, estimate=length_estimate)
    assert contents(by_tokens) == ["q4", "a4", "q5", "a5", "p"]


def test_trim_limits_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="max_turns must be 0 or more"):
        Thread("t").messages_for("p", max_turns=-1)
    with pytest.raises(ValueError, match="max_tokens must be 0 or more"):
        Thread("t").messages_for("p", max_tokens=-1)


def test_default_estimate_counts_text_parts_and_images() -> None:
    plain = estimate_tokens({"role": "user", "content": "x" * 400})
    parts = estimate_tokens(
        {"role": "user", "content": [{"type": "text", "text": "x" * 400}, IMAGE_PART]}
    )
    empty = estimate_tokens({"role": "user", "content": ""})
    assert plain - empty == 100
    assert parts - plain == IMAGE_TOKENS


def test_default_estimate_trims_image_turns() -> None:
    thread = Thread("t")
    thread.record(
        Turn(user=[{"type": "text", "text": "what"}, IMAGE_PART], assistant="a", model="m")
    )
    thread.record(turn(2))
    assert contents(thread.messages_for("p", max_tokens=100)) == ["q2", "a2", "p"]
    assert len(thread.messages_for("p", max_tokens=IMAGE_TOKENS + 100)) == 5


def test_history_shows_image_placeholders() -> None:
    from aimo_magic.magics.cmd.history import history_lines

    thread = Thread("t", system="sys")
    thread.record(
        Turn(user=[{"type": "text", "text": "see"}, IMAGE_PART], assistant="a cat", model="m")
    )
    assert history_lines(thread)[2:] == [
        "── system",
        "sys",
        "",
        "── 1. user",
        "see\n[image]",
        "",
        "── 1. assistant (m)",
        "a cat",
    ]


# --- names and the store -------------------------------------------------------


@pytest.mark.parametrize("bad", ["", "two words", "tab\there", "x" * 65, "nl\n", None, 3])
def test_bad_thread_names_are_refused(bad: Any) -> None:
    with pytest.raises(ThreadNameError) as exc:
        validate_thread_name(bad)
    one_line(exc)
    with pytest.raises(ThreadNameError):
        ConversationStore().thread(bad)


def test_good_thread_names_pass() -> None:
    for name in ("default", "draft-2", "é", "x" * 64):
        assert validate_thread_name(name) == name


def test_store_threads_are_independent_and_created_on_demand() -> None:
    store = ConversationStore()
    store.thread().record(turn(1))
    store.thread("other").record(turn(2))
    store.thread("other").record(turn(3))
    assert store.thread("default") is store.thread()
    assert store.names() == ["default", "other"]
    assert store.summary() == [("default", 1), ("other", 2)]
    assert contents(store.thread().messages_for("p")) == ["q1", "a1", "p"]


def test_store_new_reset_remove() -> None:
    store = ConversationStore()
    store.thread("a").system = "sys a"
    store.thread("a").record(turn(1))
    store.thread("b").system = "sys b"
    store.thread("b").record(turn(2))
    store.thread("b").record(turn(3))

    assert store.reset("a") == 1
    assert store.thread("a").system == "sys a" and len(store.thread("a")) == 0
    assert store.reset("missing") == 0 and "missing" not in store

    fresh = store.new("b", system="again")
    assert store.thread("b") is fresh and len(fresh) == 0 and fresh.system == "again"

    store.thread("b").record(turn(4))
    assert store.reset_all() == 1
    assert store.summary() == [("a", 0), ("b", 0)]

    assert store.names() == ["a", "b"]


# --- saving and loading ---------------------------------------------------------


def populated() -> ConversationStore:
    store = ConversationStore()
    main = store.thread()
    main.system = "be exact"
    main.record(
        Turn(
            user="hello",
            assistant="hi **there**",
            model="openai/gpt-4o",
            cell_id="cell-1",
            provider="akash-ml",
            params={"temperature": 0.2, "stop": ["\n\n"], "max_tokens": 50},
            usage=Usage(12, 5, 17),
            created=1_700_000_000.25,
        )
    )
    main.record(
        Turn(
            user=[{"type": "text", "text": "and this?"}, IMAGE_PART],
            assistant="A half",
            model="m",
            partial=True,
        )
    )
    store.thread("side").record(turn(9, "cell-9"))
    return store


def test_save_load_round_trip_is_equal(tmp_path: Path) -> None:
    store = populated()
    path = tmp_path / "conv.json"
    assert store.save(path) == path
    restored = ConversationStore()
    assert restored.load(path) == ["default", "side"]
    assert restored == store
    first, second = restored.thread().turns
    assert first.usage == Usage(12, 5, 17) and first.partial is False
    assert second.partial is True and second.usage is None
    assert json.loads(path.read_text())["version"] == 1


def test_dict_round_trip_is_equal_and_json_ready() -> None:
    store = populated()
    data = json.loads(json.dumps(store.to_dict()))
    assert ConversationStore.from_dict(data) == store


def test_load_replaces_unless_merging(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    saved = ConversationStore()
    saved.thread("side").record(turn(1))
    saved.save(path)

    merged = ConversationStore()
    merged.thread("side").record(turn(7))
    merged.thread("mine").record(turn(8))
    merged.load(path, merge=True)
    assert merged.summary() == [("side", 1), ("mine", 1)]
    assert merged.thread("side").turns[0].user == "q1"

    replaced = ConversationStore()
    replaced.thread("mine").record(turn(8))
    replaced.load(path)
    assert replaced.names() == ["side"]


def test_save_replaces_the_file_by_rename(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    ConversationStore().save(path)
    old = path.read_text()
    # A hard link keeps pointing at the old file only if save wrote a new file and renamed it.
    os.link(path, tmp_path / "old-link.json")
    populated().save(path)
    assert (tmp_path / "old-link.json").read_text() == old
    assert ConversationStore().load(path) and path.read_text() != old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json", "old-link.json"]


def test_failed_save_leaves_old_file_and_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    populated().save(path)
    before = path.read_bytes()
    bad = ConversationStore()
    bad.thread().record(Turn(user="q", assistant="a", model="m", params={"x": object()}))
    with pytest.raises(ConversationFileError) as exc:
        bad.save(path)
    assert "cannot save" in one_line(exc)
    assert path.read_bytes() == before

    blocked = tmp_path / "a-folder"
    blocked.mkdir()
    with pytest.raises(ConversationFileError) as exc:
        populated().save(blocked)  # renaming onto a folder fails after the temp file exists
    assert "cannot write" in one_line(exc)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-folder", "c.json"]
    assert list(blocked.iterdir()) == []


def test_save_into_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConversationFileError) as exc:
        populated().save(tmp_path / "nope" / "c.json")
    assert "check the folder exists" in one_line(exc)


@pytest.mark.parametrize(
    "params",
    [
        {"api_key": "aimo-sk-v2-test-0000"},
        {"headers": {"Authorization": "Bearer AIMO-SK-v2-test-0000"}},
        {"extra": ["a", {"aimo-sk-v2-test-0000": 1}]},
    ],
)
def test_key_looking_params_are_refused(tmp_path: Path, params: dict[str, Any]) -> None:
    path = tmp_path / "c.json"
    ConversationStore().save(path)
    before = path.read_bytes()
    store = populated()
    store.thread("side").record(Turn(user="q", assistant="a", model="m", params=params))
    with pytest.raises(ConversationSecretError) as exc:
        store.save(path)
    message = one_line(exc)
    assert "turn 2 of thread 'side'" in message and "test-0000" not in message
    assert path.read_bytes() == before
    with pytest.raises(ConversationSecretError):
        store.to_dict()


def test_key_in_model_or_provider_is_refused(tmp_path: Path) -> None:
    store = ConversationStore()
    store.thread().record(Turn(user="q", assistant="a", model="m", provider="aimo-sk-v2-test-0000"))
    with pytest.raises(ConversationSecretError):
        store.save(tmp_path / "c.json")
    assert not (tmp_path / "c.json").exists()


def valid_doc() -> dict[str, Any]:
    return copy.deepcopy(populated().to_dict())


def edited(change: Any) -> str:
    doc = valid_doc()
    change(doc)
    return json.dumps(doc)


def first_turn(doc: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = doc["threads"][0]["turns"][0]
    return result


MALFORMED: dict[str, tuple[str | bytes | None, str]] = {
    "missing file": (None, "cannot read"),
    "not utf-8": (b"\xff\xfe{", "not UTF-8"),
    "not json": ("{'threads': []}", "not valid JSON (line 1"),
    "truncated": (json.dumps(valid_doc())[:-20], "not valid JSON"),
    "empty": ("", "not valid JSON"),
    "deeply nested": ("[" * 100_000 + "]" * 100_000, ""),
    "top is a list": ("[]", "top level must be a JSON object"),
    "wrong format": (json.dumps({"version": 1, "threads": []}), "not an aimo-magic conversation"),
    "newer version": (edited(lambda d: d.update(version=2)), "upgrade aimo-magic"),
    "version string": (edited(lambda d: d.update(version="1")), "version '1' is not supported"),
    "version bool": (edited(lambda d: d.update(version=True)), "version True is not supported"),
    "threads not list": (edited(lambda d: d.update(threads={})), "threads must be a JSON list"),
    "thread not object": (edited(lambda d: d["threads"].append(3)), "threads[2] must be"),
    "bad name": (
        edited(lambda d: d["threads"][1].update(name="two words")),
        "threads[1].name is not usable",
    ),
    "duplicate name": (
        edited(lambda d: d["threads"][1].update(name="default")),
        "repeats the thread name",
    ),
    "system not text": (edited(lambda d: d["threads"][0].update(system=5)), ".system must be"),
    "turns missing": (edited(lambda d: d["threads"][0].pop("turns")), "turns must be a JSON list"),
    "assistant missing": (
        edited(lambda d: first_turn(d).pop("assistant")),
        "threads[0].turns[0].assistant must be a string",
    ),
    "user wrong type": (edited(lambda d: first_turn(d).update(user=7)), "is not a valid turn"),
    "usage negative": (
        edited(lambda d: first_turn(d)["usage"].update(prompt_tokens=-1)),
        "usage.prompt_tokens must be a whole number",
    ),
    "usage bool": (
        edited(lambda d: first_turn(d)["usage"].update(total_tokens=True)),
        "usage.total_tokens must be",
    ),
    "usage not object": (edited(lambda d: first_turn(d).update(usage=[1])), "usage must be"),
    "partial not bool": (edited(lambda d: first_turn(d).update(partial="yes")), "partial must be"),
    "created missing": (edited(lambda d: first_turn(d).pop("created")), "created must be"),
    "created nan": (edited(lambda d: first_turn(d).update(created=float("nan"))), "created"),
    "params not object": (edited(lambda d: first_turn(d).update(params=[])), "params must be"),
    "cell id not text": (edited(lambda d: first_turn(d).update(cell_id=1)), "cell_id must be"),
}


@pytest.mark.parametrize("merge", [False, True])
@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_files_raise_and_leave_store_untouched(
    tmp_path: Path, case: str, merge: bool
) -> None:
    content, expected = MALFORMED[case]
    path = tmp_path / "c.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    store = ConversationStore()
    store.thread("default").record(turn(1, "mine"))
    store.thread("keep").system = "mine"
    snapshot = copy.deepcopy(store)
    with pytest.raises(ConversationFileError) as exc:
        store.load(path, merge=merge)
    message = one_line(exc)
    assert expected in message
    assert str(path) in message
    assert store == snapshot


def test_directory_is_not_a_conversation_file(tmp_path: Path) -> None:
    with pytest.raises(ConversationFileError) as exc:
        ConversationStore().load(tmp_path)
    assert "cannot read" in one_line(exc)


def test_from_dict_rejects_malformed_data() -> None:
    with pytest.raises(ConversationFileError) as exc:
        ConversationStore.from_dict({"format": "aimo-magic-conversations", "version": 1})
    assert "threads must be a JSON list" in one_line(exc)


def test_saved_file_holds_only_turn_fields(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    populated().save(path)
    saved = json.loads(path.read_text())
    assert set(saved) == {"format", "version", "threads"}
    assert set(saved["threads"][0]["turns"][0]) == {
        "user",
        "assistant",
        "model",
        "provider",
        "cell_id",
        "params",
        "usage",
        "partial",
        "created",
    }
