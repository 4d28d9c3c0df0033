"""Data health panel: runs :func:`core.health.check_health` in the background and lists the findings.

Clicking a finding shows its images in the grid (``show_images``); unreadable files can be put aside
into ``.imgclf/quarantine/`` in one click (undoable). Possibly mislabelled images (from the active model)
open the review shared with the Training tab (``gui/common/mislabel_review.py``), in a window of its own.
The list follows moves at once, without checking again: a moved image is listed at its new place (a
possibly mislabelled one leaves the list: it was dealt with), a quarantined one leaves the list (and comes
back if the quarantine is undone), a duplicate group left with one image is gone.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from imgclf_gui.core.project import rules
from imgclf_gui.core.review.health import Finding, HealthReport, check_health
from imgclf_gui.gui.common.project_model import ProjectModel
from imgclf_gui.gui.common.tasks import TaskFailure, TaskRunner

GROUPS = [
    ("unreadable", "Unreadable files"),
    ("duplicate", "Exact duplicates"),
    ("near_duplicate", "Near duplicates"),
    ("tiny_class", "Classes too small to train"),
    ("small_class", "Classes with few images"),
    ("unbalanced", "Unbalanced classes"),
    ("mislabel", "Possibly mislabelled"),
]
FindingRole = Qt.ItemDataRole.UserRole + 1
MIN_PATHS = {"unreadable": 1, "duplicate": 2, "near_duplicate": 2}  # fewer: the finding no longer holds


class HealthPanel(QWidget):
    """``show_images(title, paths)``: the user clicked a finding."""

    show_images = Signal(str, list)
    report_ready = Signal(object)

    def __init__(self, project: ProjectModel, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.tasks = tasks
        self.report: HealthReport | None = None
        self._set_aside: dict[Path, Finding] = {}  # unreadable findings whose file was quarantined, by its new path
        self._slot = ("health", id(self))  # the check running, if any
        self.review_dialog = None  # the possibly mislabelled images, one key at a time (made when opened)
        self.check_button = QPushButton("Check Data", self)
        self.check_button.setToolTip("Look for unreadable files, duplicates, classes too small to train and, "
                                     "once a model is trained, images that look filed in the wrong class")
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.hide()
        self.progress = QProgressBar(self)
        self.progress.hide()
        self.summary = QLabel("Checks run in the background; you can keep sorting.", self)
        self.summary.setWordWrap(True)
        self.tree = QTreeWidget(self)
        self.tree.setHeaderHidden(True)
        self.tree.setUniformRowHeights(True)
        self.quarantine_button = QPushButton("Quarantine Unreadable Files", self)
        self.quarantine_button.setToolTip("Move them into .imgclf/quarantine/ inside the project (undoable)")
        self.quarantine_button.setEnabled(False)
        title = QLabel("<b>Data health</b>", self)
        buttons = QHBoxLayout()
        buttons.addWidget(self.check_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(title)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.summary)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.quarantine_button)
        self.check_button.clicked.connect(self.run_check)
        self.cancel_button.clicked.connect(self.cancel)
        self.tree.itemClicked.connect(self._on_item_clicked)
        self.quarantine_button.clicked.connect(self.quarantine_unreadable)
        project.project_changed.connect(self._on_project_changed)
        project.images_moved.connect(self._on_images_moved)

    def run_check(self) -> None:
        root = self.project.root
        if root is None or self.tasks.slot_task(self._slot) is not None:
            return
        self.tree.clear()
        self.check_button.setEnabled(False)
        self.cancel_button.show()
        self.progress.show()
        self.progress.setValue(0)
        self.summary.setText("Checking…")

        def work(state, root: Path) -> HealthReport:
            return check_health(root, mislabels=True, on_progress=state.progress_callback,
                                should_stop=state.stop_callback)

        self.tasks.start(work, root, on_progress=self._on_progress, on_done=self._on_done, on_error=self._on_error,
                         on_cancelled=self._on_cancelled, name="health", slot=self._slot)

    def review_mislabels(self, start: Path | None = None) -> None:
        """Open the review of the possibly mislabelled images still listed, at ``start``."""
        from imgclf_gui.gui.common.mislabel_review import MislabelReviewDialog

        scan = self.report.mislabels if self.report is not None else None
        listed = {f.paths[0] for f in self.report.of_kind("mislabel")} if self.report is not None else set()
        suspects = [s for s in scan.suspects if s.path in listed] if scan is not None else []
        if self.review_dialog is None:
            self.review_dialog = MislabelReviewDialog(self.project, self.tasks, self.window())
        self.review_dialog.review.set_suspects(suspects, f"{rules.count_words(len(suspects), 'image')} look filed "
                                               "in the wrong class, worst first: from the active model's honest "
                                               "predictions.")
        self.review_dialog.review.select(next((i for i, s in enumerate(suspects) if s.path == start), 0))
        self.review_dialog.show()
        self.review_dialog.raise_()

    def cancel(self) -> None:
        """The Cancel button: the check stops and says so."""
        task = self.tasks.slot_task(self._slot)
        if task is not None:
            task.cancel()

    def quarantine_unreadable(self) -> None:
        if self.report is None:
            return
        paths = [p for f in self.report.of_kind("unreadable") for p in f.paths if p.exists()]
        if paths and self.project.quarantine(paths):  # the list drops them as they move (_on_images_moved)
            files = rules.count_words(len(paths), "unreadable file")
            self.summary.setText(f"{files} moved to {self.project.root}/.imgclf/quarantine/ "
                                 f"(Edit ▸ Undo brings {'it' if len(paths) == 1 else 'them'} back).")

    # -- slots ----------------------------------------------------------------------------------
    def _on_project_changed(self, _root) -> None:
        # Nothing of a check of the previous project may arrive in this one's panel.
        self.tasks.cancel_slot(self._slot)
        self._finish_ui()
        self.summary.setText("Checks run in the background; you can keep sorting.")
        self.tree.clear()
        self.report = None
        self._set_aside.clear()
        self.quarantine_button.setEnabled(False)

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setMaximum(total)
        self.progress.setValue(done)

    def _finish_ui(self) -> None:
        self.check_button.setEnabled(True)
        self.cancel_button.hide()
        self.progress.hide()

    def _on_images_moved(self, moves: list) -> None:
        """Follow moved images in the findings: new places, quarantined ones out (and back on undo)."""
        root, report = self.project.root, self.report
        where = {old: new for old, new in moves if old is not None}
        if root is None or report is None or not where:
            return
        returned = [replace(self._set_aside.pop(old), paths=[new]) for old, new in where.items()
                    if old in self._set_aside]
        touched = bool(returned)
        findings = []
        for finding in report.findings:
            if not any(p in where for p in finding.paths):
                findings.append(finding)
                continue
            touched = True
            if finding.kind == "mislabel":
                continue  # moved: the person has dealt with it
            moved = [where.get(p, p) for p in finding.paths]
            kept = [p for p in moved if rules.class_of(root, p) is not None]  # not quarantined or trashed
            if finding.kind == "unreadable" and not kept:
                self._set_aside[moved[0]] = finding
            if len(kept) >= MIN_PATHS.get(finding.kind, 0):
                findings.append(replace(finding, paths=kept))
        if touched:
            self.summary.setText(self._show(replace(report, findings=returned + findings)))

    def _on_done(self, report: HealthReport) -> None:
        self._finish_ui()
        self._set_aside.clear()
        summary = self._show(report)
        self.summary.setText(summary)
        self.report_ready.emit(report)

    def _show(self, report: HealthReport) -> str:
        """List ``report``'s findings; returns the summary sentence."""
        self.report = report
        self.tree.clear()
        passed: list[str] = []
        for kind, label in GROUPS:
            findings = report.of_kind(kind)
            if not findings:
                if kind not in report.skipped:
                    passed.append(label)
                continue
            group = QTreeWidgetItem(self.tree, [f"{label} ({len(findings)})"])
            group.setData(0, FindingRole, None)
            for finding in findings[:2000]:
                item = QTreeWidgetItem(group, [finding.title])
                item.setToolTip(0, finding.detail)
                item.setData(0, FindingRole, finding)
            group.setExpanded(len(findings) <= 20)
        # Below the findings, what was looked for and passed: a clean project does not look unchecked.
        for label in passed:
            item = QTreeWidgetItem(self.tree, [f"✓ {label}: none"])
            item.setFlags(Qt.ItemFlag.ItemIsEnabled)
            item.setForeground(0, QColor("#2e7d32"))
        problems = len(report.findings)
        text = (f"{rules.count_words(report.checked, 'image')} checked: "
                + (f"{rules.count_words(problems, 'finding')}." if problems else "all good."))
        self.quarantine_button.setEnabled(bool(report.of_kind("unreadable")))
        return "<br>".join([text] + report.notes)

    def _on_error(self, failure: TaskFailure) -> None:
        self._finish_ui()
        self.summary.setText(f"The check failed: {failure.message}")

    def _on_cancelled(self) -> None:
        self._finish_ui()
        self.summary.setText("Check cancelled.")

    def _on_item_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        finding: Finding | None = item.data(0, FindingRole)
        if finding is None and item.childCount() == 0:
            return  # a check that passed: no images behind it
        first = finding or item.child(0).data(0, FindingRole)
        if first.kind == "mislabel":
            self.review_mislabels(first.paths[0])
            return
        if finding is None:
            paths = [p for i in range(item.childCount()) for p in item.child(i).data(0, FindingRole).paths]
            self.show_images.emit(item.text(0), paths)
        else:
            self.show_images.emit(finding.title, list(finding.paths))
