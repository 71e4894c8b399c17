"""``python -m aimo_magic.emulator``: the same as ``aimo-magic emulator``."""

from aimo_magic.emulator.cli import main

raise SystemExit(main())
