"""``Evaluation.plot()``: cost per row against score, the intervals as error bars, the
frontier as a line. matplotlib is imported here only, when a plot is asked for.

The figure is an ordinary matplotlib figure: a notebook saves it as a PNG, so it reads
the same in a saved notebook, on GitHub and in the JupyterLite site.
"""

from __future__ import annotations

import math
from typing import Any


def plot_summary(summary: Any, ax: Any = None, unit: str = "listed price units") -> Any:
    """Draw ``summary`` (``Evaluation.summary``) on ``ax`` (a new figure if None); returns
    the figure. Models whose cost is unknown are left out and named in the title."""
    import matplotlib.pyplot as plt

    if ax is None:
        figure, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
        plt.close(figure)  # shown once, as the returned figure, not again by pyplot
    else:
        figure = ax.figure
    priced = summary[summary["cost_per_row"].notna() & summary["score"].notna()]
    unpriced = [str(label) for label in summary.index if label not in priced.index]
    for label, row in priced.iterrows():
        below = row["score"] - row["ci_low"] if not math.isnan(row["ci_low"]) else 0.0
        above = row["ci_high"] - row["score"] if not math.isnan(row["ci_high"]) else 0.0
        marker = "o" if row["frontier"] else "s"
        ax.errorbar(
            row["cost_per_row"],
            row["score"],
            yerr=[[max(below, 0.0)], [max(above, 0.0)]],
            fmt=marker,
            capsize=4,
            label=str(label),
        )
        ax.annotate(
            str(label),
            (row["cost_per_row"], row["score"]),
            textcoords="offset points",
            xytext=(6, 6),
            fontsize=8,
        )
    front = priced[priced["frontier"]].sort_values("cost_per_row")
    if len(front):
        ax.plot(
            front["cost_per_row"],
            front["score"],
            linestyle="--",
            color="grey",
            linewidth=1,
            label="frontier",
            zorder=0,
        )
    ax.set_xlabel(f"cost per row ({unit})")
    ax.set_ylabel("mean score (95% interval)")
    ax.set_ylim(-0.05, 1.05)
    title = "Score against cost: the frontier models are circles on the dashed line"
    if unpriced:
        title += f"\n(no prices listed, not drawn: {', '.join(unpriced)})"
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return figure
