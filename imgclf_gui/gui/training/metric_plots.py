"""Live loss and accuracy curves of the head training (pyqtgraph).

Every curve and the best-epoch marker are created once; a new epoch appends to plain lists and calls
``setData``. Repaints are throttled to a few per second, so a fast head (hundreds of epochs a second
on small data) never floods the event loop.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QWidget

from imgclf_gui.core.training.head import EpochMetrics

_TRAIN_PEN = pg.mkPen("#1f77b4", width=2)
_VAL_PEN = pg.mkPen("#ff7f0e", width=2)
_BEST_PEN = pg.mkPen("#2ca02c", width=1, style=pg.QtCore.Qt.PenStyle.DashLine)
_REPAINT_MS = 150


class MetricPlots(QWidget):
    """Two plots side by side: loss and accuracy against epoch, train and validation each."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.epochs: list[int] = []
        self._series: dict[str, list[float]] = {k: [] for k in ("tl", "vl", "ta", "va")}
        self._best_epoch = 0
        self.loss_plot = self._make_plot("Loss", (-10, 10))
        self.acc_plot = self._make_plot("Accuracy", (-10, -30))  # bottom right: curves hug 1.0
        self.acc_plot.setYRange(0, 1.02)
        self.curves = {
            "tl": self.loss_plot.plot([], [], pen=_TRAIN_PEN, name="train"),
            "vl": self.loss_plot.plot([], [], pen=_VAL_PEN, name="validation"),
            "ta": self.acc_plot.plot([], [], pen=_TRAIN_PEN, name="train"),
            "va": self.acc_plot.plot([], [], pen=_VAL_PEN, name="validation"),
        }
        self.best_lines = [pg.InfiniteLine(angle=90, movable=False, pen=_BEST_PEN) for _ in range(2)]
        for plot, line in zip((self.loss_plot, self.acc_plot), self.best_lines):
            plot.addItem(line)
            line.setVisible(False)
        self._repaint = QTimer(self, singleShot=True, interval=_REPAINT_MS)
        self._repaint.timeout.connect(self._flush)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss_plot)
        layout.addWidget(self.acc_plot)

    def _make_plot(self, title: str, legend_offset: tuple[int, int]) -> pg.PlotWidget:
        plot = pg.PlotWidget(self, background="w")
        plot.setTitle(title, color="#333", size="10pt")
        plot.setLabel("bottom", "epoch")
        plot.showGrid(x=True, y=True, alpha=0.25)
        plot.addLegend(offset=legend_offset)
        plot.setMenuEnabled(False)
        plot.setMinimumHeight(160)
        return plot

    def clear(self) -> None:
        """Forget every point (a new run starts)."""
        self.epochs.clear()
        for values in self._series.values():
            values.clear()
        self._best_epoch = 0
        self._flush()

    def add_epoch(self, m: EpochMetrics) -> None:
        """Append one epoch; the plots repaint shortly (coalesced)."""
        self.epochs.append(m.epoch)
        nan = float("nan")
        self._series["tl"].append(m.train_loss)
        self._series["ta"].append(m.train_accuracy)
        self._series["vl"].append(nan if m.val_loss is None else m.val_loss)
        self._series["va"].append(nan if m.val_accuracy is None else m.val_accuracy)
        self._best_epoch = m.best_epoch
        if not self._repaint.isActive():
            self._repaint.start()

    def point_count(self, key: str = "tl") -> int:
        """Points a curve holds once painted (tests: one per epoch)."""
        self._flush()
        x, _y = self.curves[key].getData()
        return 0 if x is None else len(x)

    def _flush(self) -> None:
        self._repaint.stop()
        for key, curve in self.curves.items():
            # connect="finite" leaves gaps for epochs without validation instead of drawing to NaN
            curve.setData(self.epochs, self._series[key], connect="finite")
        for line in self.best_lines:
            line.setVisible(self._best_epoch > 0)
            line.setValue(self._best_epoch)
