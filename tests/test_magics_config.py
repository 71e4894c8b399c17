"""Settings given through traitlets configuration reach the session at construction."""

from __future__ import annotations

from traitlets.config import Config

from aimo_magic.magics.magics import AimoMagics


def test_configured_model_and_key_reach_the_session() -> None:
    config = Config()
    config.AimoMagics.model = "DeepSeek-V3-1"
    config.AimoMagics.api_key = "aimo-sk-v2-test-config-0000"
    config.AimoMagics.render_rate = 4.0
    magics = AimoMagics(shell=None, config=config)
    assert magics.session.default_model == "DeepSeek-V3-1"
    assert magics.session.find_key() == (
        "aimo-sk-v2-test-config-0000",
        "set in this kernel (%aimo login or configuration)",
    )
    assert magics.render_rate == 4.0
    assert "aimo-sk-v2-test-config-0000" not in repr(magics)
