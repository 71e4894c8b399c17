"""The JupyterLite site: the quickstart runs in the browser tab, offline, with no server.

The site is built once per test session with ``binder/jupyterlite/build.py`` (from the
package registries, as a user would build it), served as static files on 127.0.0.1,
and opened in chromium with every request outside 127.0.0.1 aborted. Then the
quickstart's cells run as a student would run them: ``%pip install`` from the site's
own wheels, the answers recorded in the quickstart's answer file (bundled beside it)
streaming at a readable pace, the emulator in-process in Pyodide for anything else
(the hostile cell), the selector. A
model's hostile HTML, asked for in an extra cell, must stay inert; a raw-HTML control
cell shows that the checks would see it if it were not. Then the model calls the
notebook's functions (``--tools``, without pydantic, which the site cannot have): a card
per call, and the approval question the cell waits on, answered in the page.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import nbformat
import pytest

from aimo_magic.emulator import EmulatorHandle

from .conftest import _browser_unavailable, screenshot_if_failed
from .jupyter_pages import FIND_ACTIVE_CONTENT, RECORD_TEXTS

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

# Pyodide boots, then every cell runs in one tab: minutes on two busy cores.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "binder" / "jupyterlite" / "build.py"
QUICKSTART = ROOT / "examples" / "quickstart.ipynb"
# Tall, so the first cells stay on screen while the rest run: Lab renders only what is shown.
VIEWPORT = {"width": 1100, "height": 2400}
BUILD_TIMEOUT_S = 900
# Pyodide starts, installs the kernel, then aimo-magic: slow on two busy cores.
FIRST_CELL_TIMEOUT_MS = 300_000
CELL_TIMEOUT_MS = 120_000
_DONE_PROMPT = re.compile(r"\[\d+\]")
CONTROL = (
    "from IPython.display import HTML\n"
    "HTML('<img src=x onerror=\"window.aimoControl=1\">'\n"
    "     '<a href=\"javascript:void(0)\">x</a>')"
)
TOOLS = '''import sys
import aimo_magic

@aimo_magic.tool
def column_stats(column: str, decimals: int = 2) -> dict:
    """Summary statistics of one column."""
    return {"column": column, "mean": round(41.5, decimals), "pydantic": "pydantic" in sys.modules}

@aimo_magic.tool(approve=True)
def save_chart(column: str, path: str) -> str:
    """Plot a column and save the figure to path."""
    SAVED.append(path)
    return "saved " + path

SAVED = []'''
TOOLS_MODEL = "DeepSeek-V3-1"


@pytest.fixture(scope="session")
def jupyterlite_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built once per session into a pytest temporary directory."""
    if shutil.which("npm") is None:
        _browser_unavailable("npm is not installed (the site's Pyodide comes from npm)")
    base = tmp_path_factory.mktemp("jupyterlite")
    site = base / "site"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIMO_")}
    result = subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), "--output", str(site), "--work", str(base / "work")],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        env=env,
        check=False,
    )
    print(result.stdout[-2000:])
    assert result.returncode == 0, (
        f"the site did not build:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return site


class _StaticFiles(http.server.SimpleHTTPRequestHandler):
    extensions_map = {  # noqa: RUF012 - the base class's own attribute, extended
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".json": "application/json",
        ".wasm": "application/wasm",
    }

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def site_url(jupyterlite_site: Path) -> Iterator[str]:
    """The built site on a static file server on 127.0.0.1, as GitHub Pages would serve it."""
    handler = functools.partial(_StaticFiles, directory=str(jupyterlite_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="jupyterlite-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class LitePage:
    """The quickstart open in JupyterLite's Lab, with what the page tried beyond the site."""

    def __init__(self, page: Page, site: str) -> None:
        self.page = page
        self.site = site
        self.outside: list[str] = []
        self.dialogs: list[str] = []
        self.page_errors: list[str] = []
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))

    def code_cell(self, index: int) -> Locator:
        return self.page.locator(".jp-Notebook .jp-CodeCell").nth(index)

    def output(self, index: int) -> Locator:
        return self.code_cell(index).locator(".jp-OutputArea").first

    def text(self, index: int) -> str:
        output = self.output(index)
        output.scroll_into_view_if_needed()
        return output.inner_text()

    def wait_until_done(self, index: int, timeout_ms: int = CELL_TIMEOUT_MS) -> None:
        from playwright.sync_api import expect

        prompt = self.code_cell(index).locator(".jp-InputPrompt")
        expect(prompt).to_have_text(_DONE_PROMPT, timeout=timeout_ms)

    def open_quickstart(self) -> None:
        """Open the quickstart and wait until its kernel is idle: Lab drops what is sent
        before its frontend knows the kernel is ready (Pyodide takes a while to boot)."""
        self.page.goto(f"{self.site}/lab/index.html?path=quickstart.ipynb")
        self.code_cell(0).wait_for(timeout=FIRST_CELL_TIMEOUT_MS)
        self.page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for(
            timeout=FIRST_CELL_TIMEOUT_MS
        )

    def run_all(self) -> None:
        """Run ▸ Run All Cells; the first cell is queued (``[*]``) or done once it took."""
        from playwright.sync_api import expect

        self.page.locator(".lm-MenuBar-itemLabel", has_text="Run").click()
        item = self.page.locator(".lm-Menu-item:not(.lm-mod-disabled)").filter(
            has=self.page.locator(".lm-Menu-itemLabel").get_by_text("Run All Cells", exact=True)
        )
        item.click()
        expect(self.code_cell(0).locator(".jp-InputPrompt")).to_have_text(
            re.compile(r"\[(\*|\d+)\]")
        )

    def add_cell_and_run(self, source: str, *, wait: bool = True) -> int:
        """Type a new cell below the last one, as a person would, and run it.

        Lines after the first are pasted, so the editor adds no indentation of its own.
        """
        count = self.page.locator(".jp-Notebook .jp-CodeCell").count()
        last = self.page.locator(".jp-Notebook .jp-Cell").last
        last.locator(".jp-InputPrompt").click()
        self.page.keyboard.press("b")
        self.page.keyboard.press("Enter")
        first, *rest = source.split("\n", 1)
        self.page.keyboard.type(first)
        if rest:
            self.page.keyboard.insert_text("\n" + rest[0])
        self.page.keyboard.press("Shift+Enter")
        if wait:
            self.wait_until_done(count)
        return count

    def answer_prompt(self, index: int, reply: str) -> tuple[str, str]:
        """Wait for the stdin box under the running cell and answer it; the question it
        asked, and what the cell showed while it waited."""
        box = self.code_cell(index).locator(".jp-Stdin-input")
        box.wait_for(timeout=CELL_TIMEOUT_MS)
        question = self.code_cell(index).locator(".jp-Stdin-prompt").inner_text()
        waiting = self.text(index)
        box.fill(reply)
        box.press("Enter")
        return question, waiting


@pytest.fixture
def lite(
    request: pytest.FixtureRequest, chromium: Browser, site_url: str, tmp_path: Path
) -> Iterator[LitePage]:
    with _lite_page(request, chromium, site_url, tmp_path, service_workers="allow") as page:
        yield page


@pytest.fixture
def lite_without_service_worker(
    request: pytest.FixtureRequest, chromium: Browser, site_url: str, tmp_path: Path
) -> Iterator[LitePage]:
    """The site in a browser that runs no service worker for it (as on a plain-http
    address other than localhost, or in some private windows)."""
    with _lite_page(request, chromium, site_url, tmp_path, service_workers="block") as page:
        yield page


@contextlib.contextmanager
def _lite_page(
    request: pytest.FixtureRequest,
    chromium: Browser,
    site_url: str,
    tmp_path: Path,
    service_workers: Literal["allow", "block"],
) -> Iterator[LitePage]:
    context = chromium.new_context(viewport=VIEWPORT, service_workers=service_workers)
    page = context.new_page()
    lite_page = LitePage(page, site_url)

    def only_loopback(route: object) -> None:
        from playwright.sync_api import Route

        assert isinstance(route, Route)
        if route.request.url.startswith("http://127.0.0.1:"):
            route.continue_()
        else:
            lite_page.outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_loopback)
    try:
        yield lite_page
    finally:
        screenshot_if_failed(request, page, tmp_path)
        context.close()


def test_the_quickstart_runs_in_the_browser_with_no_server(
    lite: LitePage, browser_emulator: EmulatorHandle
) -> None:
    page = lite.page
    lite.open_quickstart()
    sources = [
        c.source for c in nbformat.read(QUICKSTART, as_version=4).cells if c.cell_type == "code"
    ]
    cells = len(sources)
    first_answer = next(i for i, s in enumerate(sources) if "%%aimo" in s)
    selector = next(i for i, s in enumerate(sources) if "%aimo select" in s)

    lite.run_all()
    recorder = lite.output(first_answer).evaluate_handle(RECORD_TEXTS)
    lite.wait_until_done(0, FIRST_CELL_TIMEOUT_MS)
    setup = lite.text(0)
    # The site bundles the quickstart's answer file (as .txt: see build.py's bundle_answers):
    # recorded answers, the emulator for the rest.
    assert "answering from quickstart.answers.txt" in setup, setup
    assert "emulator in this process (no server)" in setup, setup
    lite.wait_until_done(first_answer)
    seen: list[str] = recorder.evaluate("recorder => recorder.stop()")
    for index in range(cells):
        lite.wait_until_done(index)

    # Streamed: the first answer was seen growing, piece by piece, before its footer came.
    final = seen[-1]
    assert "tokens" in final.strip().splitlines()[-1], "the footer comes last"
    growing = [t for t in seen[:-1] if t.strip() and len(t) < 0.9 * len(final)]
    assert len(growing) >= 5, f"the answer did not stream: {[t[:60] for t in growing]}"
    heading = final.splitlines()[0]
    assert all(heading.startswith(t.splitlines()[0]) for t in growing)
    assert all("tokens" not in t for t in growing)
    for index, source in enumerate(sources):
        shown = lite.text(index)
        assert "Traceback" not in shown, (source, shown)
        if source.startswith("%%aimo"):
            assert "DeepSeek-V3-1" in shown or "gpt-4o" in shown, shown
            assert "tokens" in shown, f"no footer under {source!r}"
            assert "(quickstart.answers.txt)" in shown, f"not the recorded answer: {shown!r}"
    answer_html = lite.output(first_answer).inner_html()
    assert "<h" in answer_html and "<pre" in answer_html, "rendered markdown with code"

    # The selector is a live widget (ipywidgets' labextension is in the site).
    panel = lite.output(selector)
    panel.scroll_into_view_if_needed()
    assert panel.locator("select").count() >= 1
    assert panel.get_by_role("button", name="Use this model").is_visible()

    # A model's hostile HTML, streamed into this very page, runs nothing.
    hostile = lite.add_cell_and_run("%%aimo --no-history\n::hostile ::pace 0")
    found: list[str] = lite.output(hostile).evaluate(FIND_ACTIVE_CONTENT)
    assert found == [], found
    shown = lite.text(hostile)
    assert "Totally normal answer" in shown and "<script>alert(1)</script>" in shown
    assert lite.dialogs == [] and page.evaluate("() => window.aimoInjected") is None
    assert page.locator(".jp-Notebook").is_visible(), "a hostile <style> hid the notebook"
    # The control: raw trusted HTML does run here, and the same check sees it.
    control = lite.add_cell_and_run(CONTROL)
    page.wait_for_function("() => window.aimoControl === 1")
    found = lite.output(control).evaluate(FIND_ACTIVE_CONTENT)
    assert any("onerror" in f for f in found) and any("javascript:" in f for f in found)

    # The model calls the notebook's functions: pydantic is not in the site, the tools
    # work all the same; a card per call; the approval question waits for the person.
    assert lite.text(lite.add_cell_and_run(TOOLS)).strip() == ""
    read_only = lite.add_cell_and_run(
        f"%%aimo {TOOLS_MODEL} --tools column_stats,save_chart\nWhat does column_stats say?"
    )
    shown = lite.text(read_only)
    assert "Traceback" not in shown and "⚙ column_stats" in shown, shown
    assert "done" in shown and "1 call in 2 steps" in shown, shown
    assert shown.index("function call") < shown.index("tokens"), "cards above, footer last"
    card = lite.output(read_only).locator("details")
    assert card.count() == 1
    card.locator("summary").click()
    assert '"mean": 41.5' in card.inner_text(), card.inner_text()
    assert '"pydantic": false' in card.inner_text(), "the site has no pydantic"
    approved = lite.add_cell_and_run(
        f"%%aimo {TOOLS_MODEL} --tools save_chart\nPlease use save_chart.", wait=False
    )
    question, waiting = lite.answer_prompt(approved, "y")
    assert question.startswith("Run save_chart({") and "[a]ll for this cell" in question
    assert "waiting for approval" in waiting, waiting
    lite.wait_until_done(approved)
    shown = lite.text(approved)
    assert "⚙ save_chart" in shown and "done" in shown and "saved " in shown, shown
    declined = lite.add_cell_and_run(
        f"%%aimo {TOOLS_MODEL} --tools save_chart\nPlease use save_chart again.", wait=False
    )
    lite.answer_prompt(declined, "n")
    lite.wait_until_done(declined)
    assert "declined" in lite.text(declined)
    assert lite.text(lite.add_cell_and_run("print(len(SAVED), 'saved')")).strip() == "1 saved"

    # A real server on another origin that allows no cross-origin calls (as an API without
    # CORS): the browser blocks the call, and the cell says so in one line.
    blocked = lite.add_cell_and_run(
        "%aimo answers off\n"  # else the model list comes from the answer file
        f"%env AIMO_BASE_URL={browser_emulator.base_url}\n%aimo models --refresh"
    )
    said = lite.text(blocked)
    assert "The browser blocked or could not make the call to http://127.0.0.1:" in said, said
    assert "CORS" in said and "Traceback" not in said, said

    assert lite.outside == [], f"the site reached outside 127.0.0.1: {lite.outside[:5]}"
    assert lite.page_errors == [], lite.page_errors[:3]


def test_without_a_service_worker_approval_is_refused_in_one_line(
    lite_without_service_worker: LitePage,
) -> None:
    """No service worker, no stdin prompt: a call needing approval is refused with a line
    saying how to let it run, and --approve all runs it."""
    lite = lite_without_service_worker
    page = lite.page
    lite.open_quickstart()
    lite.code_cell(0).locator(".jp-InputPrompt").click()
    page.keyboard.press("Shift+Enter")  # the setup cell only
    lite.wait_until_done(0, FIRST_CELL_TIMEOUT_MS)
    assert "emulator in this process (no server)" in lite.text(0)
    lite.add_cell_and_run(TOOLS)
    refused = lite.add_cell_and_run(
        f"%%aimo {TOOLS_MODEL} --tools save_chart\nPlease use save_chart."
    )
    shown = lite.text(refused)
    assert "Traceback" not in shown and "⚙ save_chart" in shown and "refused" in shown, shown
    assert (
        "save_chart needs approval and nobody can answer a prompt here: run the cell with "
        "--approve all to let its calls run." in shown
    ), shown
    assert lite.page.locator(".jp-Stdin-input").count() == 0
    allowed = lite.add_cell_and_run(
        f"%%aimo {TOOLS_MODEL} --tools save_chart --approve all\nPlease use save_chart."
    )
    shown = lite.text(allowed)
    assert "⚙ save_chart" in shown and "saved " in shown and "refused" not in shown, shown
    assert lite.text(lite.add_cell_and_run("print(len(SAVED), 'saved')")).strip() == "1 saved"
    # (JupyterLite itself reports a page error, 'undefined', when its service worker
    # cannot register: not checked here.)
    assert lite.outside == [], lite.outside
