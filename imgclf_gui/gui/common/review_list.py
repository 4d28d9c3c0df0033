"""Pieces of the views that list images to fix (report cells, top losses, possibly mislabelled images).

- ``ReviewItem`` / ``CaptionedThumbnailModel``: thumbnails captioned "square → circle (87%)" (the folder the
  image was in, the class the model says, its confidence), or what became of the image: "moved to circle",
  "kept in square". Moves made anywhere (this view, another tab, undo) are followed in place, so the list
  does not jump under the user's hand; ``MoveTracker`` remembers those moves for lists made again later.
- ``OwnUndo``: the steps one view made (journaled moves through ``ProjectModel``, or other marks with their
  own way back) and an Undo for those only: it never takes back a move made in another tab, and says what
  it takes back.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QPainter, QPixmap

from imgclf_gui.core.images.thumbnails import ThumbnailCache
from imgclf_gui.core.project.journal import ActionResult
from imgclf_gui.gui.common.project_model import INBOX, ProjectModel
from imgclf_gui.gui.common.tasks import TaskRunner
from imgclf_gui.gui.common.thumbnail_grid import ThumbnailModel

__all__ = ["ReviewItem", "CaptionedThumbnailModel", "OwnUndo", "MoveTracker"]


@dataclass
class ReviewItem:
    """One listed image: where it was when the model scored it, where it is now, and what the model said."""

    original: Path
    path: Path
    label: str  #: the class folder it was in
    other: str  #: the class the model says (predicted, or suggested)
    confidence: float  #: the model's probability of ``other``
    kept: bool = False  #: the user looked at it and kept it where it is

    @property
    def moved(self) -> bool:
        return self.path != self.original

    @property
    def done(self) -> bool:
        """Dealt with: moved somewhere or kept."""
        return self.moved or self.kept


def _place(path: Path) -> str:
    return "the inbox" if path.parent.name == INBOX else path.parent.name


class CaptionedThumbnailModel(ThumbnailModel):
    """Thumbnails captioned "label → other (87%)", "moved to X" or "kept in X"."""

    def __init__(self, tasks: TaskRunner, side: int, parent: QObject | None = None) -> None:
        super().__init__(tasks, side, parent)
        self.items: list[ReviewItem] = []
        self._padded: dict[int, QPixmap] = {}  # cacheKey of a small thumbnail -> it on a full-size square

    def set_items(self, items: list[ReviewItem], cache: ThumbnailCache | None) -> None:
        self.items = list(items)
        self.set_paths([i.path for i in self.items], cache)

    def caption(self, row: int) -> str:
        item = self.items[row]
        if item.moved:
            return f"moved to {_place(item.path)}"
        if item.kept:
            return f"kept in {item.label}"
        return f"{item.label} → {item.other} ({item.confidence:.0%})"

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if index.isValid() and role == Qt.ItemDataRole.DisplayRole:
            return self.caption(index.row())
        if index.isValid() and role == Qt.ItemDataRole.ToolTipRole:
            item = self.items[index.row()]
            return (f"{item.path}\nin the folder: {item.label}\nthe model says: {item.other} "
                    f"({item.confidence:.1%})\nSpace or double-click: preview")
        value = super().data(index, role)
        if role == Qt.ItemDataRole.DecorationRole and isinstance(value, QPixmap):
            return self._full_size(value)
        return value

    def _full_size(self, pixmap: QPixmap) -> QPixmap:
        """A thumbnail smaller than the cell's square (an image of 40 pixels), centred on a transparent square
        of the full size: the view sizes every cell from the first icon it measured (the full-size
        placeholder), and a smaller picture left its caption floating in a tall box."""
        if pixmap.width() >= self.side and pixmap.height() >= self.side:
            return pixmap
        key = pixmap.cacheKey()
        padded = self._padded.get(key)
        if padded is None:
            padded = QPixmap(self.side, self.side)
            padded.fill(Qt.GlobalColor.transparent)
            painter = QPainter(padded)
            painter.drawPixmap((self.side - pixmap.width()) // 2, (self.side - pixmap.height()) // 2, pixmap)
            painter.end()
            if len(self._padded) > 2000:
                self._padded.clear()
            self._padded[key] = padded
        return padded

    def refresh_row(self, row: int) -> None:
        self.dataChanged.emit(self.index(row), self.index(row))

    def apply_moves(self, moved: list[tuple[Path | None, Path]]) -> bool:
        """Follow images moved anywhere (here, another tab, undo); True when a listed one moved."""
        where = {Path(old): Path(new) for old, new in moved if old is not None}
        changed = [row for row, item in enumerate(self.items) if item.path in where]
        for row in changed:
            # In place, not a model reset: the selection stays, so a second fix needs no new click.
            self.items[row].path = self.paths[row] = where[self.items[row].path]
            self.refresh_row(row)
        if changed:
            self._rows = {p: i for i, p in enumerate(self.paths)}
        return bool(changed)


@dataclass
class _Step:
    label: str  #: "send a.png to circle", "keep a.png in square"
    action_id: str | None = None  #: a journaled move (undone through the project)
    undo: Callable[[], None] | None = None  #: anything else (forgetting a reviewed mark)


class OwnUndo(QObject):
    """Undo for the steps one view made, newest first; ``changed()`` when what it offers changes.

    A move is offered only while it is the project's next undo: after a move in another tab it is not
    (Edit ▸ Undo takes that one back first), and a move undone elsewhere is forgotten.
    """

    changed = Signal()

    def __init__(self, project: ProjectModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self._steps: list[_Step] = []
        project.history_changed.connect(self._on_history_changed)
        project.project_changed.connect(self.clear)

    def clear(self, *_args: object) -> None:
        self._steps.clear()
        self.changed.emit()

    def record_move(self, result: ActionResult | None) -> None:
        """Remember a move this view asked ``ProjectModel`` for (nothing when it moved nothing)."""
        if result is not None and result.ops:
            self._steps.append(_Step(result.action.label, action_id=result.action.id))
            self.changed.emit()

    def record(self, label: str, undo: Callable[[], None]) -> None:
        """Remember a step that is undone by calling ``undo``."""
        self._steps.append(_Step(label, undo=undo))
        self.changed.emit()

    def can_undo(self) -> bool:
        if not self._steps:
            return False
        step = self._steps[-1]
        if step.action_id is None:
            return True
        ids = self.project.undoable_action_ids()
        return bool(ids) and ids[-1] == step.action_id and self.project.can_undo()

    def text(self) -> str:
        """What Undo would take back, or why it cannot."""
        if not self._steps:
            return "Nothing done here to undo."
        if self.can_undo():
            return f"Undo: {self._steps[-1].label}"
        return (f"Another change was made since ({self.project.undo_text()}); Edit ▸ Undo takes that back "
                f"first, then this button can undo: {self._steps[-1].label}.")

    def undo(self) -> None:
        if not self.can_undo():
            return
        step = self._steps.pop()
        if step.action_id is not None:
            self.project.undo()
        elif step.undo is not None:
            step.undo()
        self.changed.emit()

    def _on_history_changed(self) -> None:
        # A move of ours undone elsewhere (Edit ▸ Undo) is no longer ours to offer.
        ids = set(self.project.undoable_action_ids())
        while self._steps and self._steps[-1].action_id is not None and self._steps[-1].action_id not in ids:
            self._steps.pop()
        self.changed.emit()


class MoveTracker(QObject):
    """Where each image moved since a list was made (through ``ProjectModel``: this tab, another, undo), so a
    list made again from a run's stored paths shows the images where they are now."""

    def __init__(self, project: ProjectModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._now: dict[Path, Path] = {}  # original -> current
        self._origin: dict[Path, Path] = {}  # current -> original
        project.images_moved.connect(self._on_images_moved)
        project.project_changed.connect(self._forget)

    def current(self, path: Path) -> Path:
        """Where the image that was at ``path`` is now."""
        return self._now.get(Path(path), Path(path))

    def _forget(self, *_args: object) -> None:
        self._now.clear()
        self._origin.clear()

    def _on_images_moved(self, moved: list) -> None:
        for old, new in moved:
            if old is None:
                continue
            origin = self._origin.pop(Path(old), Path(old))
            self._now[origin] = Path(new)
            self._origin[Path(new)] = origin
