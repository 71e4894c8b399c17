"""Answers as safe display bundles, shown live in a notebook or streamed to a terminal.

Importing this package is cheap: markdown-it, pygments, nh3 and IPython are
imported on first use, because the extension's load time matters.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aimo_magic.rendering.bundles import (
        FORMATS,
        Bundle,
        FormatError,
        code_bundle,
        extract_code,
        html_bundle,
        json_bundle,
        markdown_bundle,
        math_bundle,
        normalize_format,
        render_bundle,
        text_bundle,
    )
    from aimo_magic.rendering.footer import FooterInfo, render_footer, render_notice
    from aimo_magic.rendering.live import LiveAnswer
    from aimo_magic.rendering.markdown import render_markdown
    from aimo_magic.rendering.sanitize import clean_rendered, clean_untrusted
    from aimo_magic.rendering.sinks import (
        DisplayHandle,
        DisplaySink,
        IPythonSink,
        TerminalSink,
        rich_frontend_available,
    )

_EXPORTS = {
    "FORMATS": "bundles",
    "Bundle": "bundles",
    "FormatError": "bundles",
    "code_bundle": "bundles",
    "extract_code": "bundles",
    "html_bundle": "bundles",
    "json_bundle": "bundles",
    "markdown_bundle": "bundles",
    "math_bundle": "bundles",
    "normalize_format": "bundles",
    "render_bundle": "bundles",
    "text_bundle": "bundles",
    "FooterInfo": "footer",
    "render_footer": "footer",
    "render_notice": "footer",
    "LiveAnswer": "live",
    "render_markdown": "markdown",
    "clean_rendered": "sanitize",
    "clean_untrusted": "sanitize",
    "DisplayHandle": "sinks",
    "DisplaySink": "sinks",
    "IPythonSink": "sinks",
    "TerminalSink": "sinks",
    "rich_frontend_available": "sinks",
}

__all__ = [
    "FORMATS",
    "Bundle",
    "DisplayHandle",
    "DisplaySink",
    "FooterInfo",
    "FormatError",
    "IPythonSink",
    "LiveAnswer",
    "TerminalSink",
    "clean_rendered",
    "clean_untrusted",
    "code_bundle",
    "extract_code",
    "html_bundle",
    "json_bundle",
    "markdown_bundle",
    "math_bundle",
    "normalize_format",
    "render_bundle",
    "render_footer",
    "render_markdown",
    "render_notice",
    "rich_frontend_available",
    "text_bundle",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
