"""The Classify tab follows the model the Training tab makes active, while it is not shown (fake backbone)."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from imgclf_gui.core.models import runs
from imgclf_gui.core.models.predict import ModelSource
from imgclf_gui.core.support.settings import Settings
from imgclf_gui.core.training.config import TrainConfig
from imgclf_gui.gui.classify.model_list import ACTIVE_ENTRY
from imgclf_gui.gui.shell.main_window import MainWindow
from tests.gui.conftest import write_colour_project


def _active_entry(combo) -> int:
    return combo.findText(f"{ACTIVE_ENTRY}: ", Qt.MatchFlag.MatchStartsWith)


@pytest.fixture
def window(qtbot, tmp_path, fake_backbone):  # noqa: F811
    root = write_colour_project(tmp_path / "proj", per_class=10)
    win = MainWindow(settings=Settings())
    qtbot.addWidget(win)
    win.resize(1100, 700)
    assert win.open_project(root)
    training = win.tabs["Training"]
    training.session.set_config(TrainConfig(backbone=fake_backbone.id, epochs=5, early_stopping=False, l2=1e-4))
    win.tab_widget.setCurrentWidget(training)
    win.show()
    yield win
    win.tasks.shutdown(5000)


def _train(qtbot, win: MainWindow) -> runs.RunInfo:
    training = win.tabs["Training"]
    with qtbot.waitSignal(training.session.run_finished, timeout=30_000) as blocker:
        qtbot.mouseClick(training.train_button, Qt.MouseButton.LeftButton)
    assert blocker.args[0].run is not None
    return blocker.args[0].run


def _wait_loaded(qtbot, classify, model_path: Path) -> None:
    qtbot.waitUntil(lambda: classify.classifier.source == ModelSource.bundle(model_path)
                    and classify.classifier.state == "ready", timeout=10_000)


def test_a_newly_trained_and_a_reactivated_model_reach_the_classify_tab_unseen(window, qtbot):
    classify = window.tabs["Classify"]
    first = _train(qtbot, window)
    # The Training tab is still the one shown: the Classify tab heard of the new model through the project.
    assert window.tab_widget.currentWidget() is window.tabs["Training"] and not classify.isVisible()
    _wait_loaded(qtbot, classify, first.model_path)
    assert classify.model_combo.currentIndex() == _active_entry(classify.model_combo) == 0
    assert classify.model_status.full_text == "Ready: 3 classes"
    second = _train(qtbot, window)
    _wait_loaded(qtbot, classify, second.model_path)
    # Making an older run active again from the run history is followed too.
    history = window.tabs["Training"].history_view
    history.table.selectRow(1)  # newest first: row 1 is the first run
    history.activate_button.click()
    _wait_loaded(qtbot, classify, first.model_path)
    assert not classify.isVisible()


def test_a_model_the_user_chose_is_not_replaced_by_a_new_active_one(window, qtbot, fake_backbone):  # noqa: F811
    classify = window.tabs["Classify"]
    imagenet = ModelSource.imagenet(fake_backbone.id)
    index = classify.model_combo.findText(f"ImageNet classes of {fake_backbone.display_name}")
    assert index >= 0
    classify.model_combo.setCurrentIndex(index)
    classify.model_combo.activated.emit(index)  # what a click on the entry sends
    assert classify.classifier.source == imagenet
    run = _train(qtbot, window)
    qtbot.waitUntil(lambda: _active_entry(classify.model_combo) >= 0, timeout=5_000)
    assert classify.classifier.source == imagenet, "the user's choice stays"
    assert classify.model_combo.currentData() == imagenet
    # Choosing the active entry again means "follow the project" from now on.
    entry = _active_entry(classify.model_combo)
    classify.model_combo.setCurrentIndex(entry)
    classify.model_combo.activated.emit(entry)
    _wait_loaded(qtbot, classify, run.model_path)
    second = _train(qtbot, window)
    _wait_loaded(qtbot, classify, second.model_path)


def test_the_announced_model_is_used_as_told_and_loaded_once(window, qtbot, monkeypatch):
    from imgclf_gui.core.models import predict

    classify = window.tabs["Classify"]
    loads: list[ModelSource] = []
    real_open = predict.open_predictor
    monkeypatch.setattr(predict, "open_predictor",
                        lambda source, **kw: (loads.append(source), real_open(source, **kw))[1])
    first = _train(qtbot, window)
    _wait_loaded(qtbot, classify, first.model_path)
    assert loads == [ModelSource.bundle(first.model_path)]
    # Told again about the model it has, or shown: it keeps the loaded one (a reload would say "loading").
    window.project.announce_active_model(first.model_path)
    assert classify.classifier.state == "ready"
    window.tab_widget.setCurrentWidget(classify)
    assert classify.classifier.state == "ready" and classify.model_status.text() == "Ready: 3 classes"
    assert loads == [ModelSource.bundle(first.model_path)]
    # The model it is told about is the one it uses: it does not read the project's choice back from disk.
    window.tab_widget.setCurrentWidget(window.tabs["Training"])
    second = _train(qtbot, window)
    runs.set_active_run(window.project.root, first.run_id)  # on disk, something else meanwhile
    window.project.announce_active_model(second.model_path)
    _wait_loaded(qtbot, classify, second.model_path)
    assert loads == [ModelSource.bundle(first.model_path), ModelSource.bundle(second.model_path)]
