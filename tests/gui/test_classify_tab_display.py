"""What the Classify tab shows for one image and a batch: the correction row offers only what is true,
long class names stay readable, the top bar's colour follows the threshold, files are told apart."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QFont, QHelpEvent, QPainter, QPicture
from PySide6.QtWidgets import QApplication, QToolTip

from imgclf_gui.core.models.bundle import ModelBundle
from imgclf_gui.core.models.predict import ModelSource
from imgclf_gui.core.training.config import TrainConfig
from imgclf_gui.core.training.trainer import train
from imgclf_gui.gui.classify.score_bars import more_text
from tests.conftest import write_image
from tests.gui.conftest import COLORS, _drop, _ready_tab

IMAGENET = "ImageNet classes of Fake tiny backbone (tests)"


def _classify(tab, qtbot, image):
    with qtbot.waitSignal(tab.classifier.prediction_ready, timeout=20_000) as blocker:
        _drop(tab, [image])
    return blocker.args[0]


# -- "This is really": item 21 and item 25 of issue 14 ------------------------------------------------
def test_an_imagenet_guess_never_picks_a_project_class(window, qtbot, fake_backbone, tmp_path):
    tab = _ready_tab(window, qtbot, ModelSource.imagenet(fake_backbone.id))
    _classify(tab, qtbot, write_image(tmp_path / "cat.png", color=(120, 90, 60), seed=1))
    combo = tab.correct.combo
    assert combo.currentIndex() == -1 and combo.currentText() == "" and combo.placeholderText()
    assert not tab.correct.add_button.isEnabled(), "one click must not put a cat into a project class"
    combo.setCurrentIndex(combo.findText("green"))  # the user chooses: now it may be added
    assert tab.correct.add_button.isEnabled()


def test_a_project_model_suggests_its_guess_only_when_it_is_a_project_class(window, qtbot, tiny_model, tmp_path):
    tab = _ready_tab(window, qtbot, ModelSource.bundle(tiny_model))
    _classify(tab, qtbot, write_image(tmp_path / "r1.png", color=COLORS["red"], seed=2))
    assert tab.correct.combo.currentText() == "red" and tab.correct.add_button.isEnabled()
    # A choice made for one image is not carried to the next.
    tab.correct.combo.setCurrentIndex(tab.correct.combo.findText("blue"))
    _classify(tab, qtbot, write_image(tmp_path / "g1.png", color=COLORS["green"], seed=3))
    assert tab.correct.combo.currentText() == "green"
    # The project no longer has the class the model predicts: nothing is chosen for the user.
    window.project.rename_class("red", "crimson")
    qtbot.waitUntil(lambda: "crimson" in window.project.class_names())
    _classify(tab, qtbot, write_image(tmp_path / "r2.png", color=COLORS["red"], seed=4))
    assert tab.bars.shown[0][0] == "red"
    assert tab.correct.combo.currentIndex() == -1 and not tab.correct.add_button.isEnabled()


def test_what_add_to_class_did_is_said_only_under_its_own_image(window, qtbot, tiny_model, tmp_path):
    tab = _ready_tab(window, qtbot, ModelSource.bundle(tiny_model))
    chelsea = write_image(tmp_path / "chelsea.png", color=COLORS["red"], seed=5)
    _classify(tab, qtbot, chelsea)
    tab.correct.combo.setCurrentIndex(tab.correct.combo.findText("green"))
    qtbot.mouseClick(tab.correct.add_button, Qt.MouseButton.LeftButton)
    assert tab.correct.note.text().startswith("Added as green")
    qtbot.mouseClick(tab.correct.undo_button, Qt.MouseButton.LeftButton)
    assert tab.correct.note.text() == "Removed chelsea.png from green again."
    _classify(tab, qtbot, write_image(tmp_path / "next.png", color=COLORS["blue"], seed=6))
    assert "chelsea" not in tab.correct.note.text() and tab.correct.note.text().startswith("Wrong?")
    # an Add followed by another image: the Undo button beside the new image does not undo the old one
    qtbot.mouseClick(tab.correct.add_button, Qt.MouseButton.LeftButton)
    assert tab.correct.undo_button.isEnabled()
    _classify(tab, qtbot, chelsea)
    assert not tab.correct.undo_button.isEnabled() and "next.png" not in tab.correct.note.text()
    assert window.project.can_undo(), "Edit ▸ Undo still takes it back"


# -- long names: item 22 -----------------------------------------------------------------------------
LONG = "American Staffordshire terrier, Staffordshire terrier, American pit bull terrier, pit bull"


@pytest.fixture
def larger_font(qapp):
    """Fonts as big as a desktop at 120% scaling (labels once vanished in a real X window)."""
    old = QFont(qapp.font())
    font = QFont(old)
    font.setPointSizeF(old.pointSizeF() * 1.3)
    qapp.setFont(font)
    yield
    qapp.setFont(old)


def _names_drawn(bars) -> list[str]:
    """The class names pyqtgraph really draws beside the bars (it skips any that does not fit)."""
    axis = bars.getPlotItem().getAxis("left")
    picture = QPicture()
    painter = QPainter(picture)
    painter.setFont(axis.style["tickFont"])
    specs = axis.generateDrawSpecs(painter)
    painter.end()
    return [text for _, _, text in specs[2]]


@pytest.mark.usefixtures("larger_font")
def test_long_class_names_are_elided_beside_the_bars_with_the_full_name_on_hover(window, qtbot, fake_backbone,
                                                                                 tmp_path):
    data = tmp_path / "long"
    for k, (name, colour) in enumerate([(LONG, (215, 45, 35)), ("tabby, tabby cat", (40, 200, 40))]):
        for i in range(6):
            write_image(data / name / f"{i}.png", size=(40, 30), color=colour, seed=10 * k + i)
    result = train(TrainConfig(backbone=fake_backbone.id, epochs=20, learning_rate=0.01), data)
    model = ModelBundle.from_training(result).save(tmp_path / "long.imgclf-model")
    window.resize(1024, 700)
    tab = _ready_tab(window, qtbot, ModelSource.bundle(model))
    _classify(tab, qtbot, write_image(tmp_path / "dog.png", color=(215, 45, 35), seed=50))
    bars = tab.bars
    assert bars.shown[0][0] == LONG
    # (once the layout has given the names' column its new width, as before any paint)
    qtbot.waitUntil(lambda: _names_drawn(bars) == bars.labels_shown, timeout=5_000)  # every bar keeps its name
    assert bars.labels_shown[0].endswith("…") and len(bars.labels_shown[0]) < len(LONG)
    # the verdict is one line, elided, never clipped; the whole of it on hover
    verdict = tab.verdict
    assert verdict.text().endswith("…") and verdict.toolTip() == verdict.full_text and LONG in verdict.full_text
    assert verdict.height() >= verdict.fontMetrics().height()
    # hovering the top bar names the class in full
    vb = bars.getPlotItem().vb
    spot = bars.mapFromScene(vb.mapViewToScene(QPointF(0.05, len(bars.shown) - 1)))
    hover = QHelpEvent(QHelpEvent.Type.ToolTip, spot, bars.viewport().mapToGlobal(spot))
    QApplication.sendEvent(bars.viewport(), hover)
    assert QToolTip.text().startswith(f"{LONG}: ")
    QToolTip.hideText()
    assert bars.row_at(QPoint(2, 2)) is None


def test_imagenet_says_how_many_classes_are_left_out(window, qtbot, fake_backbone, tmp_path):
    tab = _ready_tab(window, qtbot, ModelSource.imagenet(fake_backbone.id))
    _classify(tab, qtbot, write_image(tmp_path / "x.png", color=(10, 90, 200), seed=7))
    caption = tab.bars.getPlotItem().getAxis("bottom").labelText
    assert caption == "and 995 more classes with lower scores" == more_text(995)
    qtbot.waitUntil(lambda: _names_drawn(tab.bars) == tab.bars.labels_shown, timeout=5_000)
    assert len(tab.bars.labels_shown) == 5
    assert more_text(1) == "and 1 more class with lower scores" and more_text(0) == ""


# -- the top bar's colour follows the threshold ----------------------------------------------------
def _top_bar_colour(bars) -> str:
    vb = bars.getPlotItem().vb
    score = bars.shown[0][1]
    spot = bars.mapFromScene(vb.mapViewToScene(QPointF(score / 2, len(bars.shown) - 1)))
    return bars.grab().toImage().pixelColor(spot).name()


def test_moving_the_threshold_recolours_the_top_bar(window, qtbot, tiny_model, tmp_path):
    tab = _ready_tab(window, qtbot, ModelSource.bundle(tiny_model))
    _classify(tab, qtbot, write_image(tmp_path / "r.png", color=COLORS["red"], seed=8))
    score = tab.bars.shown[0][1]
    assert 0.5 <= score < 1.0
    sure, unsure = QColor("#2e9d5b").name(), QColor("#e08a2c").name()
    assert _top_bar_colour(tab.bars) == sure
    tab.threshold_spin.setValue(100)
    assert _top_bar_colour(tab.bars) == unsure and tab.verdict.text().startswith("unsure")
    tab.threshold_spin.setValue(10)
    assert _top_bar_colour(tab.bars) == sure


# -- the batch table tells files apart: item 23 ------------------------------------------------------
def _file_column(page) -> list[str]:
    return sorted(page.proxy.index(r, 1).data() for r in range(page.proxy.rowCount()))


def test_files_of_the_same_name_are_told_apart_by_where_they_were_dropped(window, qtbot, tiny_model, tmp_path):
    tab = _ready_tab(window, qtbot, ModelSource.bundle(tiny_model))
    camera = tmp_path / "camera"
    for k, folder in enumerate(["holiday", "garden", "garden/2023"]):
        write_image(camera / folder / "IMG_0000.jpg", color=COLORS["red"], seed=30 + k)
    with qtbot.waitSignal(tab.classifier.batch_finished, timeout=10_000):
        _drop(tab, [camera])
    assert _file_column(tab.batch) == ["garden/2023/IMG_0000.jpg", "garden/IMG_0000.jpg", "holiday/IMG_0000.jpg"]
    # dropped files: as much of their folders as it takes to tell them apart
    files = [camera / "holiday" / "IMG_0000.jpg", camera / "garden" / "IMG_0000.jpg",
             write_image(tmp_path / "elsewhere" / "cat.png", color=COLORS["blue"], seed=40)]
    with qtbot.waitSignal(tab.classifier.batch_finished, timeout=10_000):
        _drop(tab, files)
    assert _file_column(tab.batch) == ["cat.png", "garden/IMG_0000.jpg", "holiday/IMG_0000.jpg"]
    # two dropped folders: each file under its folder's name
    with qtbot.waitSignal(tab.classifier.batch_finished, timeout=10_000):
        _drop(tab, [camera / "holiday", camera / "garden"])
    assert _file_column(tab.batch) == ["garden/2023/IMG_0000.jpg", "garden/IMG_0000.jpg", "holiday/IMG_0000.jpg"]
    index = tab.batch.proxy.index(0, 1)
    assert index.data(Qt.ItemDataRole.ToolTipRole).startswith(str(camera)), "the full path on hover"
