"""The report of one run: which run, what it is scored on, accuracy with its 95% interval, per-class
precision / recall / F1, the confusion matrix (its cells lead to their images, from the whole dataset), top
losses, and how many images look mislabelled.

Everything shown comes from one ``ShownRun`` (``shown_run.py``): the heading names that run, so a report can
never show one run's figures under another's name.
"""
from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from imgclf_gui.core.support.notes import FLIPS_CHOSEN, Note, describe
from imgclf_gui.core.training.evaluation import EvaluationReport
from imgclf_gui.gui.common.review_list import MoveTracker, ReviewItem
from imgclf_gui.gui.training.confusion_matrix import ConfusionMatrixView, compact_rows, row_names
from imgclf_gui.gui.training.shown_run import ShownRun, cell_items, count_words, scored_on

NO_REPORT = "No model yet: train one to see how well it does on images it never saw."


class ReportView(QWidget):
    """``images_requested(str, list)``: a heading and the ``ReviewItem``s to list (a cell or top losses);
    ``mislabels_requested()``: the person wants to review the possibly mislabelled images."""

    images_requested = Signal(str, list)
    mislabels_requested = Signal()

    def __init__(self, tracker: MoveTracker, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tracker = tracker
        self.shown: ShownRun | None = None
        self.heading = QLabel(self)
        self.heading.setWordWrap(True)
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self.summary = QLabel(NO_REPORT, self)
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.mislabels_button = QPushButton("Possibly mislabelled: 0", self)
        self.mislabels_button.setToolTip("Images whose folder the honest predictions confidently disagree with: "
                                         "review them one key at a time.")
        self.top_losses_button = QPushButton("Top Losses", self)
        self.top_losses_button.setToolTip("Every misclassified image, worst first.")
        self.table = QTableWidget(0, 4, self)
        self.table.setHorizontalHeaderLabels(["Precision", "Recall", "F1", "Images"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        # Each column as wide as its title and figures ("Precision", "0.857"), never cut to "0.8…"; the
        # table as wide as its columns.
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setToolTip("Precision: of the images the model called this class, the share that are. "
                              "Recall: of this class's images, the share the model found. F1: both in one.")
        compact_rows(self.table)
        self.matrix = ConfusionMatrixView(self)
        buttons = QHBoxLayout()
        buttons.addWidget(self.mislabels_button)
        buttons.addWidget(self.top_losses_button)
        buttons.addStretch(1)
        self.matrix_title = QLabel("<b>Confusion matrix</b> (rows: true class, columns: what the model said); "
                                   "click a cell for its images", self)
        self.matrix_title.setWordWrap(True)  # the report shares its width with the images: never clip the hint
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.heading)
        layout.addWidget(self.summary)
        layout.addLayout(buttons)
        layout.addWidget(self.table)
        layout.addWidget(self.matrix_title)
        layout.addWidget(self.matrix)
        layout.addStretch(1)
        self.matrix.cell_chosen.connect(self._on_cell_chosen)
        self.top_losses_button.clicked.connect(self.show_top_losses)
        self.mislabels_button.clicked.connect(self.mislabels_requested)
        self.set_shown(None)

    @property
    def report(self) -> EvaluationReport | None:
        return self.shown.report if self.shown is not None else None

    def set_shown(self, shown: ShownRun | None) -> None:
        """Show the report of ``shown`` (None: no model yet)."""
        self.shown = shown
        report = self.report
        self.top_losses_button.setEnabled(bool(report and report.mistakes))
        self._show_mislabelcount_words()
        if shown is None:
            self.heading.setText("<b>Report</b>")
        else:
            use = "used for classifying" if shown.active else "<i>not</i> the model used for classifying"
            self.heading.setText(f"<b>{shown.title[0].upper()}{shown.title[1:]}</b> · {use}")
        if report is None:
            self.table.setRowCount(0)
            self.matrix.set_matrix(self.matrix.matrix[:0, :0], [])
            self.summary.setText(NO_REPORT if shown is None else "This run was not scored (no image was held out).")
            for widget in (self.table, self.matrix, self.matrix_title):
                widget.setVisible(False)
            return
        for widget in (self.table, self.matrix, self.matrix_title):
            widget.setVisible(True)
        low, high = report.accuracy_interval
        images = (shown.run.figures.get("split_counts") or {}).get("train") if shown else None
        wrong = len(report.mistakes)
        flips = _flips_words(shown)
        self.summary.setText(
            f"<b>Accuracy {report.accuracy:.1%}</b> (95% interval {low:.1%} to {high:.1%}) on "
            f"{scored_on(report, images)}; macro F1 {report.macro_f1:.3f}; {wrong:,} misclassified."
            + (f"<br>{html.escape(flips)}" if flips else ""))
        self.table.setRowCount(len(report.per_class))
        row_names(self.table, [c.name for c in report.per_class])
        for i, c in enumerate(report.per_class):
            for j, text in enumerate((f"{c.precision:.3f}", f"{c.recall:.3f}", f"{c.f1:.3f}", f"{c.support:,}")):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, j, item)
        compact_rows(self.table)
        self._fit_table_width()
        self.matrix.set_matrix(report.confusion, report.class_names)

    def _fit_table_width(self) -> None:
        table = self.table
        table.resizeColumnsToContents()
        width = (table.verticalHeader().sizeHint().width() + table.horizontalHeader().length()
                 + 2 * table.frameWidth() + 2)
        table.setMaximumWidth(width)

    def _show_mislabelcount_words(self) -> None:
        scan = self.shown.mislabels if self.shown is not None else None
        if scan is None or not scan.available:
            self.mislabels_button.setVisible(self.shown is not None)
            self.mislabels_button.setEnabled(False)
            self.mislabels_button.setText("Possibly mislabelled: –")
            self.mislabels_button.setToolTip(scan.reason if scan is not None else "")
            return
        self.mislabels_button.setVisible(True)
        self.mislabels_button.setEnabled(True)
        self.mislabels_button.setText(f"Possibly mislabelled: {len(scan.suspects):,}")
        self.mislabels_button.setToolTip("Images whose folder the honest predictions confidently disagree with: "
                                         "review them one key at a time.")

    # -- images behind the figures --------------------------------------------------------------
    def cell_items(self, true_index: int, predicted_index: int) -> list[ReviewItem]:
        """The images of one cell, worst first, where they are now; from the run's honest predictions of
        the whole dataset (runs of older versions kept only their mistakes: the diagonal is then empty)."""
        if self.shown is None or self.report is None:
            return []
        items = cell_items(self.shown, true_index, predicted_index)
        if items is None:
            names = self.report.class_names
            true, predicted = names[true_index], names[predicted_index]
            items = [self._item(m.path, m.true, m.predicted, m.confidence) for m in self.report.mistakes
                     if m.true == true and m.predicted == predicted]
        for item in items:
            item.path = self.tracker.current(item.original)
        return items

    def _item(self, path: str, true: str, predicted: str, confidence: float) -> ReviewItem:
        original = Path(path)
        return ReviewItem(original, self.tracker.current(original), true, predicted, confidence)

    def _on_cell_chosen(self, row: int, column: int) -> None:
        if self.report is None:
            return
        names = self.report.class_names
        found = self.cell_items(row, column)
        some = f"{count_words(len(found), 'image')} of “{names[row]}”"
        if row == column:
            heading = f"{some} classified correctly, least sure first:"
        else:
            heading = f"{some} the model called “{names[column]}”, worst first:"
        self.images_requested.emit(heading, found)

    def show_top_losses(self) -> None:
        report = self.report
        if report is not None:
            items = [self._item(m.path, m.true, m.predicted, m.confidence) for m in report.mistakes]
            which = f"All {len(items):,} misclassified images, worst first" if len(items) != 1 \
                else "The one misclassified image"
            self.images_requested.emit(f"{which} (folder → what the model said, its confidence):", items)


def _flips_words(shown: ShownRun | None) -> str:
    """What the run decided about mirror images, as its notes say ("Mirror images: used, as the folds chose
    (out-of-fold loss 0.213 with them, 0.245 without)."); "" for runs from before they were decided."""
    notes = shown.run.figures.get("notes") if shown is not None else None
    for data in notes if isinstance(notes, list) else []:
        if isinstance(data, dict) and data.get("kind") == FLIPS_CHOSEN:
            return describe(Note.from_dict(data))
    return ""
