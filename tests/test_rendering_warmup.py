"""The renderer's one-time setup happens off the main thread, before the first token."""

from __future__ import annotations

from aimo_magic.rendering import highlight, markdown, warmup


def test_warm_up_builds_the_parser_and_common_lexers_in_a_thread() -> None:
    warmup._thread = None
    highlight._lexer.cache_clear()
    markdown.markdown_parser.cache_clear()
    warmup.warm_up_in_background()
    started = warmup._thread
    assert started is not None
    warmup.wait_until_warm()
    assert not started.is_alive()
    assert markdown.markdown_parser.cache_info().currsize == 1
    assert highlight._lexer.cache_info().currsize >= len(warmup.COMMON_LANGUAGES)
    warmup.warm_up_in_background()
    assert warmup._thread is started, "the warm-up runs once per process"
