"""The renderer's one-time setup happens off the main thread, before the first token."""

from __future__ import annotations

import threading

from aimo_magic.rendering import highlight, markdown, warmup


def test_warm_up_builds_the_parser_and_common_lexers_in_a_thread() -> None:
    warmup._started.clear()
    highlight._lexer.cache_clear()
    markdown.markdown_parser.cache_clear()
    warmup.warm_up_in_background()
    threads = [t for t in threading.enumerate() if t.name == "aimo-render-warmup"]
    for thread in threads:
        thread.join(timeout=30)
    assert markdown.markdown_parser.cache_info().currsize == 1
    assert highlight._lexer.cache_info().currsize >= len(warmup.COMMON_LANGUAGES)
    warmup.warm_up_in_background()
    assert not [t for t in threading.enumerate() if t.name == "aimo-render-warmup"]
