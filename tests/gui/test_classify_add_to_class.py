"""Add to Class on the Classify tab with an image that is already in the project: it is moved, never
copied, so Check Data finds no duplicate afterwards (issue 14, item 7). An image from elsewhere is still
copied (tests/gui/test_classify_tab.py)."""
from __future__ import annotations

from PySide6.QtCore import Qt

from imgclf_gui.core.models.predict import ModelSource
from imgclf_gui.core.review.health import check_health
from imgclf_gui.gui.common.project_model import INBOX
from tests.conftest import write_image
from tests.gui.conftest import _drop, _ready_tab


def test_add_to_class_moves_an_inbox_image_and_undo_puts_it_back(window, qtbot, tiny_model):
    root = window.project.root
    image = write_image(root / INBOX / "leaf.png", color=(40, 200, 40), seed=79)
    window.project.refresh()
    tab = _ready_tab(window, qtbot, ModelSource.bundle(tiny_model))
    with qtbot.waitSignal(tab.classifier.prediction_ready, timeout=10_000):
        _drop(tab, [image])
    tab.correct.combo.setCurrentText("green")
    qtbot.mouseClick(tab.correct.add_button, Qt.MouseButton.LeftButton)
    assert (root / "green" / "leaf.png").exists() and not image.exists(), "moved out of the inbox"
    assert window.project.inbox_count() == 0
    assert {c.name: c.count for c in window.project.classes()}["green"] == 2
    assert "Moved as green/leaf.png" in tab.correct.note.text()
    assert not check_health(root).of_kind("duplicate"), "no copy is left behind"
    qtbot.mouseClick(tab.correct.undo_button, Qt.MouseButton.LeftButton)
    assert image.exists() and not (root / "green" / "leaf.png").exists()
    assert tab.correct.note.text() == "Moved leaf.png back to the inbox."
