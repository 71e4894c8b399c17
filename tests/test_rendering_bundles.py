"""Display bundles per output format, code extraction, and the footer line."""

from __future__ import annotations

import pytest

from aimo_magic.core.types import Usage
from aimo_magic.rendering.bundles import (
    FORMATS,
    FormatError,
    extract_code,
    normalize_format,
    render_bundle,
)
from aimo_magic.rendering.footer import (
    FooterInfo,
    format_cost,
    render_footer,
    render_trailer,
    status_text,
)

SAMPLES = [
    "",
    "plain words",
    "# Title\n\n- a\n- b\n",
    '```json\n{"a": 1}\n```',
    "```python\nprint('hi')\n```",
    "<b>bold</b>",
    "\\frac{1}{2}",
    '{"unterminated": ',
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("text", SAMPLES)
def test_every_bundle_has_plain_text(fmt: str, text: str) -> None:
    for final in (False, True):
        try:
            bundle = render_bundle(text, fmt, final=final)
        except FormatError:
            assert fmt == "json" and final
            continue
        assert isinstance(bundle["text/plain"], str)
        assert all(isinstance(key, str) and "/" in key for key in bundle)


def test_markdown_bundle_carries_source_html_and_plain() -> None:
    bundle = render_bundle("Hello *there*", "markdown", final=True)
    assert bundle == {
        "text/html": "<p>Hello <em>there</em></p>\n",
        "text/markdown": "Hello *there*",
        "text/plain": "Hello *there*",
    }


def test_text_bundle_is_escaped_preformatted_text() -> None:
    bundle = render_bundle("a < b\n  *not emphasis*", "text")
    assert bundle["text/html"] == "<pre>a &lt; b\n  *not emphasis*</pre>"
    assert bundle["text/plain"] == "a < b\n  *not emphasis*"


def test_json_bundle_is_parsed_and_pretty_printed() -> None:
    bundle = render_bundle('Here:\n```json\n{"b": [1, 2], "a": "é"}\n```', "json")
    assert bundle["application/json"] == {"b": [1, 2], "a": "é"}
    assert bundle["text/plain"] == '{\n  "b": [\n    1,\n    2\n  ],\n  "a": "é"\n}'
    assert "<span" in bundle["text/html"]


def test_json_scalar_has_no_json_viewer_bundle() -> None:
    bundle = render_bundle("42", "json")
    assert "application/json" not in bundle
    assert bundle["text/plain"] == "42"


def test_invalid_json_is_text_while_streaming_and_an_error_when_final() -> None:
    assert render_bundle('{"a": ', "json", final=False) == {
        "text/html": '<pre>{"a": </pre>',
        "text/plain": '{"a": ',
    }
    with pytest.raises(FormatError) as caught:
        render_bundle('{"a": ', "json", final=True)
    message = str(caught.value)
    assert "\n" not in message
    assert "not valid JSON" in message and "-f text" in message
    assert isinstance(caught.value, ValueError)


def test_math_bundle_delimits_bare_latex_only() -> None:
    assert render_bundle("\\frac{1}{2}", "math")["text/latex"] == "$$\\frac{1}{2}$$"
    assert render_bundle("$x^2$", "math")["text/latex"] == "$x^2$"
    assert render_bundle("\\[ x \\]", "math")["text/latex"] == "\\[ x \\]"
    assert (
        render_bundle("\\begin{align}a&=b\\end{align}", "math")["text/latex"]
        == "\\begin{align}a&=b\\end{align}"
    )
    fenced = render_bundle("```latex\nE = mc^2\n```", "math")
    assert fenced["text/latex"] == "$$E = mc^2$$"
    assert fenced["text/plain"] == "```latex\nE = mc^2\n```"


def test_extract_code_prefers_the_kernels_language_then_untagged_then_the_first() -> None:
    from aimo_magic.rendering.bundles import code_bundle

    text = "```bash\npip install x\n```\n```\nuntagged()\n```\n```py\nprint(1)\n```"
    assert extract_code(text, prefer="python") == ("py", "print(1)")
    assert extract_code(text, prefer="julia") == (None, "untagged()")
    assert extract_code("```sql\nselect 1\n```\n```js\nf()\n```", "python") == (
        "sql",
        "select 1",
    )
    assert extract_code(text) == ("bash", "pip install x"), "no preference: the first"
    assert code_bundle(text, "python")["text/plain"] == "print(1)"
    assert render_bundle(text, "code", code_language="python")["text/plain"] == "print(1)"


def test_extract_code_takes_the_first_fenced_block() -> None:
    text = "Intro\n\n```Python title='x'\nfirst()\n```\n\n```js\nsecond()\n```\n"
    assert extract_code(text) == ("python", "first()")
    assert extract_code("~~~~\nbody\n~~~~") == (None, "body")
    assert extract_code("```sh\nunclosed --flag\n") == ("sh", "unclosed --flag")
    assert extract_code("no fences here") == (None, "no fences here")
    assert extract_code("inline ```not a fence``` text") == (None, "inline ```not a fence``` text")


def test_code_bundle_for_unknown_language_is_escaped() -> None:
    bundle = render_bundle("```klingon\n<tag> & more\n```", "code")
    assert bundle["text/plain"] == "<tag> & more"
    html = bundle["text/html"]
    assert html.startswith("<pre") and html.endswith(">&lt;tag&gt; &amp; more</code></pre>\n")


def test_formats_and_aliases() -> None:
    assert normalize_format(" MD ") == "markdown"
    assert normalize_format("latex") == "math"
    assert normalize_format("plain") == "text"
    with pytest.raises(ValueError, match="use one of markdown, text, code, json, html, math"):
        normalize_format("yaml")


def test_footer_line_has_every_known_part_in_order() -> None:
    info = FooterInfo(
        model="openai/gpt-4o",
        provider="akash-ml",
        usage=Usage(120, 350, 470),
        cost=0.0012,
        cost_unit="USDC",
        first_token_s=0.31,
        total_s=2.4,
        notes=["retried once"],
    )
    bundle = render_footer(info)
    line = (
        "openai/gpt-4o · via akash-ml · 120 → 350 tokens · ≈0.0012 (USDC) · "
        "first token 0.31 s · 2.4 s · retried once"
    )
    assert bundle["text/plain"] == line
    assert line in bundle["text/html"]
    # The theme's grey, after a plain one that an untrusted notebook's sanitiser keeps.
    assert 'style="color: #888; color: var(--jp-ui-font-color2, #888)' in bundle["text/html"]


def test_footer_leaves_out_what_is_unknown_and_escapes_server_strings() -> None:
    bundle = render_footer(FooterInfo(model="<img src=x onerror=alert(1)>"))
    assert bundle["text/plain"] == "<img src=x onerror=alert(1)>"
    assert "<img" not in bundle["text/html"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in bundle["text/html"]


@pytest.mark.parametrize(
    ("cost", "shown"),
    [(0.0012, "0.0012"), (0.000034567, "0.000035"), (2.5, "2.5"), (0, "0"), (12.345, "12.35")],
)
def test_cost_keeps_two_significant_digits(cost: float, shown: str) -> None:
    assert format_cost(cost) == shown


def test_status_markers() -> None:
    assert status_text("complete", None, has_text=True) is None
    assert status_text("interrupted", None, has_text=True) == "■ Interrupted — partial answer"
    assert status_text("interrupted", None, has_text=False) == "■ Interrupted — no answer"
    assert status_text("error", "HTTP 502", has_text=True) == (
        "✖ Error: HTTP 502 (partial answer above)"
    )
    # Refused before anything was sent (a budget, say): nothing "stopped".
    assert status_text("error", None, has_text=False) == "✖ Error — no answer"
    assert status_text("error", None, has_text=True) == (
        "✖ Error — the answer stopped (partial answer above)"
    )
    assert render_trailer("complete") is None
    trailer = render_trailer("partial", footer=FooterInfo(model="m"))
    assert trailer is not None
    assert trailer["text/plain"] == "⚠ Partial answer — the response ended early\nm"
