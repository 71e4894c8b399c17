"""A stopped run keeps what it paid for: a cancelled flush still reaches the store before
the run's owner closes it (a resume then sends only what was never answered)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from pathlib import Path

from aimo_magic.batching.stored import StoredAnswers
from aimo_magic.core.cache import AnswerCache
from aimo_magic.core.types import ChatResult, Timings, Usage


class GatedCache(AnswerCache):
    """A real cache whose writes wait until the test lets them go."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.entered = threading.Event()
        self.release = threading.Event()

    def put_many(self, items: Iterable[tuple[str, ChatResult, str | None]]) -> int:
        self.entered.set()
        self.release.wait(60)
        return super().put_many(items)


def answer(text: str) -> ChatResult:
    return ChatResult(text, "stop", Usage(3, 1, 4), "m", None, Timings(None, 0.1))


def test_a_cancelled_flush_still_writes_before_the_store_closes(tmp_path: Path) -> None:
    store = GatedCache(tmp_path)
    problems: list[Exception] = []
    stored = StoredAnswers(
        store,
        base_url="http://127.0.0.1:1/api",
        model="m",
        params={},
        api_key=None,
        on_unusable=problems.append,
    )
    messages = [{"role": "user", "content": "hello"}]
    key = stored.key(messages)

    async def stop_while_writing() -> bool:
        stored._pending.append((key, answer("kept"), "m"))
        flushing = asyncio.ensure_future(stored.flush())
        await asyncio.get_running_loop().run_in_executor(None, store.entered.wait, 60)
        flushing.cancel()
        await asyncio.sleep(0)  # one turn of the loop: a flush that gave up is done now
        waited_for_the_write = not flushing.done()
        store.release.set()
        await asyncio.wait([flushing])
        assert flushing.cancelled()
        return waited_for_the_write

    assert asyncio.run(stop_while_writing())
    store.close()  # what the run's owner does right after a stop
    reopened = AnswerCache(tmp_path)
    try:
        found = reopened.get(key)
        assert found is not None and found.result.text == "kept"
    finally:
        reopened.close()
    assert problems == []
