"""Unloading and loading the extension again leaves one, fresh, AimoMagics."""

from __future__ import annotations

import pytest
from kernel_harness import Kernel

from aimo_magic.emulator import EmulatorHandle

pytestmark = pytest.mark.kernel

COUNT = (
    "from aimo_magic.magics.extension import magics_for\n"
    "_shell = get_ipython()\n"
    "_mine = [c for c in _shell.configurables if type(c).__name__ == 'AimoMagics']\n"
    "print(len(_mine), _mine[-1] is magics_for(_shell) if _mine else None,"
    " _shell.magics_manager.registry.get('AimoMagics') is magics_for(_shell))"
)


def test_a_reload_leaves_one_fresh_aimo_magics(emulator: EmulatorHandle) -> None:
    kernel = Kernel(env={"AIMO_BASE_URL": emulator.base_url})
    try:
        assert kernel.execute("%load_ext aimo_magic").status == "ok"
        assert kernel.execute("%aimo use DeepSeek-V3-1").status == "ok"
        for _ in range(2):
            assert kernel.execute("%unload_ext aimo_magic").status == "ok"
            gone = kernel.execute(COUNT)
            assert gone.stdout.split()[0] == "0", gone.stdout
            assert kernel.execute("%load_ext aimo_magic").status == "ok"
        counted = kernel.execute(COUNT)
        assert counted.stdout.split() == ["1", "True", "True"], counted.stdout
        shown = kernel.execute("%config AimoMagics").stdout
        model = shown[shown.index("AimoMagics.model=") :].split("Current:", 1)[1].split("\n")[0]
        assert model.strip() == "None", "the fresh object's value, not the unloaded one's"
        assert kernel.execute("%config AimoMagics.model").plain() == ""
        works = kernel.execute("%aimo version")
        assert works.status == "ok", works.error
    finally:
        kernel.close()
