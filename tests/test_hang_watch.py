"""A hung test ends the run with its name and every thread's stack (tests/hang_watch.py), instead of
stalling CI until its time limit."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run_watched(folder: Path, test_source: str, **env: str) -> tuple[subprocess.CompletedProcess, Path]:
    """pytest with only the watch, on one test file made of ``test_source``; (the run, the report's path)."""
    (folder / "test_one.py").write_text(test_source)
    report = folder / "report.txt"
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "tests.hang_watch", "-p", "no:cacheprovider",
                           "-p", "no:pytest-qt", "-o", "addopts=", "-q", "test_one.py"],
                          cwd=folder, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT),
                               "IMGCLF_HANG_REPORT": str(report), **env})
    return done, report


def test_a_hung_test_is_stopped_and_the_report_names_it(tmp_path):
    started = time.monotonic()
    done, report = _run_watched(tmp_path, "import threading\n\n"
                                          "def test_waits_forever():\n"
                                          "    lock = threading.Lock()\n"
                                          "    lock.acquire()\n"
                                          "    lock.acquire()  # nobody ever releases it\n",
                                IMGCLF_TEST_HANG_S="2")
    assert done.returncode != 0
    assert time.monotonic() - started < 60
    text = report.read_text()
    assert text.startswith("test_one.py::test_waits_forever was running when the test run ended. Past 2 s")
    assert "Timeout (0:00:02)!" in text and "line 6 in test_waits_forever" in text


def test_a_test_that_ends_leaves_no_report(tmp_path):
    done, report = _run_watched(tmp_path, "def test_quick():\n    assert True\n")
    assert done.returncode == 0, done.stdout
    assert not report.exists()
