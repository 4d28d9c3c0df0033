"""Bringing images into a project through the Dataset tab's real widgets: Import Images / Import Folder go
to the inbox unless the user picks the selected class, file drops on the grid land in the class shown,
and a folder of loose photos is explained and offered a move into the inbox."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from imgclf_gui.core.support.settings import Settings
from imgclf_gui.gui.common.project_model import INBOX
from imgclf_gui.gui.dataset.import_flow import ImportDialog
from imgclf_gui.gui.shell.main_window import MainWindow
from tests.conftest import write_image
from tests.gui.conftest import _drop, write_sorting_project


@pytest.fixture
def window(dataset_window):
    return dataset_window


def _tab(window):
    return window.tabs["Dataset"]


def _select_class(tab, qtbot, name: str) -> None:
    """Click a class in the list, as a user does before importing."""
    index = tab.class_model.index(tab.class_model.row_of(name))
    centre = tab.class_view.visualRect(index).center()
    qtbot.mouseClick(tab.class_view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert tab.current_class() == name


def _answer_import(monkeypatch, qtbot, *, into_class: bool = False, mode: str | None = None) -> list[dict]:
    """The import dialog is answered through its buttons; returns what it offered each time."""
    offered: list[dict] = []

    def exec_(dialog: ImportDialog) -> int:
        dialog.show()
        offered.append({"class": dialog.class_button.text() if dialog.class_button.isVisible() else None,
                        "inbox checked": dialog.inbox_button.isChecked(),
                        "asks mode": dialog.copy_button.isVisible()})
        if into_class:
            qtbot.mouseClick(dialog.class_button, Qt.MouseButton.LeftButton)
        if mode is not None:
            qtbot.mouseClick(dialog.copy_button if mode == "copy" else dialog.move_button, Qt.MouseButton.LeftButton)
        qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
        return dialog.result()

    monkeypatch.setattr(ImportDialog, "exec", exec_)
    return offered


def _outside_images(tmp_path_factory, count: int) -> list[Path]:
    folder = tmp_path_factory.mktemp("camera")
    return [write_image(folder / f"new{i}.png", seed=60 + i) for i in range(count)]


def test_import_images_with_a_class_selected_goes_to_the_inbox_by_default(window, qtbot, monkeypatch,
                                                                          tmp_path_factory):
    tab = _tab(window)
    root = window.project.root
    files = _outside_images(tmp_path_factory, 2)
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: ([str(f) for f in files], ""))
    offered = _answer_import(monkeypatch, qtbot)
    _select_class(tab, qtbot, "dog")
    qtbot.mouseClick(tab.import_button, Qt.MouseButton.LeftButton)
    assert offered[0]["class"] and "dog" in offered[0]["class"] and offered[0]["inbox checked"]
    assert (root / INBOX / "new0.png").exists() and (root / INBOX / "new1.png").exists()
    assert not (root / "dog" / "new0.png").exists()
    assert all(f.exists() for f in files), "copied: the originals stay"
    assert window.project.inbox_count() == 6


def test_import_folder_into_the_selected_class_when_the_user_picks_it_and_moves_when_asked(
        qtbot, monkeypatch, tmp_path, tmp_path_factory):
    win = MainWindow(settings=Settings(ask_import_mode=True, import_mode="copy"))
    qtbot.addWidget(win)
    win.show()
    assert win.open_project(write_sorting_project(tmp_path / "proj"))
    tab, root = _tab(win), win.project.root
    files = _outside_images(tmp_path_factory, 3)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(files[0].parent))
    offered = _answer_import(monkeypatch, qtbot, into_class=True, mode="move")
    _select_class(tab, qtbot, "dog")
    tab.commands.import_folder.trigger()
    assert offered[0]["asks mode"]
    assert sorted(p.name for p in (root / "dog").glob("new*.png")) == ["new0.png", "new1.png", "new2.png"]
    assert not any(f.exists() for f in files), "moved, as chosen"
    assert tab.thumb_model.rowCount() == 6 and tab.heading.text().endswith("— 6 images")
    win.undo_action.trigger()  # the originals come back where they were
    assert all(f.exists() for f in files) and not (root / "dog" / "new0.png").exists()


def test_with_the_inbox_shown_and_no_question_asked_import_needs_no_dialog(window, qtbot, monkeypatch,
                                                                          tmp_path_factory):
    tab = _tab(window)
    files = _outside_images(tmp_path_factory, 1)
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: ([str(files[0])], ""))
    offered = _answer_import(monkeypatch, qtbot)
    assert tab.current_class() == INBOX
    tab.commands.import_files.trigger()
    assert offered == [] and (window.project.root / INBOX / "new0.png").exists()


def test_files_dropped_on_the_grid_go_to_the_class_shown(window, qtbot, monkeypatch, tmp_path_factory):
    tab = _tab(window)
    root = window.project.root
    files = _outside_images(tmp_path_factory, 2)
    notes = files[0].parent / "notes.txt"
    notes.write_text("not a picture")
    _select_class(tab, qtbot, "cat")
    with qtbot.waitSignal(window.project.message, check_params_cb=lambda text: "left out" in text):
        assert _drop(tab.grid, files + [notes])
    assert (root / "cat" / "new0.png").exists() and (root / "cat" / "new1.png").exists()
    assert "notes.txt" in window.statusBar().currentMessage() and "not an image" in window.statusBar().currentMessage()
    assert tab.thumb_model.rowCount() == 5 and not (root / "cat" / "notes.txt").exists()
    # when asked, only copy-or-move is asked: a drop names its class itself
    window.preferences.update(ask_import_mode=True)
    offered = _answer_import(monkeypatch, qtbot, mode="move")
    more = _outside_images(tmp_path_factory, 1)
    assert _drop(tab.grid, more)
    assert offered[0]["class"] is None and offered[0]["asks mode"]
    assert (root / "cat" / "new0 (2).png").exists(), "a name clash gets a new name, nothing is overwritten"
    assert not more[0].exists(), "moved, as chosen"


def test_a_folder_of_loose_photos_is_explained_and_moved_into_the_inbox_on_request(qtbot, tmp_path):
    photos = tmp_path / "holiday"
    for i in range(3):
        write_image(photos / f"IMG_{i:04d}.png", seed=30 + i)
    win = MainWindow(settings=Settings())
    qtbot.addWidget(win)
    win.resize(1024, 700)
    win.show()
    assert win.open_project(photos)
    tab = _tab(win)
    assert tab.banner.isVisible()
    assert "3 photos outside any class" in tab.banner.text.text()
    assert "one sub-folder per class" in tab.banner.text.text()
    assert tab.banner.move_button.text() == "Move 3 photos to the Inbox"
    qtbot.mouseClick(tab.banner.move_button, Qt.MouseButton.LeftButton)
    assert sorted(p.name for p in (photos / INBOX).iterdir()) == ["IMG_0000.png", "IMG_0001.png", "IMG_0002.png"]
    assert tab.thumb_model.rowCount() == 3 and not tab.banner.isVisible()
    win.undo_action.trigger()  # journaled like any move
    assert (photos / "IMG_0000.png").exists() and tab.banner.isVisible()


def test_an_empty_project_says_what_a_project_is(qtbot, tmp_path):
    win = MainWindow(settings=Settings())
    qtbot.addWidget(win)
    win.show()
    assert win.open_project(tmp_path / "new", create=True)
    tab = _tab(win)
    assert tab.banner.isVisible() and "This project is empty" in tab.banner.text.text()
    assert not tab.banner.move_button.isVisible()


def test_a_folder_of_the_project_dropped_on_the_grid_is_refused_and_its_files_are_moved_not_copied(window, qtbot):
    tab = _tab(window)
    root = window.project.root
    with qtbot.waitSignal(window.project.message) as said:
        assert _drop(tab.grid, [root / "dog"])  # from a file manager showing the project
    assert "already a folder of this project" in said.args[0]
    assert {c.name: c.count for c in window.project.classes()} == {"cat": 3, "dog": 3}
    assert window.project.inbox_count() == 4
    assert _drop(tab.grid, [root / "dog" / "dog0.png"])  # one of its images: sorted into the inbox shown
    assert (root / INBOX / "dog0.png").exists() and not (root / "dog" / "dog0.png").exists()
    assert window.project.inbox_count() == 5
