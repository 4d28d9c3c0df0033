"""A horizontal bar chart of class scores, best at the top (pyqtgraph).

The bar item, the threshold line and the percentage labels are created once; a new prediction only
updates them (``setOpts`` / ``setPos``), so showing a result costs a repaint, not a rebuild.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QFontMetrics
from PySide6.QtWidgets import QWidget

from imgclf_gui.core.models.predict import UNSURE_BELOW, is_unsure

MAX_BARS = 20
_SURE = QColor("#2e9d5b")
_UNSURE = QColor("#e08a2c")
_OTHER = QColor("#7f9cc4")
_THRESHOLD_PEN = pg.mkPen("#c0392b", width=1, style=pg.QtCore.Qt.PenStyle.DashLine)


class ScoreBars(pg.PlotWidget):
    """``set_scores(names, scores, threshold)`` shows the best ``MAX_BARS`` classes, sorted.

    ``shown`` holds the (name, score) pairs on screen, top first (tests read it).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.shown: list[tuple[str, float]] = []
        self.hidden_count = 0
        plot = self.getPlotItem()
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setMouseEnabled(x=False, y=False)
        plot.showGrid(x=True, y=False, alpha=0.25)
        plot.setXRange(0, 1.04, padding=0)  # room for the "100%" tick label
        plot.getAxis("bottom").setTicks([[(v, f"{v:.0%}") for v in (0, 0.25, 0.5, 0.75, 1.0)]])
        plot.getAxis("left").setStyle(tickLength=0)
        self.bars = pg.BarGraphItem(x0=[], y=[], height=0.7, width=[], brushes=[])
        plot.addItem(self.bars)
        self.threshold_line = pg.InfiniteLine(pos=UNSURE_BELOW, angle=90, movable=False, pen=_THRESHOLD_PEN)
        plot.addItem(self.threshold_line)
        self.labels = [pg.TextItem("", color="#333", anchor=(0, 0.5)) for _ in range(MAX_BARS)]
        for label in self.labels:
            plot.addItem(label)
            label.hide()
        self.more_label = pg.TextItem("", color="#777", anchor=(1, 1))
        plot.addItem(self.more_label)
        self.setMinimumHeight(120)

    def set_scores(self, names: Sequence[str], scores: np.ndarray, threshold: float,
                   limit: int | None = None) -> None:
        """Show ``scores`` (aligned with ``names``), best first; at most ``limit`` (and MAX_BARS) bars."""
        scores = np.asarray(scores, np.float64)
        count = min(len(scores), MAX_BARS, limit or MAX_BARS)
        order = np.argsort(-scores, kind="stable")[:count]
        self.shown = [(names[i], float(scores[i])) for i in order]
        self.hidden_count = len(scores) - count
        ys = np.arange(count)[::-1].astype(float)  # best at the top
        brushes = [pg.mkBrush(_OTHER) for _ in range(count)]
        if count:
            brushes[0] = pg.mkBrush(_UNSURE if is_unsure(self.shown[0][1], threshold) else _SURE)
        self.bars.setOpts(x0=np.zeros(count), y=ys, width=[s for _, s in self.shown], height=0.7, brushes=brushes)
        for i, label in enumerate(self.labels):
            if i < count:
                score = self.shown[i][1]
                label.setText(f"{score:.1%}")
                # the percentage sits right of the bar, or inside it near the end when the bar is long
                label.setAnchor((1, 0.5) if score > 0.85 else (0, 0.5))
                label.setColor("w" if score > 0.85 else "#333")
                label.setPos(score - 0.01 if score > 0.85 else score + 0.01, ys[i])
                label.show()
            else:
                label.hide()
        plot = self.getPlotItem()
        left = plot.getAxis("left")
        left.setTicks([[(ys[i], self._short(self.shown[i][0])) for i in range(count)]])
        metrics = QFontMetrics(left.font() if hasattr(left, "font") else self.font())
        widest = max((metrics.horizontalAdvance(self._short(n)) for n, _ in self.shown), default=20)
        left.setWidth(min(widest + 14, 220))
        plot.setYRange(-0.6, max(count, 3) - 0.4, padding=0)
        self.more_label.setText(f"{self.hidden_count} more classes below" if self.hidden_count else "")
        self.more_label.setPos(1.0, -0.55)
        self.set_threshold(threshold)

    def set_threshold(self, threshold: float) -> None:
        """Move the "unsure below" line and recolour the top bar."""
        self.threshold_line.setPos(threshold)
        if self.shown:
            brushes = list(self.bars.opts.get("brushes") or [])
            if brushes:
                brushes[0] = pg.mkBrush(_UNSURE if is_unsure(self.shown[0][1], threshold) else _SURE)
                self.bars.setOpts(brushes=brushes)

    def clear_scores(self) -> None:
        self.shown = []
        self.hidden_count = 0
        self.bars.setOpts(x0=[], y=[], width=[], brushes=[])
        for label in self.labels:
            label.hide()
        self.more_label.setText("")
        self.getPlotItem().getAxis("left").setTicks([[]])

    @staticmethod
    def _short(name: str, limit: int = 28) -> str:
        return name if len(name) <= limit else name[:limit - 1] + "…"
