"""Allowlist sanitising of every HTML string that carries model text to a page.

Model output is untrusted, so HTML goes through nh3 (ammonia) with explicit
allowlists even when our own renderer produced it: markdown-it runs with
``html=False`` and pygments escapes its input, and this is the second wall
behind them. Two policies exist because they protect different things:

* ``clean_rendered`` is for HTML our renderers built (markdown, highlighted
  code). It keeps ``style`` attributes because pygments colours tokens with
  inline styles, code panels set their backgrounds and markdown tables align
  cells with ``text-align``; ammonia reduces each such attribute to the few
  harmless properties below,
  so even a style that somehow came from the model cannot position, hide,
  overlay or load anything. It also keeps task lists' checkboxes, each forced
  to a disabled checkbox (nothing else survives on an ``input``).
* ``clean_untrusted`` is for HTML the model wrote itself (``-f html``): no
  ``style`` at all, no classes, no ids.

Both keep only http(s)/mailto URLs (so ``javascript:``, ``vbscript:`` and
``data:`` are dropped whatever their entity encoding, since ammonia parses
before it checks), remove ``script``/``style`` elements with their content,
drop comments, keep no images (loading one would let a prompt-injected answer
send notebook data to a server through its URL; markdown images become links),
and give links ``rel="noopener noreferrer nofollow"`` and
``target="_blank"``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import nh3

URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"

_TEXT_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div",
        "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "ins",
        "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span",
        "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th",
        "thead", "tr", "u", "ul", "var",
    }
)  # fmt: skip

_BASE_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "ol": {"start"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}

# Only what pygments colouring and markdown table alignment need.
STYLE_PROPERTIES = frozenset(
    {"color", "background-color", "font-weight", "font-style", "text-align", "padding"}
)

_STYLED_TAGS = ("span", "td", "th", "pre", "code")


# Task lists (``- [x] done``): whatever an ``input`` says, it leaves as a disabled checkbox,
# only ever ticked or not, with no other attribute (classes are dropped as everywhere).
_CHECKBOX_VALUES = {
    "input": {"type": {"checkbox"}, "checked": {"checked", ""}, "disabled": {"disabled", ""}}
}
_CHECKBOX_FORCED = {"input": {"type": "checkbox", "disabled": "disabled"}}


def _cleaner(*, rendered: bool) -> nh3.Cleaner:
    """``rendered``: our renderers' HTML (styles, task-list checkboxes); else the model's."""
    import nh3

    attributes = {tag: set(names) for tag, names in _BASE_ATTRIBUTES.items()}
    if rendered:
        for tag in _STYLED_TAGS:
            attributes.setdefault(tag, set()).add("style")
    return nh3.Cleaner(
        tags=set(_TEXT_TAGS) | ({"input"} if rendered else set()),
        clean_content_tags={"script", "style"},
        attributes=attributes,
        tag_attribute_values=_CHECKBOX_VALUES if rendered else None,
        strip_comments=True,
        link_rel=LINK_REL,
        set_tag_attribute_values={"a": {"target": "_blank"}, **_CHECKBOX_FORCED},
        url_schemes=set(URL_SCHEMES),
        filter_style_properties=set(STYLE_PROPERTIES) if rendered else None,
    )


@lru_cache(maxsize=1)
def _rendered_cleaner() -> nh3.Cleaner:
    return _cleaner(rendered=True)


@lru_cache(maxsize=1)
def _untrusted_cleaner() -> nh3.Cleaner:
    return _cleaner(rendered=False)


def clean_rendered(html: str) -> str:
    """Sanitise HTML our own renderers produced from model text."""
    return str(_rendered_cleaner().clean(html))


def clean_untrusted(html: str) -> str:
    """Sanitise HTML the model wrote: the strict policy, no styles at all."""
    return str(_untrusted_cleaner().clean(html))
