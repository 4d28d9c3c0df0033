"""The main window: three tabs, undo wired to the project, geometry and recent projects persisted."""
from __future__ import annotations

import os
import subprocess
import sys

from PySide6.QtCore import QSettings

from imgclf_gui.core.support.settings import Settings
from imgclf_gui.gui.shell.main_window import MainWindow
from tests.conftest import write_image


def _window(qtbot) -> MainWindow:
    window = MainWindow(settings=Settings())
    qtbot.addWidget(window)
    return window


def test_window_has_three_tabs(qtbot):
    window = _window(qtbot)
    window.show()
    titles = [window.tab_widget.tabText(i) for i in range(window.tab_widget.count())]
    assert titles == ["Dataset", "Training", "Classify"]


def test_opening_a_project_does_not_import_tensorflow(tmp_path):
    """The window opens at once because TensorFlow waits until training or classifying needs it.
    Checked in a fresh process: other tests in this one may have imported it already."""
    for i in range(2):
        write_image(tmp_path / "proj" / "cat" / f"c{i}.jpg", seed=i)
        write_image(tmp_path / "proj" / "dog" / f"d{i}.jpg", seed=10 + i)
    code = (
        "import sys, imgclf_gui.__main__ as m\n"
        f"code = m.main([{str(tmp_path / 'proj')!r}, '--quit-after-show'])\n"
        "heavy = [n for n in ('tensorflow', 'keras', 'ai_edge_litert') if n in sys.modules]\n"
        "assert code == 0 and not heavy, (code, heavy)\n"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "classes cat, dog" in result.stdout


def test_open_project_enables_undo_after_a_move(qtbot, tmp_path):
    for i in range(3):
        write_image(tmp_path / "proj" / "cat" / f"c{i}.jpg", seed=i)
    (tmp_path / "proj" / "dog").mkdir()
    window = _window(qtbot)
    assert window.open_project(tmp_path / "proj")
    assert window.windowTitle().startswith("proj")
    assert not window.undo_action.isEnabled()
    window.project.move_images([tmp_path / "proj" / "cat" / "c0.jpg"], "dog")
    assert window.undo_action.isEnabled() and "dog" in window.undo_action.text()
    window.undo_action.trigger()
    assert (tmp_path / "proj" / "cat" / "c0.jpg").exists()
    assert window.redo_action.isEnabled()
    assert window.recent_projects()[0] == str((tmp_path / "proj").resolve())


def test_geometry_is_restored(qtbot):
    window = _window(qtbot)
    window.resize(760, 540)  # the offscreen screen is 800x600
    window.show()
    window.close()
    again = _window(qtbot)
    assert (again.width(), again.height()) == (760, 540)
    assert QSettings().value("main_window/geometry") is not None


def test_every_tab_reads_the_windows_preferences_and_a_failed_save_is_said(qtbot, tmp_path, monkeypatch):
    window = _window(qtbot)
    assert all(tab.preferences is window.preferences for tab in window.tabs.values())
    blocked = tmp_path / "config-is-a-file"
    blocked.write_text("")
    monkeypatch.setenv("IMGCLF_CONFIG_DIR", str(blocked))
    window.preferences.update(thumbnail_size=96)
    assert "could not be saved" in window.statusBar().currentMessage()
    assert window.tabs["Dataset"].grid.iconSize().width() == 96, "the change holds although it was not saved"
