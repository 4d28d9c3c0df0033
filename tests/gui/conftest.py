"""GUI test set-up: Qt settings isolated per test, and no modal dialog from the error handler."""
from __future__ import annotations

import os

import pytest


os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _isolated_qsettings(tmp_path, qapp):
    """QSettings (window geometry, recent projects) write into this test's own folder."""
    from PySide6.QtCore import QCoreApplication, QSettings

    folder = str(tmp_path / "_qsettings")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, folder)
    QCoreApplication.setOrganizationName("imgclf-tests")
    QCoreApplication.setApplicationName(f"imgclf-test-{os.getpid()}")
    yield


@pytest.fixture(autouse=True)
def _garbage_collected_on_the_gui_thread(qapp):
    """As in the app (``__main__``): no cycle collection on worker threads, where freeing a QObject
    crashes Qt; a timer on the GUI thread collects instead."""
    from imgclf_gui.gui.common.gc_guard import GuiThreadGarbageCollector

    collector = GuiThreadGarbageCollector(interval_ms=200)
    yield
    collector.stop()
    collector.deleteLater()
