"""Syntax highlighting of code blocks with pygments, as inline-styled spans.

Inline styles rather than classes plus a stylesheet: a ``<style>`` element in
an output is global to the page (it would restyle JupyterLab's own
``.highlight`` blocks), it is dropped when a notebook is reopened untrusted,
and it would have to be repeated in every output. Inline ``color``/``font-*``
survive JupyterLab's untrusted sanitiser, nbconvert and VS Code alike, and
the sanitiser reduces them to those few properties. The palette is mid-tone
so it stays readable on light and dark themes.
"""

from __future__ import annotations

from functools import lru_cache
from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pygments.formatters import HtmlFormatter
    from pygments.lexer import Lexer


# A faint panel that reads on light and dark themes, so consecutive blocks stay apart.
CODE_BLOCK_STYLE = "background-color: rgba(127, 127, 127, 0.1); padding: 0.5em 0.75em"
# JupyterLab and Notebook 7 give every ``code`` the page's opaque background: inline inside
# the panel it would paint a stripe behind each line, so it is made see-through.
CODE_STYLE = "background-color: transparent"


def _style_class() -> Any:
    from pygments.style import Style
    from pygments.token import (
        Comment,
        Error,
        Generic,
        Keyword,
        Name,
        Number,
        Operator,
        String,
    )

    class MidTone(Style):
        """Colours with enough contrast on both white and near-black backgrounds."""

        styles = {  # noqa: RUF012 (pygments reads a class attribute)
            Comment: "italic #7f8c8d",
            Keyword: "bold #c0399b",
            Keyword.Type: "#2e86c1",
            Name.Builtin: "#2e86c1",
            Name.Function: "#2f8fd8",
            Name.Class: "bold #2f8fd8",
            Name.Decorator: "#b7950b",
            Name.Exception: "bold #d35400",
            Name.Tag: "bold #c0399b",
            Name.Attribute: "#b7950b",
            String: "#27ae60",
            String.Escape: "#d35400",
            Number: "#d35400",
            Operator.Word: "bold #c0399b",
            Generic.Deleted: "#e74c3c",
            Generic.Inserted: "#27ae60",
            Generic.Heading: "bold",
            Generic.Subheading: "bold",
            Generic.Emph: "italic",
            Generic.Strong: "bold",
            Error: "#e74c3c",
        }

    return MidTone


@lru_cache(maxsize=1)
def _formatter() -> HtmlFormatter:
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(noclasses=True, nowrap=True, style=_style_class())


@lru_cache(maxsize=128)
def _lexer(language: str) -> Lexer | None:
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        return get_lexer_by_name(language, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


def language_of(info: str | None) -> str:
    """The language word of a fence info string (```` ```python title="x" ````)."""
    return (info or "").strip().split(maxsplit=1)[0].lower() if (info or "").strip() else ""


def highlight_inner(code: str, language: str | None) -> str:
    """Highlighted HTML spans for ``code``, or the escaped code for unknown languages."""
    lexer = _lexer(language) if language else None
    if lexer is None:
        return escape(code, quote=False)
    from pygments import highlight

    return str(highlight(code, lexer, _formatter()))


def code_block(
    code: str,
    language: str | None,
    *,
    highlight: bool = True,
    cache: dict[tuple[str, str | None], str] | None = None,
) -> str:
    """A ``<pre><code>`` block; ``highlight=False`` skips pygments for speed.

    ``cache`` lets a live answer, which re-renders its unfrozen tail (complete
    code blocks included) on every update, highlight each block only once.
    """
    if not highlight:
        inner = escape(code, quote=False)
    elif cache is None:
        inner = highlight_inner(code, language)
    else:
        key = (code, language)
        inner = cache.get(key) or cache.setdefault(key, highlight_inner(code, language))
    return f'<pre style="{CODE_BLOCK_STYLE}"><code style="{CODE_STYLE}">{inner}</code></pre>\n'
