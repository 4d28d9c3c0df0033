"""Dataset tab (being written: class list, thumbnail grid, labelling, health)."""
from __future__ import annotations

from PySide6.QtWidgets import QWidget

from imgclf_gui.gui.project_model import ProjectModel
from imgclf_gui.gui.tabs._placeholder import PlaceholderTab
from imgclf_gui.gui.tasks import TaskRunner


class DatasetTab(PlaceholderTab):
    """Sort images into classes."""

    title = "Dataset"

    def __init__(self, project: ProjectModel, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__("Dataset", parent)
        self.project = project
        self.tasks = tasks
