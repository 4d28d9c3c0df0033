"""Bad input, pasted images and the real ImageNet mode of the Classify tab."""
from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QMimeData, QTimer
from PySide6.QtGui import QGuiApplication, QImage

from imgclf_gui.core.models.predict import ModelSource
from tests.conftest import write_image
from tests.gui.conftest import COLORS, _drop, _ready_tab, accepts_drag


def test_model_with_missing_backbone_says_so_and_nothing_breaks(window, qtbot, tiny_model, tmp_path):
    meta = json.loads((tiny_model / "model.json").read_text())
    meta["backbone"]["id"] = "no-such-backbone"
    (tiny_model / "model.json").write_text(json.dumps(meta))
    tab = window.tabs["Classify"]
    with qtbot.waitSignal(tab.classifier.model_changed, timeout=10_000):
        tab.use_model(ModelSource.bundle(tiny_model))
    assert tab.classifier.state == "error"
    assert "no-such-backbone" in tab.model_status.full_text and "Retrain" in tab.classifier.error
    with qtbot.waitSignal(tab.classifier.prediction_failed, timeout=5_000):
        _drop(tab, [write_image(tmp_path / "x.png")])
    assert "cannot be used" in tab.verdict.text() or "Cannot" in tab.verdict.text()


def test_non_image_and_corrupt_files_give_a_sentence(window, qtbot, tiny_model, tmp_path):
    tab = _ready_tab(window, qtbot, ModelSource.bundle(tiny_model))
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with qtbot.waitSignal(tab.classifier.prediction_failed, timeout=5_000) as blocker:
        _drop(tab, [text])
    assert "not an image" in blocker.args[0] and "not an image" in tab.verdict.text()
    assert tab.bars.shown == [] and not tab.correct.add_button.isEnabled()
    # a good image after a bad one works again
    with qtbot.waitSignal(tab.classifier.prediction_ready, timeout=5_000):
        _drop(tab, [write_image(tmp_path / "g.png", color=COLORS["green"], seed=3)])
    assert tab.bars.shown[0][0] == "green"


def test_a_drag_that_carries_no_file_and_no_image_is_refused_before_the_drop(window, qtbot, tiny_model):
    tab = _ready_tab(window, qtbot, ModelSource.bundle(tiny_model))
    text = QMimeData()
    text.setText("some words from a text editor")
    assert not accepts_drag(tab, text)
    assert tab.bars.shown == [] and tab.batch.model.rowCount() == 0


def test_pasted_image_is_classified_and_can_be_added(window, qtbot, tiny_model):
    tab = _ready_tab(window, qtbot, ModelSource.bundle(tiny_model))
    image = QImage(60, 40, QImage.Format.Format_RGB32)
    image.fill(0xFF1E28DC)  # blue
    mime = QMimeData()
    mime.setImageData(image)
    QGuiApplication.clipboard().setMimeData(mime)
    try:
        with qtbot.waitSignal(tab.classifier.prediction_ready, timeout=5_000):
            tab.paste_action.trigger()
    finally:
        # Qt's offscreen platform crashes at exit if the clipboard still holds data (a 5-line script
        # with nothing of ours does it too); the app itself only reads the clipboard.
        QGuiApplication.clipboard().clear()
    assert tab.bars.shown[0][0] == "blue" and tab.caption.text() == "Pasted image"
    copy = tab.correct.add_to_class("blue")
    assert copy is not None and copy.parent == window.project.root / "blue" and copy.exists()


def test_a_newer_drop_wins_over_an_image_still_being_classified(window, qtbot, tiny_model, tmp_path):
    from PIL import Image

    tab = _ready_tab(window, qtbot, ModelSource.bundle(tiny_model))
    big = tmp_path / "big.png"  # a PNG has no draft mode: seconds of decoding
    Image.new("RGB", (6000, 4000), COLORS["red"]).save(big, compress_level=1)
    small = write_image(tmp_path / "small.png", color=COLORS["blue"], seed=4)
    shown = []
    tab.classifier.prediction_ready.connect(lambda result: shown.append(result.path))
    _drop(tab, [big])
    _drop(tab, [small])
    qtbot.waitUntil(lambda: not window.tasks.running(), timeout=30_000)
    assert shown == [small], "the earlier, slower image never replaces the newer one"
    assert tab.caption.full_text == str(small) and tab.bars.shown[0][0] == "blue"


@pytest.mark.slow
def test_fifty_thousand_files_stream_in_and_cancel_keeps_window_alive(window, qtbot, tiny_model, tmp_path):
    tab = _ready_tab(window, qtbot, ModelSource.bundle(tiny_model))
    folder = tmp_path / "huge"
    folder.mkdir()
    for i in range(50_000):  # empty files: each one a quick "cannot read" row
        (folder / f"f{i:05d}.jpg").touch()
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(20)
    with qtbot.waitSignal(tab.classifier.batch_rows, timeout=30_000):
        _drop(tab, [folder])
    qtbot.waitUntil(lambda: tab.batch.model.rowCount() >= 2000, timeout=30_000)
    with qtbot.waitSignal(tab.classifier.batch_finished, timeout=10_000) as blocker:
        tab.batch.cancel_button.click()
    timer.stop()
    rows = tab.batch.model.rowCount()
    assert 2000 <= rows < 50_000 and "Cancelled" in blocker.args[0]
    assert all(r.error == "the file is empty (0 bytes)" for r in tab.batch.model.rows[:50])
    assert len(ticks) > 10, "the event loop kept running while rows poured in"


@pytest.mark.slow
def test_imagenet_mode_names_a_cat_for_chelsea(window, qtbot, tmp_path):
    from PIL import Image
    from skimage import data

    path = tmp_path / "chelsea.jpg"
    Image.fromarray(data.chelsea()).save(path, quality=92)
    tab = _ready_tab(window, qtbot, ModelSource.imagenet("efficientnet-lite0"))
    with qtbot.waitSignal(tab.classifier.prediction_ready, timeout=60_000):
        _drop(tab, [path])
    top = tab.bars.shown[0][0]
    assert top in {"tabby, tabby cat", "tiger cat", "Egyptian cat"}, tab.bars.shown
    assert len(tab.bars.shown) == 5 and tab.bars.hidden_count == 995
