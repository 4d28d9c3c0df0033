"""A hung test ends the run with its name and every thread's stack (tests/hang_watch.py), instead of
stalling CI until its time limit."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_hung_test_is_stopped_and_the_report_names_it(tmp_path):
    (tmp_path / "test_stuck.py").write_text(
        "import threading\n\n"
        "def test_waits_forever():\n"
        "    lock = threading.Lock()\n"
        "    lock.acquire()\n"
        "    lock.acquire()  # nobody ever releases it\n")
    report = tmp_path / "hung.txt"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "IMGCLF_TEST_HANG_S": "2",
           "IMGCLF_HANG_REPORT": str(report)}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "tests.hang_watch", "-p", "no:cacheprovider",
                           "-p", "no:pytest-qt", "-o", "addopts=", "-q", "test_stuck.py"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert time.monotonic() - started < 60
    text = report.read_text()
    assert text.startswith("test_stuck.py::test_waits_forever was running when the test run ended. Past 2 s")
    assert "Timeout (0:00:02)!" in text and "line 6 in test_waits_forever" in text


def test_a_test_that_ends_leaves_no_report(tmp_path):
    (tmp_path / "test_quick.py").write_text("def test_quick():\n    assert True\n")
    report = tmp_path / "hung.txt"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "IMGCLF_HANG_REPORT": str(report)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "tests.hang_watch", "-p", "no:cacheprovider",
                           "-p", "no:pytest-qt", "-o", "addopts=", "-q", "test_quick.py"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout
    assert not report.exists()
