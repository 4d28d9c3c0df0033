"""Confusion matrix as a heat map with counts; clicking a cell asks for the images behind it.

A table rather than a plot: every cell is a real, focusable, clickable item with its count as text, rows
and columns carry the class names, and it stays readable for 2 or 30 classes. Diagonal cells (right
answers) are shaded green, the others red, each by its share of the row, so a weak class stands out
however many images it has.

Sized to its rows: up to ``ROWS_WITHOUT_SCROLLING`` classes it is exactly as tall as its rows (no scroll
bar, no empty band), and a column title too long for its column is elided (the full name in the tooltip): the
header would cut it in the middle ("iang" for triangle).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractScrollArea,
    QHeaderView,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

ROWS_WITHOUT_SCROLLING = 8
COLUMNS_WITHOUT_SCROLLING = 12  # columns of at least MIN_COLUMN pixels fit beside the class names
MIN_COLUMN = 26
NAME_WIDTH = 100  # pixels a class name may take in front of a row; longer ones are elided (tooltip: all)


def _shade(share: float, right: bool) -> QColor:
    base = (44, 160, 44) if right else (214, 39, 40)
    alpha = 0.08 + 0.82 * max(0.0, min(1.0, share)) if share > 0 else 0.0
    r, g, b = (round(255 - (255 - c) * alpha) for c in base)
    return QColor(r, g, b)


def compact_rows(table: QTableWidget, rows_shown: int = ROWS_WITHOUT_SCROLLING) -> None:
    """Rows as tall as their text, and the table as tall as ``rows_shown`` of them (scrolls beyond)."""
    row_height = table.fontMetrics().height() + 8
    header = table.verticalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    header.setDefaultSectionSize(row_height)
    header.setMinimumSectionSize(row_height)
    rows = max(1, min(table.rowCount(), rows_shown))
    height = table.horizontalHeader().sizeHint().height() + rows * row_height + 2 * table.frameWidth() + 2
    if table.horizontalScrollBarPolicy() != Qt.ScrollBarPolicy.ScrollBarAlwaysOff:
        height += table.horizontalScrollBar().sizeHint().height()
    table.setFixedHeight(height)


def row_names(table: QTableWidget, names: list[str]) -> None:
    """Class names in front of the rows, elided to ``NAME_WIDTH`` pixels (the whole name as tooltip)."""
    metrics = table.verticalHeader().fontMetrics()
    for i, name in enumerate(names):
        item = QTableWidgetItem(metrics.elidedText(name, Qt.TextElideMode.ElideRight, NAME_WIDTH) + "  ")
        item.setToolTip(name)
        table.setVerticalHeaderItem(i, item)


class ConfusionMatrixView(QTableWidget):
    """Rows: true class; columns: predicted class. ``cell_chosen(true_index, predicted_index)``."""

    cell_chosen = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.matrix = np.zeros((0, 0), np.int64)
        self.class_names: list[str] = []
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.horizontalHeader().setMinimumSectionSize(MIN_COLUMN)
        self.setSizeAdjustPolicy(QAbstractScrollArea.SizeAdjustPolicy.AdjustIgnored)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("Rows: the true class. Columns: what the model said. Click a cell to see its images.")
        self.cellClicked.connect(self._on_cell_clicked)
        self.cellActivated.connect(self._on_cell_clicked)
        self._elide_soon = QTimer(self, singleShot=True, interval=0)
        self._elide_soon.timeout.connect(self._elide_titles)
        self.horizontalHeader().sectionResized.connect(lambda *_a: self._elide_soon.start())
        compact_rows(self)

    def set_matrix(self, matrix: np.ndarray, class_names: list[str]) -> None:
        """Show ``matrix`` (true x predicted counts) for ``class_names``."""
        self.matrix = np.asarray(matrix, np.int64)
        self.class_names = list(class_names)
        k = len(class_names)
        self.clear()
        self.setRowCount(k)
        self.setColumnCount(k)
        row_names(self, self.class_names)
        # A few columns always fit: no horizontal scroll bar then, which would hide the last row.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff if k <= COLUMNS_WITHOUT_SCROLLING
                                          else Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        for j, name in enumerate(class_names):
            title = QTableWidgetItem(name)
            title.setToolTip(f"predicted: {name}")
            self.setHorizontalHeaderItem(j, title)
        row_totals = self.matrix.sum(axis=1) if k else np.zeros(0)
        for i in range(k):
            for j in range(k):
                count = int(self.matrix[i, j])
                share = count / row_totals[i] if row_totals[i] else 0.0
                item = QTableWidgetItem(str(count))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                item.setBackground(_shade(share, i == j))
                item.setForeground(QColor("white") if share > 0.6 else QColor("#222"))
                item.setToolTip(f"{count} image(s) of {class_names[i]!r} classified as {class_names[j]!r}"
                                f" ({share:.0%} of {class_names[i]!r}); click to see them")
                self.setItem(i, j, item)
        compact_rows(self)
        self._elide_soon.start()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._elide_soon.start()  # after the header has stretched its sections to the new width

    def _elide_titles(self) -> None:
        metrics = self.horizontalHeader().fontMetrics()
        for j, name in enumerate(self.class_names):
            item = self.horizontalHeaderItem(j)
            width = self.horizontalHeader().sectionSize(j) - 8
            text = metrics.elidedText(name, Qt.TextElideMode.ElideRight, max(width, 12))
            if item is not None and item.text() != text:
                item.setText(text)

    def _on_cell_clicked(self, row: int, column: int) -> None:
        self.cell_chosen.emit(row, column)
