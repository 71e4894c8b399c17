"""The answer cache's SQLite store on its own: keys, what is stored, eviction, bad files,
and writers in several threads and processes at once."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from aimo_magic.core import cache as cache_module
from aimo_magic.core.cache import (
    FILE_NAME,
    AnswerCache,
    CacheUnavailableError,
    cache_file,
    cache_key,
)
from aimo_magic.core.types import ChatResult, Timings, Usage

URL = "http://127.0.0.1:1/api"
MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Name three rivers."},
]


def answer(text: str = "Nile, Amazon, Yangtze.", finish: str | None = "stop") -> ChatResult:
    return ChatResult(
        text=text,
        finish_reason=finish,
        usage=Usage(12, 7, 19),
        model="DeepSeek-V3-1",
        provider="akash",
        timings=Timings(first_token=0.2, total=0.9),
        request_id="aimo-magic-0123456789abcdef",
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AnswerCache]:
    with AnswerCache(tmp_path) as opened:
        yield opened


def file_bytes(path: Path) -> bytes:
    return b"".join(
        Path(f"{path}{suffix}").read_bytes()
        for suffix in ("", "-wal")
        if Path(f"{path}{suffix}").exists()
    )


# Keys ------------------------------------------------------------------------
def test_key_is_stable_and_ignores_how_the_answer_travels() -> None:
    base = cache_key(URL, "m", MESSAGES, {"temperature": 0.2, "max_tokens": 50})
    assert base == cache_key(URL, "m", MESSAGES, {"max_tokens": 50, "temperature": 0.2})
    assert base == cache_key(
        URL + "/",
        "m",
        MESSAGES,
        {"temperature": 0.2, "max_tokens": 50, "stream": True, "stream_options": {"x": 1}},
    )
    assert len(base) == 64 and int(base, 16) >= 0
    assert cache_key(URL, "m", "hi", {}) == cache_key(
        URL, "m", [{"role": "user", "content": "hi"}], {}
    )


@pytest.mark.parametrize(
    ("url", "model", "messages", "params"),
    [
        ("http://127.0.0.1:2/api", "m", MESSAGES, {"temperature": 0.2}),
        (URL, "openai/gpt-4o", MESSAGES, {"temperature": 0.2}),
        (URL, "m", MESSAGES[1:], {"temperature": 0.2}),
        (URL, "m", [MESSAGES[0], {"role": "user", "content": "Name four rivers."}], {}),
        (URL, "m", MESSAGES, {"temperature": 0.3}),
        (URL, "m", MESSAGES, {"temperature": 0.2, "response_format": {"type": "json_object"}}),
    ],
)
def test_anything_that_decides_the_answer_changes_the_key(
    url: str, model: str, messages: list[dict[str, str]], params: dict[str, object]
) -> None:
    assert cache_key(url, model, messages, params) != cache_key(
        URL, "m", MESSAGES, {"temperature": 0.2}
    )


# Storing and reading -----------------------------------------------------------
def test_a_stored_answer_comes_back_marked_with_when_it_was_stored(store: AnswerCache) -> None:
    key = cache_key(URL, "m", MESSAGES, {})
    assert store.get(key) is None
    store.put(key, answer(), model="m")
    hit = store.get(key)
    assert hit is not None
    assert hit.result.text == "Nile, Amazon, Yangtze."
    assert hit.result.finish_reason == "stop"
    assert hit.result.usage == Usage(12, 7, 19)
    assert (hit.result.model, hit.result.provider) == ("DeepSeek-V3-1", "akash")
    assert hit.result.cached_at == hit.stored_at > 0
    assert hit.result.request_id is None
    stats = store.stats()
    assert (stats.entries, stats.hits, stats.misses, stats.stores) == (1, 1, 1, 1)
    assert stats.path == str(store.path) and store.path.name == FILE_NAME


@pytest.mark.parametrize(
    "result",
    [
        answer(finish=None),
        answer(finish="error"),
        answer(finish="tool_calls"),
        answer(text=""),
    ],
    ids=["no-finish-reason", "error", "tool-calls", "empty"],
)
def test_partial_failed_or_empty_answers_are_not_stored(
    store: AnswerCache, result: ChatResult
) -> None:
    store.put("k", result)
    assert store.get("k") is None
    assert store.stats().entries == 0


def test_an_answer_cut_by_max_tokens_is_a_whole_answer(store: AnswerCache) -> None:
    store.put("k", answer(finish="length"))
    hit = store.get("k")
    assert hit is not None and hit.result.finish_reason == "length"


def test_the_file_holds_neither_the_key_nor_the_messages(tmp_path: Path) -> None:
    secret_system = "Zebra-quartz-marker system prompt"
    key = cache_key(URL, "m", [{"role": "system", "content": secret_system}], {})
    with AnswerCache(tmp_path) as store:
        store.put(key, answer())
        assert store.get(key) is not None
        raw = file_bytes(store.path)
        assert b"Nile, Amazon" in raw, "the check reads the right file"
        assert key.encode() not in raw
        assert bytes.fromhex(key) not in raw
        assert secret_system.encode() not in raw


def test_clear_by_model_and_age(store: AnswerCache) -> None:
    store.put("a", answer(), model="DeepSeek-V3-1")
    store.put("b", answer(), model="openai/gpt-4o")
    store.put("c", answer(), model="routing-name")  # served by DeepSeek-V3-1
    with sqlite3.connect(store.path) as db:
        db.execute(
            "UPDATE answers SET stored_at = stored_at - 10 * 86400 WHERE model = ?",
            ("openai/gpt-4o",),
        )
    assert store.clear(older_than_days=5) == 1
    assert store.get("b") is None
    assert store.clear(model="DeepSeek-V3-1") == 2  # as requested, or as served
    assert store.stats().entries == 0
    store.put("d", answer())
    assert store.clear() == 1


def test_least_recently_used_answers_go_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache_module, "TOUCH_EVERY_S", 0.0)
    with AnswerCache(tmp_path, max_mb=0.25) as store:
        store.put("first", answer("first " * 300))
        for i in range(300):
            store.put(f"k{i}", answer(f"{i} " + "x" * 2000))
            assert store.get("first") is not None, f"used each time, it stays ({i})"
        assert store.get("k0") is None, "the oldest unused answer went"
        assert store.get("k299") is not None
        stats = store.stats()
        assert 20 < stats.entries < 300
        assert stats.content_bytes <= store.max_bytes


def test_an_answer_bigger_than_the_cap_is_not_stored(tmp_path: Path) -> None:
    with AnswerCache(tmp_path, max_mb=0.01) as store:
        store.put("big", answer("z" * 20_000))
        assert store.get("big") is None


def test_path_may_name_the_file_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cache_file(tmp_path / "mine.sqlite3") == tmp_path / "mine.sqlite3"
    assert cache_file(tmp_path / "dir") == tmp_path / "dir" / FILE_NAME
    monkeypatch.setenv("AIMO_CACHE_DIR", str(tmp_path / "env"))
    assert cache_file(None) == tmp_path / "env" / FILE_NAME
    monkeypatch.delenv("AIMO_CACHE_DIR")
    assert cache_file(None).parent.name == "aimo-magic"


# Files that cannot be used ------------------------------------------------------
def test_a_corrupt_file_is_reported_as_unusable(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_bytes(b"this is not a database at all " * 200)
    with pytest.raises(CacheUnavailableError) as caught:
        AnswerCache(tmp_path)
    assert "corrupt" in caught.value.reason
    assert str(tmp_path) in str(caught.value) and "\n" not in str(caught.value)


def test_a_file_from_a_newer_version_is_left_alone(tmp_path: Path) -> None:
    AnswerCache(tmp_path).close()
    with sqlite3.connect(tmp_path / FILE_NAME) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(CacheUnavailableError, match="newer aimo-magic"):
        AnswerCache(tmp_path)
    with sqlite3.connect(tmp_path / FILE_NAME) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 99


def test_a_directory_that_cannot_be_made_is_unusable(tmp_path: Path) -> None:
    (tmp_path / "plain-file").write_text("x")
    with pytest.raises(CacheUnavailableError):
        AnswerCache(tmp_path / "plain-file" / "cache")


def test_a_closed_cache_says_so(store: AnswerCache) -> None:
    store.close()
    with pytest.raises(CacheUnavailableError, match="closed"):
        store.get("k")


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory on a read-only file system (root: a tmpfs remounted read-only; others:
    a directory without write permission)."""
    where = tmp_path / "ro"
    where.mkdir()
    if os.geteuid() != 0:
        yield where
        where.chmod(0o700)
        return
    if subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(where)], check=False).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=False)


def test_a_read_only_disk_is_unusable(read_only_dir: Path) -> None:
    with AnswerCache(read_only_dir) as store:
        store.put("k", answer())
    if os.geteuid() == 0:
        done = subprocess.run(["mount", "-o", "remount,ro", str(read_only_dir)], check=False)
        assert done.returncode == 0
    else:
        read_only_dir.chmod(0o500)
        (read_only_dir / FILE_NAME).chmod(0o400)
    with pytest.raises(CacheUnavailableError):
        store = AnswerCache(read_only_dir)
        store.put("k2", answer())


# Many writers -------------------------------------------------------------------
def test_threads_share_one_instance(store: AnswerCache) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(40):
                key = f"t{n}-{i}"
                store.put(key, answer(f"answer {n} {i}"))
                hit = store.get(key)
                assert hit is not None and hit.result.text == f"answer {n} {i}"
        except BaseException as exc:  # collected for the main thread to report
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert store.stats().entries == 320


def _writer(path: str, n: int, barrier: multiprocessing.synchronize.Barrier) -> None:
    barrier.wait()
    with AnswerCache(path) as store:
        for i in range(60):
            store.put(f"p{n}-{i}", answer(f"answer {n} {i} " + "w" * 500))
            store.get(f"p{(n + 1) % 4}-{i}")


def test_processes_write_at_once_without_locking_errors(tmp_path: Path) -> None:
    """Four processes open a new file at the same moment and all write to it."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    workers = [context.Process(target=_writer, args=(str(tmp_path), n, barrier)) for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    with AnswerCache(tmp_path) as store:
        assert store.stats().entries == 240
