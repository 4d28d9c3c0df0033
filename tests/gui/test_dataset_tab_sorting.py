"""Sorting in the Dataset tab through its real widgets: the selection after undo and redo, the inbox key,
the thumbnails' right-click menu, the class-name dialog that keeps what was typed, and the health list
after a quarantine."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Qt, QUrl, Slot
from PySide6.QtGui import QContextMenuEvent, QDesktopServices
from PySide6.QtWidgets import QApplication, QMenu

from imgclf_gui.gui.common.project_model import INBOX
from imgclf_gui.gui.dataset.class_dialogs import CheckedTextDialog
from imgclf_gui.gui.dataset.class_list import KeyRole
from tests.gui.conftest import _pick


@pytest.fixture
def window(dataset_window):
    return dataset_window


def _tab(window):
    return window.tabs["Dataset"]




def test_after_undo_the_next_key_labels_the_image_that_came_back(window, qtbot):
    tab = _tab(window)
    inbox = window.project.root / INBOX
    _pick(tab, qtbot, inbox / "u1.png")
    qtbot.keyClick(tab.grid, "1")  # meant dog, pressed cat
    assert (window.project.root / "cat" / "u1.png").exists()
    window.undo_action.trigger()
    assert (inbox / "u1.png").exists()
    assert tab.grid.selected_paths() == [inbox / "u1.png"], "the image that came back is selected"
    qtbot.keyClick(tab.grid, "2")
    assert (window.project.root / "dog" / "u1.png").exists() and not (inbox / "u1.png").exists()
    assert tab.grid.selected_paths() == [inbox / "u2.png"]
    # redo of an undone move takes the image away again: the one after it is selected
    window.undo_action.trigger()
    _pick(tab, qtbot, inbox / "u1.png")
    window.redo_action.trigger()
    assert (window.project.root / "dog" / "u1.png").exists()
    assert tab.grid.selected_paths() == [inbox / "u2.png"]
    qtbot.keyClick(tab.grid, "1")
    assert (window.project.root / "cat" / "u2.png").exists()


def test_undo_in_a_class_selects_where_the_images_were(window, qtbot):
    """Undo of a move INTO the class shown takes images out of it: the image after them is selected (the
    last one, as nothing comes after them here)."""
    tab = _tab(window)
    root = window.project.root
    tab.grid.selectAll()
    qtbot.keyClick(tab.grid, "2")  # the whole inbox to dog
    tab.show_class("dog")
    _pick(tab, qtbot, root / "dog" / "u0.png")
    window.undo_action.trigger()
    assert window.project.inbox_count() == 4
    assert tab.grid.selected_paths() == [root / "dog" / "dog2.png"]  # dog0..dog2 sort before u0..u3
    qtbot.keyClick(tab.grid, "1")
    assert (root / "cat" / "dog2.png").exists()


def test_key_0_sends_images_back_to_the_inbox_and_the_class_list_shows_it(window, qtbot):
    tab = _tab(window)
    root = window.project.root
    assert tab.class_model.index(0).data(KeyRole) == "0"
    assert "0 the inbox" in tab.hint.text()
    tab.class_view.setCurrentIndex(tab.class_model.index(tab.class_model.row_of("cat")))
    _pick(tab, qtbot, root / "cat" / "cat1.png")
    qtbot.keyClick(tab.grid, "0")
    assert (root / INBOX / "cat1.png").exists() and not (root / "cat" / "cat1.png").exists()
    assert tab.grid.selected_paths() == [root / "cat" / "cat2.png"]
    assert window.project.inbox_count() == 5


def _right_click(tab, path: Path) -> QMenu:
    index = tab.thumb_model.index(tab.thumb_model.row_of(path))
    pos = tab.grid.visualRect(index).center()
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, tab.grid.viewport().mapToGlobal(pos))
    QApplication.sendEvent(tab.grid.viewport(), event)
    assert tab.thumb_menu is not None and tab.thumb_menu.isVisible()
    return tab.thumb_menu


def _click_entry(qtbot, menu: QMenu, starts_with: str):
    action = next(a for a in menu.actions() if a.text().startswith(starts_with))
    assert action.isEnabled(), action.text()
    qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())
    return action


class _FileManager(QObject):
    """Stands where the desktop's file manager would answer file:// links (Qt's own hook for it)."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.opened.append(url)


def test_the_thumbnail_menu_sends_to_a_class_or_the_inbox_previews_and_shows_the_folder(window, qtbot):
    tab = _tab(window)
    root = window.project.root
    _pick(tab, qtbot, root / INBOX / "u0.png")
    menu = _right_click(tab, root / INBOX / "u2.png")  # outside the selection: the menu is about u2
    assert tab.grid.selected_paths() == [root / INBOX / "u2.png"]
    texts = [a.text() for a in menu.actions() if a.text()]
    assert texts[0] == "Send image to Class" and texts[1] == "Send image to the Inbox\t0"
    assert not menu.actions()[1].isEnabled(), "already in the inbox"
    to_class = _click_entry(qtbot, menu, "Send image to Class")
    submenu = to_class.menu()
    qtbot.waitUntil(submenu.isVisible)
    assert [a.text() for a in submenu.actions()] == ["cat\t1", "dog\t2"], "each class with its key"
    _click_entry(qtbot, submenu, "dog")
    assert (root / "dog" / "u2.png").exists()
    # two images selected in a class: back to the inbox in one go
    tab.class_view.setCurrentIndex(tab.class_model.index(tab.class_model.row_of("dog")))
    _pick(tab, qtbot, root / "dog" / "dog0.png")
    tab.grid.selectionModel().select(tab.thumb_model.index(tab.thumb_model.row_of(root / "dog" / "dog1.png")),
                                     tab.grid.selectionModel().SelectionFlag.Select)
    menu = _right_click(tab, root / "dog" / "dog1.png")
    _click_entry(qtbot, menu, "Send 2 images to the Inbox")
    assert (root / INBOX / "dog0.png").exists() and (root / INBOX / "dog1.png").exists()
    # preview and the folder in the file manager
    menu = _right_click(tab, root / "dog" / "u2.png")
    _click_entry(qtbot, menu, "Preview")
    qtbot.waitUntil(lambda: tab.preview.isVisible() and tab.preview.caption.text() == str(root / "dog" / "u2.png"))
    tab.preview.close()
    manager = _FileManager()
    QDesktopServices.setUrlHandler("file", manager, "open")
    try:
        menu = _right_click(tab, root / "dog" / "u2.png")
        _click_entry(qtbot, menu, "Show in File Manager")
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert [u.toLocalFile() for u in manager.opened] == [str(root / "dog")]


def test_an_invalid_class_name_keeps_the_dialog_open_with_the_reason(window, qtbot, monkeypatch):
    tab = _tab(window)
    shown: list[tuple[str, bool, bool]] = []

    def exec_(dialog: CheckedTextDialog) -> int:  # what a user does in the dialog
        dialog.show()
        for attempt in ("cat", "a/b"):
            dialog.field.selectAll()
            qtbot.keyClicks(dialog.field, attempt)
            qtbot.keyClick(dialog.field, Qt.Key.Key_Return)  # refused: the dialog stays, with the text
            shown.append((dialog.reason.text(), dialog.ok_button.isEnabled(), dialog.isVisible()))
        assert dialog.field.text() == "a/b"
        qtbot.keyClick(dialog.field, Qt.Key.Key_Backspace)
        qtbot.keyClick(dialog.field, Qt.Key.Key_Backspace)
        qtbot.keyClicks(dialog.field, "nt")
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
        return dialog.result()

    monkeypatch.setattr(CheckedTextDialog, "exec", exec_)
    tab.new_button.click()
    assert "already exists" in shown[0][0] and shown[0][1:] == (False, True)
    assert "cannot be a class name" in shown[1][0] and shown[1][1:] == (False, True)
    assert window.project.class_names() == ["ant", "cat", "dog"]


def test_quarantined_files_leave_the_health_list_at_once_and_return_on_undo(window, qtbot):
    tab = _tab(window)
    root = window.project.root
    (root / "cat" / "broken.png").write_bytes(b"\x89PNG not an image")
    (root / "dog" / "empty.jpg").write_bytes(b"")
    with qtbot.waitSignal(tab.health.report_ready, timeout=10000):
        tab.health.check_button.click()

    def listed() -> list[str]:
        tree = tab.health.tree
        return [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]

    assert listed()[0] == "Unreadable files (2)"
    qtbot.mouseClick(tab.health.quarantine_button, Qt.MouseButton.LeftButton)
    assert (root / ".imgclf" / "quarantine" / "cat" / "broken.png").exists()
    assert "Unreadable files (2)" not in listed() and "✓ Unreadable files: none" in listed()
    assert "2 unreadable files moved to" in tab.health.summary.text()
    assert not tab.health.quarantine_button.isEnabled()
    window.undo_action.trigger()
    assert (root / "cat" / "broken.png").exists()
    assert listed()[0] == "Unreadable files (2)" and tab.health.quarantine_button.isEnabled()
    group = tab.health.tree.topLevelItem(0)
    tab.health.tree.itemClicked.emit(group, 0)
    assert set(tab.thumb_model.paths) == {root / "cat" / "broken.png", root / "dog" / "empty.jpg"}


def test_hint_and_headings_count_in_words(window, qtbot):
    tab = _tab(window)
    root = window.project.root
    for name in ("u1.png", "u2.png", "u3.png"):
        window.project.move_images([root / INBOX / name], "cat")
    assert tab.heading.text().endswith("— 1 image")
    tab.class_view.setCurrentIndex(tab.class_model.index(0))
    assert "1 image" in tab.class_model.index(0).data(Qt.ItemDataRole.ToolTipRole)
    window.project.move_images([root / INBOX / "u0.png"], "dog")
    assert window.statusBar().currentMessage() == "Sent u0.png to dog."
    assert tab.heading.text().endswith("— 0 images")
