"""Text to display bundles (mimetype -> data), one function per output format.

Every bundle carries ``text/plain`` so terminals and ``nbconvert --to
script``/text still show the answer; every ``text/html`` is sanitised.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aimo_magic.core.answer_text import extract_code, parse_json_answer

Bundle = dict[str, Any]

FORMATS = ("markdown", "text", "code", "json", "html", "math")
_ALIASES = {"md": "markdown", "txt": "text", "plain": "text", "latex": "math", "tex": "math"}

_MATH_DELIMITED = re.compile(r"^\s*(\$|\\\[|\\\(|\\begin\{)")


class FormatError(ValueError):
    """The answer does not fit the requested output format (e.g. invalid JSON)."""


def normalize_format(fmt: str) -> str:
    """The canonical format name, or a one-line error naming the valid ones."""
    name = _ALIASES.get(fmt.strip().lower(), fmt.strip().lower())
    if name not in FORMATS:
        raise ValueError(f"Unknown output format {fmt!r}: use one of {', '.join(FORMATS)}.")
    return name


def _pre(text: str) -> str:
    from html import escape  # here, so loading the extension (which needs FORMATS) skips it

    return f"<pre>{escape(text, quote=False)}</pre>"


def text_bundle(text: str) -> Bundle:
    """Plain text, shown preformatted in rich frontends."""
    return {"text/html": _pre(text), "text/plain": text}


def markdown_bundle(
    text: str,
    *,
    streaming: bool = False,
    highlight_cache: dict[tuple[str, str | None], str] | None = None,
) -> Bundle:
    """Sanitised HTML beside the markdown source and the plain text."""
    from aimo_magic.rendering.markdown import render_markdown

    return {
        "text/html": render_markdown(text, streaming=streaming, highlight_cache=highlight_cache),
        "text/markdown": text,
        "text/plain": text,
    }


def code_bundle(text: str, prefer: str | None = None) -> Bundle:
    """One fenced block (see ``extract_code``) or the whole text, highlighted, no fences."""
    from aimo_magic.rendering.highlight import code_block
    from aimo_magic.rendering.sanitize import clean_rendered

    language, code = extract_code(text, prefer)
    return {"text/html": clean_rendered(code_block(code, language)), "text/plain": code}


def json_bundle(text: str, *, final: bool) -> Bundle:
    """Parsed and pretty-printed JSON; raw text while an unfinished answer does not parse."""
    from aimo_magic.rendering.highlight import code_block
    from aimo_magic.rendering.sanitize import clean_rendered

    try:
        value = parse_json_answer(text)
    except ValueError as exc:
        if not final:
            return text_bundle(text)
        line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FormatError(
            f"The answer is not valid JSON ({line}); ask the model for JSON only, "
            "or use -f text to see it as it is."
        ) from None
    pretty = json.dumps(value, indent=2, ensure_ascii=False)
    bundle: Bundle = {"text/html": clean_rendered(code_block(pretty, "json")), "text/plain": pretty}
    if isinstance(value, (dict, list)):  # frontends' JSON viewers expect a container
        bundle["application/json"] = value
    return bundle


def html_bundle(text: str) -> Bundle:
    """The model's own HTML under the strict policy (no script, handlers, styles)."""
    from aimo_magic.rendering.sanitize import clean_untrusted

    language, code = extract_code(text)
    source = code if language in (None, "html", "xhtml", "htm") else text
    return {"text/html": clean_untrusted(source), "text/plain": text}


def math_bundle(text: str) -> Bundle:
    """LaTeX for the frontend's MathJax, wrapped in ``$$`` unless already delimited."""
    source = extract_code(text)[1].strip()
    latex = source if _MATH_DELIMITED.match(source) else f"$${source}$$"
    return {"text/latex": latex, "text/plain": text}


def render_bundle(
    text: str, fmt: str = "markdown", *, final: bool = True, code_language: str | None = None
) -> Bundle:
    """The display bundle for ``text`` in output format ``fmt``.

    ``final=False`` is for a partial answer still arriving: formats that only
    make sense whole (json) then fall back to plain text instead of failing.
    ``code_language`` is the block ``code`` prefers (the kernel's language).
    """
    name = normalize_format(fmt)
    if name == "markdown":
        return markdown_bundle(text, streaming=not final)
    if name == "text":
        return text_bundle(text)
    if name == "code":
        return code_bundle(text, code_language)
    if name == "json":
        return json_bundle(text, final=final)
    if name == "html":
        return html_bundle(text)
    return math_bundle(text)
