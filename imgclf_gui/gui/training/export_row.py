"""Save Model As / Export, for a run named on screen (the active model unless the person picks another).

Until the project has a model both buttons are disabled, and their tooltip says why; a message of an earlier
save or export (a success or an error) is cleared as soon as it no longer applies (a new run, another
choice, a new project).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from imgclf_gui.core.models.export_formats import FORMATS, export_format, format_availability
from imgclf_gui.core.models.runs import RunInfo, run_title
from imgclf_gui.gui.training.model_files import ModelFiles, Written

NO_MODEL_TIP = "There is no model yet: train one first."


class ExportRow(QWidget):
    """"Model: [run ▾] [Save Model As…] [format ▾] [Export…]" and a line saying how the last one went."""

    def __init__(self, files: ModelFiles, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.files = files
        self.model_choice = QComboBox(self)
        self.model_choice.setToolTip("The run whose model is saved or exported (the one used for classifying "
                                     "unless you pick another).")
        self.model_choice.setMinimumContentsLength(16)
        self.model_choice.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.export_format = self._format_box()
        self.save_button = QPushButton("Save Model As…", self)
        self.export_button = QPushButton("Export…", self)
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        self.note.setVisible(False)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Model:", self))
        row.addWidget(self.model_choice, 1)
        row.addWidget(self.save_button)
        row.addWidget(self.export_format)
        row.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 4)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.note)
        self._running = False
        self.save_button.clicked.connect(self.save_dialog)
        self.export_button.clicked.connect(self.export_dialog)
        self.model_choice.currentIndexChanged.connect(lambda _i: self.set_note(""))
        files.finished.connect(self._on_finished)
        self.set_runs([], None)

    def _format_box(self) -> QComboBox:
        """Every export format; one that cannot be written here (an extra not installed) is greyed out, its
        tooltip saying what to install."""
        combo = QComboBox(self)
        model = QStandardItemModel(combo)
        combo.setModel(model)
        for fmt in FORMATS:
            usable, why = format_availability(fmt)
            combo.addItem(export_format(fmt).title, fmt)
            item = model.item(combo.count() - 1)
            item.setToolTip(f"Runs with {export_format(fmt).runtime}." if usable else why)
            item.setEnabled(usable)
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(12)
        combo.setToolTip("The format of the export folder: the model, labels.txt, a README and predict.py.")
        return combo

    # -- content --------------------------------------------------------------------------------
    def set_runs(self, runs: list[RunInfo], active_id: str | None) -> None:
        """The runs to choose from, newest first; the active one chosen."""
        self.model_choice.blockSignals(True)
        self.model_choice.clear()
        for run in reversed(runs):
            title = run_title(run)
            self.model_choice.addItem(title[0].upper() + title[1:] + (" · used for classifying"
                                                                      if run.run_id == active_id else ""), run.run_id)
        index = self.model_choice.findData(active_id) if active_id else 0
        self.model_choice.setCurrentIndex(max(index, 0))
        self.model_choice.blockSignals(False)
        self.set_note("")
        self._update()

    def chosen_run(self) -> str | None:
        return self.model_choice.currentData()

    def set_running(self, running: bool) -> None:
        self._running = running
        if running:
            self.set_note("")
        self._update()

    def set_note(self, html: str) -> None:
        self.note.setText(html)
        self.note.setToolTip("")
        self.note.setVisible(bool(html))

    def _update(self) -> None:
        has_model = self.model_choice.count() > 0
        for button in (self.save_button, self.export_button):
            button.setEnabled(has_model and not self._running)
        self.model_choice.setEnabled(has_model)
        self.save_button.setToolTip("Write the chosen model as an imgclf model folder." if has_model
                                    else NO_MODEL_TIP)
        self.export_button.setToolTip("A self-contained file for other programs, checked against the app's "
                                      "own predictions." if has_model else NO_MODEL_TIP)

    # -- actions --------------------------------------------------------------------------------
    def save_dialog(self) -> None:
        run_id = self.chosen_run()
        if run_id is None:
            return
        folder, _ = QFileDialog.getSaveFileName(self, f"Save {self.model_choice.currentText()}",
                                                "model.imgclf-model", "imgclf model folder (*)")
        if folder:
            self.set_note("Saving…")
            self.files.save_model_as(run_id, Path(folder))

    def export_dialog(self) -> None:
        run_id = self.chosen_run()
        if run_id is None:
            return
        fmt = self.export_format.currentData()
        # An export is a folder (model, labels.txt, README.txt, predict.py): the person names a new one.
        out, _ = QFileDialog.getSaveFileName(self, f"Export {self.model_choice.currentText()} to a new folder",
                                             f"model-{fmt}", "", "",
                                             QFileDialog.Option.ShowDirsOnly | QFileDialog.Option.DontConfirmOverwrite)
        if out:
            self.set_note(f"Exporting as {export_format(fmt).title} and checking it against the app…")
            self.files.export_model(run_id, fmt, Path(out))

    def _on_finished(self, written: Written) -> None:
        if written.error:
            self.set_note(f"<span style='color:#b02a37'>{written.error}</span>")
            return
        result = written.result
        if hasattr(result, "summary"):  # an export: it exists only when its self-test passed
            checks = [line for line in result.summary()[1:] if line]
            self.set_note(f"Exported {written.title} to the folder {result.path.name}. {checks[0] if checks else ''}")
            self.note.setToolTip("\n".join(line for line in result.summary() if line))
        else:
            self.set_note(f"Saved {written.title} to {result}.")
