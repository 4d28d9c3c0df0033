"""The runs of a project in the Training tab: switching the active model, naming a run, and Save / Export of
a named run (the active one unless another is chosen), disabled while there is no model."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit

from imgclf_gui.core.models import runs
from imgclf_gui.core.models.bundle import ModelBundle
from imgclf_gui.gui.training.export_row import NO_MODEL_TIP
from imgclf_gui.gui.training.training_tab import RUNS
from tests.gui.training_helpers import config, tab_fixture, train  # noqa: F401 - the "tab" fixture


def _choose_file(monkeypatch, path: Path) -> None:
    """The file dialog answers ``path`` (a native dialog cannot be driven offscreen)."""
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_a, **_k: (str(path), ""))


def test_runs_can_be_switched(tab, qtbot, fake_backbone):
    first = train(qtbot, tab)
    tab.session.set_config(config(fake_backbone, epochs=3))
    second = train(qtbot, tab)
    assert tab.history_view.table.rowCount() == 2
    assert runs.active_run_id(tab.project.root) == second.run.run_id
    tab.history_view.table.selectRow(1)  # newest first: row 1 is the first run
    tab.history_view.activate_button.click()
    assert runs.active_run_id(tab.project.root) == first.run.run_id
    with qtbot.waitSignal(tab.session.shown_run_changed, timeout=10000):
        tab.history_view.show_button.click()
    assert tab.plots.point_count() == 8
    assert "used for classifying" in tab.report_view.heading.text()
    assert "not</i>" not in tab.report_view.heading.text()


def test_a_run_gets_a_name_people_recognise(tab, qtbot):
    outcome = train(qtbot, tab)
    tab.pages.setCurrentIndex(RUNS)
    history = tab.history_view
    history.table.selectRow(0)
    history.rename_button.click()
    editor = QApplication.focusWidget()
    assert isinstance(editor, QLineEdit)
    editor.selectAll()
    QTest.keyClicks(editor, "baseline, no augmentation")
    with qtbot.waitSignal(tab.session.runs_changed):
        QTest.keyClick(editor, Qt.Key.Key_Return)
    run = runs.get_run(tab.project.root, outcome.run.run_id)
    assert run.name == "baseline, no augmentation"  # kept in the run's run.json
    assert history.table.item(0, 0).text() == "baseline, no augmentation"
    title = runs.run_title(run)
    assert title.startswith("“baseline, no augmentation”, run of ")
    assert title.endswith(f"accuracy {run.figures['accuracy']:.1%}")
    assert "“baseline, no augmentation”" in tab.report_view.heading.text()
    assert tab.export_row.model_choice.currentText().startswith("“baseline, no augmentation”")
    # What the Classify tab says it classifies with: the name, never the run id.
    assert runs.model_title(run.model_path, tab.project.root) == title and run.run_id not in title


def test_save_and_export_wait_for_a_model(tab, qtbot, monkeypatch, tmp_path):
    row = tab.export_row
    assert [row.export_format.itemData(i) for i in range(row.export_format.count())][0] == "tflite"
    for button in (row.save_button, row.export_button):
        assert not button.isEnabled() and button.toolTip() == NO_MODEL_TIP
    train(qtbot, tab)
    assert row.save_button.isEnabled() and row.export_button.isEnabled()
    # A failed save says so, and the message does not outlive the next run.
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    _choose_file(monkeypatch, blocker / "model.imgclf-model")
    with qtbot.waitSignal(tab.session.files.finished, timeout=10000):
        row.save_button.click()
    assert row.note.isVisible() and "failed" in row.note.text()
    train(qtbot, tab)
    assert not row.note.isVisible()


def test_save_writes_the_run_chosen_and_names_it(tab, qtbot, fake_backbone, monkeypatch, tmp_path):
    first = train(qtbot, tab)
    tab.session.rename_run(first.run.run_id, "eight epochs")
    tab.session.set_config(config(fake_backbone, epochs=3))
    second = train(qtbot, tab)
    row = tab.export_row
    assert row.chosen_run() == second.run.run_id  # the active model unless another is chosen
    assert row.model_choice.currentText().endswith("· used for classifying")
    # The report of the first run is on screen; what is written is still the run chosen in the row.
    tab.history_view.table.selectRow(1)
    with qtbot.waitSignal(tab.session.shown_run_changed, timeout=10000):
        tab.history_view.show_button.click()
    _choose_file(monkeypatch, tmp_path / "out" / "active.imgclf-model")
    with qtbot.waitSignal(tab.session.files.finished, timeout=10000):
        row.save_button.click()
    assert ModelBundle.load(tmp_path / "out" / "active.imgclf-model").metrics["epochs_run"] == 3
    row.model_choice.setCurrentIndex(row.model_choice.findData(first.run.run_id))
    _choose_file(monkeypatch, tmp_path / "out" / "first.imgclf-model")
    with qtbot.waitSignal(tab.session.files.finished, timeout=10000):
        row.save_button.click()
    assert ModelBundle.load(tmp_path / "out" / "first.imgclf-model").metrics["epochs_run"] == 8
    assert row.note.text().startswith("Saved “eight epochs”, run of ") and "first.imgclf-model" in row.note.text()


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["tflite", "tflite-int8"])
def test_an_export_names_its_run_in_its_readme(tab, qtbot, monkeypatch, tmp_path, fmt):
    outcome = train(qtbot, tab)
    tab.session.rename_run(outcome.run.run_id, "colours")
    tab.export_row.export_format.setCurrentIndex(tab.export_row.export_format.findData(fmt))
    _choose_file(monkeypatch, tmp_path / "out" / f"colours-{fmt}")
    with qtbot.waitSignal(tab.session.files.finished, timeout=120000) as blocker:
        tab.export_row.export_button.click()
    result = blocker.args[0].result
    readme = result.readme_path.read_text()
    title = runs.run_title(runs.get_run(tab.project.root, outcome.run.run_id), "proj")
    assert f"Model: {title}." in readme
    assert result.path == tmp_path / "out" / f"colours-{fmt}" and result.model_path.is_file()
    note = tab.export_row.note.text()
    assert "“colours”" in note and f"colours-{fmt}" in note and "Self-test" in note
    assert (result.path / "predict.py").is_file() and "predict.py" in tab.export_row.note.toolTip()
    if fmt == "tflite-int8":  # calibrated on the project's own training images, compared on the others
        assert "Top class the same as imgclf's on 18 of 18 held-out images" in note
        assert "training images of project «proj»" in readme


def test_formats_whose_extra_is_missing_are_greyed_out_with_the_reason(qtbot, tmp_path, fake_backbone,
                                                                       monkeypatch):
    import importlib.util

    from imgclf_gui.core.support.settings import Settings
    from imgclf_gui.gui.common.preferences import Preferences
    from imgclf_gui.gui.common.project_model import ProjectModel
    from imgclf_gui.gui.common.tasks import TaskRunner
    from imgclf_gui.gui.training.training_tab import TrainingTab

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    tasks = TaskRunner()
    tab = TrainingTab(ProjectModel(tasks), tasks, Preferences(Settings()))
    qtbot.addWidget(tab)
    combo = tab.export_row.export_format
    shown = [(combo.itemText(i), combo.model().item(i).isEnabled()) for i in range(combo.count())]
    assert shown == [("TensorFlow Lite", True), ("TensorFlow Lite int8", True),
                     ("ONNX", False), ("Keras", True), ("TensorFlow SavedModel", True)]
    assert combo.itemData(2, Qt.ItemDataRole.ToolTipRole) == ("ONNX export needs onnxruntime: install it with pip "
                                                              "install 'imgclf[onnx]'.")
    tasks.shutdown(5000)
