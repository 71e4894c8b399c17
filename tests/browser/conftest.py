"""Fixtures for the browser tests: JupyterLab 4 and Notebook 7 servers, the emulator, chromium.

One Lab server, one Notebook server, one emulator and one chromium serve every test in
this package (and stop when its last test is done); each test gets a new page and its
own notebook file. Every process gets a throwaway HOME so nothing is read from or
written to the real one. Without chromium the tests skip, unless AIMO_REQUIRE_BROWSER=1
(CI), where they fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from waiting import wait_until

from aimo_magic.emulator import EmulatorHandle, start

from .jupyter_pages import API_KEY, CATALOGUE_SIZE, TOKENS_PER_SECOND, NotebookPage

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1100, "height": 900}
SERVER_START_TIMEOUT_S = 60.0
# Inherited settings that would point a server, kernel or browser at the real home.
_DROPPED_ENV_PREFIXES = ("AIMO_", "JUPYTER_", "IPYTHON", "XDG_", "PYTHONSTARTUP")
_NOTIFICATION_SETTINGS = (
    ".jupyter/lab/user-settings/@jupyterlab/apputils-extension/notification.jupyterlab-settings"
)


def _browser_unavailable(reason: str) -> None:
    """Fail in CI (AIMO_REQUIRE_BROWSER=1), skip on a developer machine without chromium."""
    if os.environ.get("AIMO_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (AIMO_REQUIRE_BROWSER=1: the browser tests must run)")
    pytest.skip(f"{reason}; install Debian's chromium (apt-get install chromium) to run them")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the item so the page fixture can see a failure."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="package")
def browser_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway HOME for servers, kernels and chromium, with Lab's news toast silenced."""
    home = tmp_path_factory.mktemp("browser-home")
    settings = home / _NOTIFICATION_SETTINGS
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    return home


def _clean_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED_ENV_PREFIXES)}
    env.update(HOME=str(home), **extra)
    return env


@pytest.fixture(scope="package")
def browser_emulator() -> Iterator[EmulatorHandle]:
    """The browser tests' own emulator, paced like a quick model so that streaming is seen,
    with a padded catalogue to give the selector a long list.
    """
    with start(tokens_per_second=TOKENS_PER_SECOND, catalogue_size=CATALOGUE_SIZE) as handle:
        yield handle


class JupyterServer:
    """A Jupyter server (``jupyterlab`` or ``notebook``) on loopback, without a token."""

    def __init__(self, app: str, root: Path, env: dict[str, str]) -> None:
        self.app = app
        self.root = root
        self._runtime = root.parent / f"{root.name}-runtime"
        self._runtime.mkdir()
        self.log_path = root.parent / f"{root.name}.log"
        self._log = self.log_path.open("w")
        self.url = ""
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                app,
                "--no-browser",
                "--allow-root",
                "--ip=127.0.0.1",
                "--port=0",
                "--ServerApp.token=",
                "--ServerApp.password=",
                # No token and no XSRF: the tests' own DELETE requests stop kernels.
                "--ServerApp.disable_check_xsrf=True",
                f"--ServerApp.root_dir={root}",
            ],
            env={**env, "JUPYTER_RUNTIME_DIR": str(self._runtime)},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_until_ready(self) -> None:
        """The server writes its real URL (port 0 picks a free one) to its runtime file."""
        info = self._runtime / f"jpserver-{self.process.pid}.json"

        def answering() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.app} stopped; its log is {self.log_path}")
            if not info.exists():
                return False
            try:
                url = str(json.loads(info.read_text())["url"]).rstrip("/")
                with urllib.request.urlopen(f"{url}/api/status", timeout=5):
                    self.url = url
                    return True
            except (OSError, ValueError, KeyError):
                return False

        wait_until(
            answering, f"{self.app} answered (its log: {self.log_path})", SERVER_START_TIMEOUT_S
        )

    def api(self, path: str, method: str = "GET") -> Any:
        request = urllib.request.Request(f"{self.url}{path}", method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shut_down_sessions(self) -> None:
        """Stop every kernel this server started: a kernel outlives its page."""
        for session in self.api("/api/sessions"):
            self.api(f"/api/sessions/{session['id']}", method="DELETE")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self._log.close()


@pytest.fixture(scope="package")
def jupyter_servers(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    browser_home: Path,
    browser_emulator: EmulatorHandle,
) -> Iterator[dict[str, JupyterServer]]:
    """A JupyterLab and a Notebook 7 server, started side by side while chromium starts."""
    _require_chromium()
    # The kernel inherits the server's environment: this is how notebooks reach the emulator.
    env = _clean_env(home=browser_home, AIMO_BASE_URL=browser_emulator.base_url)
    env["AIMO_API_KEY"] = API_KEY
    servers: dict[str, JupyterServer] = {}
    try:
        for kind, app in (("lab", "jupyterlab"), ("notebook", "notebook")):
            servers[kind] = JupyterServer(app, tmp_path_factory.mktemp(f"{app}-root"), env)
        request.getfixturevalue("chromium")
        for server in servers.values():
            server.wait_until_ready()
        yield servers
    finally:
        for server in servers.values():
            server.stop()


def _require_chromium() -> None:
    if not (os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _browser_unavailable(f"{CHROMIUM} is not installed")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _browser_unavailable("playwright (Python) is not installed")


@pytest.fixture(scope="package")
def chromium(browser_home: Path) -> Iterator[Browser]:
    """Debian's chromium under Playwright; never a downloaded browser."""
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=CHROMIUM_FLAGS,
            headless=True,
            env=_clean_env(browser_home),
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="package")
def browser_contexts(chromium: Browser) -> Iterator[dict[str, BrowserContext]]:
    """One context per frontend: its cache (and compiled scripts) make later pages quicker."""
    contexts = {kind: chromium.new_context(viewport=VIEWPORT) for kind in ("lab", "notebook")}
    yield contexts
    for context in contexts.values():
        context.close()


@pytest.fixture(params=["lab", "notebook"])
def frontend(request: pytest.FixtureRequest) -> str:
    """Run a test in JupyterLab 4 and again in Notebook 7."""
    return str(request.param)


def screenshot_if_failed(request: pytest.FixtureRequest, page: Page, folder: Path) -> None:
    """Keep a picture of the page when the test failed, never hiding the failure itself."""
    call = getattr(request.node, "report_call", None)
    if call is None or not call.failed:
        return
    shot = folder / "failure.png"
    try:
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot of the failing page: {shot}")
    except Exception as exc:  # a crashed page must not hide the failure itself
        print(f"no screenshot of the failing page: {exc}")


@pytest.fixture
def notebook_page(
    request: pytest.FixtureRequest,
    frontend: str,
    jupyter_servers: dict[str, JupyterServer],
    browser_contexts: dict[str, BrowserContext],
    tmp_path: Path,
) -> Iterator[NotebookPage]:
    """A new browser page on the ``frontend`` under test, ready to open a notebook."""
    server = jupyter_servers[frontend]
    page = browser_contexts[frontend].new_page()
    notebook = NotebookPage(page, frontend, server.url, server.root, name=request.node.name)
    try:
        yield notebook
    finally:
        screenshot_if_failed(request, page, tmp_path)
        page.close()
        server.shut_down_sessions()


@pytest.fixture
def screenshots_dir() -> Path | None:
    """Where the README's screenshots go when ``AIMO_SCREENSHOTS=1``, else None."""
    if os.environ.get("AIMO_SCREENSHOTS") != "1":
        return None
    images = Path(__file__).resolve().parents[2] / "examples" / "images"
    images.mkdir(parents=True, exist_ok=True)
    return images
