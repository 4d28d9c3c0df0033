"""The Classify tab when the model changes: old scores go at once, the image on screen is classified again,
every model in the list is named so a person can tell them apart, and a first use says why it waits."""
from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QGuiApplication, QImage

from imgclf_gui.core.models import runs
from imgclf_gui.core.models.bundle import ModelBundle
from imgclf_gui.core.models.predict import ModelSource
from imgclf_gui.core.support.settings import Settings
from imgclf_gui.gui.shell.main_window import MainWindow
from tests.conftest import write_image
from tests.gui.conftest import COLORS, _drop, _ready_tab

IMAGENET = "ImageNet classes of Fake tiny backbone (tests)"


def _choose(tab, starts_with: str) -> None:
    """Pick the first entry starting with ``starts_with`` in the model list, as a click on it does."""
    index = tab.model_combo.findText(starts_with, Qt.MatchFlag.MatchStartsWith)
    assert index >= 0, [tab.model_combo.itemText(i) for i in range(tab.model_combo.count())]
    tab.model_combo.setCurrentIndex(index)
    tab.model_combo.activated.emit(index)


def _entries(tab) -> list[str]:
    return [tab.model_combo.itemText(i) for i in range(tab.model_combo.count())]


def test_another_model_clears_the_old_bars_at_once_and_classifies_the_shown_image_again(
        window, qtbot, tiny_model, tmp_path):
    tab = _ready_tab(window, qtbot, ModelSource.bundle(tiny_model))
    image = write_image(tmp_path / "drop" / "reddish.png", color=(215, 45, 35), seed=21)
    with qtbot.waitSignal(tab.classifier.prediction_ready, timeout=10_000):
        _drop(tab, [image])
    assert tab.bars.shown[0][0] == "red" and tab.correct.add_button.isEnabled()
    with qtbot.waitSignal(tab.classifier.prediction_ready, timeout=20_000) as blocker:
        _choose(tab, IMAGENET)
        # Before the new model has loaded: nothing of the old model's scores is left to be misread.
        assert tab.bars.shown == [] and tab.bars.labels_shown == []
        assert tab.verdict.text() == "Loading model…" and "red" not in tab.verdict.text()
        assert not tab.correct.add_button.isEnabled()
        assert tab.drop_area.has_image(), "the picture stays while its new scores come"
    assert blocker.args[0].path == image
    assert len(tab.bars.shown) == 5 and tab.bars.hidden_count == 995  # ImageNet's classes now
    assert tab.caption.full_text == str(image)
    # and back: the same image, the project's classes again
    with qtbot.waitSignal(tab.classifier.prediction_ready, timeout=20_000):
        _choose(tab, "Saved model: colors")
        assert tab.bars.shown == []
    assert tab.bars.shown[0][0] == "red" and "red" in tab.verdict.text()


def test_a_pasted_image_is_classified_again_by_the_next_model(window, qtbot, tiny_model):
    tab = _ready_tab(window, qtbot, ModelSource.bundle(tiny_model))
    picture = QImage(60, 40, QImage.Format.Format_RGB32)
    picture.fill(0xFF1E28DC)  # blue
    mime = QMimeData()
    mime.setImageData(picture)
    QGuiApplication.clipboard().setMimeData(mime)
    try:
        with qtbot.waitSignal(tab.classifier.prediction_ready, timeout=10_000):
            tab.paste_action.trigger()
    finally:
        QGuiApplication.clipboard().clear()  # Qt's offscreen platform crashes at exit otherwise
    assert tab.bars.shown[0][0] == "blue"
    with qtbot.waitSignal(tab.classifier.prediction_ready, timeout=20_000) as blocker:
        _choose(tab, IMAGENET)
    assert blocker.args[0].path is None and tab.caption.text() == "Pasted image"
    assert len(tab.bars.shown) == 5 and all(name not in COLORS for name, _ in tab.bars.shown)


def test_after_a_model_that_cannot_load_the_next_one_classifies_the_image(window, qtbot, tiny_model, tmp_path):
    import json
    import shutil

    broken = shutil.copytree(tiny_model, tmp_path / "broken.imgclf-model")
    meta = json.loads((broken / "model.json").read_text())
    meta["backbone"]["id"] = "no-such-backbone"
    (broken / "model.json").write_text(json.dumps(meta))
    tab = _ready_tab(window, qtbot, ModelSource.bundle(tiny_model))
    image = write_image(tmp_path / "drop" / "g.png", color=COLORS["green"], seed=22)
    with qtbot.waitSignal(tab.classifier.prediction_ready, timeout=10_000):
        _drop(tab, [image])
    with qtbot.waitSignal(tab.classifier.model_changed, timeout=10_000):
        tab.use_model(ModelSource.bundle(broken))
    assert tab.classifier.state == "error" and tab.bars.shown == []
    assert tab.verdict.full_text.startswith("This model cannot be used:")
    with qtbot.waitSignal(tab.classifier.prediction_ready, timeout=20_000) as blocker:
        _choose(tab, "Saved model: colors")
    assert blocker.args[0].path == image and tab.bars.shown[0][0] == "green"


def test_every_model_in_the_list_says_which_it_is(qtbot, tmp_path, tiny_model):
    root = tmp_path / "proj"
    for name in COLORS:
        write_image(root / name / "a.png", color=COLORS[name])
    bundle = ModelBundle.load(tiny_model)
    older = runs.save_run(root, bundle, settings={}, figures={"accuracy": 0.8})
    newer = runs.save_run(root, bundle, settings={}, figures={"accuracy": 0.95})
    runs.set_active_run(root, newer.run_id)
    other_model = bundle.save(tmp_path / "from-anna" / "model")  # a folder someone sent, named "model"
    win = MainWindow(settings=Settings())
    qtbot.addWidget(win)
    tab = win.tabs["Classify"]
    with qtbot.waitSignal(tab.classifier.model_changed, timeout=10_000):
        assert win.open_project(root)
    for folder in (older.model_path, other_model):
        with qtbot.waitSignal(tab.classifier.model_changed, timeout=10_000):
            tab.use_model(ModelSource.bundle(folder))
    entries = _entries(tab)
    assert entries[0] == f"Active model: {runs.run_title(newer)}"
    assert f"{runs.run_title(older)[0].upper()}{runs.run_title(older)[1:]}" in entries
    assert "Saved model: model (in from-anna)" in entries
    assert len(set(entries)) == len(entries), entries
    assert not any(run.run_id in text for run in (older, newer) for text in entries)
    assert tab.model_combo.currentText() == "Saved model: model (in from-anna)"
    assert tab.model_combo.toolTip().endswith(str(other_model))  # the whole folder, on hover
    # The batch says what it classifies with in the same words (issue 14 item 19: no run ids).
    tab.use_model(ModelSource.bundle(older.model_path))
    qtbot.waitUntil(lambda: tab.classifier.state == "ready", timeout=10_000)
    assert tab.classifier.predictor.title == f"run of {runs.run_title(older)[7:23]} in project «proj», accuracy 80.0%"


def test_a_backbone_used_for_the_first_time_says_it_is_being_prepared(window, qtbot, tiny_model, monkeypatch):
    import imgclf_gui.core.backbones as backbones

    tab = _ready_tab(window, qtbot, ModelSource.bundle(tiny_model))
    release = threading.Event()
    prepared = []
    monkeypatch.setattr(backbones, "needs_preparation", lambda _id, imagenet=False: not release.is_set())
    monkeypatch.setattr(backbones, "prepare_backbone",
                        lambda backbone_id, imagenet=False: (prepared.append((backbone_id, imagenet)),
                                                             release.wait(20)))
    _choose(tab, IMAGENET)
    words = "Preparing Fake tiny backbone (tests) (first use only)…"
    qtbot.waitUntil(lambda: tab.model_status.full_text == words, timeout=10_000)
    assert tab.verdict.full_text == words and tab.classifier.state == "loading"
    release.set()
    qtbot.waitUntil(lambda: tab.classifier.state == "ready", timeout=10_000)
    assert tab.model_status.full_text == "Ready: 1000 classes"
    assert prepared == [("fake-tiny", True)]  # the ImageNet model, not the features one


@pytest.mark.parametrize("count, words", [(1, "1 image"), (2, "2 images")])
def test_counts_read_as_words(window, qtbot, tiny_model, tmp_path, count, words):
    tab = _ready_tab(window, qtbot, ModelSource.bundle(tiny_model))
    folder = tmp_path / "few"
    for i in range(count):
        write_image(folder / f"p{i}.png", color=COLORS["red"], seed=i)
    with qtbot.waitSignal(tab.classifier.batch_finished, timeout=10_000) as blocker:
        _drop(tab, [folder])
    assert tab.batch.counts_label.text().startswith(f"{words} · ")
    assert blocker.args[0] == f"Classified {count} file{'s' if count > 1 else ''}."


def test_an_inbox_image_moved_into_a_class_is_classified_again_where_it_is_now(window, qtbot, tiny_model):
    from imgclf_gui.gui.common.project_model import INBOX

    root = window.project.root
    image = write_image(root / INBOX / "leaf.png", color=COLORS["green"], seed=23)
    window.project.refresh()
    tab = _ready_tab(window, qtbot, ModelSource.bundle(tiny_model))
    with qtbot.waitSignal(tab.classifier.prediction_ready, timeout=10_000):
        _drop(tab, [image])
    tab.correct.combo.setCurrentIndex(tab.correct.combo.findText("green"))
    qtbot.mouseClick(tab.correct.add_button, Qt.MouseButton.LeftButton)
    moved = root / "green" / "leaf.png"
    assert moved.exists() and not image.exists()
    assert tab.caption.full_text == str(moved)
    with qtbot.waitSignal(tab.classifier.prediction_ready, timeout=20_000) as blocker:
        _choose(tab, IMAGENET)
    assert blocker.args[0].path == moved and len(tab.bars.shown) == 5


def test_a_table_of_another_model_says_so_and_classify_again_redoes_it_with_the_new_one(
        window, qtbot, tiny_model, tmp_path):
    tab = _ready_tab(window, qtbot, ModelSource.bundle(tiny_model))
    folder = tmp_path / "many"
    for i in range(6):
        write_image(folder / f"img{i}.png", color=COLORS[list(COLORS)[i % 3]], seed=300 + i)
    with qtbot.waitSignal(tab.classifier.batch_finished, timeout=20_000):
        _drop(tab, [folder])
    page = tab.batch
    assert page.model.class_names == sorted(COLORS) and not page.again_button.isVisible()
    with qtbot.waitSignal(tab.classifier.model_changed, timeout=20_000):
        _choose(tab, IMAGENET)
    # The rows are what the first model said; the page says whose they are and offers the new one.
    assert page.model.rowCount() == 6 and page.model.class_names == sorted(COLORS)
    assert "classified with" in page.status.text() and IMAGENET in page.status.text()
    assert page.again_button.isVisible()
    with qtbot.waitSignal(tab.classifier.batch_finished, timeout=20_000):
        qtbot.mouseClick(page.again_button, Qt.MouseButton.LeftButton)
    assert page.model.rowCount() == 6 and len(page.model.class_names) == 1000
    assert not page.again_button.isVisible()
