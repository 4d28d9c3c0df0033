"""Confusion matrix as a heat map with counts; clicking a cell asks for the images behind it.

A table rather than a plot: every cell is a real, focusable, clickable item with its count as text, rows
and columns carry the class names, and it stays readable for 2 or 30 classes. Diagonal cells (right
answers) are shaded green, the others red, each by its share of the row, so a weak class stands out
however many images it has.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget


def _shade(share: float, right: bool) -> QColor:
    base = (44, 160, 44) if right else (214, 39, 40)
    alpha = 0.08 + 0.82 * max(0.0, min(1.0, share)) if share > 0 else 0.0
    r, g, b = (round(255 - (255 - c) * alpha) for c in base)
    return QColor(r, g, b)


class ConfusionMatrixView(QTableWidget):
    """Rows: true class; columns: predicted class. ``cell_chosen(true_index, predicted_index)``."""

    cell_chosen = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.matrix = np.zeros((0, 0), np.int64)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setMinimumSectionSize(44)
        self.setToolTip("Rows: the true class. Columns: what the model said. Click a cell to see its images.")
        self.cellClicked.connect(self._on_cell_clicked)
        self.cellActivated.connect(self._on_cell_clicked)

    def set_matrix(self, matrix: np.ndarray, class_names: list[str]) -> None:
        """Show ``matrix`` (true x predicted counts) for ``class_names``."""
        self.matrix = np.asarray(matrix, np.int64)
        k = len(class_names)
        self.clear()
        self.setRowCount(k)
        self.setColumnCount(k)
        self.setVerticalHeaderLabels([f"{n}  " for n in class_names])
        self.setHorizontalHeaderLabels(class_names)
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
                                f" ({share:.0%} of {class_names[i]!r})")
                self.setItem(i, j, item)

    def _on_cell_clicked(self, row: int, column: int) -> None:
        self.cell_chosen.emit(row, column)
