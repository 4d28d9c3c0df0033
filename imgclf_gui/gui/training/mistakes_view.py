"""Images behind a confusion-matrix cell or the top losses, with their fix at hand.

Thumbnails come from the shared grid (background loading, disk cache), captioned "folder → what the model
said (87%)"; Space or double-click previews one. Selected images can be sent to a class or to the inbox
through :meth:`ProjectModel.move_images` (journaled); "Move selected to" starts on the class the model
predicted, the fix a person most often wants. A moved image stays listed, marked "moved to ...", so the
list does not jump under the user's hand. Undo here takes back only the moves made here (``OwnUndo``),
never a move made in the Dataset tab; Edit ▸ Undo undoes the latest change anywhere.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from imgclf_gui.core.images.thumbnails import ThumbnailCache
from imgclf_gui.gui.common.preview import PreviewDialog
from imgclf_gui.gui.common.project_model import INBOX, ProjectModel
from imgclf_gui.gui.common.review_list import CaptionedThumbnailModel, OwnUndo, ReviewItem
from imgclf_gui.gui.common.tasks import TaskRunner
from imgclf_gui.gui.common.thumbnail_grid import ThumbnailGrid

THUMB_SIDE = 96
START_TEXT = "Click a cell of the confusion matrix, or Top Losses, to see images here."


class MistakesView(QWidget):
    """A heading, the captioned thumbnails, and "Move selected to [class] / Undo"."""

    def __init__(self, project: ProjectModel, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.tasks = tasks
        self.heading = QLabel(START_TEXT, self)
        self.heading.setWordWrap(True)
        self.model = CaptionedThumbnailModel(tasks, THUMB_SIDE, self)
        self.grid = ThumbnailGrid(THUMB_SIDE, self)
        self.grid.setModel(self.model)
        # captions ("circle → square (87%)") are wider than a file name
        self.grid.set_min_cell_width(self.grid.min_cell_width + 56)
        self.grid.setDragEnabled(False)
        self.grid.setAcceptDrops(False)
        self.grid.viewport().setAcceptDrops(False)
        self.target = QComboBox(self)
        self.target.setToolTip("Where Move sends the selected images: the class the model said, at first.")
        self.target.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.target.setMinimumContentsLength(8)
        # Tool buttons: narrower than push buttons, so the row fits beside the report at 1024 pixels.
        self.move_button = QToolButton(self)
        self.move_button.setText("Move")
        self.move_button.setToolTip("Send the selected images to this class (Undo takes it back).")
        self.undo = OwnUndo(project, self)
        self.undo_button = QToolButton(self)
        self.undo_button.setText("Undo")
        row = QHBoxLayout()
        row.addWidget(QLabel("Move to", self))
        row.addWidget(self.target, 1)
        row.addWidget(self.move_button)
        row.addWidget(self.undo_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.grid, 1)
        layout.addLayout(row)
        self._cache: ThumbnailCache | None = None
        self._preview: PreviewDialog | None = None
        self.move_button.clicked.connect(self.move_selected)
        self.undo_button.clicked.connect(self.undo.undo)
        self.undo.changed.connect(self._update_buttons)
        self.grid.selectionModel().selectionChanged.connect(self._update_buttons)
        self.grid.preview_requested.connect(self.preview)
        project.images_moved.connect(self._on_images_moved)
        project.classes_changed.connect(self._fill_targets)
        project.project_changed.connect(self._on_project_changed)
        self._on_project_changed(project.root)

    def _on_project_changed(self, root: object) -> None:
        self._cache = ThumbnailCache(root, THUMB_SIDE) if root is not None else None
        self.show_items(START_TEXT, [])
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
        """List ``items`` under ``heading``; all are selected, and the target is the class the model said
        for the first of them (moving a misclassified image there is the usual fix)."""
        self.heading.setText(heading or START_TEXT)
        self.model.set_items(items, self._cache)
        if items and self.target.findData(items[0].other) >= 0:
            self.target.setCurrentIndex(self.target.findData(items[0].other))
        if items:
            self.grid.selectAll()
        self._update_buttons()

    def move_selected(self) -> None:
        paths = [p for p in self.grid.selected_paths() if p.exists()]
        target = self.target.currentData()
        if paths and target is not None:
            self.undo.record_move(self.project.move_images(paths, target))

    def preview(self, path: Path) -> None:
        if self._preview is None:
            self._preview = PreviewDialog(self.tasks, self)
        self._preview.show_image(path)

    def _on_images_moved(self, moved: list) -> None:
        self.model.apply_moves(moved)
        self._update_buttons()

    def _update_buttons(self, *_args: object) -> None:
        self.move_button.setEnabled(bool(self.grid.selectionModel().selectedIndexes()) and self.target.count() > 0)
        self.undo_button.setEnabled(self.undo.can_undo())
        self.undo_button.setToolTip(self.undo.text())
