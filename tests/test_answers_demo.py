"""Answer files headlessly: ``aimo-magic demo --record`` and ``--answers``, the examples'
setup cell, and the committed examples replayed from their own files with nothing sent.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from aimo_magic.demo import run_demo

pytestmark = pytest.mark.kernel

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SETUP = (
    "from aimo_magic.demo import use_emulator_unless_key\n"
    'emulator = use_emulator_unless_key(tokens_per_second=None, answers="tiny.answers.jsonl")\n'
    "%load_ext aimo_magic\n%aimo use DeepSeek-V3-1"
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    import os

    for name in list(os.environ):
        if name.startswith("AIMO_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AIMO_CACHE_DIR", str(tmp_path / "cache"))
    return monkeypatch


def tiny_notebook(folder: Path, question: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(SETUP),
        nbformat.v4.new_code_cell(f"%%aimo\n{question}"),
        nbformat.v4.new_code_cell("%aimo models gpt-4o"),
    ]
    path = folder / "tiny.ipynb"
    nbformat.write(nb, path)
    return path


def answer_of(path: Path, index: int) -> str:
    cell = nbformat.read(path, as_version=4).cells[index]
    return "".join(
        o.data["text/plain"]
        for o in cell.outputs
        if o.get("metadata", {}).get("aimo", {}).get("output") == "answer"
    )


def outputs(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [
        "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in cell.outputs)
        for cell in nb.cells
    ]


def test_record_then_replay_strictly_and_a_changed_cell_fails_in_one_line(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notebook = tiny_notebook(tmp_path, "What is 2 + 2?")
    answers = tmp_path / "tiny.answers.jsonl"
    recorded = tmp_path / "recorded.ipynb"
    assert run_demo(notebook, output=recorded, record=answers, timeout=120) == 0
    said = capsys.readouterr().out
    assert f"Its answers are in {answers}" in said or "tiny.answers.jsonl" in said
    lines = answers.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0])["version"] == 1 and len(lines) > 3
    recorded_outputs = outputs(recorded)
    assert len(recorded_outputs) == 3, "the saving cell is not kept"
    assert "using the local AiMo emulator" in recorded_outputs[0], "no answer file used"

    replayed = tmp_path / "replayed.ipynb"
    assert run_demo(notebook, output=replayed, answers=answers, timeout=120) == 0
    shown = outputs(replayed)
    assert "answering from tiny.answers.jsonl" in shown[0] and "strictly" in shown[0]
    assert "(tiny.answers.jsonl)" in shown[1] and "no tokens charged" in shown[1]
    assert answer_of(replayed, 1) == answer_of(recorded, 1) != ""
    assert "openai/gpt-4o" in shown[2], "the model list came from the file"

    tiny_notebook(tmp_path, "What is 3 + 3?")
    assert run_demo(notebook, output=replayed, answers=answers, timeout=120) == 1
    failure = capsys.readouterr().err
    assert "was not recorded in tiny.answers.jsonl" in failure
    assert "nothing is sent (strict replay)" in failure


def test_without_a_key_the_setup_cell_uses_the_file_and_the_emulator_for_the_rest(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notebook = tiny_notebook(tmp_path, "What is 2 + 2?")
    answers = tmp_path / "tiny.answers.jsonl"
    assert run_demo(notebook, output=tmp_path / "r.ipynb", record=answers, timeout=120) == 0
    tiny_notebook(tmp_path, "Name a river.")  # not recorded: the emulator answers it
    capsys.readouterr()
    assert run_demo(notebook, output=tmp_path / "out.ipynb", timeout=120) == 0
    said = capsys.readouterr().out
    assert f"from its recorded answers in {answers}" in said, said
    assert "the local AiMo emulator answering anything else" in said
    shown = outputs(tmp_path / "out.ipynb")
    assert "answering from tiny.answers.jsonl (1 answer" in shown[0]
    assert "anything not recorded goes to the local AiMo emulator" in shown[0]
    assert "tokens" in shown[1] and "(tiny.answers.jsonl)" not in shown[1]


def test_demo_answers_needs_an_existing_file(tmp_path: Path) -> None:
    notebook = tiny_notebook(tmp_path, "What is 2 + 2?")
    done = subprocess.run(
        [sys.executable, "-m", "aimo_magic.cli", "demo", str(notebook), "--answers", "nope.jsonl"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "aimo-magic demo: no answer file at nope.jsonl; record one with --record nope.jsonl"
    )


@pytest.mark.parametrize("name", ["quickstart", "teaching", "tools"])
def test_the_examples_replay_from_their_answer_files_sending_nothing(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, name: str
) -> None:
    """What CI runs: each example from its committed answer file, strictly."""
    answers = EXAMPLES / f"{name}.answers.jsonl"
    assert answers.is_file(), f"record it: aimo-magic demo examples/{name}.ipynb --record {answers}"
    target = tmp_path / f"{name}.ipynb"
    assert run_demo(EXAMPLES / f"{name}.ipynb", output=target, answers=answers) == 0
    nb = nbformat.read(target, as_version=4)
    footers = [
        o.data["text/plain"]
        for cell in nb.cells
        for o in cell.get("outputs", [])
        if o.get("metadata", {}).get("aimo", {}).get("output") == "footer"
    ]
    assert footers and all(f"({name}.answers.jsonl)" in f for f in footers)
