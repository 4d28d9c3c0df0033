"""The table of a batch classification: model/view for 50,000 rows, thumbnails loaded lazily.

``BatchResultsModel`` holds :class:`~imgclf_gui.core.models.predict.ResultRow` objects and sorts itself with
NumPy (a proxy sorting 50,000 rows through Python ``data()`` calls would freeze the window for
seconds); ``BatchFilterProxy`` only filters (by class, "unsure", "unreadable") and forwards the header's
sort requests to the source. Thumbnails are decoded in the background only for rows that are painted.
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from imgclf_gui.core.models.predict import UNSURE, UNSURE_BELOW, ResultRow, is_unsure
from imgclf_gui.core.support.tasks_api import Cancelled
from imgclf_gui.gui.classify.path_labels import path_labeller
from imgclf_gui.gui.common.pictures import rgb_to_pixmap
from imgclf_gui.gui.common.tasks import TaskRunner

THUMB_SIDE = 40
MAX_SCORE_COLUMNS = 30  # more classes (ImageNet's 1000) get one "top 5" column instead
FIXED = ["", "File", "Predicted", "Confidence"]
THUMB, FILE, PREDICTED, CONFIDENCE = range(4)
RowRole = Qt.ItemDataRole.UserRole + 1
_UNSURE_COLOR = QColor("#c26a12")
_ERROR_COLOR = QColor("#b03030")


def _thumbnails(state, paths: list[Path], side: int) -> None:
    """Worker: small thumbnails as RGB arrays (never a Qt object: gui/common/pictures.py), one partial
    result each."""
    from imgclf_gui.core.images.thumbnails import ThumbnailError, thumbnail_pixels

    for path in paths:
        if state.should_stop():
            raise Cancelled()
        try:
            state.set_partial_result((path, thumbnail_pixels(path, side)))  # no JPEG: nothing keeps it
        except (ThumbnailError, OSError):
            state.set_partial_result((path, None))


class LazyThumbnails(QObject):
    """Thumbnails on demand: ``get(path)`` returns one or None and asks for it; ``ready(path)`` follows."""

    ready = Signal(object)

    def __init__(self, tasks: TaskRunner, side: int = THUMB_SIDE, keep: int = 2000, parent=None) -> None:
        super().__init__(parent)
        self.tasks, self.side, self.keep = tasks, side, keep
        self._pixmaps: OrderedDict[Path, QPixmap | None] = OrderedDict()
        self._pending: OrderedDict[Path, None] = OrderedDict()
        self._slot = ("batch thumbnails", id(self))  # the batch in flight; clear() drops it
        self._timer = QTimer(self, singleShot=True, interval=0)
        self._timer.timeout.connect(self._kick)

    def get(self, path: Path) -> QPixmap | None:
        if path in self._pixmaps:
            self._pixmaps.move_to_end(path)
            return self._pixmaps[path]
        self._pending[path] = None
        self._pending.move_to_end(path)  # newest first: the rows on screen now win
        while len(self._pending) > 200:
            self._pending.popitem(last=False)
        self._timer.start()
        return None

    def clear(self) -> None:
        self._pending.clear()
        self._pixmaps.clear()
        self.tasks.cancel_slot(self._slot)

    def _kick(self) -> None:
        if self.tasks.slot_task(self._slot) is not None or not self._pending:
            return
        batch = [self._pending.popitem(last=True)[0] for _ in range(min(24, len(self._pending)))]
        self.tasks.start(_thumbnails, batch, self.side, on_partial=self._on_thumb, partial_mode="all",
                         on_done=lambda _r: self._kick(), on_cancelled=lambda: None,
                         on_error=lambda _f: self._kick(), name="batch thumbnails", slot=self._slot)

    def _on_thumb(self, item: tuple[Path, np.ndarray | None]) -> None:
        path, rgb = item
        self._pixmaps[path] = rgb_to_pixmap(rgb) if rgb is not None else None
        while len(self._pixmaps) > self.keep:
            self._pixmaps.popitem(last=False)
        self.ready.emit(path)


class BatchResultsModel(QAbstractTableModel):
    """Rows of a batch, in the order shown; ``threshold`` decides what reads "unsure"."""

    def __init__(self, thumbnails: LazyThumbnails | None = None, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[ResultRow] = []
        self.class_names: list[str] = []
        self.threshold = UNSURE_BELOW
        self.sort_column = -1
        self.sort_order = Qt.SortOrder.AscendingOrder
        self._thumbs = thumbnails
        self._row_of: dict[Path, int] = {}
        self._label_of = path_labeller([])
        self._labels: dict[Path, str] = {}
        if thumbnails is not None:
            thumbnails.ready.connect(self._on_thumbnail_ready)

    # -- content --------------------------------------------------------------------------------
    def reset(self, class_names: list[str], dropped: list[Path] | None = None) -> None:
        """Empty the table for a batch of ``class_names``; files are named by their place in ``dropped``
        (see ``path_labels``), or else kept from the batch before."""
        self.beginResetModel()
        self.rows = []
        self._row_of = {}
        self.class_names = list(class_names)
        if dropped is not None:
            self._label_of = path_labeller(dropped)
            self._labels = {}
        self.endResetModel()

    def file_label(self, row: ResultRow) -> str:
        """The File column: the path inside what was dropped (the full path is the tooltip)."""
        label = self._labels.get(row.path)
        if label is None:
            label = self._labels[row.path] = self._label_of(row.path)
        return label

    def add_rows(self, rows: list[ResultRow]) -> None:
        """Append rows (a batch just scored); call :meth:`resort` now and then to keep a sort."""
        if not rows:
            return
        start = len(self.rows)
        self.beginInsertRows(QModelIndex(), start, start + len(rows) - 1)
        self.rows.extend(rows)
        for i, row in enumerate(rows, start):
            self._row_of.setdefault(row.path, i)
        self.endInsertRows()

    def set_threshold(self, value: float) -> None:
        self.threshold = value
        if self.rows:
            self.dataChanged.emit(self.index(0, PREDICTED), self.index(len(self.rows) - 1, PREDICTED))

    def score_columns(self) -> int:
        return len(self.class_names) if len(self.class_names) <= MAX_SCORE_COLUMNS else 1

    def is_unsure(self, row: ResultRow) -> bool:
        return row.scores is not None and is_unsure(row.confidence, self.threshold)

    def label(self, row: ResultRow) -> str:
        return self.class_names[row.best] if row.scores is not None else ""

    def counts(self) -> tuple[int, int, int]:
        """(rows, unsure, unreadable)."""
        unreadable = sum(1 for r in self.rows if r.scores is None)
        unsure = sum(1 for r in self.rows if self.is_unsure(r))
        return len(self.rows), unsure, unreadable

    # -- Qt model interface ---------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(FIXED) + self.score_columns()

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        if section < len(FIXED):
            return FIXED[section]
        return self.class_names[section - len(FIXED)] if self.score_columns() > 1 else "Top 5"

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, col)
        if role == Qt.ItemDataRole.DecorationRole and col == THUMB and self._thumbs is not None:
            return self._thumbs.get(row.path)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{row.path}\n{row.error}" if row.error else str(row.path)
        if role == Qt.ItemDataRole.ForegroundRole and col == PREDICTED:
            if row.scores is None:
                return _ERROR_COLOR
            return _UNSURE_COLOR if self.is_unsure(row) else None
        if role == Qt.ItemDataRole.TextAlignmentRole and col >= CONFIDENCE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == RowRole:
            return row
        return None

    def _text(self, row: ResultRow, col: int) -> str | None:
        if col == FILE:
            return self.file_label(row)
        if col == PREDICTED:
            if row.scores is None:
                return f"cannot read: {row.error}"
            return f"{UNSURE} ({self.label(row)}?)" if self.is_unsure(row) else self.label(row)
        if row.scores is None:
            return None
        if col == CONFIDENCE:
            return f"{row.confidence:.1%}"
        if col >= len(FIXED):
            if self.score_columns() == 1:
                top = np.argsort(-row.scores)[:5]
                return ", ".join(f"{self.class_names[i]} {row.scores[i]:.0%}" for i in top)
            return f"{row.scores[col - len(FIXED)]:.1%}"
        return None

    # -- sorting (NumPy, see the module docstring) ----------------------------------------------
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.sort_column, self.sort_order = column, order
        self.resort()

    def resort(self) -> None:
        """Put the rows in the current sort order again (after rows were added)."""
        if self.sort_column < 0 or len(self.rows) < 2:
            return
        keys = self._sort_keys(self.sort_column)
        perm = np.argsort(keys, kind="stable")
        if self.sort_order == Qt.SortOrder.DescendingOrder:
            perm = perm[::-1]
        if np.array_equal(perm, np.arange(len(perm))):
            return
        self.layoutAboutToBeChanged.emit()
        old_persistent = self.persistentIndexList()
        new_row = np.empty(len(perm), np.int64)
        new_row[perm] = np.arange(len(perm))
        self.rows = [self.rows[i] for i in perm]
        self._row_of = {}
        for i, row in enumerate(self.rows):
            self._row_of.setdefault(row.path, i)
        self.changePersistentIndexList(
            old_persistent, [self.index(int(new_row[i.row()]), i.column()) for i in old_persistent])
        self.layoutChanged.emit()

    def _sort_keys(self, column: int) -> np.ndarray:
        rows = self.rows
        if column in (THUMB, FILE):
            names = [self.file_label(r).casefold() for r in rows]
            return np.argsort(np.argsort(np.array(names, dtype=object), kind="stable"), kind="stable")
        if column == PREDICTED:
            labels = [("~" if r.scores is None else "") + self.label(r).casefold() for r in rows]
            return np.argsort(np.argsort(np.array(labels, dtype=object), kind="stable"), kind="stable")
        if column == CONFIDENCE or self.score_columns() == 1:
            return np.array([r.confidence if r.scores is not None else -1.0 for r in rows])
        k = column - len(FIXED)
        return np.array([r.scores[k] if r.scores is not None else -1.0 for r in rows])

    def _on_thumbnail_ready(self, path: Path) -> None:
        row = self._row_of.get(path)
        if row is not None and row < len(self.rows) and self.rows[row].path == path:
            index = self.index(row, THUMB)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


class BatchFilterProxy(QSortFilterProxyModel):
    """Filters rows: ``set_filter("all" | "unsure" | "unreadable" | "class", class_name)``."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.kind = "all"
        self.class_name = ""
        self.setDynamicSortFilter(False)

    def set_filter(self, kind: str, class_name: str = "") -> None:
        self.beginFilterChange()
        self.kind, self.class_name = kind, class_name
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def refilter(self) -> None:
        """Filter again (the threshold moved, so "unsure" means other rows)."""
        self.set_filter(self.kind, self.class_name)

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:  # noqa: N802
        if self.kind == "all":
            return True
        model: BatchResultsModel = self.sourceModel()  # type: ignore[assignment]
        row = model.rows[source_row]
        if self.kind == "unreadable":
            return row.scores is None
        if self.kind == "unsure":
            return model.is_unsure(row)
        return row.scores is not None and not model.is_unsure(row) and model.label(row) == self.class_name

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        # The source sorts itself (fast); the proxy keeps its order.
        self.sourceModel().sort(column, order)

    def visible_rows(self) -> list[ResultRow]:
        """The rows as the table shows them (filter and order), e.g. for the CSV."""
        model: BatchResultsModel = self.sourceModel()  # type: ignore[assignment]
        return [model.rows[self.mapToSource(self.index(r, 0)).row()] for r in range(self.rowCount())]


class BatchTable(QTableView):
    """The table view: row-select, sortable by clicking a header, thumbnail column."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAlternatingRowColors(True)
        self.setSortingEnabled(True)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setIconSize(QPixmap(THUMB_SIDE, THUMB_SIDE).size())
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(THUMB_SIDE + 6)
        self.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.horizontalHeader().setStretchLastSection(False)

    def size_columns(self) -> None:
        """Widths that fit the content type (never ``resizeToContents`` over 50,000 rows)."""
        header = self.horizontalHeader()
        header.resizeSection(THUMB, THUMB_SIDE + 10)
        header.setSectionResizeMode(FILE, QHeaderView.ResizeMode.Stretch)  # the table fills the width
        header.resizeSection(PREDICTED, 150)
        header.resizeSection(CONFIDENCE, 86)
        model = self.model()
        for col in range(len(FIXED), model.columnCount() if model else 0):
            title = str(model.headerData(col, Qt.Orientation.Horizontal))
            width = 360 if model.columnCount() == len(FIXED) + 1 else max(70, 12 + 7 * len(title))
            header.resizeSection(col, width)
