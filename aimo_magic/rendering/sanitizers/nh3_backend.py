"""nh3 (Rust's ammonia): the fast sanitiser, wherever a wheel exists (not Pyodide)."""

from __future__ import annotations

from collections.abc import Callable
from importlib.util import find_spec

from aimo_magic.rendering import policy

NAME = "nh3"


def available() -> bool:
    return find_spec("nh3") is not None


def version() -> str:
    import nh3

    return str(getattr(nh3, "__version__", "")) or "unknown"


def _cleaner(*, allow_style: bool) -> Callable[[str], str]:
    import nh3

    forced: dict[str, dict[str, str]] = {"a": {"target": "_blank"}}
    if allow_style:
        forced[policy.CHECKBOX_TAG] = dict(policy.CHECKBOX_FORCED)
    cleaner = nh3.Cleaner(
        tags=policy.allowed_tags(rendered=allow_style),
        clean_content_tags=set(policy.CONTENT_DROPPED_TAGS),
        attributes=policy.allowed_attributes(allow_style=allow_style),
        tag_attribute_values=(
            {policy.CHECKBOX_TAG: policy.CHECKBOX_VALUES} if allow_style else None
        ),
        strip_comments=True,
        link_rel=policy.LINK_REL,
        set_tag_attribute_values=forced,
        url_schemes=set(policy.URL_SCHEMES),
        filter_style_properties=set(policy.STYLE_PROPERTIES) if allow_style else None,
    )
    return lambda html: str(cleaner.clean(html))


def cleaners() -> tuple[Callable[[str], str], Callable[[str], str]]:
    """(rendered, untrusted) cleaning functions."""
    return _cleaner(allow_style=True), _cleaner(allow_style=False)
