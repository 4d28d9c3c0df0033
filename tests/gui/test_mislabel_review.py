"""Possibly mislabelled images, reviewed one key at a time (``gui/common/mislabel_review.py``), as the
Training tab offers them after a run: M moves an image to the suggested class (journaled, undoable), K keeps
it and remembers it (not suggested again), and the view goes on to the next image."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from imgclf_gui.core.review.reviewed import reviewed_marks
from imgclf_gui.gui.training.training_tab import MISLABELLED
from tests.gui.training_helpers import plant_greens_in_red, tab_fixture, train  # noqa: F401 - the "tab" fixture


def _open_review(tab, qtbot):
    plant_greens_in_red(tab.project.root, 6)
    tab.project.refresh()
    train(qtbot, tab)
    scan = tab.session.shown.mislabels
    assert scan.available and scan.suspects
    button = tab.report_view.mislabels_button
    assert button.isVisible() and button.text() == f"Possibly mislabelled: {len(scan.suspects)}"
    button.click()
    assert tab.pages.currentIndex() == MISLABELLED
    review = tab.mislabels
    review.grid.setFocus()
    return review, scan.suspects


def test_the_list_shows_folder_suggestion_and_confidence_worst_first(tab, qtbot):
    review, suspects = _open_review(tab, qtbot)
    assert [item.path for item in review.items()] == [s.path for s in suspects]
    assert [s.label_probability for s in suspects] == sorted(s.label_probability for s in suspects)
    assert all(s.path.name.startswith("zz_green") for s in suspects)  # the planted ones, nothing else
    assert review.model.caption(0) == f"red → green ({suspects[0].confidence:.0%})"
    assert f"{len(suspects)} images look filed in the wrong class" in review.heading.text()
    assert "M" in review.hint.text() and "K" in review.hint.text()  # both keys are on screen
    assert review.move_button.text() == "Move to green (M)" and review.keep_button.text() == "Keep (K)"
    assert tab.pages.tabText(MISLABELLED) == f"Possibly Mislabelled ({len(suspects)})"


def test_m_moves_to_the_suggestion_k_keeps_and_both_go_on_to_the_next(tab, qtbot):
    review, suspects = _open_review(tab, qtbot)
    root = tab.project.root
    first, second = suspects[0].path, suspects[1].path
    QTest.keyClick(review.grid, Qt.Key.Key_M)
    assert (root / "green" / first.name).is_file() and not first.exists()
    assert review.model.caption(0) == "moved to green"
    assert review.grid.currentIndex().row() == 1
    QTest.keyClick(review.grid, Qt.Key.Key_K)
    assert second.is_file()  # kept where it is
    assert list(reviewed_marks(root).values()) == ["red"]
    assert review.model.caption(1) == "kept in red"
    assert review.grid.currentIndex().row() == 2
    assert tab.pages.tabText(MISLABELLED) == f"Possibly Mislabelled ({len(suspects) - 2})"
    # Undo takes back this list's own steps, newest first, and says which.
    assert review.undo_button.toolTip() == f"Undo: keep {second.name} in red"
    review.undo_button.click()
    assert reviewed_marks(root) == {} and review.model.caption(1).startswith("red → green")
    assert review.undo_button.toolTip() == f"Undo: send {first.name} to green"
    review.undo_button.click()
    assert first.is_file() and review.model.caption(0).startswith("red → green")
    assert not review.undo_button.isEnabled()


def test_a_kept_image_is_not_suggested_again(tab, qtbot):
    review, suspects = _open_review(tab, qtbot)
    kept = suspects[0].path
    QTest.keyClick(review.grid, Qt.Key.Key_K)
    with qtbot.waitSignal(tab.session.shown_run_changed, timeout=10000):
        tab.session.reload_mislabels()
    again = [item.path for item in tab.mislabels.items()]
    assert kept not in again and len(again) == len(suspects) - 1


def test_when_every_image_is_dealt_with_the_view_says_so(tab, qtbot):
    review, suspects = _open_review(tab, qtbot)
    with qtbot.waitSignal(review.reviewed_all):
        for _ in suspects:
            QTest.keyClick(review.grid, Qt.Key.Key_K)
    assert review.status.text() == f"All {len(suspects)} listed images are dealt with."
    assert not review.move_button.isEnabled() and not review.keep_button.isEnabled()
    assert tab.pages.tabText(MISLABELLED) == "Possibly Mislabelled"
