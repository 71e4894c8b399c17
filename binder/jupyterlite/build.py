#!/usr/bin/env python3
"""Build the aimo-magic JupyterLite site: the examples in the browser, offline, no server.

    python3 binder/jupyterlite/build.py                 # -> build/jupyterlite/site
    python3 binder/jupyterlite/build.py --output DIR    # anywhere else

Everything comes from the package registries (PyPI and npm), nothing from a CDN, and
the site needs nothing but a static web server once built:

1. a build venv with jupyterlite-core and jupyterlite-pyodide-kernel (PyPI);
2. Pyodide's core (the interpreter, its standard library, its lock file) from the npm
   ``pyodide`` package;
3. the lock's packages the kernel and aimo-magic need (micropip, IPython and its
   dependencies, starlette, ...) as the same versions' wheels from PyPI, with the lock
   entries' file names and sha256 rewritten to match them;
4. aimo-magic's wheel (built from this checkout) and every pure-Python dependency the
   lock lacks or has too old (httpx2, idna >= 3.18, justhtml, markdown-it-py,
   ipywidgets, comm, ...) bundled for piplite, with PyPI fallback disabled, so
   ``%pip install aimo-magic`` in the site installs from the site;
5. the example notebooks that need nothing compiled (pandas is only on Pyodide's CDN),
   each with its answer file (as ``NAME.answers.txt``), so a link gives recorded answers.

Dependencies are resolved the way micropip will at run time: a requirement the lock
satisfies comes from the lock, anything else from the bundle; markers are evaluated for
Pyodide (``sys_platform == "emscripten"``), so nh3 and uvicorn stay out and justhtml
comes in. Pure-Python wheels only: the build stops, saying which, if a needed package
has none.

Needs Python 3.10+, pip, npm and network access to the registries.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
JUPYTERLITE_VERSION = "0.8.6"
PYODIDE_VERSION = "314.0.6"  # the one jupyterlite-pyodide-kernel 0.8.6 is built for
PYTHON_VERSION = "3.14"
TOOLS = [
    f"jupyterlite-core=={JUPYTERLITE_VERSION}",
    f"jupyterlite-pyodide-kernel=={JUPYTERLITE_VERSION}",
    # the selector's widgets need the labextension in the site, from the same ipywidgets 8
    "jupyterlab_widgets>=3.0.15,<4",
    "jupyter_server>=2",  # jupyter lite indexes the notebooks with it
    "packaging>=24",
    "hatchling>=1.24",  # aimo-magic's build backend, so its wheel builds without isolation
]
# What the kernel installs while it starts (see the kernel's worker): micropip from the
# lock, then piplite installs ipykernel, comm, pyodide-kernel, jedi and ipython.
KERNEL_REQUIREMENTS = ["micropip", "ipython", "jedi", "comm"]
# Lock entries that say less than their wheels require: starlette 1.0.0 lists no
# dependencies, but imports anyio.
LOCK_DEPENDS_FIXES = {"starlette": ["anyio"]}
EXAMPLES = ["quickstart.ipynb", "teaching.ipynb"]
SITE_ANSWERS = ".answers.txt"
"""What an example's answer file is called in the site (see ``bundle_answers``)."""
KERNEL_PLUGIN = "@jupyterlite/pyodide-kernel-extension:kernel"
PYODIDE_MARKERS = {
    "implementation_name": "cpython",
    "implementation_version": "3.14.2",
    "os_name": "posix",
    "platform_machine": "wasm32",
    "platform_python_implementation": "CPython",
    "platform_release": "",
    "platform_system": "Emscripten",
    "platform_version": "",
    "python_full_version": "3.14.2",
    "python_version": PYTHON_VERSION,
    "sys_platform": "emscripten",
}


STARTED = time.monotonic()


def say(message: str) -> None:
    print(f"[jupyterlite {time.monotonic() - STARTED:5.1f}s] {message}", flush=True)


def run(*command: str | Path, cwd: Path | None = None) -> str:
    result = subprocess.run(
        [str(c) for c in command], cwd=cwd, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(
            f"build.py: {' '.join(map(str, command))} failed ({result.returncode}):\n"
            f"{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    return result.stdout


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# 1. Tools --------------------------------------------------------------------------
def has_tools() -> bool:
    """True when this Python already has the pinned tools (as the test environment does)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        pinned = {version("jupyterlite-core"), version("jupyterlite-pyodide-kernel")}
        for name in ("jupyter-server", "packaging", "hatchling"):
            version(name)
    except PackageNotFoundError:
        return False
    return pinned == {JUPYTERLITE_VERSION}


def tools_venv(work: Path) -> Path:
    """A venv with the pinned build tools, made once per work directory.

    It sees this Python's own packages (a ``.pth`` file), so what is there already
    (jupyter_server in a test environment, say) is not installed again, while the
    jupyterlite packages and their labextension stay out of this environment.
    """
    venv = work / "venv"
    python = venv / "bin" / "python"
    stamp = venv / "tools.json"
    if not (python.exists() and stamp.exists() and json.loads(stamp.read_text()) == TOOLS):
        say("creating the build venv (jupyterlite-core, jupyterlite-pyodide-kernel, ...)")
        shutil.rmtree(venv, ignore_errors=True)
        run(sys.executable, "-m", "venv", venv)
        child = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
        (Path(child.strip()) / "_parent_env.pth").write_text(
            "\n".join(p for p in sys.path if p.endswith("site-packages")) + "\n"
        )
        run(python, "-m", "pip", "install", "-q", *TOOLS)
        stamp.write_text(json.dumps(TOOLS))
    return python


# 2. Pyodide's core -----------------------------------------------------------------
def pyodide_core(work: Path, target: Path) -> dict[str, Any]:
    """Unpack npm's pyodide package into ``target``; its lock file, parsed."""
    npm_dir = work / "npm"
    tarball = npm_dir / f"pyodide-{PYODIDE_VERSION}.tgz"
    if not tarball.exists():
        say(f"fetching pyodide {PYODIDE_VERSION} from npm")
        npm_dir.mkdir(parents=True, exist_ok=True)
        run("npm", "pack", f"pyodide@{PYODIDE_VERSION}", "--silent", cwd=npm_dir)
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as archive:
        for member in archive.getmembers():
            name = member.name.removeprefix("package/")
            if not member.isfile() or name.endswith((".map", ".d.ts", ".html")) or "/" in name:
                continue
            source = archive.extractfile(member)
            assert source is not None
            (target / name).write_bytes(source.read())
    lock: dict[str, Any] = json.loads((target / "pyodide-lock.json").read_text())
    return lock


# 3 and 4. Resolving and fetching wheels --------------------------------------------
class Resolver:
    """micropip's choice at run time, made ahead: the lock when it satisfies, else PyPI.

    Requirements are taken in rounds, and each round's wheels are fetched from PyPI
    with one ``pip download`` (one call per package would take minutes).
    """

    def __init__(self, lock: dict[str, Any], bundled_by_kernel: set[str], cache: Path):
        from packaging.utils import canonicalize_name

        self.lock: dict[str, Any] = {canonicalize_name(n): e for n, e in lock["packages"].items()}
        for name, depends in LOCK_DEPENDS_FIXES.items():
            self.lock[name]["depends"] = sorted({*self.lock[name]["depends"], *depends})
        self.bundled_by_kernel = bundled_by_kernel
        self.cache = cache
        self.from_lock: set[str] = set()
        self.from_pypi: dict[str, Path] = {}
        self._pending: list[tuple[str, frozenset[str]]] = []

    def add(self, requirement: str, extras: frozenset[str] = frozenset()) -> None:
        """Note a requirement (``extras``: the extras its dependent was installed with)."""
        self._pending.append((requirement, extras))

    def add_wheel(self, name: str, wheel: Path, extras: frozenset[str]) -> None:
        self.from_pypi[name] = wheel
        for requirement in self.requires(wheel):
            self.add(requirement, extras)

    def resolve(self) -> None:
        from packaging.requirements import Requirement
        from packaging.utils import canonicalize_name

        while self._pending:
            to_fetch: dict[str, tuple[Requirement, frozenset[str]]] = {}
            pending, self._pending = self._pending, []
            for requirement, extras in pending:
                req = Requirement(requirement)
                if req.marker is not None and not any(
                    req.marker.evaluate({**PYODIDE_MARKERS, "extra": extra})
                    for extra in (extras or {""})
                ):
                    continue
                name = canonicalize_name(req.name)
                entry = self.lock.get(name)
                if name in self.bundled_by_kernel:
                    continue
                if name in self.from_pypi:
                    version = self.wheel_version(self.from_pypi[name])
                    if not req.specifier.contains(version, prereleases=True):
                        raise SystemExit(f"build.py: {requirement} conflicts with {name} {version}")
                    if req.extras:
                        self.add_wheel(name, self.from_pypi[name], frozenset(req.extras))
                elif entry is not None and req.specifier.contains(
                    entry["version"], prereleases=True
                ):
                    self.add_from_lock(name)
                elif name in self.from_lock:
                    raise SystemExit(
                        f"build.py: {requirement} needs another {name} than the lock's "
                        f"{entry and entry['version']}, which another package already takes"
                    )
                elif name in to_fetch:
                    previous, more = to_fetch[name]
                    previous.specifier &= req.specifier
                    to_fetch[name] = (previous, more | frozenset(req.extras))
                else:
                    to_fetch[name] = (req, frozenset(req.extras))
            specs = {name: f"{req.name}{req.specifier}" for name, (req, _) in to_fetch.items()}
            for fetched, wheel in self.download(specs).items():
                self.add_wheel(fetched, wheel, to_fetch[fetched][1])

    def add_from_lock(self, name: str) -> None:
        if name in self.from_lock:
            return
        self.from_lock.add(name)
        for depend in self.lock[name]["depends"]:
            self.add(depend)

    @staticmethod
    def requires(wheel: Path) -> list[str]:
        with zipfile.ZipFile(wheel) as archive:
            metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
            text = archive.read(metadata).decode()
        header = text.split("\n\n", 1)[0]
        return [line[len("Requires-Dist:") :].strip() for line in header.splitlines()
                if line.startswith("Requires-Dist:")]  # fmt: skip

    @staticmethod
    def wheel_version(wheel: Path) -> str:
        return wheel.name.split("-")[1]

    def download(self, specs: dict[str, str]) -> dict[str, Path]:
        """The newest pure-Python wheel on PyPI for each spec, for Pyodide's Python."""
        if not specs:
            return {}
        self.cache.mkdir(parents=True, exist_ok=True)
        run(
            sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
            "--python-version", PYTHON_VERSION, "--implementation", "py", "--abi", "none",
            "--platform", "any", "-d", self.cache, *specs.values(),
        )  # fmt: skip
        from packaging.requirements import Requirement
        from packaging.utils import canonicalize_name, parse_wheel_filename

        found: dict[str, Path] = {}
        for wheel in sorted(self.cache.glob("*.whl")):
            name, version, _, tags = parse_wheel_filename(wheel.name)
            if name not in specs or not Requirement(specs[name]).specifier.contains(version):
                continue
            if not all(tag.abi == "none" and tag.platform == "any" for tag in tags):
                continue
            best = found.get(name)
            if best is None or parse_wheel_filename(best.name)[1] < version:
                found[canonicalize_name(name)] = wheel
        missing = sorted(set(specs) - set(found))
        if missing:
            raise SystemExit(f"build.py: no pure-Python wheel on PyPI for {', '.join(missing)}")
        return found

    def fetch_lock_wheels(self, target: Path, lock: dict[str, Any]) -> None:
        """Each lock package we need, from PyPI, with its lock entry rewritten to match."""
        from packaging.utils import canonicalize_name

        entries: dict[str, Any] = {canonicalize_name(n): e for n, e in lock["packages"].items()}
        for name in sorted(self.from_lock):
            if not entries[name]["file_name"].endswith("-none-any.whl"):
                raise SystemExit(
                    f"build.py: {name} is compiled for Emscripten in Pyodide's lock and "
                    "only on Pyodide's CDN, not on PyPI"
                )
        wheels = self.download({n: f"{n}=={entries[n]['version']}" for n in self.from_lock})
        for name, wheel in wheels.items():
            shutil.copy2(wheel, target / wheel.name)
            entries[name].update(file_name=wheel.name, sha256=sha256(wheel))
            entries[name]["depends"] = self.lock[name]["depends"]


# 5. The site -----------------------------------------------------------------------
def project_wheel(work: Path) -> Path:
    """aimo-magic's wheel, built from this checkout."""
    out = work / "project"
    shutil.rmtree(out, ignore_errors=True)
    say("building the aimo-magic wheel from this checkout")
    run(
        sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
        "-w", out, ROOT,
    )  # fmt: skip
    (wheel,) = out.glob("aimo_magic-*.whl")
    return wheel


def kernel_wheels() -> set[str]:
    """Names of the wheels the kernel's labextension bundles (ipykernel, piplite, ...)."""
    index = (
        Path(sys.prefix) / "share/jupyter/labextensions/@jupyterlite/pyodide-kernel-extension"
        / "static/pypi/all.json"
    )  # fmt: skip
    return {canonical(name) for name in json.loads(index.read_text())}


def fresh_notebook(source: Path, target: Path) -> None:
    """The example without the outputs of the repository's run: in the site they would
    show a local server's URL, and a student should see the cells run for real."""
    notebook = json.loads(source.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    notebook["metadata"].pop("widgets", None)
    # The site's only kernel is Pyodide's, named "python".
    notebook["metadata"]["kernelspec"] = {
        "name": "python",
        "display_name": "Python (Pyodide)",
        "language": "python",
    }
    target.write_text(json.dumps(notebook, indent=1, ensure_ascii=False), encoding="utf-8")


def bundle_answers(notebook: Path, files: Path) -> None:
    """The answers recorded for an example, beside it, so a student's tab replays them.

    JupyterLite reads any file whose name holds "json" after a dot as one JSON document,
    which a JSON-lines file is not (the kernel then cannot open it): the site keeps it
    as ``NAME.answers.txt``, and the notebook's setup cell names that file.
    """
    answers = notebook.with_suffix(".answers.jsonl")
    if not answers.is_file():
        return
    shutil.copy2(answers, files / f"{notebook.stem}{SITE_ANSWERS}")
    copy = files / notebook.name
    copy.write_text(
        copy.read_text(encoding="utf-8").replace(answers.name, f"{notebook.stem}{SITE_ANSWERS}"),
        encoding="utf-8",
    )


def build_config(extensions: list[Path]) -> dict[str, Any]:
    """jupyter lite's own settings: the site's labextensions are exactly these wheels'
    (the kernel's and ipywidgets'), whatever else the building environment has."""
    return {
        "LiteBuildConfig": {
            "ignore_sys_prefix": True,
            "federated_extensions": [str(path) for path in extensions],
        }
    }


def lite_config() -> dict[str, Any]:
    return {
        "jupyter-lite-schema-version": 0,
        "jupyter-config-data": {
            "appName": "aimo-magic",
            # Only the site's own wheels: %pip never reaches for PyPI from the browser.
            "litePluginSettings": {KERNEL_PLUGIN: {"disablePyPIFallback": True}},
        },
    }


def build(output: Path, work: Path) -> None:
    lite = work / "lite"
    shutil.rmtree(lite, ignore_errors=True)
    (lite / "pypi").mkdir(parents=True)
    (lite / "files").mkdir()
    pyodide_dir = lite / "static" / "pyodide"
    lock = pyodide_core(work, pyodide_dir)

    wheel = project_wheel(work)
    resolver = Resolver(lock, kernel_wheels(), work / "wheels")
    say("resolving what the kernel and aimo-magic need, the way micropip will")
    for requirement in KERNEL_REQUIREMENTS:
        resolver.add(requirement)
    resolver.add_wheel("aimo-magic", wheel, frozenset({"emulator"}))
    resolver.resolve()
    say(f"lock packages from PyPI: {', '.join(sorted(resolver.from_lock))}")
    resolver.fetch_lock_wheels(pyodide_dir, lock)
    (pyodide_dir / "pyodide-lock.json").write_text(json.dumps(lock, indent=1))
    bundled = sorted(resolver.from_pypi)
    say(f"bundled for piplite: {', '.join(bundled)}")
    for path in resolver.from_pypi.values():
        shutil.copy2(path, lite / "pypi" / path.name)

    for name in EXAMPLES:
        fresh_notebook(ROOT / "examples" / name, lite / "files" / name)
        bundle_answers(ROOT / "examples" / name, lite / "files")
    (lite / "jupyter-lite.json").write_text(json.dumps(lite_config(), indent=2))
    kernel_extension = resolver.download(
        {"jupyterlite-pyodide-kernel": f"jupyterlite-pyodide-kernel=={JUPYTERLITE_VERSION}"}
    )["jupyterlite-pyodide-kernel"]
    extensions = [kernel_extension, resolver.from_pypi["jupyterlab-widgets"]]
    (lite / "jupyter_lite_config.json").write_text(json.dumps(build_config(extensions)))

    say(f"building the site into {output}")
    shutil.rmtree(output, ignore_errors=True)
    run(
        Path(sys.prefix) / "bin" / "jupyter-lite", "build", "--lite-dir", lite,
        "--output-dir", output, "--contents", lite / "files", "--no-sourcemaps",
        "--apps", "lab", "--apps", "notebooks", "--apps", "repl",
        cwd=lite,
    )  # fmt: skip
    (output / ".nojekyll").touch()  # GitHub Pages: serve every file as it is
    say(f"done: serve {output} with any static web server, e.g. "
        f"python3 -m http.server -d {output}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=ROOT / "build/jupyterlite/site")
    parser.add_argument(
        "--work", type=Path, default=ROOT / "build/jupyterlite/work",
        help="downloads, the build venv and intermediate files (reused between builds)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    work, output = args.work.resolve(), args.output.resolve()
    work.mkdir(parents=True, exist_ok=True)
    if not has_tools():  # the rest needs packaging and jupyter lite: make a venv, go there
        python = tools_venv(work)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        command = [str(python), __file__, "--output", str(output), "--work", str(work)]
        return subprocess.run(command, env=env, check=False).returncode
    build(output, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
