"""Live loss and accuracy curves of a cross-validated training (pyqtgraph), or a short note while there are none.

Each fold's curves are drawn light (training in light blue, its inner validation in light orange), the
final model's strong (dark blue; a run of an older version also has a strong orange validation curve).
The legend lists only what is drawn. Until the first epoch arrives the plots are replaced by a sentence:
empty axes (epochs 0.2 to 0.8, scores -0.5 to 0.4) tell a person nothing.

Every curve item is created once (a fold's when its first epoch arrives), then fed with ``setData``.
Repaints are throttled to a few per second, so a fast head (hundreds of epochs a second on small data)
never floods the event loop.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStackedWidget, QWidget

from imgclf_gui.core.training.crossval import FINAL, FoldEpoch
from imgclf_gui.core.training.head import EpochMetrics

_PENS = {
    "fold train": pg.mkPen("#9ecae1", width=1),
    "fold validation": pg.mkPen("#fdbe85", width=1),
    "train": pg.mkPen("#1f5fa8", width=2.5),
    "validation": pg.mkPen("#e6550d", width=2.5),
}
_LEGEND = {"fold train": "each fold: training", "fold validation": "each fold: its validation",
           "train": "final model", "validation": "validation"}  # "train" is "training" without folds
_BEST_PEN = pg.mkPen("#2ca02c", width=1, style=Qt.PenStyle.DashLine)
_REPAINT_MS = 150
EMPTY_TEXT = "No curves yet: loss and accuracy appear here, epoch by epoch, while a model trains."


class _Series:
    """The points of one fit (a fold, or the final model)."""

    def __init__(self) -> None:
        self.epochs: list[int] = []
        self.values: dict[str, list[float]] = {k: [] for k in ("tl", "vl", "ta", "va")}

    def add(self, m: EpochMetrics) -> None:
        nan = float("nan")
        self.epochs.append(m.epoch)
        self.values["tl"].append(m.train_loss)
        self.values["ta"].append(m.train_accuracy)
        self.values["vl"].append(nan if m.val_loss is None else m.val_loss)
        self.values["va"].append(nan if m.val_accuracy is None else m.val_accuracy)

    def has_validation(self) -> bool:
        return any(v == v for v in self.values["vl"])  # NaN != NaN


class MetricPlots(QWidget):
    """Loss and accuracy against epoch, side by side; ``empty_note`` until there is a point to draw."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._folds: dict[int, _Series] = {}
        self._final = _Series()
        self._best_epoch = 0
        self._fold_curves: dict[int, dict[str, pg.PlotDataItem]] = {}
        self.loss_plot = self._make_plot("Loss", (-10, 10))
        self.acc_plot = self._make_plot("Accuracy", (-10, -30))  # bottom right: curves hug 1.0
        self.acc_plot.setYRange(0, 1.02)
        self.curves = {  # the final model's
            "tl": self.loss_plot.plot([], [], pen=_PENS["train"]),
            "vl": self.loss_plot.plot([], [], pen=_PENS["validation"]),
            "ta": self.acc_plot.plot([], [], pen=_PENS["train"]),
            "va": self.acc_plot.plot([], [], pen=_PENS["validation"]),
        }
        for curve in self.curves.values():
            curve.setZValue(10)  # over the folds' light curves
        self.best_lines = [pg.InfiniteLine(angle=90, movable=False, pen=_BEST_PEN) for _ in range(2)]
        for plot, line in zip((self.loss_plot, self.acc_plot), self.best_lines):
            plot.addItem(line)
            line.setVisible(False)
        self._legend_shown: tuple[str, ...] = ()
        self._repaint = QTimer(self, singleShot=True, interval=_REPAINT_MS)
        self._repaint.timeout.connect(self._flush)
        self.empty_note = QLabel(EMPTY_TEXT, self)
        self.empty_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_note.setWordWrap(True)
        self.empty_note.setStyleSheet("color: palette(mid); border: 1px dashed palette(mid); padding: 16px;")
        plots = QWidget(self)
        row = QHBoxLayout(plots)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.loss_plot)
        row.addWidget(self.acc_plot)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.empty_note)
        self.stack.addWidget(plots)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

    def _make_plot(self, title: str, legend_offset: tuple[int, int]) -> pg.PlotWidget:
        plot = pg.PlotWidget(self, background="w")
        plot.setTitle(title, color="#333", size="10pt")
        plot.setLabel("bottom", "epoch")
        plot.showGrid(x=True, y=True, alpha=0.25)
        plot.addLegend(offset=legend_offset)
        plot.setMenuEnabled(False)
        plot.setMinimumHeight(140)
        return plot

    # -- data in --------------------------------------------------------------------------------
    def clear(self) -> None:
        """Forget every point (a new run starts, or another run is shown)."""
        self._folds.clear()
        self._final = _Series()
        self._best_epoch = 0
        self._flush()

    def add_fold_epoch(self, e: FoldEpoch) -> None:
        """Append one epoch of a fold or of the final model; the plots repaint shortly (coalesced)."""
        if e.fold == FINAL:
            self.add_epoch(e.metrics)
            return
        self._folds.setdefault(int(e.fold), _Series()).add(e.metrics)
        self._schedule()

    def add_epoch(self, m: EpochMetrics) -> None:
        """Append one epoch of the final model."""
        self._final.add(m)
        self._best_epoch = m.best_epoch
        self._schedule()

    def show_epochs(self, epochs: list[FoldEpoch]) -> None:
        """Draw a finished run's curves at once."""
        self.clear()
        for e in epochs:
            self.add_fold_epoch(e)
        self._flush()

    def _schedule(self) -> None:
        if not self._repaint.isActive():
            self._repaint.start()

    # -- what is drawn (tests) ------------------------------------------------------------------
    def is_empty(self) -> bool:
        return self.stack.currentWidget() is self.empty_note

    def point_count(self, key: str = "tl") -> int:
        """Points a curve of the final model holds once painted (one per epoch)."""
        self._flush()
        x, _y = self.curves[key].getData()
        return 0 if x is None else len(x)

    def fold_point_count(self, fold: int) -> int:
        """Training-loss points drawn for fold ``fold`` (1-based)."""
        self._flush()
        curve = self._fold_curves.get(fold, {}).get("tl")
        x = curve.getData()[0] if curve is not None else None
        return 0 if x is None else len(x)

    def legend_names(self) -> list[str]:
        """The entries of the loss plot's legend, as a person reads them."""
        self._flush()
        return [label.text for _sample, label in self.loss_plot.plotItem.legend.items]

    # -- drawing --------------------------------------------------------------------------------
    def _fold_curve_set(self, fold: int) -> dict[str, pg.PlotDataItem]:
        curves = self._fold_curves.get(fold)
        if curves is None:
            curves = self._fold_curves[fold] = {
                "tl": self.loss_plot.plot([], [], pen=_PENS["fold train"]),
                "vl": self.loss_plot.plot([], [], pen=_PENS["fold validation"]),
                "ta": self.acc_plot.plot([], [], pen=_PENS["fold train"]),
                "va": self.acc_plot.plot([], [], pen=_PENS["fold validation"]),
            }
        return curves

    def _flush(self) -> None:
        self._repaint.stop()
        for fold, series in self._folds.items():
            for key, curve in self._fold_curve_set(fold).items():
                curve.setData(series.epochs, series.values[key], connect="finite")
        for fold, curves in self._fold_curves.items():
            if fold not in self._folds:
                for curve in curves.values():
                    curve.setData([], [])
        for key, curve in self.curves.items():
            # connect="finite" leaves gaps for epochs without validation instead of drawing to NaN
            curve.setData(self._final.epochs, self._final.values[key], connect="finite")
        # The best-epoch marker means something only where early stopping watched a validation part.
        marked = self._best_epoch > 0 and self._final.has_validation()
        for line in self.best_lines:
            line.setVisible(marked)
            line.setValue(self._best_epoch)
        self._update_legend()
        drawn = bool(self._final.epochs or any(s.epochs for s in self._folds.values()))
        self.stack.setCurrentIndex(1 if drawn else 0)

    def _update_legend(self) -> None:
        shown = []
        if self._folds:
            shown.append("fold train")
            if any(s.has_validation() for s in self._folds.values()):
                shown.append("fold validation")
        if self._final.epochs:
            shown.append("train")
            if self._final.has_validation():
                shown.append("validation")
        if tuple(shown) == self._legend_shown:
            return
        self._legend_shown = tuple(shown)
        names = dict(_LEGEND, train="final model" if self._folds else "training")
        for plot in (self.loss_plot, self.acc_plot):
            legend = plot.plotItem.legend
            legend.clear()
            for entry in shown:
                legend.addItem(pg.PlotDataItem([], [], pen=_PENS[entry]), names[entry])
