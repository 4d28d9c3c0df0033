"""The Training tab lists every image a run skipped as unreadable, not only how many."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from imgclf_gui.core.support.settings import Settings
from imgclf_gui.core.training.config import TrainConfig
from imgclf_gui.gui.common.preferences import Preferences
from imgclf_gui.gui.common.project_model import ProjectModel
from imgclf_gui.gui.common.tasks import TaskRunner
from imgclf_gui.gui.training.training_tab import TrainingTab
from tests.gui.conftest import write_colour_project


@pytest.fixture
def tab(qtbot, tmp_path, fake_backbone):  # noqa: F811
    root = write_colour_project(tmp_path / "proj", per_class=8)
    for i in range(7):
        (root / "red" / f"broken{i}.png").write_bytes(b"not a picture %d" % i)
    tasks = TaskRunner()
    project = ProjectModel(tasks)
    project.open(root)
    widget = TrainingTab(project, tasks, Preferences(Settings()))
    qtbot.addWidget(widget)
    widget.resize(1024, 700)
    widget.show()
    widget.session.set_config(TrainConfig(backbone=fake_backbone.id, epochs=3, folds=2))
    yield widget
    tasks.shutdown(5000)


def test_the_skipped_images_can_be_listed_and_copied(tab, qtbot):
    assert not tab.skipped_button.isVisible()
    with qtbot.waitSignal(tab.session.run_finished, timeout=30000):
        qtbot.mouseClick(tab.train_button, Qt.MouseButton.LeftButton)
    assert tab.skipped_button.isVisible() and tab.skipped_button.text() == "Skipped images (7)…"
    named = "Skipped as unreadable: broken0.png, broken1.png, broken2.png and 4 more (Skipped images…"
    assert named in tab.status.text()
    qtbot.mouseClick(tab.skipped_button, Qt.MouseButton.LeftButton)
    dialog = tab.skipped_button.dialog
    qtbot.waitExposed(dialog)
    table = dialog.table
    names = [table.item(row, 0).text() for row in range(table.rowCount())]
    assert names == [f"red/broken{i}.png" for i in range(7)]  # all of them, relative to the project
    assert all("not an image" in table.item(row, 1).text() for row in range(table.rowCount()))
    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text().splitlines()[0].startswith("red/broken0.png\t")
    QApplication.clipboard().clear()  # the offscreen platform crashes at exit with data on the clipboard
    dialog.close()
    # the next run starts with no list: it belongs to the run that made it
    tab.session.start()
    assert not tab.skipped_button.isVisible()
    qtbot.waitUntil(lambda: not tab.session.is_running(), timeout=30000)
