"""The global error handler: an unexpected exception is logged and shown, and the app keeps running."""
from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from imgclf_gui.core.support.paths import user_cache_dir

log = logging.getLogger("imgclf")
ShowFn = Callable[[str, str], None]


def log_path() -> Path:
    return user_cache_dir() / "imgclf.log"


def setup_logging() -> Path:
    """Log warnings and errors to ``imgclf.log`` in the user cache folder (rotated at 1 MB)."""
    from logging.handlers import RotatingFileHandler

    path = log_path()
    if not any(isinstance(h, RotatingFileHandler) for h in log.handlers):
        handler = RotatingFileHandler(path, maxBytes=1 << 20, backupCount=2, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    return path


def show_error_dialog(summary: str, details: str) -> None:
    """A modal box with the summary, the traceback under "Show Details" and where the log is."""
    from PySide6.QtWidgets import QApplication, QMessageBox

    parent = QApplication.activeWindow()
    box = QMessageBox(QMessageBox.Icon.Critical, "Something went wrong", summary, parent=parent)
    box.setInformativeText(f"imgclf keeps running. The details were written to {log_path()}.")
    box.setDetailedText(details)
    box.exec()


class ErrorHandler:
    """``sys.excepthook`` replacement. ``show`` is injectable so tests record instead of opening dialogs."""

    def __init__(self, show: ShowFn | None = show_error_dialog) -> None:
        self.show = show
        self.seen: list[str] = []
        self._showing = False

    def __call__(self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        details = "".join(traceback.format_exception(exc_type, exc, tb))
        summary = f"{exc_type.__name__}: {exc}".strip()
        log.error("Unhandled exception\n%s", details)
        if self.show is None and sys.stderr is not None:
            # No dialog (tests, smoke runs, --quit-after-show): the terminal is the only place to see it.
            print(details, file=sys.stderr, end="" if details.endswith("\n") else "\n")
        self.seen.append(summary)
        # A failing paint handler would raise again while the dialog shows; one dialog at a time.
        if self.show is not None and not self._showing:
            self._showing = True
            try:
                self.show(summary, details)
            finally:
                self._showing = False

    def install(self) -> ErrorHandler:
        sys.excepthook = self
        return self
