"""Colours that follow the Jupyter theme and survive an untrusted notebook's sanitiser.

JupyterLab sanitises the HTML of a notebook it does not trust (one someone sent, or
one saved by a headless run): it keeps ``style`` attributes but drops each declaration
whose value it cannot check, ``var(--jp-...)`` included. So a colour is written twice:
a plain one first, which the sanitiser keeps, then the theme's variable, which a
browser prefers when it is there (the last valid declaration wins).
"""

from __future__ import annotations


def themed(prop: str, variable: str, fallback: str, prefix: str = "") -> str:
    """``prop`` as the theme's ``variable``, and as ``fallback`` where that is dropped.

    ``prefix`` goes before the colour in both (``1px solid`` for a border).
    """
    lead = f"{prefix} " if prefix else ""
    return f"{prop}: {lead}{fallback}; {prop}: {lead}var({variable}, {fallback})"
