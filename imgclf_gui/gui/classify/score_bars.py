"""A horizontal bar chart of class scores, best at the top (pyqtgraph).

The bar item, the threshold line and the percentage labels are created once; a new prediction only
updates them (``setOpts`` / ``setPos``), so showing a result costs a repaint, not a rebuild.

Class names beside the bars are elided to the room the chart has (ImageNet names run to 90 characters)
and measured with the very font the axis draws them in: pyqtgraph silently drops a tick label that does
not fit its axis. Hovering a bar or its name shows the full name and score.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QColor, QFontMetrics, QHelpEvent, QResizeEvent
from PySide6.QtWidgets import QToolTip, QWidget

from imgclf_gui.core.models.predict import UNSURE_BELOW, is_unsure

MAX_BARS = 20
_SURE = QColor("#2e9d5b")
_UNSURE = QColor("#e08a2c")
_OTHER = QColor("#7f9cc4")
_THRESHOLD_PEN = pg.mkPen("#c0392b", width=1, style=pg.QtCore.Qt.PenStyle.DashLine)
#: the names' column takes at most this share of the chart's width
_NAMES_SHARE = 0.4
#: pixels beyond the measured text: the axis's own text offset and rounding between font engines
_NAMES_SLACK = 14


def top_colour(score: float, threshold: float) -> QColor:
    """The top bar's colour: green for an answer, orange for a guess (the one "unsure" rule)."""
    return _UNSURE if is_unsure(score, threshold) else _SURE


def more_text(hidden: int) -> str:
    """What the chart says about the classes it leaves out (they are not reachable by scrolling)."""
    if hidden <= 0:
        return ""
    return f"and {hidden} more {'class' if hidden == 1 else 'classes'} with lower scores"


class ScoreBars(pg.PlotWidget):
    """``set_scores(names, scores, threshold)`` shows the best ``MAX_BARS`` classes, sorted.

    ``shown`` holds the (name, score) pairs on screen, top first; ``labels_shown`` the names as drawn
    (elided) beside the bars; ``hidden_count`` how many classes are left out.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.shown: list[tuple[str, float]] = []
        self.labels_shown: list[str] = []
        self.hidden_count = 0
        self._threshold = UNSURE_BELOW
        self._more = ""
        plot = self.getPlotItem()
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setMouseEnabled(x=False, y=False)
        plot.showGrid(x=True, y=False, alpha=0.25)
        plot.getAxis("bottom").setTicks([[(v, f"{v:.0%}") for v in (0, 0.25, 0.5, 0.75, 1.0)]])
        plot.getAxis("bottom").setStyle(tickFont=self.font())
        # The names are drawn in this font and measured in it too (see the module docstring).
        plot.getAxis("left").setStyle(tickLength=0, tickFont=self.font(), autoExpandTextSpace=False)
        plot.getAxis("left").setTextPen("#333")  # the names are read, not glanced at like the ticks
        self.bars = pg.BarGraphItem(x0=[], y=[], height=0.7, width=[], brushes=[])
        plot.addItem(self.bars)
        self.threshold_line = pg.InfiniteLine(pos=UNSURE_BELOW, angle=90, movable=False, pen=_THRESHOLD_PEN)
        plot.addItem(self.threshold_line)
        self.labels = [pg.TextItem("", color="#333", anchor=(0, 0.5)) for _ in range(MAX_BARS)]
        for label in self.labels:
            plot.addItem(label)
            label.hide()
        self.setMinimumHeight(120)
        self._fit()

    # -- content --------------------------------------------------------------------------------
    def set_scores(self, names: Sequence[str], scores: np.ndarray, threshold: float,
                   limit: int | None = None) -> None:
        """Show ``scores`` (aligned with ``names``), best first; at most ``limit`` (and MAX_BARS) bars."""
        scores = np.asarray(scores, np.float64)
        count = min(len(scores), MAX_BARS, limit or MAX_BARS)
        order = np.argsort(-scores, kind="stable")[:count]
        self.shown = [(names[i], float(scores[i])) for i in order]
        self.hidden_count = len(scores) - count
        self._threshold = threshold
        ys = self._rows_y()
        self.bars.setOpts(x0=np.zeros(count), y=ys, width=[s for _, s in self.shown], height=0.7,
                          brushes=self._brushes())
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
        self._more = more_text(self.hidden_count)
        self._fit()
        self.getPlotItem().setYRange(-0.6, max(count, 3) - 0.4, padding=0)

    def set_threshold(self, threshold: float) -> None:
        """Move the "unsure below" line and recolour the top bar for it."""
        self._threshold = threshold
        self.threshold_line.setPos(threshold)
        if self.shown:
            self.bars.setOpts(brushes=self._brushes())

    def clear_scores(self) -> None:
        """Show no bars (nothing classified, or the scores on screen belong to a model no longer used)."""
        self.shown = []
        self.labels_shown = []
        self.hidden_count = 0
        self.bars.setOpts(x0=[], y=[], width=[], brushes=[])
        for label in self.labels:
            label.hide()
        self._more = ""
        self._fit()

    def _rows_y(self) -> np.ndarray:
        return np.arange(len(self.shown))[::-1].astype(float)  # best at the top

    def _brushes(self) -> list:
        brushes = [pg.mkBrush(_OTHER) for _ in self.shown]
        if brushes:
            brushes[0] = pg.mkBrush(top_colour(self.shown[0][1], self._threshold))
        return brushes

    # -- fitting names, captions and ticks into the room there is -----------------------------
    def _fit(self) -> None:
        """Elide the names to the room there is and make their column exactly as wide as they are; keep
        room for the "100%" tick and fit the caption under the chart (recomputed on every resize)."""
        plot = self.getPlotItem()
        left, bottom = plot.getAxis("left"), plot.getAxis("bottom")
        metrics = QFontMetrics(left.style["tickFont"] or self.font())
        room = max(60, int(self.width() * _NAMES_SHARE) - _NAMES_SLACK)
        self.labels_shown = [metrics.elidedText(name, Qt.TextElideMode.ElideRight, room) for name, _ in self.shown]
        ys = self._rows_y()
        left.setTicks([[(ys[i], text) for i, text in enumerate(self.labels_shown)]])
        names_width = max((metrics.horizontalAdvance(t) for t in self.labels_shown), default=20) + _NAMES_SLACK
        left.setWidth(names_width)
        # pyqtgraph drops a tick label that pokes out of its axis: "100%" needs half its width past 1.0
        chart_width = max(100, self.width() - names_width - 16)
        half_label = metrics.horizontalAdvance("100%") / 2 + 6
        plot.setXRange(0, 1 + half_label / chart_width, padding=0)
        # The caption sits under the percentages, where a chart's caption belongs; it never covers a bar.
        caption = QFontMetrics(bottom.label.font()).elidedText(self._more, Qt.TextElideMode.ElideRight,
                                                               chart_width)
        bottom.setLabel(caption, color="#666")
        bottom.showLabel(bool(caption))

    def resizeEvent(self, event: QResizeEvent | None) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        if hasattr(self, "_more"):  # pyqtgraph calls this before __init__ is done
            self._fit()

    # -- full names on hover --------------------------------------------------------------------
    def row_at(self, pos: QPoint) -> int | None:
        """The index in ``shown`` of the bar (or its name) at ``pos`` in viewport coordinates."""
        if not self.shown:
            return None
        plot = self.getPlotItem()
        scene = self.mapToScene(pos)
        left_edge = plot.getAxis("left").sceneBoundingRect().left()
        box = plot.vb.sceneBoundingRect()
        if not (left_edge <= scene.x() <= box.right() and box.top() <= scene.y() <= box.bottom()):
            return None
        y = plot.vb.mapSceneToView(scene).y()
        row = len(self.shown) - 1 - int(round(y))
        return row if 0 <= row < len(self.shown) and abs(y - round(y)) <= 0.5 else None

    def viewportEvent(self, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            row = self.row_at(event.pos())
            if row is None:
                QToolTip.hideText()
            else:
                name, score = self.shown[row]
                QToolTip.showText(event.globalPos(), f"{name}: {score:.1%}", self.viewport())
            return True
        return super().viewportEvent(event)
