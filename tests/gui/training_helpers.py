"""The Training tab's test fixture and helpers (fake backbone, a colour project), shared by its test modules.

Import the fixture where it is used: ``from tests.gui.training_helpers import tab_fixture  # noqa: F401``
(it is called ``tab`` in the tests).
"""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from imgclf_gui.core.support.settings import Settings
from imgclf_gui.core.training.config import TrainConfig
from imgclf_gui.gui.common.preferences import Preferences
from imgclf_gui.gui.common.project_model import ProjectModel
from imgclf_gui.gui.common.tasks import TaskRunner
from imgclf_gui.gui.training.training_session import RunOutcome
from imgclf_gui.gui.training.training_tab import TrainingTab
from tests.conftest import write_image
from tests.gui.conftest import COLORS, write_colour_project

PER_CLASS = 12  # images per colour: 36 in all, five folds of about 7


def config(fake_backbone, **changes) -> TrainConfig:
    """Quick settings: 8 epochs of every fold and of the final model, L2 given (so no search)."""
    base = dict(backbone=fake_backbone.id, epochs=8, early_stopping=False, l2=1e-4)
    return TrainConfig(**{**base, **changes})


@pytest.fixture(name="tab")
def tab_fixture(qtbot, tmp_path, fake_backbone):
    tasks = TaskRunner()
    project = ProjectModel(tasks)
    project.open(write_colour_project(tmp_path / "proj", per_class=PER_CLASS))
    widget = TrainingTab(project, tasks, Preferences(Settings()))
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    widget.session.set_config(config(fake_backbone))
    yield widget
    tasks.shutdown(5000)


def train(qtbot, tab: TrainingTab, timeout: int = 30000) -> RunOutcome:
    """Click Train and wait for the run to end (saved, when it kept a model)."""
    with qtbot.waitSignal(tab.session.run_finished, timeout=timeout) as blocker:
        qtbot.mouseClick(tab.train_button, Qt.MouseButton.LeftButton)
    return blocker.args[0]


def plant_greens_in_red(root: Path, count: int = 6) -> list[Path]:
    """Green-looking images filed under red: the model is sure to call them green."""
    return [write_image(root / "red" / f"zz_green_{i}.png", size=(40, 40), color=COLORS["green"], seed=900 + i)
            for i in range(count)]
