"""Allowlist sanitising of every HTML string that carries model text to a page.

Model output is untrusted, so HTML goes through a sanitiser with the allowlists of
``aimo_magic.rendering.policy`` even when our own renderer produced it: markdown-it
runs with ``html=False`` and pygments escapes its input, and this is the second wall
behind them.

Which sanitiser does the work depends on what is installed, best first:

* ``nh3`` (Rust's ammonia): fast; has wheels for every CPython platform but not Pyodide.
* ``justhtml``: pure Python, browser-grade HTML5 parsing, same policy; the Pyodide path.
* ``escape``: nothing installed; answers become escaped plain text (strict, never weaker).

``AIMO_SANITIZER=nh3|justhtml|escape`` asks for one; a backend that is not installed
falls through to the next, and ``describe()`` (shown by ``%aimo config`` and
``%aimo version``) always names the one actually in use, so a weaker path is never
silent.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from aimo_magic.rendering.policy import LINK_REL, STYLE_PROPERTIES, URL_SCHEMES

__all__ = [
    "BACKENDS",
    "LINK_REL",
    "STYLE_PROPERTIES",
    "URL_SCHEMES",
    "active",
    "clean_rendered",
    "clean_untrusted",
    "describe",
    "use_backend",
]

BACKENDS = ("nh3", "justhtml", "escape")
ENV_VAR = "AIMO_SANITIZER"
_NOTES = {
    "nh3": "ammonia, Rust",
    "justhtml": "pure Python",
    "escape": "answers shown as escaped plain text, unformatted",
}
_FALLBACK_REASONS = {
    "justhtml": "nh3 is not installed",
    "escape": "neither nh3 nor justhtml is installed; pip install nh3 for rendered answers",
}


@dataclass(frozen=True)
class Sanitiser:
    """One backend, ready to clean: its name, version and two policies' cleaners."""

    name: str
    version: str
    rendered: Callable[[str], str]
    untrusted: Callable[[str], str]
    requested: str | None = None
    requested_by: str = ENV_VAR

    def describe(self) -> str:
        text = f"{self.name} {self.version} ({_NOTES[self.name]})"
        if self.requested == self.name:
            return f"{text}; chosen by {self.requested_by}"
        if self.requested:
            text += f"; {self.requested!r} ({self.requested_by}) is not available"
        reason = _FALLBACK_REASONS.get(self.name)
        return f"{text}; {reason}" if reason else text


_lock = threading.Lock()
_active: Sanitiser | None = None
_forced: str | None = None


def _module(name: str) -> Any:
    return import_module(f"aimo_magic.rendering.sanitizers.{name}_backend")


def _load(requested: str | None, requested_by: str) -> Sanitiser:
    wanted = requested if requested in BACKENDS else None
    order = BACKENDS[BACKENDS.index(wanted) :] if wanted else BACKENDS
    for name in order:
        backend = _module(name)
        if backend.available():
            rendered, untrusted = backend.cleaners()
            return Sanitiser(name, backend.version(), rendered, untrusted, requested, requested_by)
    raise AssertionError("the escape backend is always available")  # pragma: no cover


def active() -> Sanitiser:
    """The sanitiser in use, chosen on first call (``use_backend`` changes it)."""
    global _active
    current = _active
    if current is None:
        with _lock:
            if _active is None:
                if _forced:
                    _active = _load(_forced, "use_backend()")
                else:
                    requested = os.environ.get(ENV_VAR, "").strip().lower() or None
                    _active = _load(requested, ENV_VAR)
            current = _active
    return current


def use_backend(name: str | None) -> Sanitiser:
    """Switch to backend ``name`` (None: the best installed), e.g. to test the fallbacks."""
    global _active, _forced
    if name is not None and name not in BACKENDS:
        raise ValueError(f"unknown sanitiser {name!r}; choose one of {', '.join(BACKENDS)}")
    with _lock:
        _forced = name
        _active = None
    return active()


def describe() -> str:
    """One line naming the sanitiser in use, its version, and why it was chosen."""
    return active().describe()


def clean_rendered(html: str) -> str:
    """Sanitise HTML our own renderers produced from model text."""
    return active().rendered(html)


def clean_untrusted(html: str) -> str:
    """Sanitise HTML the model wrote: the strict policy, no styles at all."""
    return active().untrusted(html)
