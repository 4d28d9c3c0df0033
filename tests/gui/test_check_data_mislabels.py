"""Check Data on the Dataset tab lists the possibly mislabelled images of the active model and opens the same
review as the Training tab: M moves an image to the suggested class, K keeps it (not suggested again)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from imgclf_gui.core.support.settings import Settings
from imgclf_gui.gui.common.mislabel_review import MislabelReview
from imgclf_gui.gui.shell.main_window import MainWindow
from tests.gui.conftest import write_colour_project
from tests.gui.training_helpers import PER_CLASS, config, plant_greens_in_red, train


def _group(panel, label: str):
    tree = panel.tree
    return next((tree.topLevelItem(i) for i in range(tree.topLevelItemCount())
                 if tree.topLevelItem(i).text(0).startswith(label)), None)


def _check(panel, qtbot):
    with qtbot.waitSignal(panel.report_ready, timeout=20000) as blocker:
        panel.check_button.click()
    return blocker.args[0]


def test_check_data_lists_possibly_mislabelled_images_and_opens_their_review(qtbot, tmp_path, fake_backbone):
    root = write_colour_project(tmp_path / "proj", per_class=PER_CLASS)
    plant_greens_in_red(root, 5)
    win = MainWindow(settings=Settings())
    qtbot.addWidget(win)
    win.resize(1280, 720)
    win.show()
    assert win.open_project(root)
    panel = win.tabs["Dataset"].health
    # Before any model, Check Data says why it cannot look for them, and does not call it a pass.
    _check(panel, qtbot)
    assert _group(panel, "Possibly mislabelled") is None and _group(panel, "✓ Possibly mislabelled") is None
    assert "Possibly mislabelled images: the project has no trained model yet" in panel.summary.text()
    training = win.tabs["Training"]
    training.session.set_config(config(fake_backbone))
    train(qtbot, training)
    suspects = training.session.shown.mislabels.suspects
    assert len(suspects) >= 2
    report = _check(panel, qtbot)
    group = _group(panel, "Possibly mislabelled")
    assert group is not None and group.text(0) == f"Possibly mislabelled ({len(suspects)})"
    assert [group.child(i).text(0) for i in range(group.childCount())] == [
        f"{s.path.name}: red → green ({s.confidence:.0%})" for s in suspects]
    assert len(report.of_kind("mislabel")) == len(suspects)
    # One click opens the review (the same widget as the Training tab's) on the image clicked.
    panel.tree.itemClicked.emit(group.child(0), 0)
    dialog = panel.review_dialog
    assert dialog.isVisible() and isinstance(dialog.review, MislabelReview)
    review = dialog.review
    assert [item.path for item in review.items()] == [s.path for s in suspects]
    assert review.grid.currentIndex().row() == 0
    review.grid.setFocus()
    moved = suspects[0].path
    QTest.keyClick(review.grid, Qt.Key.Key_M)
    assert (root / "green" / moved.name).is_file() and not moved.exists()
    # The finding leaves the list at once: the person has dealt with it.
    group = _group(panel, "Possibly mislabelled")
    assert group.childCount() == len(suspects) - 1
    assert all(moved.name not in group.child(i).text(0) for i in range(group.childCount()))
    assert review.grid.currentIndex().row() == 1
    QTest.keyClick(review.grid, Qt.Key.Key_K)  # the next one stays where it is, remembered
    kept = suspects[1].path
    assert kept.is_file()
    dialog.close()
    _check(panel, qtbot)
    group = _group(panel, "Possibly mislabelled")
    left = [group.child(i).text(0) for i in range(group.childCount())] if group is not None else []
    assert all(kept.name not in text and moved.name not in text for text in left)
    assert len(left) == len(suspects) - 2
