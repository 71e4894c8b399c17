"""justhtml: a maintained pure-Python HTML5 parser and sanitiser, for where nh3 has no wheel.

It parses like a browser (html5lib-tests conformant), then applies an allowlist
policy to the tree, so it sees markup the way the page will. It is about twenty
times slower than nh3 (tens of milliseconds for a few KiB of answer), which is why
it is the fallback and not the default.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.util import find_spec
from typing import Any

from aimo_magic.rendering import policy

NAME = "justhtml"


def available() -> bool:
    return find_spec("justhtml") is not None


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("justhtml")
    except PackageNotFoundError:
        return "unknown"


def _cleaner(*, allow_style: bool) -> Callable[[str], str]:
    from justhtml import JustHTML, SanitizationPolicy, Sanitize, SetAttrs, UrlPolicy, UrlRule

    attributes = policy.allowed_attributes(allow_style=allow_style)
    if allow_style:  # values are forced below, so any value of these three is harmless
        attributes[policy.CHECKBOX_TAG] = set(policy.CHECKBOX_VALUES)
    links = UrlRule(allowed_schemes=set(policy.URL_SCHEMES), handling="allow")
    rules = SanitizationPolicy(
        allowed_tags=policy.allowed_tags(rendered=allow_style),
        allowed_attributes=attributes,
        # Every URL-valued attribute but a[href] is stripped, whatever its scheme.
        url_policy=UrlPolicy(default_handling="strip", allow_rules={("a", "href"): links}),
        drop_content_tags=set(policy.CONTENT_DROPPED_TAGS),
        allowed_css_properties=set(policy.STYLE_PROPERTIES) if allow_style else set(),
        force_link_rel=policy.LINK_REL.split(),
        disallowed_tag_handling="unwrap",
    )
    transforms: list[Any] = [Sanitize(policy=rules), SetAttrs("a", target="_blank")]
    if allow_style:  # a task-list checkbox is always a disabled checkbox, whatever it said
        transforms.append(SetAttrs(policy.CHECKBOX_TAG, type="checkbox", disabled="disabled"))

    def clean(html: str) -> str:
        document = JustHTML(html, fragment=True, policy=rules, transforms=transforms)
        return str(document.to_html(pretty=False))

    return clean


def cleaners() -> tuple[Callable[[str], str], Callable[[str], str]]:
    """(rendered, untrusted) cleaning functions."""
    return _cleaner(allow_style=True), _cleaner(allow_style=False)
