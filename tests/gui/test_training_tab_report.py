"""The report of a run in the Training tab: it names its run and what it is scored on, its confusion-matrix
cells lead to images from the whole dataset, and everything on it comes from the run it names."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from imgclf_gui.core.models import runs
from imgclf_gui.core.training.evaluation import evaluate_probabilities
from imgclf_gui.gui.training.mistakes_view import START_TEXT
from imgclf_gui.gui.training.shown_run import ShownRun
from imgclf_gui.gui.training.training_tab import REPORT
from tests.gui.training_helpers import PER_CLASS, config, plant_greens_in_red, tab_fixture, train  # noqa: F401 - the "tab" fixture


def _click_cell(tab, row: int, column: int) -> None:
    matrix = tab.report_view.matrix
    tab.pages.setCurrentIndex(REPORT)
    matrix.scrollTo(matrix.model().index(row, column))
    rect = matrix.visualRect(matrix.model().index(row, column))
    QTest.mouseClick(matrix.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_the_report_names_its_run_and_what_it_is_scored_on(tab, qtbot, fake_backbone):
    assert [tab.pages.tabText(i) for i in range(tab.pages.count())][:2] == ["Curves", "Report"]  # not "Test"
    outcome = train(qtbot, tab)
    title = runs.run_title(outcome.run)
    assert title.startswith("run of ") and outcome.run.run_id not in title
    assert "R" + title[1:] in tab.report_view.heading.text() and "used for classifying" in \
        tab.report_view.heading.text()
    low, high = tab.report_view.report.accuracy_interval
    assert f"(95% interval {low:.1%} to {high:.1%})" in tab.report_view.summary.text()
    assert f"the out-of-fold predictions of all {3 * PER_CLASS} images (5 folds)" in tab.report_view.summary.text()
    # What the folds decided about mirror images, on what out-of-fold losses
    flips = outcome.result.crossval.flips
    assert flips.describe().startswith("Mirror images: ") and flips.describe() in tab.report_view.summary.text()
    # Keeping a test part: the report says it is scored on it.
    tab.session.set_config(config(fake_backbone, test_percent=25))
    train(qtbot, tab)
    count = tab.report_view.report.count
    assert 0 < count < 3 * PER_CLASS
    assert f"the held-out test part ({count} images)" in tab.report_view.summary.text()


def test_cells_lead_to_images_of_the_whole_dataset_and_a_fix_defaults_to_the_predicted_class(tab, qtbot):
    root = tab.project.root
    planted = plant_greens_in_red(root)
    tab.project.refresh()
    train(qtbot, tab)
    report = tab.report_view.report
    names = report.class_names
    red, green = names.index("red"), names.index("green")
    assert int(report.confusion[red, green]) == len(planted)
    _click_cell(tab, red, green)
    listed = [item.path for item in tab.mistakes.model.items]
    assert sorted(listed) == sorted(planted)  # every one of them, not only a test tenth
    assert f"{len(planted)} images of “red” the model called “green”" in tab.mistakes.heading.text()
    # A right answer's cell lists its images too (all of them: every image was predicted honestly).
    _click_cell(tab, green, green)
    assert len(tab.mistakes.model.items) == int(report.confusion[green, green]) == PER_CLASS
    assert all(item.path.parent.name == "green" for item in tab.mistakes.model.items)
    # Fix one planted image: "Move to" starts on the class the model predicted.
    _click_cell(tab, red, green)
    assert tab.mistakes.target.currentData() == "green"
    first = tab.mistakes.model.items[0].path
    tab.mistakes.grid.clearSelection()
    tab.mistakes.grid.setCurrentIndex(tab.mistakes.model.index(0))
    tab.mistakes.move_button.click()
    assert (root / "green" / first.name).is_file() and not first.exists()
    assert tab.mistakes.model.caption(0) == "moved to green"
    # Listed again later, the moved image is shown where it is now.
    _click_cell(tab, green, green)
    _click_cell(tab, red, green)
    moved = [item for item in tab.mistakes.model.items if item.original == first]
    assert moved[0].path == root / "green" / first.name


def test_a_report_thumbnail_opens_a_preview_with_space_and_double_click(tab, qtbot):
    planted = plant_greens_in_red(tab.project.root, 2)
    tab.project.refresh()
    train(qtbot, tab)
    tab.report_view.top_losses_button.click()
    grid = tab.mistakes.grid
    grid.setFocus()
    grid.setCurrentIndex(tab.mistakes.model.index(1))
    QTest.keyClick(grid, Qt.Key.Key_Space)
    preview = tab.mistakes._preview
    assert preview is not None and preview.isVisible()
    second = tab.mistakes.model.items[1].path
    assert preview.caption.text() == str(second) and second in planted
    qtbot.waitUntil(lambda: preview.label.pixmap() is not None and not preview.label.pixmap().isNull())
    preview.close()
    rect = grid.visualRect(tab.mistakes.model.index(0))
    QTest.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # a double click's
    QTest.mouseDClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # first press
    assert preview.isVisible() and preview.caption.text() == str(tab.mistakes.model.items[0].path)
    preview.close()


def test_undo_in_the_report_takes_back_only_its_own_moves(tab, qtbot):
    root = tab.project.root
    plant_greens_in_red(root, 3)
    tab.project.refresh()
    train(qtbot, tab)
    undo = tab.mistakes.undo_button
    assert not undo.isEnabled()  # nothing moved here yet
    tab.report_view.top_losses_button.click()
    tab.mistakes.grid.clearSelection()
    tab.mistakes.grid.setCurrentIndex(tab.mistakes.model.index(0))
    mine = tab.mistakes.model.items[0].path
    tab.mistakes.move_button.click()
    assert undo.isEnabled() and undo.toolTip() == f"Undo: send {mine.name} to green"
    # A key move in the Dataset tab (through the same project): this button must not take it back.
    elsewhere = root / "blue" / "blue00.png"
    tab.project.move_images([elsewhere], "red")
    assert not undo.isEnabled()
    assert "Edit ▸ Undo takes that back first" in undo.toolTip()
    tab.project.undo()  # Edit ▸ Undo: the Dataset tab's move
    assert elsewhere.is_file() and undo.isEnabled()
    undo.click()
    assert mine.is_file() and not (root / "green" / mine.name).exists()
    assert not undo.isEnabled()


def test_retraining_and_showing_an_older_run_never_mix_two_runs(tab, qtbot, fake_backbone):
    root = tab.project.root
    plant_greens_in_red(root, 4)
    tab.project.refresh()
    first = train(qtbot, tab)
    tab.session.rename_run(first.run.run_id, "first")
    tab.report_view.top_losses_button.click()
    assert tab.mistakes.model.rowCount() == 4
    # The planted images are fixed and the project trained again: the old run's mistakes must not stay.
    tab.project.move_images([root / "red" / f"zz_green_{i}.png" for i in range(4)], "green")
    tab.session.set_config(config(fake_backbone, epochs=6))
    second = train(qtbot, tab)
    tab.session.rename_run(second.run.run_id, "second")
    assert tab.mistakes.model.rowCount() == 0 and tab.mistakes.heading.text() == START_TEXT
    assert "“second”" in tab.report_view.heading.text()
    assert tab.report_view.report.accuracy == second.result.report.accuracy
    # "Show Report" of the first run: its heading, its figures, its curves, its images.
    tab.history_view.table.selectRow(1)  # newest first
    with qtbot.waitSignal(tab.session.shown_run_changed, timeout=10000):
        tab.history_view.show_button.click()
    assert tab.pages.currentIndex() == REPORT
    heading = tab.report_view.heading.text()
    assert "“first”" in heading and "not</i> the model used for classifying" in heading
    assert tab.report_view.report.to_dict() == first.result.report.to_dict()
    scan = tab.session.shown.mislabels  # its possibly mislabelled images too, from its own predictions
    assert scan.available and scan.run_id == first.run.run_id
    assert tab.plots.point_count() == 8  # the first run's final model trained 8 epochs, the second 6
    tab.report_view.top_losses_button.click()
    assert {item.original.name for item in tab.mistakes.model.items} >= {f"zz_green_{i}.png" for i in range(4)}
    assert all(item.path.parent.name == "green" for item in tab.mistakes.model.items
               if item.original.name.startswith("zz_green"))  # shown where they are now


def test_top_losses_show_the_worst_mistake_first(tab, qtbot):
    """Three red photos taken for other colours, with p(red) 0.3, 0.05 and 0.2: the one the model was
    surest is not red (0.05, loss 3.0) comes first, then 0.2 (loss 1.6), then 0.3 (loss 1.2)."""
    root = tab.project.root
    paths = [str(root / "red" / f"red{i:02d}.png") for i in range(4)]
    probabilities = np.array([[.3, .7, 0], [.05, 0, .95], [.2, .8, 0], [.9, .1, 0]])  # red, green, blue
    report = evaluate_probabilities(probabilities, np.zeros(4, int), ["red", "green", "blue"], paths)
    run = runs.RunInfo("20260101-000000-000000", root, "2026-01-01T00:00:00+00:00", name="made up")
    tab.session.shown_run_changed.emit(ShownRun(root, run, True, report=report))
    assert tab.report_view.top_losses_button.isEnabled()
    qtbot.mouseClick(tab.report_view.top_losses_button, Qt.MouseButton.LeftButton)
    shown = [str(item.path) for item in tab.mistakes.model.items]
    assert shown == [paths[1], paths[2], paths[0]]  # red03 was right: not a mistake
    assert "All 3 misclassified images, worst first" in tab.mistakes.heading.text()
    assert [tab.mistakes.model.caption(i) for i in range(3)] == ["red → blue (95%)", "red → green (80%)",
                                                                 "red → green (70%)"]


def test_the_report_fits_without_scrolling_at_1280x720_for_eight_classes(qtbot, tmp_path, fake_backbone):
    """Eight classes: every row of the per-class table and of the confusion matrix is in view."""
    from imgclf_gui.core.support.settings import Settings
    from imgclf_gui.gui.shell.main_window import MainWindow
    from tests.conftest import write_image

    colours = [(220, 40, 40), (40, 200, 40), (30, 40, 220), (220, 220, 30), (30, 220, 220), (220, 30, 220),
               (120, 60, 10), (240, 240, 240)]
    for k, colour in enumerate(colours):
        for i in range(6):
            write_image(tmp_path / "eight" / f"class_number_{k}" / f"{i}.png", size=(40, 40), color=colour,
                        seed=10 * k + i)
    win = MainWindow(settings=Settings())
    qtbot.addWidget(win)
    win.resize(1280, 720)
    win.show()
    assert win.open_project(tmp_path / "eight")
    training = win.tabs["Training"]
    win.tab_widget.setCurrentWidget(training)
    training.session.set_config(config(fake_backbone, folds=3))
    train(qtbot, training)
    assert training.pages.currentIndex() == REPORT
    view = training.report_view
    qtbot.waitUntil(lambda: view.matrix.isVisible())
    for table in (view.table, view.matrix):
        assert table.verticalScrollBar().maximum() == 0 and table.horizontalScrollBar().maximum() == 0
        last = table.visualRect(table.model().index(7, table.columnCount() - 1))
        assert table.viewport().rect().contains(last), "the last row is cut"
        bottom = table.mapTo(win, table.rect().bottomLeft()).y()
        assert bottom <= win.centralWidget().geometry().bottom(), "the table runs off the window"


def test_matrix_titles_are_whole_when_they_fit_and_elided_with_the_name_on_hover_when_not(qtbot):
    from imgclf_gui.gui.training.confusion_matrix import ConfusionMatrixView

    view = ConfusionMatrixView()
    qtbot.addWidget(view)
    names = ["circle", "triangle", "a_rather_long_class_name"]
    view.set_matrix(np.eye(3, dtype=int) * 5, names)
    view.resize(900, 200)
    view.show()
    qtbot.waitUntil(lambda: [view.horizontalHeaderItem(j).text() for j in range(3)] == names)
    view.resize(200, 200)  # 3 columns of about 30 pixels beside the row names
    qtbot.waitUntil(lambda: view.horizontalHeaderItem(1).text().endswith("…"))
    assert view.horizontalHeaderItem(1).text().startswith("t")  # the start of the name, not its middle
    assert view.horizontalHeaderItem(1).toolTip() == "predicted: triangle"
