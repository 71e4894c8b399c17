"""The live progress of a batch: tqdm's bar, a widget in Jupyter and text in a terminal.

``tqdm.auto`` picks the notebook bar (ipywidgets) inside a kernel and a text bar
elsewhere; it gives the rate and time left, and the postfix adds what tqdm does not
know: failed rows, requests in flight, tokens and the estimated cost. The bar is
drawn from the calling thread, a few times a second, so nothing is displayed per row.
"""

from __future__ import annotations

import sys
from typing import Any

from aimo_magic.batching.outcome import Tally


def in_kernel() -> bool:
    """Inside a Jupyter kernel (not a terminal IPython): where a widget bar can show."""
    shell_module = sys.modules.get("IPython")
    if shell_module is None:
        return False
    shell = shell_module.get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def wanted(progress: bool | None) -> bool:
    """``None``: a bar in a notebook or an interactive terminal, none when piped."""
    if progress is not None:
        return bool(progress)
    stderr = sys.stderr
    return in_kernel() or bool(stderr is not None and stderr.isatty())


def _count(value: float) -> str:
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:.1f}{suffix}"
    return f"{value:.0f}"


def postfix(tally: Tally) -> str:
    parts = [f"failed {tally.failed:,}", f"in flight {tally.in_flight}"]
    if tally.cached:
        parts.append(f"cached {tally.cached:,}")
    parts.append(f"{_count(tally.tokens)} tokens")
    if tally.cost_known and tally.tokens:
        parts.append(f"≈{tally.money(tally.cost)}")
    return " · ".join(parts)


class Progress:
    """A bar over ``tally``; a no-op when disabled."""

    def __init__(self, tally: Tally, enabled: bool, description: str = "aimo batch") -> None:
        self._tally = tally
        self._bar: Any = None
        self._shown: Any = None  # the notebook bar's display, updated once it is finished
        if enabled and tally.total:
            from tqdm.auto import tqdm

            widget = _is_widget_bar(tqdm)
            self._bar = tqdm(
                total=tally.total,
                initial=tally.done,
                desc=description,
                unit="row",
                dynamic_ncols=True,
                smoothing=0.05,
                file=sys.stderr,
                **({"display": False} if widget else {}),
            )
            if widget:
                from IPython.display import display

                self._shown = display(self._bar.container, display_id=True)

    def update(self) -> None:
        bar = self._bar
        if bar is None:
            return
        done = self._tally.done
        if done > bar.n:
            bar.update(done - bar.n)
        bar.set_postfix_str(postfix(self._tally), refresh=True)

    def close(self) -> None:
        if self._bar is not None:
            self.update()
            self._bar.close()
            if self._shown is not None:
                # The widget's text, kept in a saved notebook without widget state, was
                # taken when it was shown (0%): show the finished bar's text instead.
                self._shown.update(self._bar.container)
                self._shown = None
            self._bar = None


def _is_widget_bar(tqdm_class: type) -> bool:
    """Whether ``tqdm.auto`` chose the notebook (ipywidgets) bar."""
    notebook = sys.modules.get("tqdm.notebook")
    return notebook is not None and issubclass(tqdm_class, notebook.tqdm_notebook)
