"""Training tab: settings and summary on the left; on the right what a run is doing, then pages.

The tab binds to a :class:`TrainingSession` (all work runs through the task runner, so the window stays
responsive) and only displays what its signals carry. Right side, top to bottom: the status banner and one
progress bar (``live_panel.LiveStatus``); pages for the curves, the report of the run shown (with the images
behind its figures), its possibly mislabelled images (``gui/common/mislabel_review.py``) and the runs;
and Save / Export of a named run (``export_row.py``). The report gets the full height of its page, so a
confusion matrix of 8 classes needs no scrolling at 1280x720.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from imgclf_gui.core.support.notes import describe
from imgclf_gui.gui.common.mislabel_review import MislabelReview
from imgclf_gui.gui.common.preferences import Preferences
from imgclf_gui.gui.common.project_model import ProjectModel
from imgclf_gui.gui.common.review_list import MoveTracker
from imgclf_gui.gui.common.tasks import TaskRunner
from imgclf_gui.gui.training.export_row import ExportRow
from imgclf_gui.gui.training.live_panel import CurvesPage, LiveStatus
from imgclf_gui.gui.training.mistakes_view import MistakesView
from imgclf_gui.gui.training.report_view import ReportView
from imgclf_gui.gui.training.run_history import RunHistory
from imgclf_gui.gui.training.settings_form import TrainingSettingsPanel
from imgclf_gui.gui.training.shown_run import ShownRun
from imgclf_gui.gui.training.skipped_view import SkippedButton
from imgclf_gui.gui.training.training_session import RunOutcome, TrainingSession

CURVES, REPORT, MISLABELLED, RUNS = range(4)
REPORT_MIN_WIDTH = 390  # a class name, then precision, recall, F1 and count in full


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
        self.tracker = MoveTracker(project, self)
        self._shown: ShownRun | None = None
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
        self.live = LiveStatus(self)
        self.status, self.progress, self.rate = self.live.status, self.live.progress, self.live.rate
        self.skipped_button = SkippedButton(self)  # the last run's unreadable images, listed on a click
        self.live.status_row.addWidget(self.skipped_button)
        self.curves = CurvesPage(self)
        self.plots, self.figures = self.curves.plots, self.curves.figures
        self.report_view = ReportView(self.tracker, self)
        self.mistakes = MistakesView(self.project, self.tasks, self)
        self.mislabels = MislabelReview(self.project, self.tasks, self)
        self.history_view = RunHistory(self)
        self.export_row = ExportRow(self.session.files, self)

    def _setup_layout(self) -> None:
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(8, 8, 8, 8)
        settings_box = QGroupBox("Settings", left)
        QVBoxLayout(settings_box).addWidget(self.settings)
        left_layout.addWidget(settings_box)
        left_layout.addStretch(1)
        scroll = self.settings_scroll = QScrollArea(self)
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(300)
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
        summary_box = QGroupBox("What will be trained", self)
        QVBoxLayout(summary_box).addWidget(self.summary)
        summary_holder = QVBoxLayout()
        summary_holder.setContentsMargins(8, 0, 8, 0)
        summary_holder.addWidget(summary_box)
        column.addLayout(summary_holder)
        column.addLayout(buttons)

        # The report scrolls only when it cannot fit (more than 8 classes, or a small screen): its tables
        # are as tall as their rows, so at 1280x720 the whole report of 8 classes is in view.
        report_scroll = QScrollArea(self)
        report_scroll.setWidget(self._padded(self.report_view))
        report_scroll.setWidgetResizable(True)
        report_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        report_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        report_scroll.setMinimumWidth(REPORT_MIN_WIDTH)
        report_page = self.report_page = QSplitter(Qt.Orientation.Horizontal, self)
        report_page.addWidget(report_scroll)
        report_page.addWidget(self._padded(self.mistakes))
        report_page.setStretchFactor(0, 3)
        report_page.setStretchFactor(1, 2)
        report_page.setSizes([3000, 2000])  # shares: the report three fifths, its images two
        report_page.setChildrenCollapsible(False)
        self.pages = QTabWidget(self)
        self.pages.setDocumentMode(True)
        self.pages.addTab(self.curves, "Curves")
        self.pages.addTab(report_page, "Report")
        self.pages.addTab(self._padded(self.mislabels), "Possibly Mislabelled")
        self.pages.addTab(self._padded(self.history_view), "Runs")

        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.setSpacing(4)
        right_layout.addWidget(self.live)
        right_layout.addWidget(self.pages, 1)
        right_layout.addWidget(self.export_row)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(left_column)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([360, 840])
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

    def _padded(self, widget: QWidget) -> QWidget:
        holder = QWidget(self)
        box = QVBoxLayout(holder)
        box.setContentsMargins(6, 6, 6, 6)
        box.addWidget(widget)
        return holder

    def _connect(self) -> None:
        s = self.session
        self.settings.config_edited.connect(s.set_config)
        self.train_button.clicked.connect(self.start_training)
        self.cancel_button.clicked.connect(s.cancel)
        s.config_changed.connect(self.settings.set_config)
        s.summary_changed.connect(self._on_summary_changed)
        s.running_changed.connect(self._on_running_changed)
        s.stage_changed.connect(self.status.setText)
        s.stage_started.connect(self.live.on_stage)
        s.extract_progress.connect(self.live.on_extract_progress)
        s.history_reset.connect(self.curves.reset)
        s.fold_epoch_added.connect(self.curves.add_epoch)
        s.run_finished.connect(self._on_run_finished)
        s.run_failed.connect(self._on_run_failed)
        s.shown_run_changed.connect(self._on_shown_run_changed)
        s.runs_changed.connect(self._on_runs_changed)
        self.report_view.images_requested.connect(self.mistakes.show_items)
        self.report_view.mislabels_requested.connect(lambda: self.pages.setCurrentIndex(MISLABELLED))
        self.mislabels.model.dataChanged.connect(self._update_mislabel_title)
        self.mislabels.model.modelReset.connect(self._update_mislabel_title)
        self.history_view.show_requested.connect(self._show_run)
        self.history_view.activate_requested.connect(s.make_active)
        self.history_view.rename_requested.connect(s.rename_run)
        self.project.project_changed.connect(self._on_project_changed)

    # -- actions --------------------------------------------------------------------------------
    def start_training(self) -> None:
        if self.session.start() is not None:
            self.pages.setCurrentIndex(CURVES)

    def _show_run(self, run_id: str) -> None:
        self.session.show_run(run_id)
        self.pages.setCurrentIndex(REPORT)

    def _ask_keep_best(self) -> bool:
        answer = QMessageBox.question(
            self, "Training stopped", "Keep the model trained so far?\n\nIt becomes the model used for "
            "classifying and is listed under Runs; otherwise the previous model stays.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes)
        return answer == QMessageBox.StandardButton.Yes

    def close_question(self) -> str | None:
        """What closing the window now would stop (the window asks first), or None."""
        if not self.session.is_running():
            return None
        return (f"Training is running ({self.status.text().rstrip('…')}). Closing the window stops it, and "
                "this run is not kept; the previous model stays.")

    def cancel_work(self) -> None:
        """The window closes: stop the run (the task runner's shutdown drops its callbacks, so nothing of
        it is saved)."""
        self.session.cancel()

    # -- slots ----------------------------------------------------------------------------------
    def _on_project_changed(self, root: object) -> None:
        self.train_button.setEnabled(root is not None and not self.session.is_running())

    def _on_running_changed(self, running: bool) -> None:
        self.train_button.setEnabled(not running and self.project.root is not None)
        self.train_button.setText("Training…" if running else "Train")
        self.cancel_button.setEnabled(running)
        self.settings.setEnabled(not running)
        self.live.set_running(running)
        if running:
            self.skipped_button.set_skipped({}, None)  # the list belongs to the run that made it
        self.export_row.set_running(running)
        self.history_view.activate_button.setEnabled(not running and len(self.history_view.selected_ids()) == 1)

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

    def _on_shown_run_changed(self, shown: ShownRun | None) -> None:
        self.report_view.set_shown(shown)
        if shown is not None and shown is self._shown:
            return  # the same run renamed or made active: only its heading changed
        self._shown = shown
        # Everything of the report page comes from this one run: nothing of the previous one stays.
        self.mistakes.show_items("", [])
        scan = shown.mislabels if shown is not None else None
        if scan is None:
            self.mislabels.set_suspects([], "Train a model to look for images filed in the wrong class.")
        elif not scan.available:
            self.mislabels.set_suspects([], scan.reason)
        else:
            n = len(scan.suspects)
            what = (f"{n:,} image{'s look' if n != 1 else ' looks'} filed in the wrong class, worst first"
                    if n else "No image looks filed in the wrong class")
            self.mislabels.set_suspects(scan.suspects, f"{what}: from the honest predictions of {shown.title}.")
        if not self.session.is_running():
            self.curves.show_run(shown)

    def _update_mislabel_title(self, *_args: object) -> None:
        left = self.mislabels.remaining()
        self.pages.setTabText(MISLABELLED, f"Possibly Mislabelled ({left})" if left else "Possibly Mislabelled")

    def _on_run_finished(self, outcome: RunOutcome) -> None:
        self.skipped_button.set_skipped(outcome.result.failed if outcome.result else {}, self.project.root)
        if outcome.run is not None:
            self.pages.setCurrentIndex(REPORT)

    def _on_run_failed(self, message: str, details: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Critical, "Training failed",
                          f"{message}\n\nThe previous model is unchanged.", QMessageBox.StandardButton.Ok, self)
        box.setDetailedText(details)
        box.open()  # not exec(): the window keeps working, and tests are never blocked by it
        self._failure_box = box

    def _on_runs_changed(self) -> None:
        runs, active = self.session.runs(), self.session.active_run_id()
        self.history_view.set_runs(runs, active)
        self.export_row.set_runs(runs, active)
