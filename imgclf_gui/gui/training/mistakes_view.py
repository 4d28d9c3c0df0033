"""Images behind a confusion-matrix cell or the top losses, with their fix at hand.

Thumbnails come from the Dataset tab's grid (background loading, disk cache). Under each image: true
class -> predicted class and confidence. Selected images can be sent to the right class or to the inbox
through :meth:`ProjectModel.move_images` (journaled, so Undo here and Ctrl+Z anywhere take it back). A
moved image stays listed under its new place, marked "moved to ...", so the list does not jump under the
user's hand; undo marks it back.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from imgclf_gui.core.images.thumbnails import ThumbnailCache
from imgclf_gui.core.training.evaluation import Mistake
from imgclf_gui.gui.common.project_model import INBOX, ProjectModel
from imgclf_gui.gui.common.tasks import TaskRunner
from imgclf_gui.gui.common.thumbnail_grid import ThumbnailGrid, ThumbnailModel

THUMB_SIDE = 96


@dataclass
class ReviewItem:
    """One listed image: where it was scored, where it is now, and what the model said."""

    original: Path
    path: Path
    true: str
    predicted: str
    confidence: float


class CaptionedThumbnailModel(ThumbnailModel):
    """Thumbnails captioned "true → predicted 87%" (or where the image was moved to)."""

    def __init__(self, tasks: TaskRunner, side: int, parent=None) -> None:
        super().__init__(tasks, side, parent)
        self.items: list[ReviewItem] = []

    def set_items(self, items: list[ReviewItem], cache: ThumbnailCache | None) -> None:
        self.items = list(items)
        self.set_paths([i.path for i in self.items], cache)

    def caption(self, row: int) -> str:
        item = self.items[row]
        if item.path != item.original:
            return f"moved to {item.path.parent.name}"
        return f"{item.true} → {item.predicted} {item.confidence:.0%}"

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if index.isValid() and role == Qt.ItemDataRole.DisplayRole:
            return self.caption(index.row())
        if index.isValid() and role == Qt.ItemDataRole.ToolTipRole:
            item = self.items[index.row()]
            return (f"{item.path}\ntrue class: {item.true}\npredicted: {item.predicted} "
                    f"({item.confidence:.1%})")
        return super().data(index, role)

    def apply_moves(self, moved: list[tuple[Path | None, Path]]) -> bool:
        """Follow images moved anywhere (here, the Dataset tab, undo); True when a listed one moved."""
        where = {Path(old): Path(new) for old, new in moved if old is not None}
        changed = [row for row, item in enumerate(self.items) if item.path in where]
        for row in changed:
            # In place, not a model reset: the selection stays, so a second fix needs no new click.
            self.items[row].path = self.paths[row] = where[self.items[row].path]
            self.dataChanged.emit(self.index(row), self.index(row))
        if changed:
            self._rows = {p: i for i, p in enumerate(self.paths)}
        return bool(changed)


class MistakesView(QWidget):
    """A heading, the captioned thumbnails, and "Move selected to [class] / Undo"."""

    def __init__(self, project: ProjectModel, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.heading = QLabel("Click a cell of the confusion matrix, or Top Losses, to see images here.", self)
        self.heading.setWordWrap(True)
        self.model = CaptionedThumbnailModel(tasks, THUMB_SIDE, self)
        self.grid = ThumbnailGrid(THUMB_SIDE, self)
        self.grid.setModel(self.model)
        # captions ("circle → square 87%") are wider than a file name
        self.grid.set_min_cell_width(self.grid.min_cell_width + 56)
        self.grid.setDragEnabled(False)
        self.grid.setAcceptDrops(False)
        self.target = QComboBox(self)
        self.move_button = QPushButton("Move", self)
        self.move_button.setToolTip("Send the selected images to this class (Undo takes it back).")
        self.undo_button = QPushButton("Undo", self)
        row = QHBoxLayout()
        row.addWidget(QLabel("Move selected to", self))
        row.addWidget(self.target, 1)
        row.addWidget(self.move_button)
        row.addWidget(self.undo_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.grid, 1)
        layout.addLayout(row)
        self._cache: ThumbnailCache | None = None
        self.move_button.clicked.connect(self.move_selected)
        self.undo_button.clicked.connect(project.undo)
        self.grid.selectionModel().selectionChanged.connect(self._update_buttons)
        project.images_moved.connect(self._on_images_moved)
        project.classes_changed.connect(self._fill_targets)
        project.history_changed.connect(self._update_buttons)
        project.project_changed.connect(self._on_project_changed)
        self._on_project_changed(project.root)

    def _on_project_changed(self, root: object) -> None:
        self._cache = ThumbnailCache(root, THUMB_SIDE) if root is not None else None
        self.show_items("", [])
        self._fill_targets()

    def _fill_targets(self) -> None:
        current = self.target.currentData()
        self.target.clear()
        for name in self.project.class_names():
            self.target.addItem(name, name)
        self.target.addItem("Inbox (unsorted)", INBOX)
        if current is not None and self.target.findData(current) >= 0:
            self.target.setCurrentIndex(self.target.findData(current))
        self._update_buttons()

    def show_items(self, heading: str, items: list[ReviewItem]) -> None:
        """List ``items`` under ``heading``; the target class defaults to their true class."""
        if heading:
            self.heading.setText(heading)
        self.model.set_items(items, self._cache)
        if items and self.target.findData(items[0].true) >= 0:
            self.target.setCurrentIndex(self.target.findData(items[0].true))
        if items:
            self.grid.selectAll()
        self._update_buttons()

    def show_mistakes(self, heading: str, mistakes: list[Mistake]) -> None:
        self.show_items(heading, [ReviewItem(Path(m.path), Path(m.path), m.true, m.predicted, m.confidence)
                                  for m in mistakes])

    def move_selected(self) -> None:
        paths = [p for p in self.grid.selected_paths() if p.exists()]
        target = self.target.currentData()
        if paths and target is not None:
            self.project.move_images(paths, target)

    def _on_images_moved(self, moved: list) -> None:
        self.model.apply_moves(moved)
        self._update_buttons()

    def _update_buttons(self, *_args: object) -> None:
        self.move_button.setEnabled(bool(self.grid.selectionModel().selectedIndexes()) and self.target.count() > 0)
        self.undo_button.setEnabled(self.project.can_undo())
        self.undo_button.setToolTip(self.project.undo_text())

