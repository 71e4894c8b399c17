"""The example notebooks, run top to bottom in a real kernel against the emulator.

Each notebook is executed the way ``aimo-magic demo`` runs it (no key, so its first cell
starts the emulator), then its outputs are read back: rendered answers with footers,
threads, JSON and code answers, the selector's saved widget state, the usage table.
The committed notebooks must carry the outputs of such a run, and no key.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import nbformat
import pytest

from aimo_magic import demo
from aimo_magic.demo import run_demo, use_emulator_unless_key

pytestmark = pytest.mark.kernel

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))
KEY_PREFIX = "aimo-sk-"
TEST_KEY = "aimo-sk-v2-test-0000"
AIMO_VARIABLES = ("AIMO_API_KEY", "AIMO_BASE_URL", "AIMO_MODEL", demo.PACE_ENV)
WIDGET = "application/vnd.jupyter.widget-view+json"


def code_cells(nb: Any) -> list[Any]:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def cell_with(nb: Any, text: str) -> Any:
    """The one code cell whose source contains ``text``."""
    found = [cell for cell in code_cells(nb) if text in cell.source]
    assert len(found) == 1, f"expected one cell containing {text!r}, found {len(found)}"
    return found[0]


def aimo_outputs(cell: Any, kind: str) -> list[Any]:
    return [
        output
        for output in cell.outputs
        if output.get("metadata", {}).get("aimo", {}).get("output") == kind
    ]


def answer_html(cell: Any) -> str:
    return "".join(output.data.get("text/html", "") for output in aimo_outputs(cell, "answer"))


def answer_text(cell: Any) -> str:
    return "".join(output.data.get("text/plain", "") for output in aimo_outputs(cell, "answer"))


def record(cell: Any) -> dict[str, Any]:
    """The provenance the footer carries: model, thread, usage, status."""
    (footer,) = aimo_outputs(cell, "footer")
    return dict(footer.metadata["aimo"])


def stdout(cell: Any) -> str:
    return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


def plain(cell: Any) -> str:
    return "".join(o.get("data", {}).get("text/plain", "") for o in cell.outputs)


class _ActiveParts(HTMLParser):
    """Elements and attributes in rendered HTML that could run script or load content."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "iframe", "object", "embed", "style", "svg"):
            self.found.append(tag)
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"{tag} {name}={value}")


def active_parts(html: str) -> list[str]:
    parser = _ActiveParts()
    parser.feed(html)
    return parser.found


def comparison(cell: Any) -> Any:
    """The one output of a ``--compare`` cell: the grid of panes."""
    (grid,) = aimo_outputs(cell, "compare")
    return grid


def check_every_comparison_is_rendered(cell: Any) -> None:
    """A --compare cell: one grid, every pane complete with its footer, the ranking under."""
    grid = comparison(cell)
    html = grid.data["text/html"]
    assert active_parts(html) == []
    panes = grid.metadata["aimo"]["panes"]
    assert len(panes) >= 2 and all(p["status"] == "complete" for p in panes)
    footers = re.findall(r"\d+ → \d+ tokens", html)  # live or replayed from an answer file
    assert len(footers) == len(panes) and "Fastest:" in html
    replayed = html.count("no tokens charged") == len(panes)
    assert ("Cheapest:" in html) != replayed, "a cost ranking unless every answer was free"
    answers = grid.metadata["aimo"]["answers"]
    assert all(a["usage"]["completion_tokens"] > 0 for a in answers.values())


def check_every_answer_is_rendered(nb: Any) -> None:
    """Each %%aimo cell: an answer as sanitised HTML beside its text, then a footer."""
    cells = [
        cell
        for cell in code_cells(nb)
        if cell.source.startswith("%%aimo") and "--each" not in cell.source.splitlines()[0]
    ]
    assert cells
    for cell in [c for c in cells if "--compare" in c.source.splitlines()[0]]:
        check_every_comparison_is_rendered(cell)
        cells.remove(cell)
    for cell in cells:
        assert answer_text(cell).strip(), cell.source
        assert active_parts(answer_html(cell)) == []
        info = record(cell)
        assert info["status"] == "complete" and info["usage"]["completion_tokens"] > 0
        footer = aimo_outputs(cell, "footer")[0].data["text/plain"]
        assert info["requested_model"] in footer and "tokens" in footer


def check_only_tagged_cells_failed(nb: Any) -> None:
    for cell in code_cells(nb):
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if "raises-exception" in cell.metadata.get("tags", []):
            assert errors, f"this cell is meant to fail: {cell.source!r}"
        else:
            assert not errors, f"{cell.source!r} failed: {errors[0].ename}: {errors[0].evalue}"


@pytest.fixture
def no_aimo_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No AIMO_* variables, and whatever the test sets in os.environ is undone after it."""
    for name in AIMO_VARIABLES:
        monkeypatch.setenv(name, "")  # records the original, so teardown restores it
        monkeypatch.delenv(name)
    return monkeypatch


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every example, executed once with ``run_demo`` as a newcomer without a key would."""
    out = tmp_path_factory.mktemp("executed")
    results: dict[str, Any] = {}
    with pytest.MonkeyPatch.context() as patch:
        for name in AIMO_VARIABLES:
            patch.delenv(name, raising=False)
        patch.setenv(demo.PACE_ENV, "0")
        # What the emulator itself does: the examples' answer files are left out here
        # (a newcomer gets them too; tests/test_answers_demo.py replays them strictly).
        patch.setenv("AIMO_ANSWERS", "off")
        # Batches store their answers: in a fresh folder, never the user's cache.
        patch.setenv("AIMO_CACHE_DIR", str(out / "cache"))
        for path in NOTEBOOKS:
            target = out / path.name
            assert run_demo(path, output=target, timeout=180) == 0, f"{path.name} failed"
            results[path.stem] = nbformat.read(target, as_version=4)
    return results


def test_the_three_examples_exist() -> None:
    assert {path.stem for path in NOTEBOOKS} >= {"quickstart", "analysis", "teaching"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_example_runs_on_the_emulator_and_renders_its_answers(
    executed: dict[str, Any], path: Path
) -> None:
    nb = executed[path.stem]
    check_only_tagged_cells_failed(nb)
    setup = stdout(code_cells(nb)[0])
    assert "local AiMo emulator" in setup and "AIMO_API_KEY" in setup
    check_every_answer_is_rendered(nb)
    assert KEY_PREFIX not in nbformat.writes(nb)


def test_quickstart_continues_the_conversation_and_keeps_threads_apart(
    executed: dict[str, Any],
) -> None:
    nb = executed["quickstart"]
    first = record(cell_with(nb, "What is a Jupyter magic command"))
    second = record(cell_with(nb, "smaller example"))
    poem = record(cell_with(nb, "haiku about a river"))
    assert first["thread"] == second["thread"] == "default" and poem["thread"] == "poetry"
    # The follow-up carried the first exchange; the new thread started with nothing.
    assert second["usage"]["prompt_tokens"] > first["usage"]["completion_tokens"]
    assert poem["usage"]["prompt_tokens"] < first["usage"]["completion_tokens"]
    assert "<h" in answer_html(cell_with(nb, "What is a Jupyter magic command"))
    chats = plain(cell_with(nb, "%aimo chats"))
    assert "default" in chats and "poetry" in chats and "system prompt" in chats


def test_quickstart_models_alias_and_usage(executed: dict[str, Any]) -> None:
    nb = executed["quickstart"]
    listing = cell_with(nb, "%aimo models gpt-4o")
    assert "openai/gpt-4o" in plain(listing) and "DeepSeek" not in plain(listing)
    assert "Alias gpt → openai/gpt-4o" in stdout(cell_with(nb, "%aimo alias"))
    by_alias = record(cell_with(nb, "%%aimo gpt"))
    assert by_alias["requested_model"] == "openai/gpt-4o"
    assert by_alias["params"] == {"temperature": 0.2}
    usage = plain(cell_with(nb, "%aimo usage"))
    assert "Total" in usage and "openai/gpt-4o" in usage and "DeepSeek-V3-1" in usage
    assert all(f"%aimo {name}" in plain(cell_with(nb, "%aimo help")) for name in ("use", "select"))


def test_quickstart_saves_the_selector_as_a_widget(executed: dict[str, Any]) -> None:
    nb = executed["quickstart"]
    (view,) = [
        o
        for o in cell_with(nb, "%aimo select").outputs
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert view.data["application/vnd.jupyter.widget-view+json"]["model_id"] in state
    labels = [
        label
        for model in state.values()
        for label in model["state"].get("_options_labels", [])
        if "·" in label
    ]
    assert any("DeepSeek-V3-1" in label for label in labels), labels
    assert not any("openai/gpt-4o" in label for label in labels), "the search filtered the list"


def test_analysis_interpolates_data_keeps_answers_and_formats_json_and_code(
    executed: dict[str, Any],
) -> None:
    nb = executed["analysis"]
    findings = cell_with(nb, "%%aimo --out findings")
    assert record(findings)["usage"]["prompt_tokens"] > 60, "the table was sent in the prompt"
    assert "`findings` holds" in stdout(cell_with(nb, "findings[:200]"))
    as_json = cell_with(nb, "%%aimo -f json")
    (answer,) = aimo_outputs(as_json, "answer")
    assert isinstance(answer.data["application/json"], dict)
    assert record(as_json)["params"] == {"response_format": {"type": "json_object"}}
    assert record(as_json)["thread"] is None, "--no-history keeps it out of the thread"
    keys = plain(cell_with(nb, "sorted(plan)"))
    assert keys.startswith("[") and all(key in keys for key in answer.data["application/json"])
    code = cell_with(nb, "%%aimo -f code")
    assert "```" not in answer_text(code) and "def " in answer_text(code)
    assert 'class="highlight' in answer_html(code) or "<pre" in answer_html(code)
    chart = cell_with(nb, "{ax}")
    (sent,) = aimo_outputs(chart, "images")
    assert sent.data["text/plain"].startswith("Sent with the prompt: [image ")
    assert "image/png" in sent.data and "text/html" not in sent.data
    assert answer_text(chart).startswith("I received an image (image/png, ")
    assert "1 image" in aimo_outputs(chart, "footer")[0].data["text/plain"]


def test_tools_shows_cards_refuses_unapproved_calls_headless_and_keeps_calls(
    executed: dict[str, Any],
) -> None:
    nb = executed["tools"]
    listing = plain(cell_with(nb, "%aimo tools"))
    assert "column_stats" in listing and "save_chart" in listing and "asks first" in listing

    def card(source: str) -> str:
        (cards,) = aimo_outputs(cell_with(nb, source), "tools")
        assert active_parts(cards.data["text/html"]) == []
        return str(cards.data["text/plain"])

    stats = card("--tools column_stats\n")
    assert "⚙ column_stats(" in stats and "→ done" in stats and '"mean"' in stats
    footer = aimo_outputs(cell_with(nb, "--tools column_stats\n"), "footer")[0]
    assert "1 call in 2 steps" in footer.data["text/plain"]
    # headless, nobody can approve: refused, and said so; with --approve all it runs
    refused = card("--tools column_stats,save_chart\n")
    assert "→ refused" in refused and "needs the user's approval" in refused
    assert "→ done" in card("--approve all") and "saved " in card("--approve all")
    assert "by-hand.png" in plain(cell_with(nb, "CHARTS.iterdir()"))
    history = stdout(cell_with(nb, "%aimo history"))
    assert "── 1. call column_stats(" in history and "── 3. call save_chart(" in history
    ask = stdout(cell_with(nb, "aimo_magic.ask("))
    assert "column_stats" in ask and "-> done" in ask and "2 requests" in ask


def test_teaching_explains_the_error_renders_hostile_output_inertly_and_restores_a_lesson(
    executed: dict[str, Any],
) -> None:
    nb = executed["teaching"]
    mistake = cell_with(nb, "def factorial")
    assert not [o for o in mistake.outputs if o.output_type == "error"], "Run All goes past it"
    shown = "".join(o.text for o in mistake.outputs if o.get("name") == "stderr")
    assert shown.startswith("Traceback (most recent call last):"), "the student sees the error"
    assert "RecursionError: maximum recursion depth exceeded" in shown
    explain = cell_with(nb, "%aimo explain")
    assert "Explaining: RecursionError" in stdout(explain)
    assert "base case" in answer_text(explain), "the explanation fits the error"
    assert record(explain)["thread"] == "explain"
    side_by_side = comparison(cell_with(nb, "--compare openai/gpt-4o,DeepSeek-V3-1"))
    assert [p["title"] for p in side_by_side.metadata["aimo"]["panes"]] == [
        "openai/gpt-4o",
        "DeepSeek-V3-1",
    ]
    assert side_by_side.metadata["aimo"]["thread"] is None, "not recorded without --keep"
    providers = comparison(cell_with(nb, "--compare openai/gpt-4o@*"))
    titles = [p["title"] for p in providers.metadata["aimo"]["panes"]]
    assert titles == ["openai/gpt-4o @ nebula-gpu", "openai/gpt-4o @ solstice-labs"]
    hostile = answer_html(cell_with(nb, "::hostile"))
    assert "Totally normal answer" in hostile
    assert active_parts(hostile) == [], "hostile HTML was shown as text, never as markup"
    assert "Saved 2 threads" in stdout(cell_with(nb, "%aimo save"))
    assert "Loaded 2 threads" in stdout(cell_with(nb, "%aimo load"))
    follow_up = cell_with(nb, "one exercise to practise")
    assert record(follow_up)["thread"] == "tutor"
    assert record(follow_up)["usage"]["prompt_tokens"] > 100, "the restored lesson was sent"


def test_batch_asks_every_row_shapes_the_answers_and_lists_failures(
    executed: dict[str, Any],
) -> None:
    nb = executed["batch"]
    assert "8 rows to DeepSeek-V3-1" in plain(cell_with(nb, "job.estimate()"))
    run = cell_with(nb, "labels = job.run()")
    assert any(WIDGET in o.get("data", {}) for o in run.outputs), "the progress bar"
    assert "8 of 8 rows answered" in stdout(run)
    # After the finished bar's text (its rate and postfix), a Series on the tickets' index.
    assert re.search(r"8/8 \[[^\]]*row/s[^\]]*\]ticket\n101 ", plain(run)), plain(run)
    assert re.search(r"101\s+bug\n102\s+billing\n103\s+question\n", plain(run)), "one-word labels"
    assert "category    string\nurgency      Int64" in plain(cell_with(nb, "triage_schema"))
    each = cell_with(nb, "%%aimo --each tickets")
    assert "<table" in "".join(o.get("data", {}).get("text/html", "") for o in each.outputs)
    assert stdout(each).startswith("8 of 8 rows answered")
    replies = plain(cell_with(nb, "replies.loc"))
    assert re.search(r"101\s+Thank.*“The app crashe", replies), "a reply that fits each ticket"
    flaky = cell_with(nb, "flaky = aimo_magic.Batch")
    assert "1 failed (1 × ServerError" in stdout(flaky)
    assert "RowError(index=1, error='ServerError'" in plain(cell_with(nb, "flaky.errors"))
    assert "27" in plain(cell_with(nb, "%aimo usage")), "8 + 8 + 8 rows, 1 cell, 2 of 3 rows"


def test_evaluate_compares_models_on_the_data_and_picks_one(executed: dict[str, Any]) -> None:
    nb = executed["evaluate"]
    estimate = plain(cell_with(nb, "ev.estimate()"))
    assert "60 requests to send" in estimate and "openai/gpt-4o-mini · nebula-gpu" in estimate
    run = cell_with(nb, "ev.run()")
    assert sum(WIDGET in o.get("data", {}) for o in run.outputs) == 5, "a bar per model"
    assert stdout(run).startswith("60 of 60 answers (12 rows × 5 models)")
    summary = "".join(o.get("data", {}).get("text/html", "") for o in run.outputs)
    assert "<table" in summary and "frontier" in summary and "ci_low" in summary
    plot = cell_with(nb, "ev.plot()")
    assert any("image/png" in o.get("data", {}) for o in plot.outputs), "the plot is saved"
    choice = plain(cell_with(nb, "ev.best(min_score="))
    assert re.fullmatch(r"'\w+:[\w/.-]+'", choice.strip()), choice
    judged = plain(cell_with(nb, "replies.run()"))
    assert "judge_cost" in judged and "judge_failures" in judged
    each = cell_with(nb, "%%aimo --each tickets --compare")
    assert "24 from the cache" in stdout(each), "the cell form reuses the answers"
    batch = cell_with(nb, "labels = aimo_magic.batch(")
    assert "12 from the cache" in stdout(batch)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_run_all_goes_through_every_example(path: Path) -> None:
    """JupyterLab's and JupyterLite's Run All stop at a cell that fails, whatever its tags
    (``raises-exception`` only helps nbclient): no example may have one. The executed run
    above proves it, since nbclient stops at an untagged failing cell too."""
    nb = nbformat.read(path, as_version=4)
    tagged = [c.source for c in code_cells(nb) if "raises-exception" in c.metadata.get("tags", [])]
    assert tagged == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_notebooks_carry_a_full_emulator_run_and_no_key(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert KEY_PREFIX not in text
    nb = nbformat.reads(text, as_version=4)
    nbformat.validate(nb)
    cells = code_cells(nb)
    assert [cell.execution_count for cell in cells] == list(range(1, len(cells) + 1)), (
        "save the notebook from one top-to-bottom run: aimo-magic demo NOTEBOOK -o NOTEBOOK"
    )
    assert all(cell.outputs for cell in cells), "every code cell shows its output"
    assert "local AiMo emulator" in stdout(cells[0])
    check_only_tagged_cells_failed(nb)
    check_every_answer_is_rendered(nb)


def test_use_emulator_unless_key_starts_one_and_reuses_it(
    no_aimo_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    no_aimo_env.setattr(demo, "_running", None)
    handle = use_emulator_unless_key(tokens_per_second=None)
    try:
        assert handle is not None and handle.running
        assert os.environ["AIMO_BASE_URL"] == handle.base_url
        assert os.environ["AIMO_API_KEY"] == handle.api_key
        assert use_emulator_unless_key() is handle, "running it again reuses the emulator"
        said = capsys.readouterr().out
        assert f"local AiMo emulator at {handle.base_url}" in said
        assert KEY_PREFIX not in said
        handle.stop()
        again = use_emulator_unless_key()
        assert again is not None and again is not handle and again.running, (
            "a stopped one is replaced"
        )
    finally:
        for started in {id(h): h for h in (handle, demo._running) if h is not None}.values():
            started.stop()


def test_use_emulator_unless_key_can_give_models_their_own_speeds(
    no_aimo_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An evaluation's example asks for a first-token wait shared out per model and
    provider, so its times differ as on the marketplace; the setup line says so."""
    from aimo_magic.core.client import Client
    from aimo_magic.emulator.model_traits import PROVIDER_TIMING, timing

    no_aimo_env.setattr(demo, "_running", None)
    handle = use_emulator_unless_key(tokens_per_second=None, latency_ms=150, timing="varied")
    try:
        assert handle is not None
        assert (handle.settings.latency_ms, handle.settings.timing) == (150, "varied")
        said = capsys.readouterr().out
        assert "first-token wait of 150 ms, each model and provider at its own share" in said
        with Client() as client:
            result = client.chat("::words 3", model="DeepSeek-V3-1")
        least = min(timing("DeepSeek-V3-1", p).latency for p in PROVIDER_TIMING)
        assert result.timings.total >= 0.15 * least  # its share of the wait was served
    finally:
        if demo._running is not None:
            demo._running.stop()


def test_use_emulator_unless_key_leaves_a_real_key_alone(
    no_aimo_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    no_aimo_env.setattr(demo, "_running", None)
    no_aimo_env.setenv("AIMO_API_KEY", TEST_KEY)
    assert use_emulator_unless_key() is None
    assert demo._running is None and "AIMO_BASE_URL" not in os.environ
    said = capsys.readouterr().out
    assert "AiMo Network at https://devnet.aimo.network/api" in said and TEST_KEY not in said


def test_a_bad_pace_is_one_clear_line(no_aimo_env: pytest.MonkeyPatch) -> None:
    no_aimo_env.setattr(demo, "_running", None)
    no_aimo_env.setenv(demo.PACE_ENV, "fast")
    with pytest.raises(ValueError, match="AIMO_EMULATOR_PACE='fast' is not a number"):
        use_emulator_unless_key()
    assert demo._running is None


@pytest.fixture
def cli_env() -> dict[str, str]:
    """The environment of a newcomer: no AIMO_* variables at all."""
    return {k: v for k, v in os.environ.items() if k not in AIMO_VARIABLES}


def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "aimo-magic"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "aimo_magic.cli"]
    return subprocess.run(
        [*command, "demo", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )


def test_aimo_magic_demo_runs_the_quickstart_and_says_where_it_is(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "out" / "quickstart.ipynb"
    done = run_cli(["-o", str(target)], cli_env, ROOT)
    assert done.returncode == 0, done.stderr
    assert "local AiMo emulator" in done.stdout
    assert f"is in {target}" in done.stdout and f"lab {target}" in done.stdout
    nb = nbformat.read(target, as_version=4)
    check_only_tagged_cells_failed(nb)
    check_every_answer_is_rendered(nb)


def test_demo_defaults_to_an_executed_folder_beside_the_notebook(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    shutil.copy(EXAMPLES / "analysis.ipynb", tmp_path / "analysis.ipynb")
    cli_env[demo.PACE_ENV] = "0"
    done = run_cli(["analysis.ipynb"], cli_env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "is in executed/analysis.ipynb" in done.stdout
    assert (tmp_path / "executed" / "analysis.ipynb").is_file()


def test_demo_reports_a_failing_cell_in_one_line_and_keeps_the_notebook(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("print('before')"),
        nbformat.v4.new_code_cell("1 / 0"),
        nbformat.v4.new_code_cell("print('never')"),
    ]
    nbformat.write(nb, tmp_path / "broken.ipynb")
    done = run_cli(["broken.ipynb", "-o", "saved.ipynb"], cli_env, tmp_path)
    assert done.returncode == 1
    # The kernel shares stderr and may log noise under load; ours is one line, no traceback.
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("aimo-magic demo:")]
    assert "Traceback" not in done.stderr
    assert "ZeroDivisionError" in line and "saved.ipynb" in line
    saved = nbformat.read(tmp_path / "saved.ipynb", as_version=4)
    assert stdout(saved.cells[0]) == "before\n" and not saved.cells[2].outputs


def test_demo_failure_line_reads_as_one_sentence(cli_env: dict[str, str], tmp_path: Path) -> None:
    """Our one-line errors end with a full stop: the line does not read '….; the notebook'."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("raise ValueError('Use a smaller table.')")]
    nbformat.write(nb, tmp_path / "broken.ipynb")
    done = run_cli(["broken.ipynb", "-o", "saved.ipynb"], cli_env, tmp_path)
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("aimo-magic demo:")]
    assert "ValueError: Use a smaller table; the notebook as far as it ran" in line, line


def test_demo_without_a_notebook_says_how_to_run_it(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    done = run_cli([], cli_env, tmp_path)
    assert done.returncode == 2
    assert "no notebook at examples/quickstart.ipynb" in done.stderr
    assert "repository root" in done.stderr


def test_demo_says_when_it_uses_aimo_network(cli_env: dict[str, str], tmp_path: Path) -> None:
    """With a key the run goes to AiMo, so this only reads the first line (a made-up
    key and an unreachable base URL: nothing leaves the machine)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import os; print(bool(os.environ['AIMO_API_KEY']))")]
    nbformat.write(nb, tmp_path / "key.ipynb")
    cli_env.update({"AIMO_API_KEY": TEST_KEY, "AIMO_BASE_URL": "http://127.0.0.1:9/api"})
    done = run_cli(["key.ipynb"], cli_env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("AIMO_API_KEY is set: running key.ipynb against AiMo Network")
    assert TEST_KEY not in done.stdout + done.stderr
    saved = json.loads((tmp_path / "executed" / "key.ipynb").read_text())
    assert saved["cells"][0]["outputs"][0]["text"] == ["True\n"]
