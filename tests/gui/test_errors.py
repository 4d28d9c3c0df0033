"""The global error handler logs and shows instead of letting the app die."""
from __future__ import annotations

import sys

from imgclf_gui.gui.shell.errors import ErrorHandler, log_path, setup_logging


def test_unhandled_exception_is_logged_and_shown():
    setup_logging()
    shown = []
    handler = ErrorHandler(show=lambda summary, details: shown.append((summary, details)))
    try:
        raise ValueError("boom in a slot")
    except ValueError:
        handler(*sys.exc_info())
    assert shown and shown[0][0] == "ValueError: boom in a slot" and "Traceback" in shown[0][1]
    assert "boom in a slot" in log_path().read_text()
