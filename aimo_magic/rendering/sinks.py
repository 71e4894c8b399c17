"""Where a live answer goes: IPython display handles, or a plain text stream.

The display-handle sink uses only ``display(..., display_id=True)`` and
``update_display`` with standard mimetypes, which JupyterLab, Notebook 7,
VS Code, Colab and nbclient all understand. A terminal has no way to
replace text already printed, so there the answer is streamed as raw text.
"""

from __future__ import annotations

import sys
from typing import Any, Protocol, TextIO, runtime_checkable

Bundle = dict[str, Any]


@runtime_checkable
class DisplayHandle(Protocol):
    """One output area that can be replaced in place."""

    def update(self, bundle: Bundle, metadata: dict[str, Any]) -> None: ...


@runtime_checkable
class DisplaySink(Protocol):
    """Something that opens new output areas."""

    def open(self, bundle: Bundle, metadata: dict[str, Any]) -> DisplayHandle: ...


class _IPythonHandle:
    def __init__(self, handle: Any) -> None:
        self._handle = handle

    def update(self, bundle: Bundle, metadata: dict[str, Any]) -> None:
        self._handle.update(bundle, raw=True, metadata=metadata)


class IPythonSink:
    """Outputs of the running cell, through IPython display handles."""

    def open(self, bundle: Bundle, metadata: dict[str, Any]) -> DisplayHandle:
        from IPython.display import display

        handle = display(bundle, raw=True, metadata=metadata, display_id=True)
        return _IPythonHandle(handle)


class TerminalSink:
    """Raw text to a stream, flushed as it comes; ANSI dim for notes on a real terminal."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stdout

    def write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def muted(self, text: str) -> str:
        isatty = getattr(self.stream, "isatty", None)
        return f"\x1b[2m{text}\x1b[0m" if callable(isatty) and isatty() else text


def rich_frontend_available() -> bool:
    """True inside a Jupyter kernel: ipykernel's shell or a subclass (as in Colab), or
    JupyterLite's Pyodide kernel, whose shell publishes displays to the page too."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    if shell is None:
        return False
    return any(
        cls.__name__ == "ZMQInteractiveShell" or cls.__module__.startswith("pyodide_kernel")
        for cls in type(shell).__mro__
    )


def default_sink() -> DisplaySink | TerminalSink:
    """Display handles in a notebook, raw text on stdout anywhere else."""
    return IPythonSink() if rich_frontend_available() else TerminalSink()
