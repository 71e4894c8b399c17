"""Running the examples without a key: the emulator switch and ``aimo-magic demo``.

A newcomer should see answers stream within a minute of cloning, so every example
notebook starts with :func:`use_emulator_unless_key` and the CLI runs a notebook
headlessly in a real kernel with :func:`run_demo`. With ``AIMO_API_KEY`` set, the
same notebooks talk to AiMo Network instead: nothing else changes.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aimo_magic.core.answer_book import Replay
    from aimo_magic.emulator import EmulatorHandle
    from aimo_magic.emulator.inprocess import InProcessEmulator
    from aimo_magic.emulator.settings import Timing

PACE_ENV = "AIMO_EMULATOR_PACE"
"""Tokens per second for the example emulator; overrides the notebook's choice (0 = no pacing)."""
HEADLESS_PACE = "400"
"""Fast enough that the whole quickstart runs in seconds, slow enough to still stream."""
DEFAULT_NOTEBOOK = "examples/quickstart.ipynb"
IN_PROCESS_ENV = "AIMO_EMULATOR_IN_PROCESS"
"""Set to 1 to run the examples' emulator in-process even where sockets work."""

_running: EmulatorHandle | InProcessEmulator | None = None


def _in_process() -> bool:
    """No socket server can run in Pyodide; elsewhere ``AIMO_EMULATOR_IN_PROCESS=1`` asks."""
    from aimo_magic.emulator.runners import sockets_available

    return not sockets_available() or os.environ.get(IN_PROCESS_ENV, "") in ("1", "true", "yes")


def _start(
    tokens_per_second: float | None, latency_ms: float, timing: Timing
) -> EmulatorHandle | InProcessEmulator:
    if _in_process():
        from aimo_magic.emulator.inprocess import start_in_process

        return start_in_process(
            tokens_per_second=tokens_per_second, latency_ms=latency_ms, timing=timing
        )
    from aimo_magic.emulator import start

    return start(tokens_per_second=tokens_per_second, latency_ms=latency_ms, timing=timing)


def _pace(tokens_per_second: float | None) -> float | None:
    raw = os.environ.get(PACE_ENV, "").strip()
    if not raw:
        return tokens_per_second
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(
            f"{PACE_ENV}={raw!r} is not a number of tokens per second; set it to e.g. 60, "
            "0 for no pacing, or unset it."
        ) from None
    if value < 0:
        raise ValueError(f"{PACE_ENV} must be 0 or more, got {raw!r}.")
    return value or None


def _answer_file(answers: str | os.PathLike[str] | None, pace: float | None) -> Replay | None:
    """The notebook's answer file put in use: ``AIMO_ANSWERS`` if set, else ``answers``
    if that file exists; None when there is none (or ``AIMO_ANSWERS=off``)."""
    from aimo_magic.core.answer_book import (
        ENV_STRICT,
        answers_from_environment,
        answers_switched_off,
        use_answers,
    )

    if answers_switched_off():
        return None
    chosen = answers_from_environment()
    if chosen is None:
        if answers is None or not Path(answers).is_file():
            return None
        chosen = str(answers)
    strict = os.environ.get(ENV_STRICT, "").strip().lower() in ("1", "true", "yes")
    return use_answers(chosen, strict=strict, pace=pace)


def use_emulator_unless_key(
    tokens_per_second: float | None = 60.0,
    answers: str | os.PathLike[str] | None = None,
    *,
    latency_ms: float = 0,
    timing: Timing = "uniform",
) -> EmulatorHandle | InProcessEmulator | None:
    """Point ``%%aimo`` at a local emulator when ``AIMO_API_KEY`` is unset; say which backend.

    ``answers`` names the notebook's answer file (``NAME.answers.jsonl`` beside
    ``NAME.ipynb``): without a key, every request recorded in it is answered from it
    (``AIMO_ANSWERS`` names another; ``AIMO_ANSWERS=off`` uses none), and the emulator
    answers the rest. A strict replay (``AIMO_ANSWERS_STRICT=1``) starts no emulator.

    Returns the running emulator (stop it with ``.stop()``), or None when a key is set
    and requests go to AiMo Network. ``tokens_per_second`` paces the canned answers so
    a person can watch them stream (and the recorded ones, in words per second);
    ``AIMO_EMULATOR_PACE`` overrides it for headless runs. ``latency_ms`` (before each
    first token) and ``timing="varied"`` (each model and provider starts and streams at
    its own share of that latency and pace, as on the marketplace) make speeds differ, for
    an evaluation or a comparison to show. Running it again reuses the emulator it
    started, as it was started. Where no socket server can run (Pyodide, JupyterLite) the
    emulator answers in-process, with no server at all.
    """
    global _running
    from aimo_magic.core.config import DEFAULT_BASE_URL, ENV_API_KEY, ENV_BASE_URL

    key = os.environ.get(ENV_API_KEY)
    # The key this function put there earlier is not the user's: keep the emulator.
    if key and (_running is None or key != _running.api_key):
        url = os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL
        print(f"Using AiMo Network at {url} with the key from {ENV_API_KEY}.")
        return None
    replay = _answer_file(answers, _pace(tokens_per_second))
    if replay is not None and replay.strict:
        print(
            f"No {ENV_API_KEY} set: answering from {replay.describe()}, strictly: a request "
            "not recorded in it stops its cell, and nothing is sent."
        )
        return None
    if _running is None or not _running.running:
        _running = _start(_pace(tokens_per_second), latency_ms, timing)
    _running.configure()
    started = _running.settings
    pace = started.tokens_per_second
    speed = f"streamed at {pace:g} tokens/s" if pace else "streamed as fast as possible"
    if started.latency_ms:
        speed += f" after a first-token wait of {started.latency_ms:g} ms"
    if started.timing == "varied":
        speed += ", each model and provider at its own share of that"
    where = "in this process (no server)" if _running.in_process else f"at {_running.base_url}"
    from aimo_magic.emulator.runners import sockets_available

    switch = (
        f"Set {ENV_API_KEY} before starting Jupyter to use AiMo Network instead."
        if sockets_available()
        else "To use AiMo Network instead: %aimo login, then "
        f"%env {ENV_BASE_URL}={DEFAULT_BASE_URL} (the API must allow this site: see the README)."
    )
    emulator = f"the local AiMo emulator {where} (canned answers, {speed}; no network, no cost)"
    if replay is None:
        print(f"No {ENV_API_KEY} set: using {emulator}.\n{switch}")
    else:
        print(
            f"No {ENV_API_KEY} set: answering from {replay.describe()} (recorded answers, "
            f"no cost); anything not recorded goes to {emulator}.\n{switch}"
        )
    return _running


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.resolve())


def _open_hint(output: Path) -> str:
    import importlib.util

    jupyter = Path(sys.executable).parent / "jupyter"
    command = f"{_shown(jupyter) if jupyter.exists() else 'jupyter'} lab {_shown(output)}"
    if importlib.util.find_spec("jupyterlab") is not None:
        return f"Open it in Jupyter: {command}"
    pip = Path(sys.executable).parent / "pip"
    return (
        f"Open it in Jupyter: {_shown(pip) if pip.exists() else 'pip'} install jupyterlab, "
        f"then {command}"
    )


def _cell_label(source: str) -> str:
    """The first line, and for a cell magic the first line of its body too."""
    lines = [line for line in source.strip().splitlines() if line.strip()][:2]
    label = " · ".join(lines) if lines and lines[0].startswith("%%") else "".join(lines[:1])
    return label if len(label) <= 72 else label[:71] + "…"


def _kernel_manager() -> Any:
    """A kernel on this very Python, whatever ``python3`` kernelspecs the user has installed."""
    from jupyter_client import AsyncKernelManager
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager

    class ThisPython(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
            return KernelSpec(
                argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                display_name="Python 3 (ipykernel)",
                language="python",
                name="python3",
            )

    return AsyncKernelManager(kernel_name="python3", kernel_spec_manager=ThisPython())


def _execute(notebook: Any, workdir: Path, timeout: int, env: dict[str, str]) -> str | None:
    """Run every cell in a fresh kernel; the one-line reason it stopped, or None."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    code_cells = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"]

    def progress(cell: Any, cell_index: int, execute_reply: Any) -> None:
        number = code_cells.index(cell_index) + 1
        mark = "✓"
        if execute_reply.get("content", {}).get("status") != "ok":
            expected = "raises-exception" in cell.metadata.get("tags", [])
            mark = "✓ (failed on purpose)" if expected else "✗"
        print(f"  [{number}/{len(code_cells)}] {mark} {_cell_label(cell.source)}", flush=True)

    client = NotebookClient(
        notebook,
        km=_kernel_manager(),
        timeout=timeout,
        resources={"metadata": {"path": str(workdir)}},
        on_cell_executed=progress,
        # ipykernel warns that loopback TCP is unencrypted: noise for a local demo.
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
    )
    try:
        client.execute(env=env, cleanup_kc=True)
    except CellExecutionError as exc:
        return f"a cell failed: {exc.ename}: {exc.evalue}".rstrip(": .")
    except CellTimeoutError:
        return f"a cell ran longer than {timeout} s (raise it with --timeout SECONDS)"
    except DeadKernelError as exc:
        return f"the kernel died ({exc})"
    return None


def _demo_environment(
    source: Path, answers: Path | None, record: Path | None
) -> dict[str, str] | str:
    """The kernel's environment for this run, having said where answers come from; or
    the one line saying why the run cannot start."""
    from aimo_magic.core.answer_book import ENV_ANSWERS, ENV_PACE, ENV_STRICT, OFF
    from aimo_magic.core.config import DEFAULT_BASE_URL, ENV_API_KEY, ENV_BASE_URL

    env = dict(os.environ)
    if answers is not None:
        if not answers.is_file():
            return f"no answer file at {answers}; record one with --record {answers}"
        env.pop(ENV_API_KEY, None)
        env.update({ENV_ANSWERS: str(answers.resolve()), ENV_STRICT: "1"})
        env.setdefault(ENV_PACE, "0")
        print(
            f"Running {_shown(source)} from the answers in {_shown(answers)} (strict: nothing "
            "is sent; a request not recorded there stops its cell)."
        )
        return env
    if record is not None:
        env[ENV_ANSWERS] = OFF  # the notebook's own answer file must not answer
    if env.get(ENV_API_KEY):
        url = env.get(ENV_BASE_URL) or DEFAULT_BASE_URL
        print(f"{ENV_API_KEY} is set: running {_shown(source)} against AiMo Network at {url}.")
        return env
    env.setdefault(PACE_ENV, HEADLESS_PACE)
    beside = source.with_suffix(".answers.jsonl")
    if record is None and beside.is_file() and env.get(ENV_ANSWERS, "").lower() != OFF:
        print(
            f"No {ENV_API_KEY}: running {_shown(source)} from its recorded answers in "
            f"{_shown(beside)}, the local AiMo emulator answering anything else (no key, no "
            f"network; {ENV_ANSWERS}=off for the emulator alone)."
        )
    else:
        print(
            f"No {ENV_API_KEY}: running {_shown(source)} against the local AiMo emulator "
            "(no key, no network)."
        )
    return env


def run_demo(
    notebook: str | os.PathLike[str] = DEFAULT_NOTEBOOK,
    *,
    output: str | os.PathLike[str] | None = None,
    timeout: int = 300,
    answers: str | os.PathLike[str] | None = None,
    record: str | os.PathLike[str] | None = None,
) -> int:
    """Run a notebook headlessly in a real kernel, save it executed, say where; exit status.

    Without ``AIMO_API_KEY`` the notebook's first cell starts the emulator (paced by
    ``AIMO_EMULATOR_PACE``, fast by default here); with it, the run uses AiMo Network.
    ``answers`` runs it from that answer file alone, strictly (for CI: nothing is
    sent, and a request not recorded there fails its cell); ``record`` runs it without
    any answer file and then saves every answer it used to that file.
    The executed notebook goes to ``executed/<name>.ipynb`` beside the notebook unless
    ``output`` says otherwise, and is saved even when a cell fails.
    """
    source = Path(notebook)
    if not source.is_file():
        print(
            f"aimo-magic demo: no notebook at {source}; run it from the repository root "
            "or give a path: aimo-magic demo path/to/notebook.ipynb",
            file=sys.stderr,
        )
        return 2
    if answers is not None and record is not None:
        print("aimo-magic demo: choose --answers FILE or --record FILE, not both.", file=sys.stderr)
        return 2
    target = Path(output) if output else source.parent / "executed" / source.name
    recording = Path(record).resolve() if record is not None else None
    env = _demo_environment(source, Path(answers) if answers is not None else None, recording)
    if isinstance(env, str):
        print(f"aimo-magic demo: {env}", file=sys.stderr)
        return 2
    import nbformat  # slow to import: after the first message, so the user sees progress

    from aimo_magic.core.secrets import redact

    try:
        nb = nbformat.read(source, as_version=4)
    except Exception as exc:
        print(f"aimo-magic demo: cannot read {source} as a notebook: {exc}", file=sys.stderr)
        return 2
    if recording is not None:  # one more cell saves the answers; it is not kept
        nb.cells.append(nbformat.v4.new_code_cell(f"%aimo answers save {recording}"))
    failure = _execute(nb, source.resolve().parent, timeout, env)
    if recording is not None:
        nb.cells.pop()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(redact(nbformat.writes(nb)), encoding="utf-8")
    if failure is not None:
        print(
            f"aimo-magic demo: {failure}; the notebook as far as it ran is in {_shown(target)}",
            file=sys.stderr,
        )
        return 1
    print(f"Done. The executed notebook, with every answer, is in {_shown(target)}")
    if recording is not None:
        print(
            f"Its answers are in {_shown(recording)}; to run it from them alone: "
            f"aimo-magic demo {_shown(source)} --answers {_shown(recording)}"
        )
    print(_open_hint(target))
    return 0
