"""binder/ builds an environment where the examples run, as mybinder.org would build it.

repo2docker installs ``binder/requirements.txt`` with pip from the repository root into
a fresh virtualenv once the repository is copied in; this test does the same in a real
venv (not one that sees this venv's packages), then runs an example notebook with that
venv's Python as the kernel, from outside the checkout so nothing is imported from it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import venv
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from aimo_magic._version import __version__

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"


def requirement_lines() -> list[str]:
    text = (BINDER / "requirements.txt").read_text(encoding="utf-8")
    return [
        line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#")[0].strip()
    ]


def test_requirements_name_this_checkout() -> None:
    # A local path is what makes repo2docker copy the repository in before installing.
    assert any(line.startswith(".") for line in requirement_lines())


def test_runtime_is_a_python_the_package_supports() -> None:
    runtime = (BINDER / "runtime.txt").read_text(encoding="utf-8").strip()
    match = re.fullmatch(r"python-3\.(\d+)", runtime)
    assert match, f"runtime.txt must read python-3.X, not {runtime!r}"
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    minimum = re.search(r'^requires-python = ">=3\.(\d+)"', pyproject, re.MULTILINE)
    assert minimum and int(match.group(1)) >= int(minimum.group(1))


def newcomer_env() -> dict[str, str]:
    """No AIMO_* settings and nothing that would point Python at this checkout or venv."""
    prefixes = ("AIMO_", "PYTHON", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


@dataclass
class BinderEnv:
    prefix: Path
    home: Path

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.prefix / "bin" / args[0]), *args[1:]],
            cwd=self.home,
            env={**newcomer_env(), **env},
            capture_output=True,
            text=True,
            timeout=300,
        )


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory: pytest.TempPathFactory) -> BinderEnv:
    """A fresh venv with ``pip install -r binder/requirements.txt`` run from the root."""
    prefix = tmp_path_factory.mktemp("binder") / "venv"
    venv.EnvBuilder(with_pip=True).create(prefix)
    install = subprocess.run(
        [
            str(prefix / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "-r",
            "binder/requirements.txt",
        ],
        cwd=ROOT,
        env=newcomer_env(),
        capture_output=True,
        text=True,
        timeout=840,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    home = tmp_path_factory.mktemp("binder-home")
    return BinderEnv(prefix, home)


@pytest.mark.timeout(900)
def test_the_package_is_built_from_this_checkout_into_the_venv(binder_env: BinderEnv) -> None:
    found = binder_env.run(
        "python",
        "-c",
        "import aimo_magic, importlib.metadata as m; "
        "print(aimo_magic.__file__); print(m.version('aimo-magic')); "
        "print(m.distribution('aimo-magic').read_text('direct_url.json'))",
    )
    assert found.returncode == 0, found.stderr
    module_file, version, direct_url = found.stdout.split("\n", 2)
    assert Path(module_file).is_relative_to(binder_env.prefix), "not imported from the checkout"
    assert version == __version__
    assert json.loads(direct_url)["url"] == ROOT.as_uri()


@pytest.mark.kernel
@pytest.mark.timeout(900)
# The quickstart needs the widgets, the analysis pandas: between them, every extra.
@pytest.mark.parametrize("name", ["quickstart", "analysis"])
def test_an_example_runs_in_the_binder_venv_on_the_emulator(
    binder_env: BinderEnv, name: str
) -> None:
    shutil.copy(ROOT / "examples" / f"{name}.ipynb", binder_env.home / f"{name}.ipynb")
    output = f"{name}-executed.ipynb"
    run = binder_env.run(
        "aimo-magic", "demo", f"{name}.ipynb", "-o", output, AIMO_EMULATOR_PACE="0"
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "local AiMo emulator" in run.stdout
    nb = nbformat.read(binder_env.home / output, as_version=4)
    answers = [
        output
        for cell in nb.cells
        if cell.cell_type == "code" and cell.source.startswith("%%aimo")
        for output in cell.outputs
        if output.get("metadata", {}).get("aimo", {}).get("output") == "answer"
    ]
    assert answers and all("text/html" in output.data for output in answers)
    assert not [o for cell in nb.cells for o in cell.get("outputs", []) if o.output_type == "error"]


BINDER_LINK = "https://mybinder.org/v2/gh/{}/HEAD?labpath=examples%2Fquickstart.ipynb"


def test_the_readme_gives_a_binder_link_a_user_can_paste(tmp_path: Path) -> None:
    """No OWNER/REPO placeholder: a worked example, and a command that prints the link
    of the GitHub repository a clone came from (this one or a fork)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("On [mybinder.org]") :]
    section = section[: section.index("`binder/requirements.txt` installs")]
    assert "OWNER" not in section and "REPO/" not in section
    assert BINDER_LINK.format("jane/aimo-magic") in section
    command = re.search(r"```bash\n(git remote get-url origin[^\n]*)\n```", section)
    assert command, "the command that prints the link"
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    for remote in (
        "https://github.com/jane/aimo-magic.git",
        "https://github.com/jane/aimo-magic",
        "git@github.com:jane/aimo-magic.git",
        "ssh://git@github.com/jane/aimo-magic.git",
    ):
        subprocess.run(
            ["git", "-C", str(tmp_path), "remote", "remove", "origin"],
            check=False,
            capture_output=True,
        )
        subprocess.run(["git", "-C", str(tmp_path), "remote", "add", "origin", remote], check=True)
        printed = subprocess.run(
            ["bash", "-c", command.group(1)],
            cwd=tmp_path,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        assert printed == BINDER_LINK.format("jane/aimo-magic") + "\n", (remote, printed)
