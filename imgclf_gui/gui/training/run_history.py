"""Every training run of the project in a small table, to compare runs and choose the active model."""
from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from imgclf_gui.core.models.runs import RunInfo

COLUMNS = ["When", "Backbone", "Accuracy", "Macro F1", "Epochs (best)", "Images", "Augment", "L2", "Active"]


def _when(created: str) -> str:
    try:
        return datetime.fromisoformat(created).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return created


def _pct(value: object) -> str:
    return f"{value:.1%}" if isinstance(value, (int, float)) else "–"


class RunHistory(QWidget):
    """``show_requested(str)``: show that run's report; ``activate_requested(str)``: make it the model."""

    show_requested = Signal(str)
    activate_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setToolTip("Select two runs to compare their figures side by side; double-click to show "
                              "a run's report.")
        self.show_button = QPushButton("Show Report", self)
        self.activate_button = QPushButton("Use for Classifying", self)
        self.activate_button.setToolTip("Make the selected run the project's active model.")
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.show_button)
        row.addWidget(self.activate_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        self._ids: list[str] = []
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.cellDoubleClicked.connect(lambda r, _c: self.show_requested.emit(self._ids[r]))
        self.show_button.clicked.connect(lambda: self._emit_selected(self.show_requested))
        self.activate_button.clicked.connect(lambda: self._emit_selected(self.activate_requested))
        self._update_buttons()

    def set_runs(self, runs: list[RunInfo], active_id: str | None) -> None:
        """Newest first; the active run in bold."""
        runs = list(reversed(runs))
        self._ids = [r.run_id for r in runs]
        self.table.setRowCount(len(runs))
        for i, run in enumerate(runs):
            f, s = run.figures, run.settings
            parts = f.get("split_counts") or {}
            l2 = s.get("l2")
            cells = [
                _when(run.created), s.get("backbone", "?"), _pct(f.get("accuracy")), _pct(f.get("macro_f1")),
                f"{f.get('epochs_run', '?')} ({f.get('best_epoch', '?')})" + (" stopped" if f.get("cancelled") else ""),
                "/".join(str(parts.get(k, 0)) for k in ("train", "validation", "test")),
                str(s.get("augment_variants", 0)), "–" if l2 is None else f"{l2:g}",
                "✔" if run.run_id == active_id else "",
            ]
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if run.run_id == active_id:
                    font = QFont(item.font())
                    font.setBold(True)
                    item.setFont(font)
                if j == 5:
                    item.setToolTip("train / validation / test images")
                item.setTextAlignment(Qt.AlignmentFlag.AlignVCenter | (Qt.AlignmentFlag.AlignRight if j in (2, 3)
                                                                       else Qt.AlignmentFlag.AlignLeft))
                self.table.setItem(i, j, item)
        self._update_buttons()

    def selected_ids(self) -> list[str]:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        return [self._ids[r] for r in rows]

    def _emit_selected(self, signal: Signal) -> None:
        ids = self.selected_ids()
        if len(ids) == 1:
            signal.emit(ids[0])

    def _update_buttons(self) -> None:
        one = len(self.selected_ids()) == 1
        self.show_button.setEnabled(one)
        self.activate_button.setEnabled(one)
