"""Review the possibly mislabelled images one key at a time (the Training tab and Check Data both use it).

The list comes from ``core/review/mislabels.py`` (``SuspectedMislabel``s, worst first). Each thumbnail is
captioned "folder → suggested (confidence)". On the selected images:

- **M** moves them to the suggested class (``ProjectModel.move_images``: journaled, undoable) and goes on
  to the next image not dealt with;
- **K** keeps them where they are and remembers them as reviewed (``core/review/reviewed.py``, by content
  hash: they are not suggested again) and goes on;
- **Space** / double-click previews; **Undo** here takes back this list's own last step only.

Both keys are written on the buttons and in the hint line, so nobody has to guess them.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from imgclf_gui.core.images.thumbnails import ThumbnailCache
from imgclf_gui.core.review.mislabels import SuspectedMislabel
from imgclf_gui.gui.common.preview import PreviewDialog
from imgclf_gui.gui.common.project_model import ProjectModel
from imgclf_gui.gui.common.review_list import CaptionedThumbnailModel, OwnUndo, ReviewItem
from imgclf_gui.gui.common.tasks import TaskRunner
from imgclf_gui.gui.common.thumbnail_grid import ThumbnailGrid

__all__ = ["MislabelReview", "MislabelReviewDialog", "MOVE_KEY", "KEEP_KEY"]

THUMB_SIDE = 96
MOVE_KEY, KEEP_KEY = "m", "k"
_HINT = ("<b>M</b>: move to the suggested class · <b>K</b>: keep where it is (not suggested again) · "
         "<b>Space</b>: preview")


class MislabelReview(QWidget):
    """Thumbnails of suspected mislabels with Move (M), Keep (K) and Undo. ``reviewed_all()`` when every
    listed image has been dealt with."""

    reviewed_all = Signal()

    def __init__(self, project: ProjectModel, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.tasks = tasks
        self.heading = QLabel("No list yet.", self)
        self.heading.setWordWrap(True)
        self.model = CaptionedThumbnailModel(tasks, THUMB_SIDE, self)
        self.grid = ThumbnailGrid(THUMB_SIDE, self)
        self.grid.setModel(self.model)
        self.grid.set_min_cell_width(self.grid.min_cell_width + 64)  # "square → circle (87%)"
        self.grid.setDragEnabled(False)
        self.grid.setAcceptDrops(False)
        self.grid.viewport().setAcceptDrops(False)
        self.hint = QLabel(_HINT, self)
        self.hint.setWordWrap(True)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.status.setVisible(False)
        self.move_button = QPushButton("Move to Suggested (M)", self)
        self.move_button.setToolTip("Send the selected images to the class the model suggests (undoable).")
        self.keep_button = QPushButton("Keep (K)", self)
        self.keep_button.setToolTip("They are right where they are: remember that, so they are not "
                                    "suggested again.")
        self.undo = OwnUndo(project, self)
        self.undo_button = QPushButton("Undo", self)
        buttons = QHBoxLayout()
        buttons.addWidget(self.move_button)
        buttons.addWidget(self.keep_button)
        buttons.addStretch(1)
        buttons.addWidget(self.undo_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.grid, 1)
        layout.addWidget(self.hint)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        self._cache: ThumbnailCache | None = None
        self._preview: PreviewDialog | None = None
        self.grid.key_typed.connect(self._on_key)
        self.grid.preview_requested.connect(self.preview)
        self.grid.selectionModel().selectionChanged.connect(self._update_buttons)
        self.move_button.clicked.connect(self.move_selected)
        self.keep_button.clicked.connect(self.keep_selected)
        self.undo_button.clicked.connect(self.undo.undo)
        self.undo.changed.connect(self._update_buttons)
        project.images_moved.connect(self._on_images_moved)
        project.project_changed.connect(self._on_project_changed)
        self._on_project_changed(project.root)

    # -- content --------------------------------------------------------------------------------
    def set_suspects(self, suspects: list[SuspectedMislabel], heading: str) -> None:
        """List ``suspects`` (worst first) under ``heading``; the first one is selected."""
        self.heading.setText(heading)
        self._say("")
        self.model.set_items([ReviewItem(Path(s.path), Path(s.path), s.label, s.suggested, s.confidence)
                              for s in suspects], self._cache)
        if suspects:
            self._select(0)
        self._update_buttons()

    def items(self) -> list[ReviewItem]:
        return self.model.items

    def remaining(self) -> int:
        """Images not dealt with yet."""
        return sum(not item.done for item in self.model.items)

    # -- the two keys ---------------------------------------------------------------------------
    def move_selected(self) -> None:
        """Send each selected image to its suggested class, then select the next image left to review."""
        rows = self._selected_rows(lambda item: not item.done and item.path.exists())
        if not rows:
            return
        last = rows[-1]
        by_class: dict[str, list[Path]] = {}
        for row in rows:
            item = self.model.items[row]
            by_class.setdefault(item.other, []).append(item.path)
        for target, paths in by_class.items():
            self.undo.record_move(self.project.move_images(paths, target))
        self._advance(last)

    def keep_selected(self) -> None:
        """Keep each selected image where it is and remember it as reviewed, then go on."""
        from imgclf_gui.core.review.reviewed import mark_reviewed, unmark_reviewed

        rows = self._selected_rows(lambda item: not item.done and item.path.exists())
        if not rows or self.project.root is None:
            return
        root = self.project.root
        items = [self.model.items[row] for row in rows]
        paths = [item.path for item in items]
        try:
            mark_reviewed(root, paths)
        except OSError as exc:
            self._say(f"Could not remember that choice: {exc.strerror or exc}.")
            return
        self._set_kept(items, True)

        def take_back() -> None:
            try:
                unmark_reviewed(root, paths)
            except OSError as exc:
                self._say(f"Could not forget that choice: {exc.strerror or exc}.")
                return
            self._set_kept(items, False)

        what = paths[0].name if len(paths) == 1 else f"{len(paths)} images"
        self.undo.record(f"keep {what} in {items[0].label}", take_back)
        self._advance(rows[-1])

    def _set_kept(self, items: list[ReviewItem], kept: bool) -> None:
        for item in items:
            item.kept = kept
            if item in self.model.items:
                self.model.refresh_row(self.model.items.index(item))
        self._update_buttons()

    def _say(self, text: str) -> None:
        self.status.setText(text)
        self.status.setVisible(bool(text))

    def _on_key(self, key: str) -> None:
        if key == MOVE_KEY:
            self.move_selected()
        elif key == KEEP_KEY:
            self.keep_selected()

    def preview(self, path: Path) -> None:
        if self._preview is None:
            self._preview = PreviewDialog(self.tasks, self)
        self._preview.show_image(path)

    # -- selection ------------------------------------------------------------------------------
    def _selected_rows(self, wanted) -> list[int]:
        rows = sorted({i.row() for i in self.grid.selectionModel().selectedIndexes()})
        return [r for r in rows if wanted(self.model.items[r])]

    def select(self, row: int) -> None:
        """Make row ``row`` the selected image (keys act on it)."""
        if 0 <= row < len(self.model.items):
            self._select(row)

    def _select(self, row: int) -> None:
        index = self.model.index(row)
        self.grid.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.grid.scrollTo(index)

    def _advance(self, after: int) -> None:
        """Select the next image not dealt with after row ``after`` (wrapping round), or say all are done."""
        items = self.model.items
        order = list(range(after + 1, len(items))) + list(range(0, after + 1))
        following = next((r for r in order if not items[r].done), None)
        if following is None:
            self.grid.clearSelection()
            self._say(f"All {len(items)} listed images are dealt with.")
            self.reviewed_all.emit()
        else:
            self._select(following)
        self._update_buttons()

    # -- slots ----------------------------------------------------------------------------------
    def _on_project_changed(self, root: object) -> None:
        self._cache = ThumbnailCache(root, THUMB_SIDE) if root is not None else None
        self.set_suspects([], "No list yet.")

    def _on_images_moved(self, moved: list) -> None:
        self.model.apply_moves(moved)
        self._update_buttons()

    def _update_buttons(self, *_args: object) -> None:
        rows = self._selected_rows(lambda item: not item.done)
        targets = {self.model.items[r].other for r in rows}
        self.move_button.setEnabled(bool(rows))
        self.keep_button.setEnabled(bool(rows))
        self.move_button.setText(f"Move to {targets.pop()} (M)" if len(targets) == 1 else "Move to Suggested (M)")
        self.undo_button.setEnabled(self.undo.can_undo())
        self.undo_button.setToolTip(self.undo.text())


class MislabelReviewDialog(QDialog):
    """The review in a window of its own (Check Data opens it from the Dataset tab); not modal."""

    def __init__(self, project: ProjectModel, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Possibly mislabelled images")
        self.resize(760, 560)
        self.review = MislabelReview(project, tasks, self)
        close = QPushButton("Close", self)
        close.clicked.connect(self.close)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.review, 1)
        layout.addLayout(row)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
