"""Stopping a run through the Training tab: Cancel in the folds or in the final model, closing the window
while it trains, and opening another project while it trains."""
from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from imgclf_gui.core.models import runs
from imgclf_gui.core.support.settings import Settings
from imgclf_gui.core.training.crossval import FINAL
from imgclf_gui.gui.shell.main_window import MainWindow
from tests.gui.conftest import write_colour_project
from tests.gui.training_helpers import PER_CLASS, config, tab_fixture, train  # noqa: F401 - the "tab" fixture


def _long_final_model(monkeypatch) -> None:
    """The folds train their 8 epochs; the final model would train for ever (so a stop lands in it)."""
    from imgclf_gui.core.training import crossval

    real = crossval.final_settings
    monkeypatch.setattr(crossval, "final_settings", lambda *a, **k: (real(*a, **k)[0], 100000))


def _when_final_epoch(session, epoch: int, do) -> None:
    session.fold_epoch_added.connect(lambda e: do() if e.fold == FINAL and e.metrics.epoch == epoch else None)


def test_cancel_during_the_final_model_asks_and_can_discard(tab, qtbot, monkeypatch):
    _long_final_model(monkeypatch)
    asked = []
    tab.session.ask_keep_best = lambda: asked.append(True) or False
    _when_final_epoch(tab.session, 3, tab.cancel_button.click)
    outcome = train(qtbot, tab)
    assert asked == [True]
    assert outcome.result.cancelled and outcome.run is None
    assert runs.list_runs(tab.project.root) == []  # discarded: nothing stored, no active model
    assert runs.active_model_path(tab.project.root) is None
    assert "discarded" in tab.status.text() and "previous model is unchanged" in tab.status.text()
    assert not tab.cancel_button.isEnabled() and tab.train_button.isEnabled()


def test_cancel_kept_saves_the_partly_trained_final_model_and_says_so(tab, qtbot, monkeypatch):
    _long_final_model(monkeypatch)
    tab.session.ask_keep_best = lambda: True
    _when_final_epoch(tab.session, 2, tab.session.cancel)
    outcome = train(qtbot, tab)
    assert outcome.result.cancelled and outcome.run is not None
    assert outcome.run.figures["cancelled"] is True
    assert runs.active_model_path(tab.project.root) == outcome.run.model_path
    # What is complete: every fold's score stands; the model is only partly trained.
    assert tab.status.text().startswith("Stopped while training the final model (")
    assert "the scores of all folds stand" in tab.status.text() and "is now used for classifying" in tab.status.text()
    assert "out-of-fold predictions of all" in tab.report_view.summary.text()


def test_cancel_during_the_folds_keeps_nothing_and_says_what_was_complete(tab, qtbot, monkeypatch, fake_backbone):
    import dataclasses

    from imgclf_gui.core.training import crossval

    # one fit per fold (with mirror images on "auto" each fold also trains a second way, quietly)
    tab.session.set_config(config(fake_backbone, flips="off"))

    real, calls = crossval.train_head, []

    def second_fit_never_ends(x, y, vx, vy, options, *args, **kwargs):  # fold 2 trains until stopped
        calls.append(1)
        options = dataclasses.replace(options, epochs=100000) if len(calls) == 2 else options
        return real(x, y, vx, vy, options, *args, **kwargs)

    monkeypatch.setattr(crossval, "train_head", second_fit_never_ends)
    asked = []
    tab.session.ask_keep_best = lambda: asked.append(True) or True
    tab.session.fold_epoch_added.connect(
        lambda e: tab.cancel_button.click() if e.fold == 2 and e.metrics.epoch == 3 else None)
    outcome = train(qtbot, tab)
    assert outcome.result.cancelled and outcome.result.head is None and outcome.run is None
    assert asked == []  # there is no model to ask about
    assert tab.status.text() == ("Stopped during fold 2 of 5, after 1 complete fold; without the final model "
                                 "nothing was kept. The previous model is unchanged.")
    assert runs.list_runs(tab.project.root) == []


def _window(qtbot, tmp_path, fake_backbone) -> MainWindow:
    win = MainWindow(settings=Settings())
    qtbot.addWidget(win)
    assert win.open_project(write_colour_project(tmp_path / "proj", per_class=PER_CLASS))
    win.tabs["Training"].session.set_config(config(fake_backbone))
    win.show()
    return win


def _answer_close_question(button_text: str, seen: list[str]) -> None:
    """When the close question shows, read it and press the button called ``button_text``."""
    def press() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, press)
            return
        seen.append(box.text())
        next(b for b in box.buttons() if b.text() == button_text).click()

    QTimer.singleShot(0, press)


def test_closing_the_window_while_training_asks_first(qtbot, tmp_path, fake_backbone, monkeypatch):
    _long_final_model(monkeypatch)
    win = _window(qtbot, tmp_path, fake_backbone)
    training = win.tabs["Training"]
    win.tab_widget.setCurrentWidget(training)
    epochs = []
    training.session.fold_epoch_added.connect(lambda e: epochs.append(e) if e.fold == FINAL else None)
    training.train_button.click()
    qtbot.waitUntil(lambda: len(epochs) >= 2, timeout=20000)
    seen: list[str] = []
    _answer_close_question("Keep Training", seen)
    assert not win.close()
    assert seen and "Training is running" in seen[0] and "not kept" in seen[0]
    assert win.isVisible() and training.session.is_running()
    _answer_close_question("Cancel Training and Close", seen)
    assert win.close()
    assert len(seen) == 2 and not win.isVisible()
    root = tmp_path / "proj"
    assert runs.list_runs(root) == [] and runs.active_model_path(root) is None


def test_closing_an_idle_window_asks_nothing(qtbot, tmp_path, fake_backbone):
    win = _window(qtbot, tmp_path, fake_backbone)
    assert win.tabs["Training"].close_question() is None
    assert win.close()


def test_opening_another_project_while_training_never_hands_over_the_old_model(tab, qtbot, tmp_path,
                                                                               monkeypatch):
    """The old run stops; nothing of it becomes the new project's model, and no tab hears of a model."""
    _long_final_model(monkeypatch)
    first_root = tab.project.root
    other = write_colour_project(tmp_path / "other", per_class=4)
    asked, announced = [], []
    tab.session.ask_keep_best = lambda: asked.append(True) or True
    tab.project.active_model_changed.connect(announced.append)
    epochs = []
    tab.session.fold_epoch_added.connect(lambda e: epochs.append(e) if e.fold == FINAL else None)
    tab.start_training()
    qtbot.waitUntil(lambda: len(epochs) >= 2, timeout=20000)
    with qtbot.waitSignal(tab.session.run_finished, timeout=20000) as blocker:
        tab.project.open(other)
    assert blocker.args[0].run is None
    assert asked == [] and announced == []
    assert runs.list_runs(other) == [] and runs.active_model_path(other) is None
    assert runs.list_runs(first_root) == []
    assert f"The training of {first_root.name} stopped when another project was opened" in tab.status.text()
    assert tab.train_button.isEnabled() and tab.report_view.report is None
