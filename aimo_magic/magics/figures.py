"""``{plt.gcf()}`` in a ``%%aimo`` cell: the figure the notebook just drew.

In Jupyter's inline backend every figure is shown and closed when its cell ends, so
``plt.gcf()`` in the next cell would make a new, empty figure. Before figures are closed
we remember the current one (a strong reference to one figure, replaced cell by cell);
an empty figure that a placeholder made is then swapped for it and closed, so it does
not show up under the answer either. Nothing here imports matplotlib: the hook only
looks when pyplot is already loaded.
"""

from __future__ import annotations

import sys
from typing import Any

EVENT = "post_execute"


class FigureMemory:
    """The last figure with something drawn on it, kept across the inline backend's close."""

    def __init__(self) -> None:
        self.last: Any = None

    def remember(self) -> None:
        """After each cell, before the inline backend closes its figures."""
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is None or not pyplot.get_fignums():
            return
        current = pyplot.gcf()
        if current.axes:
            self.last = current

    def resolve(self, value: Any) -> Any:
        """``value``, or the remembered figure if ``value`` is a new empty pyplot figure."""
        figure_cls = getattr(sys.modules.get("matplotlib.figure"), "Figure", None)
        if figure_cls is None or not isinstance(value, figure_cls):
            return value
        if value.axes or value.artists or value.texts or value.images or self.last is None:
            return value
        if value is not self.last:
            pyplot = sys.modules.get("matplotlib.pyplot")
            if pyplot is not None:
                pyplot.close(value)
        return self.last

    def install(self, shell: Any) -> None:
        """Run first after each cell: matplotlib_inline's ``flush_figures`` closes figures."""
        callbacks = shell.events.callbacks[EVENT]
        if self.remember not in callbacks:
            callbacks.insert(0, self.remember)

    def uninstall(self, shell: Any) -> None:
        callbacks = shell.events.callbacks[EVENT]
        if self.remember in callbacks:
            callbacks.remove(self.remember)
        self.last = None
