"""The test-set report: accuracy, per-class precision / recall / F1, and the confusion matrix."""
from __future__ import annotations

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

from imgclf_gui.core.training.evaluation import EvaluationReport, Mistake
from imgclf_gui.gui.training.confusion_matrix import ConfusionMatrixView


class ReportView(QWidget):
    """``images_requested(str, list)``: a heading and the ``Mistake``-like rows to list (cell or top losses)."""

    images_requested = Signal(str, list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.report: EvaluationReport | None = None
        self.summary = QLabel("No model yet: train one to see how well it does on images it never saw.", self)
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.top_losses_button = QPushButton("Top Losses", self)
        self.top_losses_button.setToolTip("Every misclassified image, worst first.")
        self.table = QTableWidget(0, 4, self)
        self.table.setHorizontalHeaderLabels(["Precision", "Recall", "F1", "Images"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setMaximumHeight(200)
        self.matrix = ConfusionMatrixView(self)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.top_losses_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.table)
        matrix_title = QLabel("<b>Confusion matrix</b> — rows: true class, columns: predicted; "
                              "click a cell to see its images", self)
        matrix_title.setWordWrap(True)  # the report shares its width with the images: never clip the hint
        layout.addWidget(matrix_title)
        layout.addWidget(self.matrix, 1)
        self.matrix.cell_chosen.connect(self._on_cell_chosen)
        self.top_losses_button.clicked.connect(self.show_top_losses)
        self.set_report(None)

    def set_report(self, report: EvaluationReport | None) -> None:
        self.report = report
        self.top_losses_button.setEnabled(bool(report and report.mistakes))
        if report is None:
            self.table.setRowCount(0)
            self.matrix.set_matrix(self.matrix.matrix[:0, :0], [])
            self.summary.setText("No model yet: train one to see how well it does on images it never saw.")
            return
        self.summary.setText(
            f"<b>Accuracy {report.accuracy:.1%}</b> on {report.count} {report.part} images "
            f"(macro F1 {report.macro_f1:.3f}); {len(report.mistakes)} misclassified.")
        self.table.setRowCount(len(report.per_class))
        self.table.setVerticalHeaderLabels([c.name for c in report.per_class])
        for i, c in enumerate(report.per_class):
            for j, text in enumerate((f"{c.precision:.3f}", f"{c.recall:.3f}", f"{c.f1:.3f}", str(c.support))):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, j, item)
        self.matrix.set_matrix(report.confusion, report.class_names)

    def mistakes_in_cell(self, true_index: int, predicted_index: int) -> list[Mistake]:
        """Listed images of one cell; a diagonal cell has no mistakes (the report keeps only mistakes)."""
        if self.report is None:
            return []
        true, predicted = self.report.class_names[true_index], self.report.class_names[predicted_index]
        return [m for m in self.report.mistakes if m.true == true and m.predicted == predicted]

    def _on_cell_chosen(self, row: int, column: int) -> None:
        if self.report is None:
            return
        names = self.report.class_names
        if row == column:
            self.images_requested.emit(f"{int(self.report.confusion[row, column])} image(s) of "
                                       f"“{names[row]}” were classified correctly.", [])
            return
        found = self.mistakes_in_cell(row, column)
        self.images_requested.emit(f"{len(found)} image(s) of “{names[row]}” the model called "
                                   f"“{names[column]}”, worst first:", found)

    def show_top_losses(self) -> None:
        if self.report is not None:
            self.images_requested.emit(f"All {len(self.report.mistakes)} misclassified images, worst first "
                                       "(true → predicted, confidence):", list(self.report.mistakes))
