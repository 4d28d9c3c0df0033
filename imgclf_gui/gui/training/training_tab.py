"""Training tab: settings and summary on the left; live progress, the report, mistakes and runs on the right.

The tab binds to a :class:`TrainingSession` (all work runs through the task runner, so the window stays
responsive) and only displays what its signals carry. Layout, top to bottom on the right: status line,
extraction progress bar, loss/accuracy plots and the current figures; below them, tabs for the test
report with the images to fix, and the history of runs.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from imgclf_gui.core.support.clock import ClockReading
from imgclf_gui.core.support.notes import STAGE_EXTRACTING, STAGE_PREPARING_BACKBONE, Note, describe
from imgclf_gui.core.training.head import EpochMetrics
from imgclf_gui.gui.common.preferences import Preferences
from imgclf_gui.gui.common.project_model import ProjectModel
from imgclf_gui.gui.common.tasks import TaskRunner
from imgclf_gui.gui.training.metric_plots import MetricPlots
from imgclf_gui.gui.training.mistakes_view import MistakesView
from imgclf_gui.gui.training.report_view import ReportView
from imgclf_gui.gui.training.run_history import RunHistory
from imgclf_gui.gui.training.settings_form import TrainingSettingsPanel
from imgclf_gui.gui.training.skipped_view import SkippedButton
from imgclf_gui.gui.training.training_session import RunOutcome, TrainingSession

_IDLE_STYLE = "QLabel { padding: 4px 8px; border-radius: 4px; background: palette(alternate-base); }"
_RUNNING_STYLE = "QLabel { padding: 4px 8px; border-radius: 4px; background: #fff3cd; color: #664d03; }"
_EXPORT_FORMATS = [("TensorFlow Lite (.tflite)", "tflite", ".tflite"), ("Keras (.keras)", "keras", ".keras"),
                   ("SavedModel (folder)", "savedmodel", "")]


class TrainingTab(QWidget):
    """Train a classifier on the project's classes and fix what it gets wrong."""

    title = "Training"

    def __init__(self, project: ProjectModel, tasks: TaskRunner, preferences: Preferences,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.preferences = preferences  # the window's (gui/common/preferences.py); unused here so far
        self.project = project
        self.tasks = tasks
        self.session = TrainingSession(project, tasks, self)
        self.session.ask_keep_best = self._ask_keep_best
        self._setup_widgets()
        self._setup_layout()
        self._connect()
        self._on_running_changed(False)
        if project.root is not None:
            self.session._on_project_changed(project.root)

    # -- setup ----------------------------------------------------------------------------------
    def _setup_widgets(self) -> None:
        self.settings = TrainingSettingsPanel(self)
        self.summary = QLabel("Open a project to train on it.", self)
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.train_button = QPushButton("Train", self)
        self.train_button.setDefault(True)
        self.train_button.setToolTip("Compute missing bottlenecks, then train the head (Ctrl+T).")
        self.train_button.setShortcut("Ctrl+T")
        self.cancel_button = QPushButton("Cancel", self)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.skipped_button = SkippedButton(self)  # the last run's unreadable images, listed on a click
        self.progress = QProgressBar(self)
        self.progress.setFormat("%v / %m images")
        self.rate = QLabel(self)
        self.plots = MetricPlots(self)
        self.figures = QLabel("Loss and accuracy appear here epoch by epoch.", self)
        self.figures.setEnabled(False)
        self.report_view = ReportView(self)
        self.mistakes = MistakesView(self.project, self.tasks, self)
        self.history_view = RunHistory(self)
        self.export_format = QComboBox(self)
        for text, fmt, _suffix in _EXPORT_FORMATS:
            self.export_format.addItem(text, fmt)
        self.save_button = QPushButton("Save Model As…", self)
        self.export_button = QPushButton("Export…", self)
        self.export_note = QLabel(self)
        self.export_note.setWordWrap(True)

    def _setup_layout(self) -> None:
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(8, 8, 8, 8)
        settings_box = QGroupBox("Settings", left)
        QVBoxLayout(settings_box).addWidget(self.settings)
        summary_box = QGroupBox("What will be trained", left)
        QVBoxLayout(summary_box).addWidget(self.summary)
        left_layout.addWidget(settings_box)
        left_layout.addStretch(1)
        scroll = self.settings_scroll = QScrollArea(self)
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(330)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(8, 4, 8, 8)
        buttons.addWidget(self.train_button, 1)
        buttons.addWidget(self.cancel_button)
        left_column = QWidget(self)
        column = QVBoxLayout(left_column)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(scroll, 1)
        # Outside the scroll area: always in view beside Train, and word-wrapped labels get their full
        # height there (a scroll area ignores height-for-width and clipped it to one line).
        summary_holder = QVBoxLayout()
        summary_holder.setContentsMargins(8, 0, 8, 0)
        summary_holder.addWidget(summary_box)
        column.addLayout(summary_holder)
        column.addLayout(buttons)

        live = QWidget(self)
        live_layout = QVBoxLayout(live)
        live_layout.setContentsMargins(4, 8, 8, 4)
        status_row = QHBoxLayout()
        status_row.addWidget(self.status, 1)
        status_row.addWidget(self.skipped_button)
        live_layout.addLayout(status_row)
        bar = QHBoxLayout()
        bar.addWidget(self.progress, 1)
        bar.addWidget(self.rate)
        live_layout.addLayout(bar)
        live_layout.addWidget(self.plots, 1)
        live_layout.addWidget(self.figures)

        report_page = QSplitter(Qt.Orientation.Horizontal, self)
        report_page.addWidget(self.report_view)
        report_page.addWidget(self.mistakes)
        report_page.setSizes([420, 420])
        export_row = QHBoxLayout()
        export_row.addWidget(self.save_button)
        export_row.addWidget(self.export_format)
        export_row.addWidget(self.export_button)
        export_row.addWidget(self.export_note, 1)
        report_tab = QWidget(self)
        report_layout = QVBoxLayout(report_tab)
        report_layout.setContentsMargins(6, 6, 6, 6)
        report_layout.addWidget(report_page, 1)
        report_layout.addLayout(export_row)
        self.pages = QTabWidget(self)
        self.pages.addTab(report_tab, "Test Report")
        self.pages.addTab(self.history_view, "Runs")

        right = QSplitter(Qt.Orientation.Vertical, self)
        right.addWidget(live)
        right.addWidget(self.pages)
        right.setSizes([300, 420])
        right.setChildrenCollapsible(False)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(left_column)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([360, 840])
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

    def _connect(self) -> None:
        s = self.session
        self.settings.config_edited.connect(s.set_config)
        self.train_button.clicked.connect(self.start_training)
        self.cancel_button.clicked.connect(s.cancel)
        s.config_changed.connect(self.settings.set_config)
        s.summary_changed.connect(self._on_summary_changed)
        s.running_changed.connect(self._on_running_changed)
        s.stage_changed.connect(self.status.setText)
        s.stage_started.connect(self._on_stage_started)
        s.extract_progress.connect(self._on_extract_progress)
        s.history_reset.connect(self._on_history_reset)
        s.epoch_added.connect(self._on_epoch_added)
        s.run_finished.connect(self._on_run_finished)
        s.run_failed.connect(self._on_run_failed)
        s.report_changed.connect(self.report_view.set_report)
        s.runs_changed.connect(self._on_runs_changed)
        s.export_finished.connect(self._on_export_finished)
        self.report_view.images_requested.connect(self.mistakes.show_mistakes)
        self.history_view.show_requested.connect(s.show_run)
        self.history_view.activate_requested.connect(s.make_active)
        self.save_button.clicked.connect(self.save_model_dialog)
        self.export_button.clicked.connect(self.export_dialog)
        self.project.project_changed.connect(self._on_project_changed)

    # -- actions --------------------------------------------------------------------------------
    def start_training(self) -> None:
        self.plots.clear()
        self.session.start()

    def _ask_keep_best(self) -> bool:
        answer = QMessageBox.question(
            self, "Training stopped", "Keep the best model so far?\n\nIt becomes the model used for "
            "classifying and is listed under Runs; otherwise the previous model stays.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes)
        return answer == QMessageBox.StandardButton.Yes

    def save_model_dialog(self) -> None:
        folder, _ = QFileDialog.getSaveFileName(self, "Save Model", "model.imgclf-model", "imgclf model folder (*)")
        if folder:
            self.export_note.setText("Saving…")
            self.session.save_model_as(Path(folder))

    def export_dialog(self) -> None:
        _text, fmt, suffix = _EXPORT_FORMATS[self.export_format.currentIndex()]
        out, _ = QFileDialog.getSaveFileName(self, "Export Model", f"model{suffix}")
        if out:
            self.export_note.setText(f"Exporting to {fmt} and checking it against the app…")
            self.session.export_model(fmt, Path(out))

    # -- slots ----------------------------------------------------------------------------------
    def _on_project_changed(self, root: object) -> None:
        self.train_button.setEnabled(root is not None and not self.session.is_running())

    def _on_running_changed(self, running: bool) -> None:
        self.train_button.setEnabled(not running and self.project.root is not None)
        self.train_button.setText("Training…" if running else "Train")
        self.cancel_button.setEnabled(running)
        self.settings.setEnabled(not running)
        self.status.setStyleSheet(_RUNNING_STYLE if running else _IDLE_STYLE)
        self.progress.setVisible(running)
        if running:
            self.progress.setRange(0, 0)  # busy until there is something to count
            self.skipped_button.set_skipped({}, None)  # the list belongs to the run that made it
        self.rate.setVisible(False)  # only beside the busy bar of the backbone's first use
        for button in (self.save_button, self.export_button, self.history_view.activate_button):
            button.setEnabled(not running and (button is not self.history_view.activate_button
                                               or bool(self.history_view.selected_ids())))
        if not running and not self.status.text():
            self.status.setText("Ready. Choose settings on the left and press Train.")

    def _on_summary_changed(self, summary) -> None:
        if summary is None:
            self.summary.setText("Open a project to train on it.")
            return
        if summary.error:
            self.summary.setText(f"<span style='color:#b02a37'>{summary.error}</span>")
            return
        classes = ", ".join(f"{name} ({count})" for name, count in summary.class_counts.items())
        parts = summary.parts
        folds = f"{summary.folds.folds}-fold cross-validation, then " if summary.folds else ""
        learnt = f"{parts.get('train', 0)}; {parts['test']} kept as the test part" if parts.get("test") \
            else f"all {parts.get('train', 0)}"
        lines = [f"<b>{len(summary.class_counts)} classes</b>: {classes}",
                 f"<b>{summary.total} images</b>: {folds}the final model on {learnt}"]
        if summary.cached is not None:
            line = f"Bottlenecks cached: {summary.cached}; to compute: {summary.remaining}"
            if summary.copies_to_compute:
                line += f"; augmented copies to compute: {summary.copies_to_compute}"
            if summary.unreadable:
                line += f"; unreadable, skipped: {summary.unreadable} (Dataset tab ▸ Check Data lists them)"
            lines.append(line)
        lines += [f"<span style='color:#8a6d00'>⚠ {describe(note)}</span>" for note in summary.notes]
        self.summary.setText("<br>".join(lines))

    def _on_stage_started(self, note: Note) -> None:
        if note.kind == STAGE_PREPARING_BACKBONE:
            # Converting the network cannot say how far it is: a busy bar, and no time left promised.
            self.progress.setRange(0, 0)
            self.progress.setVisible(True)
            self.rate.setText("once per computer")
            self.rate.setVisible(True)
        elif note.kind == STAGE_EXTRACTING:
            self.rate.setVisible(False)  # the bar gets its range and its words with the first count

    def _on_extract_progress(self, reading: ClockReading) -> None:
        # One line inside the bar: "33 / 240 images, 24.9 images/s, about 8 s left" (no label beside it
        # changing width ten times a second).
        self.progress.setRange(0, max(reading.total, 1))
        self.progress.setValue(reading.done)
        self.progress.setFormat(f"%v / %m images, {reading.describe()}")
        self.progress.setVisible(True)
        self.rate.setVisible(False)

    def _on_history_reset(self) -> None:
        self.plots.clear()
        self.figures.setText("Loss and accuracy appear here epoch by epoch.")
        self.figures.setEnabled(False)

    def _on_epoch_added(self, m: EpochMetrics) -> None:
        self.plots.add_epoch(m)
        self.progress.setVisible(False)
        self.rate.setVisible(False)
        val = (f"validation loss {m.val_loss:.4f}, accuracy {m.val_accuracy:.1%}"
               if m.val_loss is not None else "no validation images")
        self.figures.setEnabled(True)
        self.figures.setText(f"Epoch {m.epoch}: train loss {m.train_loss:.4f}, accuracy {m.train_accuracy:.1%}; "
                             f"{val}; best epoch {m.best_epoch}")

    def _on_run_finished(self, outcome: RunOutcome) -> None:
        self.skipped_button.set_skipped(outcome.result.failed if outcome.result else {}, self.project.root)
        if outcome.run is not None:
            self.pages.setCurrentIndex(0)

    def _on_run_failed(self, message: str, details: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Critical, "Training failed",
                          f"{message}\n\nThe previous model is unchanged.", QMessageBox.StandardButton.Ok, self)
        box.setDetailedText(details)
        box.open()  # not exec(): the window keeps working, and tests are never blocked by it
        self._failure_box = box

    def _on_runs_changed(self) -> None:
        self.history_view.set_runs(self.session.runs(), self.session.active_run_id())

    def _on_export_finished(self, result) -> None:
        if isinstance(result, str):
            self.export_note.setText(f"<span style='color:#b02a37'>{result}</span>")
        elif hasattr(result, "max_abs_diff"):
            verdict = "passed" if result.max_abs_diff <= result.tolerance else "FAILED"
            self.export_note.setText(f"Exported to {result.path.name}; self-test {verdict}: largest difference "
                                     f"{result.max_abs_diff:.1e} on {result.checked} {result.checked_on}.")
        else:
            self.export_note.setText(f"Saved to {result}.")
