"""One writer per project, as a user sees it: a second window on the same project is read-only, says who
holds it, refuses moves with that sentence and becomes writable once the first lets go; damaged state
files are named once in the Dataset tab when the project opens."""
from __future__ import annotations

import os

import pytest

import imgclf_gui.gui.common.writer_lock as writer_lock
from imgclf_gui.core.project import layout
from imgclf_gui.core.support.settings import Settings
from imgclf_gui.gui.common.project_model import INBOX
from imgclf_gui.gui.shell.main_window import MainWindow
from tests.conftest import write_image


@pytest.fixture
def root(tmp_path):
    root = tmp_path / "proj"
    for i in range(3):
        write_image(root / INBOX / f"u{i}.png", seed=i)
    for k, name in enumerate(("cat", "dog")):
        write_image(root / name / f"{name}0.png", seed=10 + k)
    return root


def open_window(qtbot, root) -> MainWindow:
    window = MainWindow(settings=Settings(ask_import_mode=False, import_mode="copy"))
    qtbot.addWidget(window)
    window.resize(1024, 700)
    window.show()
    assert window.open_project(root)
    return window


def press_key_on_first_image(qtbot, window, key: str) -> None:
    tab = window.tabs["Dataset"]
    tab.show_class(INBOX)
    tab.grid.setFocus()
    tab.grid.setCurrentIndex(tab.thumb_model.index(0))
    qtbot.keyClick(tab.grid, key)


def test_a_second_window_is_read_only_until_the_first_lets_go(qtbot, root, monkeypatch):
    monkeypatch.setattr(writer_lock, "LOCK_RETRY_MS", 100)  # the app checks every 3 s
    first = open_window(qtbot, root)
    second = open_window(qtbot, root)
    assert not first.project.read_only and second.project.read_only
    reason = second.project.read_only_reason
    assert f"imgclf (window) (process {os.getpid()}" in reason and "read-only here" in reason
    banner = second.tabs["Dataset"].state_banner
    assert banner.isVisible() and "Read-only here." in banner.text.text()
    assert "read-only" in second.windowTitle() and not first.tabs["Dataset"].state_banner.isVisible()

    with qtbot.waitSignal(second.project.message) as told:
        press_key_on_first_image(qtbot, second, "1")  # "send to cat", in the window that may not
    assert told.args[0] == reason
    assert sorted(p.name for p in (root / INBOX).iterdir()) == ["u0.png", "u1.png", "u2.png"]
    assert not second.undo_action.isEnabled()

    press_key_on_first_image(qtbot, first, "1")  # the first window moves as usual
    assert (root / "cat" / "u0.png").exists()

    with qtbot.waitSignal(second.project.read_only_changed, timeout=10_000) as freed:
        first.project.close()
    assert freed.args == [False] and not second.project.read_only and not banner.isVisible()
    assert second.undo_action.isEnabled()  # the history the first window wrote is its history now
    press_key_on_first_image(qtbot, second, "2")
    assert (root / "dog" / "u1.png").exists()
    second.undo_action.trigger()
    second.undo_action.trigger()
    assert sorted(p.name for p in (root / INBOX).iterdir()) == ["u0.png", "u1.png", "u2.png"]


def test_damaged_state_is_named_once_when_the_project_opens(qtbot, root):
    state = layout.state_dir(root)
    state.mkdir()
    layout.manifest_file(root).write_bytes(b"\xff\xfe not a manifest")
    layout.active_model_file(root).write_text("[]")
    (state / "journal.jsonl").write_text("null\n")
    window = open_window(qtbot, root)  # opens all the same
    banner = window.tabs["Dataset"].state_banner
    text = banner.text.text()
    assert banner.isVisible() and text.count("set aside as") == 3
    assert "manifest.json.damaged" in text and "active_model.json.damaged" in text and "journal.jsonl" in text
    banner.close_button.click()
    assert not banner.isVisible()
    press_key_on_first_image(qtbot, window, "1")
    assert (root / "cat" / "u0.png").exists()  # and the project works
    window.project.close()
    again = open_window(qtbot, root)
    assert not again.tabs["Dataset"].state_banner.isVisible()  # once: nothing is damaged any more
