#!/usr/bin/env python3
"""Set-up and everyday commands for imgclf, with nothing but Python 3.11+ installed.

    python3 dev.py run      create .venv if needed, install imgclf[map] into it, launch the app
    python3 dev.py test     the same set-up with the test extras, then everything CI checks but the slow
                            tests: the house checks, the default test suite, and the core tests again
                            with Qt made unimportable
    python3 dev.py test ARGS     only pytest with ARGS (a focused run: a file, -k NAME, -x ...)
    python3 dev.py test --slow   only the slow tests (real backbones, exports); CI runs both
    python3 dev.py check    only the house checks: lint (ruff), import contracts (import-linter), unused
                            code (vulture), no module over 400 lines

Extra arguments after the command go to the app or to pytest.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
MAX_MODULE_LINES = 400  # a module past this usually holds two ideas (STYLE.md)
#: Folders whose Python modules count towards the line limit (the whole project, without the environment).
SOURCE_FOLDERS = ("imgclf_gui", "tests", "tools", "benchmarks", "packaging")


def _stamp_for(extras: str) -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    return digest[:16]


def ensure_env(extras: str) -> None:
    """Create the virtual environment and install imgclf (editable) once per pyproject change."""
    if not PY.exists():
        print(f"Creating a virtual environment in {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=VENV.exists()).create(VENV)
        subprocess.check_call([str(PY), "-m", "pip", "install", "-q", "--upgrade", "pip"])
    stamp_file = VENV / f".imgclf-installed-{extras or 'base'}"
    stamp = _stamp_for(extras)
    if stamp_file.exists() and stamp_file.read_text() == stamp:
        return
    target = f".[{extras}]" if extras else "."
    name = f"imgclf[{extras}]" if extras else "imgclf"
    print(f"Installing {name} and its dependencies (first time takes a few minutes) ...", flush=True)
    subprocess.check_call([str(PY), "-m", "pip", "install", "-q", "-e", target], cwd=ROOT)
    stamp_file.write_text(stamp)


def long_modules(root: Path = ROOT, limit: int = MAX_MODULE_LINES) -> list[tuple[Path, int]]:
    """Every Python module of the project over ``limit`` lines, with its length."""
    files = [root / "dev.py", *(p for folder in SOURCE_FOLDERS for p in sorted((root / folder).rglob("*.py")))]
    lengths = [(path, len(path.read_text(encoding="utf-8").splitlines())) for path in files if path.is_file()]
    return [(path.relative_to(root), n) for path, n in lengths if n > limit]


def _check_module_lengths() -> int:
    too_long = long_modules()
    for path, lines in too_long:
        print(f"{path}: {lines} lines (at most {MAX_MODULE_LINES})")
    return 1 if too_long else 0


#: The house checks: name, command (or function), and what to do when it fails.
CHECKS = (
    ("lint", [str(BIN / "ruff"), "check", "."],
     "ruff found problems (above): fix them ('.venv/bin/ruff check --fix .' fixes many); a '# noqa: CODE - "
     "reason' only where the code is right. Settings: [tool.ruff] in pyproject.toml."),
    ("import contracts", [str(BIN / "lint-imports")],
     "an import breaks a contract of [tool.importlinter] in pyproject.toml (above): core imports no Qt, gui "
     "or commands; gui and commands do not import each other; a package imports only the layers below it."),
    ("unused code", [str(BIN / "vulture")],
     "vulture found code nothing uses (above): delete it; if it is used in a way vulture cannot see (a Qt "
     "override, API kept on purpose), add it to vulture_allowlist.py with the reason."),
    ("module length", _check_module_lengths,
     f"a module is over {MAX_MODULE_LINES} lines (above): split it by idea (see STYLE.md)."),
)


def run_checks() -> int:
    """Run every house check, say which failed and what to do; 0 when all pass."""
    failed = []
    for name, command, advice in CHECKS:
        print(f"== {name}", flush=True)
        code = command() if callable(command) else subprocess.call(command, cwd=ROOT)
        if code != 0:
            failed.append((name, advice))
    for name, advice in failed:
        print(f"\nFAILED {name}: {advice}", file=sys.stderr)
    return 1 if failed else 0


RUNNING_TEST = ROOT / "build" / "test-in-progress.txt"  # tests/hang_watch.py: the test running, its stacks


def _pytest(args: list[str], env: dict[str, str]) -> int:
    """pytest with ``args``; when the run ended inside a test (it hung, or crashed the interpreter), that
    test's name and, for a hang, every thread's stack follow pytest's output."""
    RUNNING_TEST.unlink(missing_ok=True)
    code = subprocess.call([str(PY), "-m", "pytest", *args], cwd=ROOT, env=env)
    if code != 0 and RUNNING_TEST.exists():
        print(f"\n== {RUNNING_TEST.relative_to(ROOT)}:\n{RUNNING_TEST.read_text(errors='replace')}",
              file=sys.stderr, flush=True)
    return code


def run_tests(rest: list[str]) -> int:
    """pytest with ``rest``; without arguments, the whole default suite, then the core tests with Qt blocked."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    if "--slow" in rest:
        code = _pytest(["-m", "slow", *(a for a in rest if a != "--slow")], env)
        if code == 5:  # pytest: nothing selected; no slow test is not a failure
            print("No slow tests selected.")
            return 0
        return code
    if rest:
        return _pytest(["-m", "not slow", *rest], env)
    if run_checks() != 0:
        print("Tests not run: fix the house checks above first ('python3 dev.py check' runs only them).",
              file=sys.stderr)
        return 1
    code = _pytest(["-m", "not slow"], env)
    if code != 0:
        return code
    # The core must import and work with no Qt installed (the CLI and headless users depend on it): run
    # its tests again with PySide6, shiboken6 and pyqtgraph unimportable (pytest-qt loads Qt, so it is off).
    print("\n== core tests with Qt blocked", flush=True)
    return _pytest(["-p", "no:pytest-qt", "-p", "tests.qt_blocker", "-m", "not slow", "tests/core"], env)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test", "check"}:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "run":
        ensure_env("map")  # the app with its optional parts (the Dataset Map's t-SNE layout)
        return subprocess.call([str(PY), "-m", "imgclf_gui", *rest], cwd=ROOT)
    ensure_env("test")
    if command == "check":
        return run_checks()
    return run_tests(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
