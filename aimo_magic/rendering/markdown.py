"""Markdown to safe HTML in the kernel, with math left for the frontend to typeset.

Rendering here (not in the frontend) is what makes the output safe: the
frontend's own markdown renderer passes raw HTML through in trusted notebooks,
so we send ``text/html`` that the frontend prefers, built by markdown-it with
``html=False`` and then sanitised.

Math is parsed (dollarmath, texmath brackets, amsmath) only so that emphasis
and backslash escapes cannot mangle it; it is written back with its original
delimiters and escaped TeX, which MathJax/KaTeX in the frontend typeset. A
dollar that is not math is wrapped in its own ``<span>`` so MathJax cannot
pair it with another one ("$5 and $10").
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

# Set in ``env`` while an answer is still arriving: the last block, if it is a
# code fence, is shown unhighlighted because it is re-rendered on every update.
STREAMING_ENV_KEY = "aimo_streaming"
# A dict in ``env`` that keeps highlighted code blocks between renders of a live answer.
HIGHLIGHT_CACHE_ENV_KEY = "aimo_highlight_cache"

_DELIMITERS = {"$": ("$", "$"), "$$": ("$$", "$$"), "\\(": ("\\(", "\\)"), "\\[": ("\\[", "\\]")}


def _math_text(token: Token) -> str:
    opening, closing = _DELIMITERS.get(token.markup, ("$$", "$$"))
    return escape(f"{opening}{token.content}{closing}", quote=False)


def _render_math_inline(
    self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any
) -> str:
    return _math_text(tokens[idx])


def _render_math_block(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    text = _math_text(token)
    if token.type == "math_block_label" and token.info:
        text += escape(f" ({token.info})", quote=False)
    return f"<div>{text}</div>\n"


def _render_amsmath(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return f"<div>{escape(tokens[idx].content, quote=False)}</div>\n"


def _render_text(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return escape(tokens[idx].content, quote=False).replace("$", "<span>$</span>")


def _render_fence(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    from aimo_magic.rendering.highlight import code_block, language_of

    token = tokens[idx]
    streaming_tail = bool(env.get(STREAMING_ENV_KEY)) and idx == len(tokens) - 1
    return code_block(
        token.content,
        language_of(token.info),
        highlight=not streaming_tail,
        cache=env.get(HIGHLIGHT_CACHE_ENV_KEY),
    )


def _render_image(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    """A link to the image, never the image: loading it would let a prompt-injected
    answer send notebook data to any server through the image's URL."""
    token = tokens[idx]
    src = escape(str(token.attrGet("src") or ""))
    alt = escape(self.renderInlineAsText(token.children or [], options, env)) or "image"
    return f'<a href="{src}">[image: {alt}]</a>'


def _render_code_block(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    from aimo_magic.rendering.highlight import code_block

    return code_block(tokens[idx].content, None, highlight=False)


def _configure(md: MarkdownIt) -> MarkdownIt:
    from mdit_py_plugins.amsmath import amsmath_plugin
    from mdit_py_plugins.dollarmath import dollarmath_plugin
    from mdit_py_plugins.tasklists import tasklists_plugin
    from mdit_py_plugins.texmath import texmath_plugin

    md.enable(["table", "strikethrough"])
    tasklists_plugin(md)  # ``- [x] done`` as a disabled, ticked checkbox
    # allow_digits=False keeps prices ("$5 and $10") from becoming math.
    dollarmath_plugin(md, allow_digits=False, double_inline=True)
    texmath_plugin(md, delimiters="brackets")
    amsmath_plugin(md)
    return md


@lru_cache(maxsize=1)
def markdown_parser() -> MarkdownIt:
    """The shared renderer: CommonMark, raw HTML off, tables, strikethrough, task lists,
    math."""
    from markdown_it import MarkdownIt

    md = _configure(MarkdownIt("commonmark", {"html": False, "linkify": False}))
    for name in ("math_inline", "math_inline_double"):
        md.add_render_rule(name, _render_math_inline)
    for name in ("math_block", "math_block_label", "math_block_eqno"):
        md.add_render_rule(name, _render_math_block)
    md.add_render_rule("amsmath", _render_amsmath)
    md.add_render_rule("text", _render_text)
    md.add_render_rule("fence", _render_fence)
    md.add_render_rule("code_block", _render_code_block)
    md.add_render_rule("image", _render_image)
    return md


HighlightCache = dict[tuple[str, str | None], str]


def parse(text: str) -> tuple[list[Token], dict[str, Any]]:
    """Tokens and parser environment, so a caller can render slices of one parse."""
    env: dict[str, Any] = {}
    return markdown_parser().parse(text, env), env


def render_tokens(
    tokens: Sequence[Token],
    env: dict[str, Any],
    *,
    streaming: bool = False,
    highlight_cache: HighlightCache | None = None,
) -> str:
    """Sanitised HTML for a run of top-level tokens from ``parse``."""
    from aimo_magic.rendering.sanitize import clean_rendered

    md = markdown_parser()
    env = {**env, STREAMING_ENV_KEY: streaming, HIGHLIGHT_CACHE_ENV_KEY: highlight_cache}
    return clean_rendered(md.renderer.render(tokens, md.options, env))


def render_markdown(
    text: str,
    *,
    streaming: bool = False,
    highlight_cache: HighlightCache | None = None,
) -> str:
    """Sanitised HTML for ``text``; ``streaming`` skips highlighting an open last fence."""
    tokens, env = parse(text)
    return render_tokens(tokens, env, streaming=streaming, highlight_cache=highlight_cache)
