"""aimo-magic: the AiMo Network from a Jupyter notebook (placeholder, filled in below)."""

from aimo_magic._version import __version__

__all__ = ["__version__"]
