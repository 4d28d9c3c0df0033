"""A pytest hook (``tests/conftest.py`` imports it) that ends a hung test run with the stack of every thread.

A GUI test that deadlocks (Qt and Python threads waiting on each other) would otherwise stall CI until its
time limit with no word of where. faulthandler's watchdog is a C thread: it fires even when the hung thread
holds Python's GIL, where a Python timer (pytest-timeout's) would wait forever too. pytest captures fd 2
while a test runs, so the stacks go to a file, ``build/test-in-progress.txt``, which names the running test
and is deleted when it ends; ``dev.py test`` prints it when a run ends while it is there (a hang, a crash).
"""
from __future__ import annotations

import faulthandler
import os
from pathlib import Path

import pytest

#: seconds one test may take (set-up and teardown included); the slowest slow test takes about 2 minutes
HANG_S = float(os.environ.get("IMGCLF_TEST_HANG_S", 600))
REPORT = Path(os.environ.get("IMGCLF_HANG_REPORT",
                             Path(__file__).resolve().parents[1] / "build" / "test-in-progress.txt"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):  # noqa: ARG001 - pytest's hook signature
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    with open(REPORT, "w", encoding="utf-8") as report:
        report.write(f"{item.nodeid} was running when the test run ended. Past {HANG_S:g} s it is stopped, and\n"
                     "the stack of every thread follows:\n")
        report.flush()
        faulthandler.dump_traceback_later(HANG_S, exit=True, file=report)
        try:
            yield
        finally:
            faulthandler.cancel_dump_traceback_later()
    REPORT.unlink(missing_ok=True)
