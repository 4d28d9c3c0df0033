"""Training tab (placeholder: the training work replaces this module, keeping the constructor)."""
from __future__ import annotations

from PySide6.QtWidgets import QWidget

from imgclf_gui.gui.project_model import ProjectModel
from imgclf_gui.gui.tabs._placeholder import PlaceholderTab
from imgclf_gui.gui.tasks import TaskRunner


class TrainingTab(PlaceholderTab):
    """Train a classifier on the project's classes."""

    title = "Training"

    def __init__(self, project: ProjectModel, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__("Training will appear here.", parent)
        self.project = project
        self.tasks = tasks
