"""Driving a notebook in JupyterLab 4 or Notebook 7 the way a person does: click, type, look.

Both frontends share the notebook DOM (``.jp-Cell``, ``.jp-OutputArea``, the toolbar's
commands), so one class drives either; only the URL differs.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Dialog, JSHandle, Locator, Page

API_KEY = "aimo-sk-v2-test-browser-0000"
CATALOGUE_SIZE = 40
"""Models the browser tests' emulator lists: enough that the selector's list scrolls."""
TOKENS_PER_SECOND = 100.0
"""The emulator's pace unless a prompt says ``::pace R``: a rich answer (about 500 tokens)
streams for about 5 s, some 50 display updates, so a busy machine still shows it growing."""
TIMEOUT_MS = 30_000
_DONE_PROMPT = re.compile(r"\[\d+\]")

# Everything under ``root`` that could run script, load a page or restyle the notebook.
FIND_ACTIVE_CONTENT = """root => {
    const found = [];
    const banned = ['script', 'iframe', 'frame', 'object', 'embed', 'form', 'meta', 'base',
                    'link', 'style'];
    const urlAttrs = ['href', 'src', 'action', 'formaction', 'xlink:href', 'data', 'srcdoc'];
    for (const el of root.querySelectorAll('*')) {
        const tag = el.tagName.toLowerCase();
        if (banned.includes(tag)) found.push(`<${tag}> element`);
        for (const attr of el.attributes) {
            const name = attr.name.toLowerCase();
            const value = attr.value.replace(/[\\s\\u0000-\\u001f]/g, '').toLowerCase();
            if (name.startsWith('on')) found.push(`<${tag} ${name}="${attr.value}">`);
            if (urlAttrs.includes(name) && value.startsWith('javascript:'))
                found.push(`<${tag} ${name}="${attr.value}">`);
        }
    }
    return found;
}"""

# Every distinct text an element shows until stopped, read after each change to it: a
# MutationObserver misses no state the page rendered, however busy the machine (sampling
# on a timer can sleep through several).
RECORD_TEXTS = """el => {
    const seen = [];
    const sample = () => {
        const text = el.innerText;
        if (seen.length === 0 || seen[seen.length - 1] !== text) seen.push(text);
    };
    sample();
    const observer = new MutationObserver(sample);
    observer.observe(el, {childList: true, subtree: true, characterData: true});
    return {stop() { observer.disconnect(); sample(); return seen; }};
}"""


def new_notebook(sources: list[str]) -> Any:
    """A notebook of code cells on the python3 kernel of the server's environment."""
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    return notebook


def file_name(test_name: str) -> str:
    """A notebook file name from a test id such as ``test_x[lab]``."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", test_name).strip("-") + ".ipynb"


class NotebookPage:
    """One notebook open in a browser page, with every dialog the page tried to show and
    every uncaught script error once the notebook was open.
    """

    def __init__(self, page: Page, kind: str, server_url: str, root: Path, name: str) -> None:
        self.page = page
        self.kind = kind
        self.server_url = server_url
        self.root = root
        self.path = file_name(name)
        self.dialogs: list[str] = []
        self.page_errors: list[str] = []
        page.set_default_timeout(TIMEOUT_MS)
        page.on("dialog", self._on_dialog)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))

    def _on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    # Opening ------------------------------------------------------------------------

    def open(self, *sources: str) -> None:
        """Write a notebook of these cells, open it, and wait until its kernel is ready."""
        self.open_notebook(new_notebook(list(sources)))

    def open_notebook(self, notebook: Any) -> None:
        """Write this notebook (outputs and all, unsigned: so untrusted), open it, and wait
        until its kernel is ready."""
        import nbformat

        nbformat.write(notebook, self.root / self.path)
        if self.kind == "lab":
            self.page.goto(f"{self.server_url}/lab/tree/{self.path}?reset")
        else:
            self.page.goto(f"{self.server_url}/notebooks/{self.path}")
        self._wait_for_kernel()
        # Keys sent before the frontend knows its kernel is idle are dropped.
        self.page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for()
        self.cell(len(notebook.cells) - 1).wait_for()
        # Notebook 7.6 itself throws one error while loading (reading 'schema'): only
        # errors from here on can come from what the cells show.
        self.page_errors.clear()

    def _wait_for_kernel(self) -> None:
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"{self.server_url}/api/sessions", timeout=10) as reply:
                sessions: list[dict[str, Any]] = json.loads(reply.read())
            if any(
                s["path"] == self.path and s["kernel"]["execution_state"] == "idle"
                for s in sessions
            ):
                return
            self.page.wait_for_timeout(100)  # lets Playwright handle page events meanwhile
        raise AssertionError(f"the kernel of {self.path} did not become idle")

    # Cells --------------------------------------------------------------------------

    def cell(self, index: int) -> Locator:
        return self.page.locator(".jp-Notebook .jp-Cell").nth(index)

    def output(self, index: int) -> Locator:
        """The output area of a cell: every output it shows, in order."""
        return self.cell(index).locator(".jp-OutputArea").first

    def run(self, index: int) -> None:
        """Select the cell in command mode and press Shift+Enter, as a person would."""
        self.cell(index).locator(".jp-InputPrompt").click()
        self.page.keyboard.press("Shift+Enter")

    def wait_until_done(self, index: int) -> None:
        """The cell's prompt shows an execution count (``[3]:``) once it has finished."""
        from playwright.sync_api import expect

        expect(self.cell(index).locator(".jp-InputPrompt")).to_have_text(
            _DONE_PROMPT, timeout=TIMEOUT_MS
        )

    def run_and_wait(self, index: int) -> None:
        self.run(index)
        self.wait_until_done(index)

    def interrupt(self) -> None:
        """The toolbar's stop button ("Interrupt the kernel")."""
        self.page.locator(
            '.jp-NotebookPanel-toolbar [data-command="notebook:interrupt-kernel"]'
        ).click()

    # Looking ------------------------------------------------------------------------

    def text(self, index: int) -> str:
        """What a cell's outputs read, as shown: JupyterLab skips rendering cells scrolled
        out of view (``content-visibility``), and those read as empty.
        """
        output = self.output(index)
        output.scroll_into_view_if_needed()
        return output.inner_text()

    def record_texts(self, index: int) -> JSHandle:
        """Start recording a cell's output text in the page; ``stop_recording`` ends it."""
        return self.output(index).evaluate_handle(RECORD_TEXTS)

    @staticmethod
    def stop_recording(recorder: JSHandle) -> list[str]:
        texts: list[str] = recorder.evaluate("recorder => recorder.stop()")
        return texts

    def active_content(self, index: int) -> list[str]:
        """Elements and attributes in a cell's outputs that could run script."""
        found: list[str] = self.output(index).evaluate(FIND_ACTIVE_CONTENT)
        return found

    def screenshot(self, target: Locator, path: Path) -> None:
        """A picture of one element, the viewport made tall enough to hold all of it."""
        box = target.bounding_box()
        assert box is not None, "the element to photograph is not shown"
        size = self.page.viewport_size or {"width": 1100, "height": 900}
        self.page.set_viewport_size({"width": size["width"], "height": int(box["height"]) + 400})
        self.page.mouse.move(0, 0)  # no hover highlight in the picture
        target.scroll_into_view_if_needed()
        target.screenshot(path=str(path), animations="disabled")

    def window_value(self, name: str) -> Any:
        return self.page.evaluate("name => window[name]", name)
