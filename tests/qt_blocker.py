"""A pytest plugin that makes Qt unimportable, to prove the core works, and is tested, with no Qt installed.

    .venv/bin/python -m pytest -p no:pytest-qt -p tests.qt_blocker tests/core

``python3 dev.py test`` runs the core tests this way after the default suite (pytest-qt is left out: it
loads Qt to configure itself). Any import of PySide6, shiboken6 or pyqtgraph then fails as if they were
not installed, wherever it happens: in a core module, a lazy import inside a function, or a test.
"""
from __future__ import annotations

import importlib
import importlib.abc
import sys
from collections.abc import Sequence
from types import ModuleType

import pytest

BLOCKED = ("PySide6", "shiboken6", "pyqtgraph")


class QtBlocker(importlib.abc.MetaPathFinder):
    """Refuses the blocked packages before any other finder can find them."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> None:
        if fullname.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {fullname!r} (Qt is blocked in this test run)",
                                      name=fullname)
        return None


def _install() -> None:
    already = sorted(name for name in sys.modules if name.split(".")[0] in BLOCKED)
    if already:  # too late to block: the run would prove nothing
        raise pytest.UsageError(f"Qt was imported before tests.qt_blocker loaded: {', '.join(already)}; "
                                "run pytest with -p no:pytest-qt -p tests.qt_blocker")
    if not any(isinstance(finder, QtBlocker) for finder in sys.meta_path):
        sys.meta_path.insert(0, QtBlocker())


_install()


def pytest_sessionstart(session: pytest.Session) -> None:
    for name in (*BLOCKED, "PySide6.QtCore"):  # prove the blocker works before trusting a green run
        try:
            importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        raise pytest.UsageError(f"{name} could still be imported: the Qt-blocked run would prove nothing")


def pytest_report_header() -> str:
    return f"Qt blocked: {', '.join(BLOCKED)} cannot be imported in this run"
