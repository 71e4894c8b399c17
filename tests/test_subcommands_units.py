"""The pure parts behind the subcommands: tables, prices, search, fences, session files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aimo_magic.core.catalogue import parse_model
from aimo_magic.core.pricing import format_price
from aimo_magic.core.types import Model
from aimo_magic.emulator import EmulatorHandle
from aimo_magic.magics.cmd._models_table import catalogue_html, catalogue_text, matches
from aimo_magic.magics.cmd._sessionfile import read_extras
from aimo_magic.magics.cmd._table import Table
from aimo_magic.magics.cmd._traceback import LastError, explain_prompt, fenced, shorten
from aimo_magic.magics.cmd.alias import check_alias_name

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def hostile_model() -> Model:
    model = parse_model(
        {
            "name": f"evil/{HOSTILE}",
            "display_name": f'"><b>{HOSTILE}',
            "providers": [
                {
                    "id": "Pk<svg/onload=alert(3)>",
                    "name": "<iframe src=javascript:alert(4)>",
                    "pricing": {"prompt": 0.000001, "completion": 2e-05},
                }
            ],
            "context_length": 4096,
            "architecture": {"input_modalities": ["<u>text</u>"], "output_modalities": ["text"]},
        }
    )
    assert model is not None
    return model


def test_the_catalogue_table_escapes_everything_from_the_server() -> None:
    model = hostile_model()
    html = catalogue_html([model], default_id=model.name)
    for tag in ("<script", "<img", "<svg", "<iframe", "<u>", "<b>"):
        assert tag not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&quot;&gt;&lt;b&gt;" in html
    text = catalogue_text([model], default_id=model.name)
    assert f'★ "><b>{HOSTILE}' in text  # plain text is shown as text, untouched


def test_prices_are_shown_as_listed_in_positional_notation() -> None:
    assert format_price(0.000001) == "0.000001"
    assert format_price(2e-05) == "0.00002"
    assert format_price(2.5) == "2.5"
    assert format_price(0.0) == "0.0"
    assert format_price(1234567.0) == "1234567.0"
    assert format_price(None) == "not listed"
    row = next(line for line in catalogue_text([hostile_model()], None).splitlines()[2:])
    assert "0.000001" in row and "0.00002" in row


def test_search_needs_every_word_in_any_column() -> None:
    model = hostile_model()
    assert matches(model, [])
    assert matches(model, ["EVIL", "iframe", "4,096"])
    assert matches(model, ["0.00002"])
    assert not matches(model, ["evil", "free"])
    free = parse_model({"name": "m", "providers": [{"id": "P", "pricing": {"prompt": 0}}]})
    assert free is not None and matches(free, ["FREE"])


def test_models_without_providers_still_get_a_row() -> None:
    bare = parse_model({"id": "gpt-4o", "object": "model", "owned_by": "openai"})
    assert bare is not None
    assert "<td" in catalogue_html([bare], None)
    assert "gpt-4o" in catalogue_text([bare], None)


def test_generic_tables_escape_and_align() -> None:
    table = Table(headers=("A", "Bee"), rows=[("<x>", "1"), ("long cell", "22")], notes=["<n>"])
    html = table.to_html()
    assert "<x>" not in html and "&lt;x&gt;" in html and "&lt;n&gt;" in html
    lines = table.to_text().splitlines()
    assert lines[:4] == ["A          Bee", "---------  ---", "<x>        1", "long cell  22"]


def test_fences_outgrow_backticks_inside() -> None:
    block = fenced("x = '```'\n````y````", "python")
    assert block.startswith("`````python\n") and block.endswith("\n`````")
    assert fenced("plain").startswith("```\n")


def test_the_explain_prompt_keeps_the_end_of_long_tracebacks() -> None:
    long = "frame\n" * 5000 + "ValueError: the real problem"
    prompt = explain_prompt(LastError("ValueError", shorten(long, 12_000), [(3, "f()")]))
    assert prompt.count("frame") < 2500 and "ValueError: the real problem" in prompt
    assert "characters cut" in prompt and "Cell In[3]:\n```python\nf()\n```" in prompt


@pytest.mark.parametrize("name", ["fast", "gpt4", "a.b-c_d", "x" * 40])
def test_alias_names_that_work(name: str) -> None:
    assert check_alias_name(name) == name


@pytest.mark.parametrize("name", ["", "4fast", "two words", "-x", "a/b", "p:m", "x" * 41])
def test_alias_names_that_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="not usable"):
        check_alias_name(name)


def test_session_file_extras_are_checked(tmp_path: Path) -> None:
    def extras(data: object) -> object:
        path = tmp_path / "f.json"
        path.write_text(json.dumps(data))
        return read_extras(path)

    assert extras({"aliases": {"fast": "m"}, "default_model": "m"}) == ({"fast": "m"}, "m")
    assert extras({"threads": []}) == ({}, None)  # a plain conversation file
    assert extras(["not", "an", "object"]) is None
    assert read_extras(tmp_path / "missing.json") is None  # left to the conversation loader
    with pytest.raises(ValueError, match="must map alias names"):
        extras({"aliases": ["fast"]})
    with pytest.raises(ValueError, match="must be a model id"):
        extras({"default_model": 3})
    with pytest.raises(ValueError, match="looks like an API key"):
        extras({"default_model": "aimo-sk-v2-test-0000"})


def test_a_terminal_gets_the_text_table(emulator: EmulatorHandle, tmp_path: Path) -> None:
    script = tmp_path / "models.ipy"
    script.write_text("%load_ext aimo_magic\n%aimo models mini\n%aimo use nosuch\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIMO_")}
    env.update(AIMO_BASE_URL=emulator.base_url, AIMO_API_KEY="aimo-sk-v2-test-0000")
    done = subprocess.run(
        [sys.executable, "-m", "IPython", "--no-banner", "--colors=nocolor", str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = done.stdout + done.stderr
    assert "openai/gpt-4o-mini" in out and "Price in*" in out
    # The emulator lists AiMo-style figures (0.15 in, 0.6 out): read as USD per million.
    assert "<table" not in out and "Price in US dollars per million tokens" in out
    assert "$0.15" in out and "$0.60" in out
    assert "Unknown model 'nosuch'" in out and "Traceback" not in out
