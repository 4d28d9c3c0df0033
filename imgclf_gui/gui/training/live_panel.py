"""What a run is doing now: the status banner and one progress bar above the pages, and the curves page.

The bar follows the stages of a run: busy while a backbone is prepared on its first use (no time left is
promised for work that cannot be counted), images done / total with rate and time left while bottlenecks
are extracted, then "Fold 2 of 5" and "Final model" while the heads train (the curves page shows each
fold's curves light and the final model's strong).
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QSizePolicy, QVBoxLayout, QWidget

from imgclf_gui.core.support.clock import ClockReading
from imgclf_gui.core.support.notes import (
    STAGE_EXTRACTING,
    STAGE_FINAL_MODEL,
    STAGE_FOLD,
    STAGE_PREPARING_BACKBONE,
    Note,
)
from imgclf_gui.core.training.crossval import FINAL, FoldEpoch
from imgclf_gui.gui.training.metric_plots import MetricPlots
from imgclf_gui.gui.training.shown_run import ShownRun

_IDLE_STYLE = "QLabel { padding: 4px 8px; border-radius: 4px; background: palette(alternate-base); }"
_RUNNING_STYLE = "QLabel { padding: 4px 8px; border-radius: 4px; background: #fff3cd; color: #664d03; }"
READY = "Ready. Choose settings on the left and press Train."


class LiveStatus(QWidget):
    """The status banner, and under it the progress bar (with a note beside it on a backbone's first use)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.status = QLabel(READY, self)
        self.status.setWordWrap(True)
        self.status.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.progress = QProgressBar(self)
        self.progress.setFormat("%v / %m images")
        self.rate = QLabel(self)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.progress, 1)
        bar.addWidget(self.rate)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 8, 8, 0)
        layout.setSpacing(4)
        self.status_row = QHBoxLayout()  # the status, and beside it what the tab adds (Skipped images…)
        self.status_row.setContentsMargins(0, 0, 0, 0)
        self.status_row.addWidget(self.status, 1)
        layout.addLayout(self.status_row)
        layout.addLayout(bar)
        self.set_running(False)

    def set_running(self, running: bool) -> None:
        self.status.setStyleSheet(_RUNNING_STYLE if running else _IDLE_STYLE)
        self.progress.setVisible(running)
        if running:
            self.progress.setRange(0, 0)  # busy until there is something to count
            self.progress.setFormat("")
        self.rate.setVisible(False)  # only beside the busy bar of the backbone's first use
        if not running and not self.status.text():
            self.status.setText(READY)

    def on_stage(self, note: Note) -> None:
        if note.kind == STAGE_PREPARING_BACKBONE:
            # Converting the network cannot say how far it is: a busy bar, and no time left promised.
            self.progress.setRange(0, 0)
            self.progress.setVisible(True)
            self.rate.setText("once per computer")
            self.rate.setVisible(True)
        elif note.kind == STAGE_EXTRACTING:
            self.rate.setVisible(False)  # the bar gets its range and its words with the first count
        elif note.kind in (STAGE_FOLD, STAGE_FINAL_MODEL):
            # Fits done out of the folds plus the final model: "Fold 2 of 5", then "Final model".
            folds = int(note.values.get("folds") or 0)
            done = folds if note.kind == STAGE_FINAL_MODEL else int(note.values.get("fold", 1)) - 1
            self.progress.setRange(0, max(folds + 1, 1))
            self.progress.setValue(done)
            # Short: the banner above says what the fold is doing ("choosing regularisation (3/5, L2 0.01)").
            self.progress.setFormat(f"Fold {note.values.get('fold')} of {folds}" if note.kind == STAGE_FOLD
                                    else "Final model")
            self.progress.setVisible(True)
            self.rate.setVisible(False)

    def on_extract_progress(self, reading: ClockReading) -> None:
        # One line inside the bar: "33 / 240 images, 24.9 images/s, about 8 s left" (no label beside it
        # changing width ten times a second).
        self.progress.setRange(0, max(reading.total, 1))
        self.progress.setValue(reading.done)
        self.progress.setFormat(f"%v / %m images, {reading.describe()}")
        self.progress.setVisible(True)
        self.rate.setVisible(False)


class CurvesPage(QWidget):
    """The plots and, under them, the figures of the latest epoch (or which run's curves these are)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plots = MetricPlots(self)
        self.figures = QLabel(self)
        self.figures.setWordWrap(True)
        self.figures.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.plots, 1)
        layout.addWidget(self.figures)
        self.figures.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)

    def reset(self) -> None:
        self.plots.clear()
        self.figures.setText("")
        self.figures.setVisible(False)  # the empty plots say it already

    def add_epoch(self, e: FoldEpoch) -> None:
        self.plots.add_fold_epoch(e)
        m = e.metrics
        fit = "Final model" if e.fold == FINAL else f"Fold {e.fold} of {e.folds}"
        val = (f"; validation loss {m.val_loss:.4f}, accuracy {m.val_accuracy:.1%}"
               if m.val_loss is not None and m.val_accuracy is not None else "")
        self.figures.setVisible(True)
        self.figures.setText(f"{fit}, epoch {m.epoch}: training loss {m.train_loss:.4f}, accuracy "
                             f"{m.train_accuracy:.1%}{val}")

    def show_run(self, shown: ShownRun | None) -> None:
        """A finished run's curves at once (nothing: the empty state)."""
        if shown is None or not shown.epochs:
            self.reset()
            return
        self.plots.show_epochs(shown.epochs)
        final = shown.final_history()
        folds = max((e.folds for e in shown.epochs), default=0)
        what = (f"each of {folds} folds light, the final model strong ({len(final)} epochs)" if folds
                else f"{len(final)} epochs")
        self.figures.setVisible(True)
        self.figures.setText(f"Curves of {shown.title}: {what}.")
