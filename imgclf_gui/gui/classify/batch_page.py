"""The "Many images" page of the Classify tab: progress and cancel, filter, table, CSV, sort into folders.

Binds to :class:`~imgclf_gui.gui.classify.classify_session.Classifier` (``batch_*`` signals); copying into folders runs
through the task runner with its own progress, and never moves or deletes an original.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from imgclf_gui.core.models.predict import UNSURE, ResultRow
from imgclf_gui.gui.classify.batch_results import (
    BatchFilterProxy,
    BatchResultsModel,
    BatchTable,
    LazyThumbnails,
    RowRole,
)
from imgclf_gui.gui.classify.classify_session import Classifier
from imgclf_gui.gui.classify.wording import count_of
from imgclf_gui.gui.common.tasks import TaskFailure, TaskRunner

RESORT_MS = 1500  # while rows pour in, a sorted table is re-sorted at most this often


def _sort_into(state, rows: list[ResultRow], target: Path, names: list[str], threshold: float) -> dict[str, int]:
    from imgclf_gui.core.models.outputs import sort_into

    return sort_into(rows, target, names, threshold, on_progress=state.progress_callback,
                     should_stop=state.should_stop)


class BatchPage(QWidget):
    """Table of a batch. ``row_activated(ResultRow)`` when a row is double-clicked (show it big)."""

    row_activated = Signal(object)

    def __init__(self, classifier: Classifier, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.classifier = classifier
        self.tasks = tasks
        self._copy_task = None
        self._dropped: list[Path] = []  # what the table's batch was made of, for Classify Again
        self._made_by = ""  # the title of the model that scored the rows on screen
        self.thumbnails = LazyThumbnails(tasks, parent=self)
        self.model = BatchResultsModel(self.thumbnails, self)
        self.proxy = BatchFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self._setup_widgets()
        self._connect()
        self._resort_timer = QTimer(self, singleShot=True, interval=RESORT_MS)
        self._resort_timer.timeout.connect(self._resort)
        self._update_counts()

    def _setup_widgets(self) -> None:
        self.filter_combo = QComboBox(self)
        self.filter_combo.setMinimumContentsLength(14)
        self.counts_label = QLabel(self)
        self.export_button = QPushButton("Export CSV…", self)
        self.sort_button = QPushButton("Copy into Folders…", self)
        self.sort_button.setToolTip("Copy each image into a folder named after its class (unsure ones into "
                                    f"“{UNSURE}”); the originals stay where they are.")
        self.progress = QProgressBar(self)
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel", self)
        self.again_button = QPushButton("Classify Again", self)
        self.again_button.setToolTip("Classify the same images with the model chosen now.")
        self.again_button.setVisible(False)
        self.status = QLabel("Drop a folder or several images on this tab, or use Open Folder…", self)
        self.status.setWordWrap(True)
        self.table = BatchTable(self)
        self.table.setModel(self.proxy)
        top = QHBoxLayout()
        top.addWidget(QLabel("Show:", self))
        top.addWidget(self.filter_combo)
        top.addWidget(self.counts_label, 1)
        top.addWidget(self.export_button)
        top.addWidget(self.sort_button)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.status, 1)
        progress_row.addWidget(self.progress)
        progress_row.addWidget(self.cancel_button)
        progress_row.addWidget(self.again_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(top)
        layout.addLayout(progress_row)
        layout.addWidget(self.table, 1)
        self._set_running(False)

    def _connect(self) -> None:
        c = self.classifier
        c.batch_started.connect(self._on_batch_started)
        c.batch_rows.connect(self._on_batch_rows)
        c.batch_progress.connect(self._on_batch_progress)
        c.batch_finished.connect(self._on_batch_finished)
        c.threshold_changed.connect(self._on_threshold_changed)
        c.model_changed.connect(self._on_model_changed)
        self.again_button.clicked.connect(lambda: self.classifier.classify_many(list(self._dropped)))
        self.filter_combo.activated.connect(self._on_filter_chosen)
        self.cancel_button.clicked.connect(self.cancel)
        self.export_button.clicked.connect(self.export_csv_dialog)
        self.sort_button.clicked.connect(self.sort_into_dialog)
        self.table.doubleClicked.connect(lambda i: self.row_activated.emit(i.data(RowRole)))

    # -- slots ----------------------------------------------------------------------------------
    def _on_batch_started(self, dropped: list[Path]) -> None:
        self._dropped, self._made_by = list(dropped), ""
        self.again_button.setVisible(False)
        self.thumbnails.clear()
        self.model.reset(self.classifier.class_names, dropped)
        self.model.threshold = self.classifier.threshold
        self.table.horizontalHeader().setSortIndicator(-1, self.model.sort_order)
        self.model.sort_column = -1
        self.table.size_columns()
        self._fill_filter()
        self.progress.setRange(0, 0)
        self.status.setText("Looking for images…" if self.classifier.state == "ready" else "Loading model…")
        self._set_running(True)

    def _on_batch_rows(self, rows: list[ResultRow]) -> None:
        if self.model.class_names != self.classifier.class_names:  # the model finished loading meanwhile
            self.model.reset(self.classifier.class_names)
            self.table.size_columns()
            self._fill_filter()
        if self.classifier.predictor is not None:
            self._made_by = self.classifier.predictor.title
        self.model.add_rows(rows)
        if self.model.sort_column >= 0 and not self._resort_timer.isActive():
            self._resort_timer.start()
        self._update_counts()

    def _on_batch_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done} / {total}")
        self.status.setText(f"Classifying with {self.classifier.predictor.title}…" if self.classifier.predictor
                            else "Classifying…")

    def _on_batch_finished(self, text: str) -> None:
        self._set_running(False)
        self._resort()
        self.status.setText(text)
        self._update_counts()

    def _on_model_changed(self) -> None:
        """Rows of another model stay (they are what it said), and the page says so and offers to redo them."""
        predictor = self.classifier.predictor
        if not self.model.rows or not self._made_by or predictor is None:
            return
        if predictor.title == self._made_by:
            self.again_button.setVisible(False)
            return
        self.status.setText(f"These {count_of(len(self.model.rows), 'row')} were classified with {self._made_by}; "
                            f"Classify Again uses {predictor.title}.")
        self.again_button.setVisible(True)

    def _on_threshold_changed(self, value: float) -> None:
        self.model.set_threshold(value)
        if self.proxy.kind != "all":
            self.proxy.refilter()
        self._update_counts()

    def _on_filter_chosen(self, index: int) -> None:
        kind, name = self.filter_combo.itemData(index) or ("all", "")
        self.proxy.set_filter(kind, name)
        self._update_counts()

    def _resort(self) -> None:
        self.model.resort()

    # -- helpers --------------------------------------------------------------------------------
    def _fill_filter(self) -> None:
        self.filter_combo.clear()
        self.filter_combo.addItem("All images", ("all", ""))
        self.filter_combo.addItem("Unsure", ("unsure", ""))
        self.filter_combo.addItem("Unreadable", ("unreadable", ""))
        if len(self.model.class_names) <= 200:  # ImageNet's 1000 would make a useless list
            for name in self.model.class_names:
                self.filter_combo.addItem(f"Class: {name}", ("class", name))
        self.proxy.set_filter("all")

    def _update_counts(self) -> None:
        total, unsure, unreadable = self.model.counts()
        shown = self.proxy.rowCount()
        parts = [count_of(total, "image"), f"{unsure} unsure", f"{unreadable} unreadable"]
        if shown != total:
            parts.append(f"{shown} shown")
        self.counts_label.setText(" · ".join(parts))
        has_rows = total > unreadable
        self.export_button.setEnabled(bool(total))
        self.sort_button.setEnabled(has_rows and (self._copy_task is None or not self._copy_task.is_running()))

    def _set_running(self, running: bool) -> None:
        self.progress.setVisible(running)
        self.cancel_button.setVisible(running)

    def cancel(self) -> None:
        self.classifier.cancel_batch()
        if self._copy_task is not None:
            self._copy_task.cancel()

    # -- output ---------------------------------------------------------------------------------
    def export_csv(self, path: Path) -> int:
        """Write the rows as shown (filter and order) to ``path``; returns how many."""
        from imgclf_gui.core.models.outputs import write_csv

        return write_csv(path, self.proxy.visible_rows(), self.model.class_names, error_column=True)

    def export_csv_dialog(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export the table as CSV", str(Path.home() / "classified.csv"),
                                              "CSV files (*.csv)")
        if not name:
            return
        try:
            count = self.export_csv(Path(name))
        except OSError as exc:
            QMessageBox.warning(self, "Export CSV", str(exc))  # one sentence: what, where and why
            return
        self.status.setText(f"Wrote {count_of(count, 'row')} to {name}.")

    def sort_into(self, target: Path) -> None:
        """Copy the readable images into ``target/<class>/`` (``unsure`` below the threshold), in the background."""
        rows = [r for r in self.model.rows if r.scores is not None]
        if not rows:
            return
        self.progress.setRange(0, len(rows))
        self._set_running(True)
        self.sort_button.setEnabled(False)
        self.status.setText(f"Copying {count_of(len(rows), 'image')} into {target}…")
        self._copy_task = self.tasks.start(
            _sort_into, rows, target, self.model.class_names, self.classifier.threshold,
            on_progress=self._on_batch_progress_copy, on_done=lambda counts: self._on_copied(target, counts),
            on_cancelled=lambda: self._on_copy_end("Copying cancelled; the copies made so far stay."),
            on_error=lambda f: self._on_copy_failed(f), name="sort into folders")

    def _on_batch_progress_copy(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done} / {total}")

    def _on_copied(self, target: Path, counts: dict[str, int]) -> None:
        summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        self._on_copy_end(f"Copied {count_of(sum(counts.values()), 'image')} into {target} ({summary}); "
                          "originals untouched.")

    def _on_copy_failed(self, failure: TaskFailure) -> None:
        self._on_copy_end(f"Copying stopped: {failure.message}")

    def _on_copy_end(self, text: str) -> None:
        self._set_running(False)
        self.status.setText(text)
        self._update_counts()

    def sort_into_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Copy the images into class folders inside…")
        if folder:
            self.sort_into(Path(folder))
