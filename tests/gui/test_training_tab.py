"""The Training tab through its real widgets, with the fast fake backbone (no TensorFlow)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from imgclf_gui.core.models import runs
from imgclf_gui.core.support.settings import Settings
from imgclf_gui.core.training.config import TrainConfig
from imgclf_gui.core.training.crossval import FINAL
from imgclf_gui.core.training.evaluation import evaluate_probabilities
from imgclf_gui.gui.common.preferences import Preferences
from imgclf_gui.gui.common.project_model import INBOX, ProjectModel
from imgclf_gui.gui.common.tasks import TaskRunner
from imgclf_gui.gui.training.training_tab import TrainingTab
from tests.conftest import write_image
from tests.gui.conftest import COLORS, write_colour_project


@pytest.fixture
def tab(qtbot, tmp_path, fake_backbone):  # noqa: F811
    tasks = TaskRunner()
    project = ProjectModel(tasks)
    project.open(write_colour_project(tmp_path / "proj", per_class=12))
    widget = TrainingTab(project, tasks, Preferences(Settings()))
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    widget.session.set_config(TrainConfig(backbone=fake_backbone.id, epochs=8, early_stopping=False, l2=1e-4,
                                          validation_percent=20, test_percent=25))
    yield widget
    tasks.shutdown(5000)


def _train(qtbot, tab) -> None:
    with qtbot.waitSignal(tab.session.run_finished, timeout=30000) as blocker:
        qtbot.mouseClick(tab.train_button, Qt.MouseButton.LeftButton)
    return blocker.args[0]


def test_settings_are_remembered_per_project(tab, tmp_path, fake_backbone, qtbot):  # noqa: F811
    tab.settings.advanced_button.click()
    spin = tab.settings.field("epochs")
    spin.setValue(17)
    assert (tmp_path / "proj" / ".imgclf" / "training_settings.json").is_file()
    again = TrainingTab(tab.project, tab.tasks, tab.preferences)
    qtbot.addWidget(again)
    assert again.session.config.epochs == 17 and again.settings.config().epochs == 17
    assert again.session.config.backbone == fake_backbone.id


def test_training_plots_one_point_per_epoch_and_becomes_the_active_model(tab, qtbot):
    active = []
    tab.session.active_model_changed.connect(active.append)
    qtbot.waitUntil(lambda: tab.session.summary is not None and tab.session.summary.total == 36)
    assert "36 images" in tab.summary.text()
    outcome = _train(qtbot, tab)
    assert outcome.run is not None and not outcome.result.cancelled
    assert len(tab.session.history) == 8
    for key in ("tl", "vl", "ta", "va"):
        assert tab.plots.point_count(key) == 8
    assert tab.plots.best_lines[0].isVisible()
    assert "Epoch 8" in tab.figures.text()
    root = tab.project.root
    assert runs.active_model_path(root) == outcome.run.model_path == active[-1]
    assert tab.history_view.table.rowCount() == 1
    assert "Accuracy" in tab.report_view.summary.text()
    assert tab.train_button.isEnabled() and not tab.cancel_button.isEnabled()
    # Retraining reuses every cached bottleneck.
    tab.session.refresh_summary()
    qtbot.waitUntil(lambda: tab.session.summary.cached == 36, timeout=5000)
    assert "to compute: 0" in tab.summary.text()
    # Asking for augmented copies leaves every bottleneck cached; only the copies are new work.
    tab.settings.field("augment_variants").setValue(2)
    qtbot.waitUntil(lambda: tab.session.summary.copies_to_compute == 72, timeout=5000)
    assert "Bottlenecks cached: 36; to compute: 0; augmented copies to compute: 72" in tab.summary.text()


def _long_final_model(monkeypatch) -> None:
    """The folds train their 8 epochs; the final model would train for ever (so a cancel lands in it)."""
    from imgclf_gui.core.training import crossval

    real = crossval.final_settings
    monkeypatch.setattr(crossval, "final_settings", lambda *a, **k: (real(*a, **k)[0], 100000))


def _cancel_at_final_epoch(tab, epoch: int, cancel) -> None:
    tab.session.fold_epoch_added.connect(
        lambda e: cancel() if e.fold == FINAL and e.metrics.epoch == epoch else None)


def test_cancel_during_the_final_model_asks_and_can_discard(tab, qtbot, monkeypatch):
    _long_final_model(monkeypatch)
    asked = []
    tab.session.ask_keep_best = lambda: asked.append(True) or False
    _cancel_at_final_epoch(tab, 3, tab.cancel_button.click)
    outcome = _train(qtbot, tab)
    assert asked == [True]
    assert outcome.result.cancelled and outcome.run is None
    assert runs.list_runs(tab.project.root) == []  # discarded: nothing stored, no active model
    assert runs.active_model_path(tab.project.root) is None
    assert not tab.cancel_button.isEnabled() and tab.train_button.isEnabled()


def test_cancel_kept_saves_the_partly_trained_final_model(tab, qtbot, monkeypatch):
    _long_final_model(monkeypatch)
    tab.session.ask_keep_best = lambda: True
    _cancel_at_final_epoch(tab, 2, tab.session.cancel)
    outcome = _train(qtbot, tab)
    assert outcome.result.cancelled and outcome.run is not None
    assert outcome.run.figures["cancelled"] is True
    assert runs.active_model_path(tab.project.root) == outcome.run.model_path


def test_cancel_during_the_folds_keeps_nothing_and_says_so(tab, qtbot):
    tab.session.set_config(TrainConfig(**{**tab.session.config.to_dict(), "epochs": 100000}))
    asked = []
    tab.session.ask_keep_best = lambda: asked.append(True) or True
    tab.session.fold_epoch_added.connect(lambda e: tab.cancel_button.click() if e.metrics.epoch == 3 else None)
    outcome = _train(qtbot, tab)
    assert outcome.result.cancelled and outcome.result.head is None and outcome.run is None
    assert asked == []  # there is no model to ask about
    assert "Stopped before the final model was trained; nothing was kept." in tab.status.text()
    assert runs.list_runs(tab.project.root) == []


def test_a_crash_in_the_worker_is_shown_and_keeps_the_previous_model(tab, qtbot, monkeypatch):
    first = _train(qtbot, tab)

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("imgclf_gui.core.training.crossval.train_head", broken)
    with qtbot.waitSignal(tab.session.run_failed, timeout=30000) as blocker:
        tab.start_training()
    assert "disk on fire" in blocker.args[0]
    assert "failed" in tab.status.text() and tab._failure_box.isVisible()
    tab._failure_box.close()
    assert runs.active_model_path(tab.project.root) == first.run.model_path
    assert len(runs.list_runs(tab.project.root)) == 1


def test_confusion_cell_lists_its_images_and_a_move_changes_the_disk(tab, qtbot):
    # Make mistakes certain: a few green-looking images sit in the "red" folder.
    root = tab.project.root
    for i in range(6):
        write_image(root / "red" / f"zz_green_{i}.png", size=(40, 40), color=COLORS["green"], seed=900 + i)
    tab.project.refresh()
    tab.session.set_config(TrainConfig(**{**tab.session.config.to_dict(), "test_percent": 40, "epochs": 30}))
    _train(qtbot, tab)
    report = tab.report_view.report
    names = report.class_names
    cells = [(m.true, m.predicted) for m in report.mistakes]
    assert cells, "the planted images should be misclassified"
    true, predicted = cells[0]
    i, j = names.index(true), names.index(predicted)
    assert int(report.confusion[i, j]) == cells.count((true, predicted))
    tab.report_view.matrix.cellClicked.emit(i, j)
    listed = [item.path for item in tab.mistakes.model.items]
    expected = sorted(Path(m.path) for m in report.mistakes if (m.true, m.predicted) == (true, predicted))
    assert sorted(listed) == expected
    assert f"“{true}”" in tab.mistakes.heading.text()
    # Fix one: send it to the predicted class (where it belongs), from the view's own controls.
    target = listed[0]
    tab.mistakes.grid.clearSelection()
    tab.mistakes.grid.setCurrentIndex(tab.mistakes.model.index(0))
    tab.mistakes.target.setCurrentIndex(tab.mistakes.target.findData(predicted))
    tab.mistakes.move_button.click()
    moved_to = root / predicted / target.name
    assert moved_to.is_file() and not target.exists()
    assert tab.mistakes.model.items[0].path == moved_to
    assert tab.mistakes.model.caption(0) == f"moved to {predicted}"
    # ... or to the inbox, and undo brings it back.
    tab.mistakes.target.setCurrentIndex(tab.mistakes.target.findData(INBOX))
    tab.mistakes.move_button.click()
    assert (root / INBOX / target.name).is_file()
    tab.mistakes.undo_button.click()
    assert moved_to.is_file()


def test_runs_can_be_switched(tab, qtbot):
    first = _train(qtbot, tab)
    tab.session.set_config(TrainConfig(**{**tab.session.config.to_dict(), "epochs": 3}))
    second = _train(qtbot, tab)
    assert tab.history_view.table.rowCount() == 2
    assert runs.active_run_id(tab.project.root) == second.run.run_id
    tab.history_view.table.selectRow(1)  # newest first: row 1 is the first run
    tab.history_view.activate_button.click()
    assert runs.active_run_id(tab.project.root) == first.run.run_id
    tab.history_view.show_button.click()
    assert tab.plots.point_count() == 8


def test_top_losses_show_the_worst_mistake_first(tab, qtbot):
    """Three red photos taken for other colours, with p(red) 0.3, 0.05 and 0.2: the one the model was
    surest is not red (0.05, loss 3.0) comes first, then 0.2 (loss 1.6), then 0.3 (loss 1.2)."""
    root = tab.project.root
    paths = [str(root / "red" / f"red{i:02d}.png") for i in range(4)]
    probabilities = np.array([[.3, .7, 0], [.05, 0, .95], [.2, .8, 0], [.9, .1, 0]])  # red, green, blue
    report = evaluate_probabilities(probabilities, np.zeros(4, int), ["red", "green", "blue"], paths)
    tab.session.report_changed.emit(report)
    assert tab.report_view.top_losses_button.isEnabled()
    qtbot.mouseClick(tab.report_view.top_losses_button, Qt.MouseButton.LeftButton)
    shown = [str(item.path) for item in tab.mistakes.model.items]
    assert shown == [paths[1], paths[2], paths[0]]  # red03 was right: not a mistake


def test_an_unreadable_photo_is_skipped_and_named_when_training_ends(tab, qtbot):
    (tab.project.root / "red" / "cut_off.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    tab.project.refresh()
    outcome = _train(qtbot, tab)
    assert outcome.run is not None  # one bad file never stops training
    assert "cut_off.jpg" in tab.status.text() and "unreadable" in tab.status.text()
    assert (tab.project.root / "red" / "cut_off.jpg").exists()  # reported, never deleted


def test_a_damaged_photo_is_shown_as_skipped_not_as_still_to_compute(tab, qtbot):
    broken = write_image(tab.project.root / "red" / "cut.jpg", size=(200, 150), fmt="JPEG", seed=7)
    broken.write_bytes(broken.read_bytes()[:600])
    tab.session.refresh_summary()
    qtbot.waitUntil(lambda: tab.session.summary is not None and tab.session.summary.total == 37)
    assert "to compute: 37" in tab.summary.text()  # nobody has tried to decode it yet
    outcome = _train(qtbot, tab)
    assert outcome.run is not None
    tab.session.refresh_summary()
    qtbot.waitUntil(lambda: tab.session.summary.cached == 36, timeout=5000)
    assert "to compute: 0; unreadable, skipped: 1" in tab.summary.text()


def test_the_first_use_of_a_backbone_is_its_own_stage_with_a_busy_bar(tab, qtbot, monkeypatch):
    import threading

    import imgclf_gui.core.backbones as backbones

    release = threading.Event()
    monkeypatch.setattr(backbones, "needs_preparation", lambda _id: not release.is_set())
    monkeypatch.setattr(backbones, "prepare_backbone", lambda _id: release.wait(20))
    finished = []
    tab.session.run_finished.connect(finished.append)
    tab.start_training()
    qtbot.waitUntil(lambda: "(first use only)" in tab.status.text())
    assert tab.status.text() == "Preparing Fake tiny backbone (tests) (first use only)…"
    # Converting cannot be counted: a busy bar, and no images/s or time left promised meanwhile.
    assert tab.progress.isVisible() and tab.progress.maximum() == 0
    assert "left" not in tab.rate.text() and "/s" not in tab.rate.text()
    release.set()
    qtbot.waitUntil(lambda: bool(finished), timeout=30000)
    assert finished[0].run is not None
