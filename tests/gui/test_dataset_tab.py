"""The Dataset tab through its real widgets: keys, drops, class management, crash recovery, health."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt
from PySide6.QtWidgets import QInputDialog, QMessageBox

from imgclf_gui.core.support.settings import Settings, load_settings
from imgclf_gui.gui.common.project_model import INBOX
from imgclf_gui.gui.shell.main_window import MainWindow
from tests.conftest import write_image
from tests.gui.conftest import _drop, accepts_drag, answer_text_dialogs, drop_mime


def _all_images(root: Path) -> set[bytes]:
    """Contents of every image anywhere under the project (including .imgclf/trash)."""
    return {p.read_bytes() for p in root.rglob("*.png")}


@pytest.fixture
def window(dataset_window):
    return dataset_window


def _tab(window):
    return window.tabs["Dataset"]


def test_keyboard_labelling_advances_and_undo_redo(window, qtbot):
    tab = _tab(window)
    root = window.project.root
    assert tab.current_class() == INBOX and tab.thumb_model.rowCount() == 4
    tab.grid.setFocus()
    tab.grid.setCurrentIndex(tab.thumb_model.index(0))
    qtbot.keyClick(tab.grid, "1")  # class 1 = cat
    assert (root / "cat" / "u0.png").exists()
    assert tab.thumb_model.rowCount() == 3
    assert tab.grid.selected_paths() == [root / INBOX / "u1.png"], "the next image is selected"
    qtbot.keyClick(tab.grid, "2")
    assert (root / "dog" / "u1.png").exists()
    window.undo_action.trigger()
    assert (root / INBOX / "u1.png").exists() and not (root / "dog" / "u1.png").exists()
    qtbot.keyClick(window, "z", Qt.KeyboardModifier.ControlModifier)
    assert (root / INBOX / "u0.png").exists()
    window.redo_action.trigger()
    assert (root / "cat" / "u0.png").exists()
    assert tab.thumb_model.rowCount() == 3
    counts = {c.name: c.count for c in window.project.classes()}
    assert counts == {"cat": 4, "dog": 3}


def test_a_class_gets_its_own_letter_key_through_the_dialog(window, qtbot, monkeypatch):
    tab = _tab(window)
    root = window.project.root
    tab.class_view.setCurrentIndex(tab.class_model.index(tab.class_model.row_of("dog")))
    seen = answer_text_dialogs(monkeypatch, qtbot, "D", "?!", "0")
    tab.commands.key.trigger()
    assert {c.name: c.key for c in window.project.classes()}["dog"] == "d"
    tab.class_view.setCurrentIndex(tab.class_model.index(0))  # back to the inbox
    qtbot.waitUntil(lambda: tab.current_class() == INBOX and tab.thumb_model.rowCount() == 4)
    first = tab.grid.visualRect(tab.thumb_model.index(0)).center()
    qtbot.mouseClick(tab.grid.viewport(), Qt.MouseButton.LeftButton, pos=first)  # as a user picks it
    qtbot.waitUntil(lambda: tab.grid.selected_paths() == [root / INBOX / "u0.png"])
    qtbot.keyClick(tab.grid, "d")
    assert (root / "dog" / "u0.png").exists()
    # the key survives a restart of the app (it is kept in the project's manifest)
    window.project.open(root)
    assert {c.name: c.key for c in window.project.classes()}["dog"] == "d"
    # a bad key is refused with a sentence while it is typed, and the inbox's 0 too; nothing changes
    tab.class_view.setCurrentIndex(tab.class_model.index(tab.class_model.row_of("dog")))
    tab.commands.key.trigger()
    tab.commands.key.trigger()
    assert "one letter or digit" in seen[1][1] and not seen[1][2]
    assert "inbox" in seen[2][1] and not seen[2][2]
    assert {c.name: c.key for c in window.project.classes()}["dog"] == "d"


def _class_row_centre(tab, name: str) -> QPoint:
    return tab.class_view.visualRect(tab.class_model.index(tab.class_model.row_of(name))).center()


def test_drop_files_from_desktop_into_inbox_and_onto_class(window, tmp_path_factory):
    tab = _tab(window)
    outside = tmp_path_factory.mktemp("desktop")
    files = [write_image(outside / f"new{i}.png", seed=50 + i) for i in range(2)]
    assert _drop(tab.grid, files)
    assert (window.project.root / INBOX / "new0.png").exists()
    assert all(f.exists() for f in files), "copy mode keeps the originals"
    assert tab.thumb_model.rowCount() == 6
    # the same file dropped on the class "dog" is copied there too, under its own name
    assert _drop(tab.class_view, files, _class_row_centre(tab, "dog"))
    assert (window.project.root / "dog" / "new1.png").exists()


def test_drag_thumbnails_onto_class_moves_them(window):
    tab = _tab(window)
    tab.grid.selectAll()
    mime = tab.thumb_model.mimeData(tab.grid.selectionModel().selectedIndexes())
    assert drop_mime(tab.class_view, mime, _class_row_centre(tab, "cat"), Qt.DropAction.MoveAction)
    assert window.project.inbox_count() == 0
    assert {c.name: c.count for c in window.project.classes()}["cat"] == 7


@pytest.mark.parametrize("target", ["grid", "class list"])
def test_a_dropped_non_image_is_refused_with_a_sentence(window, qtbot, tmp_path_factory, target):
    tab = _tab(window)
    root = window.project.root
    before = sorted(p.relative_to(root) for p in root.rglob("*") if ".imgclf" not in p.parts)
    notes = tmp_path_factory.mktemp("desktop") / "notes.txt"
    notes.write_text("not a picture")
    with qtbot.waitSignal(window.project.message) as said:
        if target == "grid":
            _drop(tab.grid, [notes])
        else:
            _drop(tab.class_view, [notes], _class_row_centre(tab, "dog"))
    assert "No images found" in said.args[0] and "No images found" in window.statusBar().currentMessage()
    assert sorted(p.relative_to(root) for p in root.rglob("*") if ".imgclf" not in p.parts) == before
    assert notes.exists()


def test_a_drag_that_carries_no_file_is_refused_before_the_drop(window):
    tab = _tab(window)
    text = QMimeData()
    text.setText("some words from a text editor")
    assert not accepts_drag(tab.grid, text)
    assert not accepts_drag(tab.class_view, text, _class_row_centre(tab, "dog"))
    assert tab.thumb_model.rowCount() == 4


def test_rename_merge_delete_keep_every_image(window, qtbot, monkeypatch):
    tab = _tab(window)
    root = window.project.root
    before = _all_images(root)
    tab.show_class("cat")
    answer_text_dialogs(monkeypatch, qtbot, "kitten")
    tab.rename_button.click()
    assert window.project.class_names() == ["dog", "kitten"]
    tab.show_class("kitten")
    monkeypatch.setattr(QInputDialog, "getItem", lambda *a, **k: ("dog", True))
    tab.merge_button.click()
    assert window.project.class_names() == ["dog"]
    assert {c.name: c.count for c in window.project.classes()} == {"dog": 6}
    tab.show_class("dog")
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    tab.delete_button.click()
    assert window.project.class_names() == []
    assert window.project.inbox_count() == 10
    assert _all_images(root) == before, "no image was lost or changed"
    for _ in range(3):
        window.project.undo()
    assert window.project.class_names() == ["cat", "dog"]
    assert _all_images(root) == before


def test_crash_mid_move_is_completed_when_the_project_opens(window, qtbot, monkeypatch):
    from imgclf_gui.core.project.moves import plan_moves
    from tests.core.test_journal import Crash, abandon, crash_on_rename

    root = window.project.root
    journal = window.project._journal
    ops = plan_moves([root / INBOX / "u0.png", root / INBOX / "u1.png"], root / "cat")
    with monkeypatch.context() as patch, pytest.raises(Crash):
        crash_on_rename(patch, 0, after=True)  # the first file moved, then the app "crashed"
        journal.run("send 2 images to cat", ops)
    abandon(journal)
    window.project.close()
    with qtbot.waitSignal(window.project.message, timeout=2000) as blocker:
        window.open_project(root)
    assert "interrupted" in blocker.args[0]
    assert (root / "cat" / "u1.png").exists() and not (root / INBOX / "u1.png").exists()
    assert window.undo_action.isEnabled()


def test_health_panel_finds_corrupt_file_and_duplicate(window, qtbot):
    tab = _tab(window)
    root = window.project.root
    (root / "cat" / "broken.png").write_bytes(b"\x89PNG not an image")
    shutil.copy(root / "dog" / "dog0.png", root / INBOX / "dup.png")
    with qtbot.waitSignal(tab.health.report_ready, timeout=10000) as blocker:
        tab.health.check_button.click()
    report = blocker.args[0]
    assert [f.paths for f in report.of_kind("unreadable")] == [[root / "cat" / "broken.png"]]
    assert report.of_kind("duplicate")
    groups = [tab.health.tree.topLevelItem(i).text(0) for i in range(tab.health.tree.topLevelItemCount())]
    assert groups[0].startswith("Unreadable files") and any(g.startswith("Exact duplicates") for g in groups)
    dup_group = next(tab.health.tree.topLevelItem(i) for i in range(len(groups)) if "duplicates" in groups[i])
    tab.health.tree.itemClicked.emit(dup_group.child(0), 0)  # one click to the images concerned
    assert set(tab.thumb_model.paths) == {root / "dog" / "dog0.png", root / INBOX / "dup.png"}
    tab.health.quarantine_button.click()
    assert not (root / "cat" / "broken.png").exists()
    assert (root / ".imgclf" / "quarantine" / "cat" / "broken.png").exists()


def test_thousands_of_images_are_not_decoded_up_front(qtbot, tmp_path):
    from PIL import Image

    root = tmp_path / "big"
    (root / INBOX).mkdir(parents=True)
    tiny = Image.new("RGB", (4, 4), (10, 200, 10))
    for i in range(3000):
        tiny.save(root / INBOX / f"img{i:05d}.png")
    win = MainWindow(settings=Settings())
    qtbot.addWidget(win)
    win.resize(760, 540)
    win.show()
    win.open_project(root)
    tab = _tab(win)
    assert tab.thumb_model.rowCount() == 3000
    qtbot.waitUntil(lambda: _thumbnails_settled(tab), timeout=10_000)
    assert tab.thumb_model.decoded < 200, "only the visible rows are decoded"
    tab.grid.scrollToBottom()
    qtbot.waitUntil(lambda: _thumbnails_settled(tab) and tab.thumb_model.path(2999) in tab.thumb_model._pixmaps,
                    timeout=10_000)
    assert tab.thumb_model.decoded < 400


def _thumbnails_settled(tab) -> bool:
    """Every row in view shows its thumbnail and the loader has nothing left to do: what is not decoded
    by now will not be."""
    model, grid = tab.thumb_model, tab.grid
    in_view = [model.path(row) for row in range(model.rowCount())
               if grid.visualRect(model.index(row)).intersects(grid.viewport().rect())]
    return (bool(in_view) and all(path in model._pixmaps for path in in_view) and not model._pending
            and model._tasks.slot_task(model._slot) is None)


def test_preview_shows_the_image_asked_for_last_even_when_an_earlier_one_decodes_longer(window, qtbot):
    """Space on a 5,000-pixel image, then at once on a small one: the small one is shown, and stays
    shown after the big one's decode has finished (it used to replace it, under the small one's name)."""
    from PIL import Image

    tab = _tab(window)
    root = window.project.root
    Image.new("RGB", (5000, 1000), (20, 90, 200)).save(root / INBOX / "big.png")  # 5:1, the small one 4:3
    window.project.refresh()
    qtbot.waitUntil(lambda: tab.thumb_model.row_of(root / INBOX / "big.png") is not None)
    preview_slot = ("preview", id(tab.preview))
    tab.grid.setFocus()
    tab.grid.setCurrentIndex(tab.thumb_model.index(tab.thumb_model.row_of(root / INBOX / "big.png")))
    qtbot.keyClick(tab.grid, Qt.Key.Key_Space)
    big_decode = window.tasks.slot_task(preview_slot)
    assert big_decode is not None and big_decode.state.started.wait(5)  # as when a user presses Space twice
    tab.grid.setCurrentIndex(tab.thumb_model.index(tab.thumb_model.row_of(root / INBOX / "u0.png")))
    qtbot.keyClick(tab.grid, Qt.Key.Key_Space)
    small_decode = window.tasks.slot_task(preview_slot)
    assert small_decode is not None and small_decode is not big_decode
    with qtbot.waitSignals([big_decode.finished, small_decode.finished], timeout=20000):
        pass
    assert big_decode.outcome == "done", "the big image did decode; its result was dropped, not lost in a crash"
    assert tab.preview.caption.text() == str(root / INBOX / "u0.png")
    shown = tab.preview.label.pixmap()
    assert not shown.isNull()
    assert abs(shown.width() / shown.height() - 64 / 48) < 0.05, "the picture is the small 4:3 image"


def test_a_check_of_the_previous_project_never_reaches_the_next_ones_panel(window, qtbot, tmp_path):
    tab = _tab(window)
    (window.project.root / "cat" / "broken.png").write_bytes(b"\x89PNG not an image")
    tab.health.check_button.click()
    check = window.tasks.slot_task(("health", id(tab.health)))
    assert check is not None and check.state.started.wait(5)
    other = tmp_path / "other"
    write_image(other / "bird" / "b0.png", seed=7)
    assert window.open_project(other)  # while the first project's check still runs
    with qtbot.waitSignal(check.finished, timeout=10000):
        pass
    assert tab.health.tree.topLevelItemCount() == 0, "no finding of the first project is listed"
    assert tab.health.summary.text() == "Checks run in the background; you can keep sorting."
    assert tab.health.check_button.isEnabled() and not tab.health.quarantine_button.isEnabled()


def test_a_labelling_key_stays_with_its_class_when_classes_are_added_renamed_or_undone(window, qtbot, monkeypatch):
    tab = _tab(window)
    root = window.project.root

    def keys():
        return {c.name: c.key for c in window.project.classes()}

    assert keys() == {"cat": "1", "dog": "2"}
    answer_text_dialogs(monkeypatch, qtbot, "ant", "zebra")
    tab.new_button.click()  # "ant" sorts first; it used to take 1 and shift cat to 2, dog to 3
    assert keys() == {"ant": "3", "cat": "1", "dog": "2"}
    tab.show_class("cat")
    tab.rename_button.click()
    assert keys() == {"ant": "3", "dog": "2", "zebra": "1"}
    window.undo_action.trigger()
    assert keys() == {"ant": "3", "cat": "1", "dog": "2"}
    tab.show_class(INBOX)
    tab.grid.setFocus()
    tab.grid.setCurrentIndex(tab.thumb_model.index(0))
    qtbot.keyClick(tab.grid, "1")
    assert (root / "cat" / "u0.png").exists()
    window.project.open(root)  # as after a restart: the keys are kept in the project
    assert keys() == {"ant": "3", "cat": "1", "dog": "2"}


def test_preferences_changed_in_the_dialog_are_followed_at_once(window, qtbot, monkeypatch):
    from imgclf_gui.gui.shell.preferences_dialog import PreferencesDialog

    tab = _tab(window)
    root = window.project.root
    assert tab.grid.iconSize().width() == 128

    def edit_and_press_ok(dialog):  # what a user does in the dialog
        dialog.thumb_size.setValue(96)
        dialog.advance.setChecked(False)
        dialog.accept()
        return 1

    monkeypatch.setattr(PreferencesDialog, "exec", edit_and_press_ok)
    window.prefs_action.trigger()
    assert tab.grid.iconSize().width() == 96 and tab.thumb_model.side == 96
    qtbot.waitUntil(lambda: tab.thumb_model.rowCount() and tab.thumb_model.path(0) in tab.thumb_model._pixmaps)
    assert tab.thumb_model._pixmaps[tab.thumb_model.path(0)].width() <= 96, "thumbnails are remade at the new size"
    tab.grid.setFocus()
    tab.grid.setCurrentIndex(tab.thumb_model.index(0))
    qtbot.keyClick(tab.grid, "1")
    assert (root / "cat" / "u0.png").exists()
    assert tab.grid.selected_paths() == [], "no longer moves on to the next image"
    assert load_settings().thumbnail_size == 96, "saved for the next start"


def test_no_other_project_opens_while_a_large_move_runs_in_the_background(window, qtbot, tmp_path, monkeypatch):
    from PIL import Image

    from imgclf_gui.gui.common.project_model import BACKGROUND_OPS

    root = window.project.root
    tiny = Image.new("RGB", (2, 2), (0, 0, 0))
    many = []
    for i in range(BACKGROUND_OPS + 1):
        many.append(root / INBOX / f"many{i:04d}.png")
        tiny.save(many[-1])
    other = tmp_path / "other"
    write_image(other / "bird" / "b0.png", seed=7)
    warnings = []
    monkeypatch.setattr("imgclf_gui.gui.shell.main_window.QMessageBox.warning", lambda *a: warnings.append(a[2]))
    assert window.project.move_images(many, "cat") is None  # runs in the background
    assert not window.open_project(other)
    assert warnings and "still running" in warnings[0] and window.project.root == root
    with qtbot.waitSignal(window.project.busy_changed, check_params_cb=lambda busy: not busy, timeout=20000):
        pass
    assert len(list((root / "cat").glob("many*.png"))) == BACKGROUND_OPS + 1
    assert window.open_project(other)
