"""Settings given through traitlets configuration reach the session at construction."""

from __future__ import annotations

from traitlets.config import Config

from aimo_magic.magics.aimo_magics import AimoMagics


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


def test_a_configured_key_never_stays_in_the_trait() -> None:
    """``%config AimoMagics`` prints every trait's current value: the key must not be one."""
    magics = AimoMagics(shell=None)
    magics.api_key = "aimo-sk-v2-test-config-1111"
    assert magics.api_key is None
    assert magics.session.explicit_key == "aimo-sk-v2-test-config-1111"
    help_text = AimoMagics.class_get_help(magics)
    assert "aimo-sk-v2-test-config-1111" not in help_text
