"""The GUI tests' guard against a modal dialog nobody answers: it is closed and named, so a test fails
with the dialog's text instead of hanging CI until its time limit."""
from __future__ import annotations

import time

from PySide6.QtWidgets import QMessageBox

from tests.gui.conftest import ModalWatch


def test_a_modal_box_nobody_answers_is_closed_and_its_text_kept(qapp):
    watch = ModalWatch(patience_s=0.3, interval_ms=50)
    box = QMessageBox(QMessageBox.Icon.Warning, "Could not move", "blue-0.png is in use")
    started = time.monotonic()
    try:
        box.exec()  # would wait forever without the watch
    finally:
        watch.stop()
    assert time.monotonic() - started < 10
    assert watch.closed == ["QMessageBox 'Could not move': blue-0.png is in use"]
