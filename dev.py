#!/usr/bin/env python3
"""Set-up and everyday commands for imgclf, with nothing but Python 3.11+ installed.

    python3 dev.py run      create .venv if needed, install imgclf into it, launch the app
    python3 dev.py test     the same set-up with the test extras, then the default test suite
    python3 dev.py test --slow   only the slow tests (real backbones, exports); CI runs both

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


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test"}:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "run":
        ensure_env("")
        return subprocess.call([str(PY), "-m", "imgclf_gui", *rest], cwd=ROOT)
    ensure_env("test")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    if "--slow" in rest:
        rest = [a for a in rest if a != "--slow"]
        marker = ["-m", "slow"]
    else:
        marker = ["-m", "not slow"]
    code = subprocess.call([str(PY), "-m", "pytest", *marker, *rest], cwd=ROOT, env=env)
    if code == 5 and marker[1] == "slow":  # pytest: nothing selected; no slow test is not a failure
        print("No slow tests selected.")
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
