"""Every training run of the project in a small table, to compare runs, name them and choose the active model.

A run is shown by what a person recognises: the name they gave it (Rename…, or F2 on the name; kept in the
run's ``run.json``), when it was trained and how well it scored; never its internal id.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
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

from imgclf_gui.core.models.runs import MAX_NAME, RunInfo, run_when

COLUMNS = ["Name", "When", "Accuracy", "Scored on", "Backbone", "Images", "Folds", "Epochs", "Augment", "L2",
           "Used for classifying"]
NAME, ACCURACY = 0, 2
_PARTS = {"out-of-fold": "every image (folds)", "test": "test part", "validation": "validation part"}


def _pct(value: object) -> str:
    return f"{value:.1%}" if isinstance(value, int | float) and not isinstance(value, bool) else "–"


def _cells(run: RunInfo, active: bool) -> list[str]:
    f, s = run.figures, run.settings
    parts = f.get("split_counts") or {}
    images = str(parts.get("train", "?")) + (f" + {parts['test']} test" if parts.get("test") else "")
    l2 = s.get("l2")
    epochs = f"{f.get('epochs_run', '?')}" + (" (stopped)" if f.get("cancelled") else "")
    return [run.name, run_when(run), _pct(f.get("accuracy")), _PARTS.get(f.get("scored_on") or "", "–"),
            s.get("backbone", "?"), images, str(f.get("folds") or "–"), epochs,
            str(s.get("augment_variants", 0)), "–" if l2 is None else f"{l2:g}", "✔" if active else ""]


class RunHistory(QWidget):
    """``show_requested(str)``: show that run's report; ``activate_requested(str)``: make it the model;
    ``rename_requested(str, str)``: the run and its new name."""

    show_requested = Signal(str)
    activate_requested = Signal(str)
    rename_requested = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed)  # F2 on a name
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setToolTip("Select two runs to compare their figures side by side; double-click to show "
                              "a run's report; Rename… (or F2 on its name) to give a run a name.")
        self.show_button = QPushButton("Show Report", self)
        self.rename_button = QPushButton("Rename…", self)
        self.rename_button.setToolTip("Give the selected run a name you will recognise (kept with the run).")
        self.activate_button = QPushButton("Use for Classifying", self)
        self.activate_button.setToolTip("Make the selected run the project's active model.")
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.rename_button)
        row.addWidget(self.show_button)
        row.addWidget(self.activate_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        self._ids: list[str] = []
        self._filling = False
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.cellDoubleClicked.connect(lambda r, _c: self.show_requested.emit(self._ids[r]))
        self.table.itemChanged.connect(self._on_item_changed)
        self.show_button.clicked.connect(lambda: self._emit_selected(self.show_requested))
        self.activate_button.clicked.connect(lambda: self._emit_selected(self.activate_requested))
        self.rename_button.clicked.connect(self.start_rename)
        self._update_buttons()

    def set_runs(self, runs: list[RunInfo], active_id: str | None) -> None:
        """Newest first; the active run in bold."""
        runs = list(reversed(runs))
        selected = set(self.selected_ids())
        self._filling = True
        try:
            self._ids = [r.run_id for r in runs]
            self.table.setRowCount(len(runs))
            for i, run in enumerate(runs):
                for j, text in enumerate(_cells(run, run.run_id == active_id)):
                    item = QTableWidgetItem(text)
                    flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                    item.setFlags(flags | Qt.ItemFlag.ItemIsEditable if j == NAME else flags)
                    if run.run_id == active_id:
                        font = QFont(item.font())
                        font.setBold(True)
                        item.setFont(font)
                    if j == NAME and not text:
                        item.setToolTip("No name yet: Rename… or F2 gives it one.")
                    item.setTextAlignment(Qt.AlignmentFlag.AlignVCenter | (
                        Qt.AlignmentFlag.AlignRight if j == ACCURACY else Qt.AlignmentFlag.AlignLeft))
                    self.table.setItem(i, j, item)
                if run.run_id in selected:
                    self.table.selectRow(i)
        finally:
            self._filling = False
        self._update_buttons()

    def selected_ids(self) -> list[str]:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        return [self._ids[r] for r in rows if r < len(self._ids)]

    def start_rename(self) -> None:
        """Open the name of the selected run for editing (Enter keeps it, Escape leaves it)."""
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        if len(rows) == 1:
            item = self.table.item(rows[0], NAME)
            self.table.setCurrentItem(item)
            self.table.editItem(item)

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling or item.column() != NAME or item.row() >= len(self._ids):
            return
        run_id, name = self._ids[item.row()], item.text()[:MAX_NAME]
        # After the editor has let go of the item: renaming refills the table, which replaces it.
        QTimer.singleShot(0, lambda: self.rename_requested.emit(run_id, name))

    def _emit_selected(self, signal: Signal) -> None:
        ids = self.selected_ids()
        if len(ids) == 1:
            signal.emit(ids[0])

    def _update_buttons(self) -> None:
        one = len(self.selected_ids()) == 1
        self.show_button.setEnabled(one)
        self.activate_button.setEnabled(one)
        self.rename_button.setEnabled(one)
