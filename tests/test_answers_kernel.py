"""Answer files in real kernels: record a notebook against the emulator, then run it
again in fresh kernels from the file alone (the emulator's request log counts what
reaches the server).

The recorded notebook has a plain cell, a comparison, a batch, an image prompt and a
tool loop's steps. Replayed without a key, it shows the same answers and sends nothing;
a changed cell is one line naming the cell; ``--strict`` sends nothing even with a key;
the file holds no key and no image bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from image_samples import encoded
from kernel_harness import CellRun, Kernel

from aimo_magic.emulator import EmulatorHandle

pytestmark = pytest.mark.kernel

KEY = "aimo-sk-v2-test-answers-kernel-51c0d2"
MODEL = "DeepSeek-V3-1"
PNG = encoded(64, 48)
SETUP = f"%load_ext aimo_magic\n%aimo use {MODEL}\nimport aimo_magic\npng = {PNG!r}"
# The notebook, as cells: each asks something a different way.
CELLS = {
    "cell": "%%aimo -o first\nWhat is a Jupyter magic command?",
    "follow-up": "%%aimo -o second\nAnd a smaller example?",
    "compare": "%%aimo --compare openai/gpt-4o,DeepSeek-V3-1 -o both --no-history\nName a river.",
    "batch": (
        "labels = aimo_magic.batch('Classify as bug or question, in one word: {}', "
        "['It crashes', 'How do I export?', 'Login fails'], max_tokens=10)"
    ),
    "image": "%%aimo openai/gpt-4o --no-history -o seen\nWhat is in this picture? {png}",
    "tools": (
        "@aimo_magic.tool\n"
        "def add(a: int, b: int) -> int:\n"
        '    """Add two numbers."""\n'
        "    return a + b"
    ),
    "tool loop": "%%aimo --tools add --no-history -o summed\nWhat is 2 + 3? Use add.",
}
ANSWERED = "first, second, both, list(labels), seen, summed"
"""The answers the cells kept, as Python values: what "the same answers" compares."""
SHOW_ANSWERS = f"import json\nprint(json.dumps([{ANSWERED}]))"


def ok(kernel: Kernel, code: str) -> CellRun:
    run = kernel.execute(code, timeout=120)
    assert run.status == "ok", (code, run.error, run.stderr)
    return run


def answers_kept(kernel: Kernel) -> list[Any]:
    values: list[Any] = json.loads(ok(kernel, SHOW_ANSWERS).stdout)
    return values


def answer_shown(run: CellRun) -> str:
    return "".join(
        o["data"].get("text/plain", "")
        for o in run.final_outputs()
        if o.get("metadata", {}).get("aimo", {}).get("output") == "answer"
    )


def footers(run: CellRun) -> str:
    return (
        "".join(
            o["data"].get("text/plain", "")
            for o in run.final_outputs()
            if o.get("metadata", {}).get("aimo", {}).get("output") == "footer"
        )
        + run.html()
    )


@pytest.fixture(scope="module")
def recorded(emulator: EmulatorHandle, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The notebook run once with a key against the emulator, its answers saved."""
    folder = tmp_path_factory.mktemp("recorded")
    kernel = Kernel(
        env={
            "AIMO_BASE_URL": emulator.base_url,
            "AIMO_API_KEY": KEY,
            "AIMO_CACHE_DIR": str(folder / "cache"),
        },
        cwd=str(folder),
    )
    try:
        ok(kernel, SETUP)
        emulator.clear_requests()
        for code in CELLS.values():
            ok(kernel, code)
        asked = len(emulator.requests)
        shown = answers_kept(kernel)
        saved = ok(kernel, "%aimo answers save lesson.answers.jsonl")
    finally:
        kernel.close()
    return folder / "lesson.answers.jsonl", shown, asked, saved


@pytest.fixture
def emu(emulator: EmulatorHandle) -> Iterator[EmulatorHandle]:
    emulator.clear_faults()
    emulator.clear_requests()
    yield emulator
    emulator.clear_faults()


def replay_kernel(emulator: EmulatorHandle, folder: Path, env: dict[str, str]) -> Kernel:
    """A fresh kernel (a restart) pointed at the emulator, so any request is seen there."""
    kernel = Kernel(
        env={"AIMO_BASE_URL": emulator.base_url, "AIMO_CACHE_DIR": str(folder / "cache"), **env},
        cwd=str(folder.parent),
    )
    ok(kernel, SETUP)
    return kernel


def test_the_file_holds_every_answer_used_and_no_key(recorded: Any) -> None:
    path, _, asked, saved = recorded
    assert asked >= 8, "cells, two compared models, three rows, an image, two tool steps"
    assert "Saved" in saved.stdout and "lesson.answers.jsonl" in saved.stdout
    text = path.read_text(encoding="utf-8")
    assert KEY not in text and "aimo-sk-" not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[0] == {"format": "aimo-magic answers", "version": 1}
    answers = [line for line in lines[1:] if "answer" in line]
    assert len(answers) == asked, "one line per request the notebook sent"
    assert any("listed" in line for line in lines), "the model list it checked against"
    for line in answers:
        assert line["model"] and line["messages"] and line["answer"]["answered_at"]
        assert line["answer"]["usage"]["completion_tokens"] > 0
    # The image: its hash and size, never its bytes.
    import base64
    import hashlib

    assert base64.b64encode(PNG).decode()[:40] not in text
    image_parts = [
        part
        for line in answers
        for message in line["messages"]
        if isinstance(message["content"], list)
        for part in message["content"]
        if part["type"] == "image_url"
    ]
    assert image_parts == [
        {
            "type": "image_url",
            "image_url": {
                "sha256": hashlib.sha256(PNG).hexdigest(),
                "bytes": len(PNG),
                "type": "image/png",
            },
        }
    ]
    assert any(line["answer"].get("tool_calls") for line in answers), "the tool step's calls"


def test_a_restart_without_a_key_runs_all_from_the_file_and_sends_nothing(
    recorded: Any, emu: EmulatorHandle, tmp_path: Path
) -> None:
    path, shown, _, _ = recorded
    kernel = replay_kernel(emu, tmp_path, {"AIMO_ANSWERS": str(path)})
    try:
        runs = {name: ok(kernel, code) for name, code in CELLS.items()}
        assert answers_kept(kernel) == shown, "the same answers, cell for cell"
        assert "3 of 3 rows answered (3 recorded)" in runs["batch"].stdout, runs["batch"].stdout
        # Streamed at a readable pace, as if it arrived: the answer grew in several steps.
        assert len(runs["cell"].of_type("update_display_data")) >= 5
        for name in ("cell", "compare", "image", "tool loop"):
            footer = footers(runs[name])
            assert "recorded 20" in footer and path.name in footer, (name, footer)
            assert "no tokens charged" in footer, name
        everything = "".join(run.stdout + run.stderr + run.plain() for run in runs.values())
        assert "could not be checked" not in everything
        # %aimo usage says the free answers were replayed, every one of them: 2 cells,
        # 2 panes, 3 rows, the image cell and the tool loop's 2 steps.
        usage = ok(kernel, "%aimo usage").plain()
        assert "10 of the 10 cache hits were answers replayed from an answer file" in usage, usage
        # A changed cell is not in the file: one line that names the cell.
        changed = kernel.execute("%%aimo\nWhat is a Jupyter magic command, briefly?")
        assert changed.status == "error"
        line = changed.error["evalue"]
        number = changed.reply["content"]["execution_count"]
        assert (
            line.startswith(f"Cell [{number}]'s request to {MODEL}")
            and "was not recorded in lesson.answers.jsonl" in line
        )
        assert "no API key is set" in line and "\n" not in line
        assert "Traceback" not in "".join(changed.error["traceback"])
        # The notebook goes on with what it can answer.
        assert answer_shown(ok(kernel, CELLS["image"])).strip() == shown[4].strip()
    finally:
        kernel.close()
    assert emu.requests == [], "nothing reached the server"
    assert path.read_text(encoding="utf-8").count("\n") >= 1  # untouched by replaying


def test_strict_replay_sends_nothing_even_with_a_key(
    recorded: Any, emu: EmulatorHandle, tmp_path: Path
) -> None:
    path, shown, _, _ = recorded
    before = path.read_bytes()
    kernel = replay_kernel(emu, tmp_path, {"AIMO_API_KEY": KEY, "AIMO_ANSWERS_PACE": "0"})
    try:
        said = ok(kernel, f"%aimo answers use {path} --strict")
        assert "Answering from lesson.answers.jsonl" in said.stdout
        assert "--strict: nothing is sent" in said.stdout
        assert answer_shown(ok(kernel, CELLS["cell"])).strip() == shown[0].strip()
        changed = kernel.execute("%%aimo --no-history\nSomething never asked")
        assert changed.status == "error"
        assert "nothing is sent (strict replay, even with a key)" in changed.error["evalue"]
        rows = ok(
            kernel,
            "job = aimo_magic.Batch('{}', ['never asked'], max_tokens=5)\njob.run()\n"
            "print(job.errors)",
        )
        assert "NotRecordedError" in rows.stdout and "not recorded" in rows.stdout
        status = ok(kernel, "%aimo answers").stdout
        assert "Recording: 1 answer used so far" in status, status
        assert "--strict: nothing is sent" in status
        # Without --strict the same key sends what the file does not hold.
        ok(kernel, f"%aimo answers use {path}")
        ok(kernel, "%%aimo --no-history\nSomething never asked")
        stopped = ok(kernel, "%aimo answers off").stdout
        assert stopped.startswith("No longer answering from lesson.answers.jsonl")
        refused = kernel.execute("%aimo answers save")
        assert refused.status == "error" and "Name the file" in refused.error["evalue"]
    finally:
        kernel.close()
    assert len(emu.requests) == 1, "only the last cell, after --strict was dropped"
    assert path.read_bytes() == before, "nothing is written to the file except by save"
