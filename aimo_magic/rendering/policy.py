"""The one HTML policy every sanitiser backend enforces.

Model output is untrusted. Two policies exist because they protect different things:

* the *rendered* policy is for HTML our renderers built (markdown, highlighted code).
  It keeps ``style`` attributes on a few tags because pygments colours tokens with
  inline styles, code panels set their backgrounds and markdown tables align cells
  with ``text-align``; each such attribute is reduced to the harmless properties
  below, so even a style that somehow came from the model cannot position, hide,
  overlay or load anything. It also keeps task lists' checkboxes, each forced to a
  disabled checkbox (nothing else survives on an ``input``).
* the *untrusted* policy is for HTML the model wrote itself (``-f html``): no
  ``style`` at all, no classes, no ids.

Both keep only http(s)/mailto URLs (so ``javascript:``, ``vbscript:`` and ``data:``
are dropped whatever their entity encoding), remove ``script``/``style`` elements
with their content, drop comments, keep no images (loading one would let a
prompt-injected answer send notebook data to a server through its URL; markdown
images become links), and give links ``rel="noopener noreferrer nofollow"`` and
``target="_blank"``.
"""

from __future__ import annotations

URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"
CONTENT_DROPPED_TAGS = frozenset({"script", "style"})

TEXT_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div",
        "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "ins",
        "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span",
        "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th",
        "thead", "tr", "u", "ul", "var",
    }
)  # fmt: skip

# Only what pygments colouring and markdown table alignment need.
STYLE_PROPERTIES = frozenset(
    {"color", "background-color", "font-weight", "font-style", "text-align", "padding"}
)

_BASE_ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "title"}),
    "abbr": frozenset({"title"}),
    "ol": frozenset({"start"}),
    "td": frozenset({"colspan", "rowspan"}),
    "th": frozenset({"colspan", "rowspan"}),
}
_STYLED_TAGS = ("span", "td", "th", "pre", "code")

# Task lists (``- [x] done``): whatever an ``input`` says, it leaves as a disabled checkbox,
# only ever ticked or not, with no other attribute (classes are dropped as everywhere).
CHECKBOX_TAG = "input"
CHECKBOX_VALUES = {"type": {"checkbox"}, "checked": {"checked", ""}, "disabled": {"disabled", ""}}
CHECKBOX_FORCED = {"type": "checkbox", "disabled": "disabled"}


def allowed_tags(*, rendered: bool) -> set[str]:
    """The tags kept; our own rendered HTML may also carry task-list checkboxes."""
    return set(TEXT_TAGS) | ({CHECKBOX_TAG} if rendered else set())


def allowed_attributes(*, allow_style: bool) -> dict[str, set[str]]:
    """Per-tag attribute allowlist; ``style`` only on the styled tags, only when allowed.

    The checkbox's attributes are not here: each backend restricts them by value
    (``CHECKBOX_VALUES``, ``CHECKBOX_FORCED``) in its own way."""
    attributes = {tag: set(names) for tag, names in _BASE_ATTRIBUTES.items()}
    if allow_style:
        for tag in _STYLED_TAGS:
            attributes.setdefault(tag, set()).add("style")
    return attributes
