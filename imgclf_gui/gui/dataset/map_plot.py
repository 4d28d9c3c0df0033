"""The dataset map's plot: one pyqtgraph scatter of every image, hover, click, lasso and rectangle selection.

Built for 20,000 points: ONE ``ScatterPlotItem`` in pixel mode fed whole arrays (positions, and per point a
reference to one of a few shared brushes, one per class), so panning and zooming repaint without Python
work per point. Hovering finds the nearest point with one vectorised distance computation; a lasso or a
rectangle selects by a vectorised point-in-polygon test. Small extra items draw the suspected mislabels'
rings and the selection. Rows are the map's rows; ``set_points(..., shown)`` says which of them are drawn.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainterPath
from PySide6.QtWidgets import QGraphicsPathItem, QWidget

PAN, LASSO, RECTANGLE = "pan", "lasso", "rectangle"
INBOX_GREY = QColor(150, 150, 150, 150)
MARK_PEN = pg.mkPen(QColor(220, 0, 0), width=2)
CHOSEN_PEN = pg.mkPen(QColor(20, 20, 20), width=1.5)
HOVER_PX = 8  # how close (pixels) the pointer must be to a point to show it
POINT_SIZE = 7


def polygon_contains(polygon: np.ndarray, points: np.ndarray) -> np.ndarray:
    """bool (N,): which (N, 2) ``points`` lie inside the closed ``polygon`` (V, 2) (even-odd rule, as a
    lasso is drawn). Vectorised over points; one pass per edge."""
    inside = np.zeros(len(points), bool)
    if len(polygon) < 3 or len(points) == 0:
        return inside
    x, y = points[:, 0], points[:, 1]
    x0, y0 = polygon[-1]
    for x1, y1 in polygon:
        crosses = (y1 > y) != (y0 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = (x0 - x1) * (y - y1) / (y0 - y1) + x1
        inside ^= crosses & (x < at)
        x0, y0 = x1, y1
    return inside


class _MapViewBox(pg.ViewBox):
    """A ViewBox whose left drag draws a lasso or rectangle in those modes (the wheel always zooms, the
    right button keeps pyqtgraph's menu and zoom) and whose left click reports where."""

    def __init__(self, plot: MapPlot) -> None:
        super().__init__(enableMenu=False)
        self.plot = plot
        self.mode = PAN
        self._trace: list[QPointF] = []
        self._outline = QGraphicsPathItem()
        self._outline.setPen(pg.mkPen(QColor(30, 30, 30), width=1.5, style=Qt.PenStyle.DashLine))
        self._outline.setZValue(1e9)
        self.addItem(self._outline, ignoreBounds=True)

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802 - pyqtgraph override
        if self.mode == PAN or ev.button() != Qt.MouseButton.LeftButton:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        here = self.mapSceneToView(ev.scenePos())
        if ev.isStart():
            self._trace = [self.mapSceneToView(ev.buttonDownScenePos())]
        self._trace = self._trace[:1] + [here] if self.mode == RECTANGLE else self._trace + [here]
        polygon = self._polygon()
        path = QPainterPath()
        path.moveTo(*polygon[0])
        for x, y in polygon[1:]:
            path.lineTo(x, y)
        path.closeSubpath()
        self._outline.setPath(path)
        if ev.isFinish():
            self._outline.setPath(QPainterPath())
            self.plot.select_polygon(polygon)

    def _polygon(self) -> np.ndarray:
        if self.mode == RECTANGLE:
            (x0, y0), (x1, y1) = [(p.x(), p.y()) for p in (self._trace[0], self._trace[-1])]
            return np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], np.float64)
        return np.array([(p.x(), p.y()) for p in self._trace], np.float64)

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 - pyqtgraph override
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self.plot.click_at(ev.scenePos())
        else:
            super().mouseClickEvent(ev)


class MapPlot(pg.PlotWidget):
    """Signals: ``hovered(row, global position)`` (row -1: none), ``clicked(row)``, ``selected(rows)``."""

    hovered = Signal(int, QPoint)
    clicked = Signal(int)
    selected = Signal(object)  # np.ndarray of rows

    def __init__(self, parent: QWidget | None = None) -> None:
        self.view = _MapViewBox(self)
        super().__init__(parent, viewBox=self.view, background="w")
        self.setMouseTracking(True)
        for name in ("left", "bottom"):
            self.getPlotItem().hideAxis(name)
        self.getPlotItem().hideButtons()
        self.view.setAspectLocked(True)
        self.points = pg.ScatterPlotItem(pxMode=True, size=POINT_SIZE, pen=None, antialias=False)
        self.marks = pg.ScatterPlotItem(pxMode=True, size=POINT_SIZE + 7, pen=MARK_PEN, brush=None, symbol="o")
        self.chosen = pg.ScatterPlotItem(pxMode=True, size=POINT_SIZE + 3, pen=CHOSEN_PEN, brush=None, symbol="o")
        self.hover_ring = pg.ScatterPlotItem(pxMode=True, size=POINT_SIZE + 9, pen=pg.mkPen("k", width=2),
                                             brush=None, symbol="o")
        for z, item in enumerate((self.points, self.chosen, self.marks, self.hover_ring)):
            item.setZValue(z)
            self.view.addItem(item)
        self.xy = np.zeros((0, 2), np.float32)  # every row's position (NaN where not drawn)
        self.shown = np.zeros(0, np.int64)  # rows drawn, in drawing order
        self.marked = np.zeros(0, bool)
        self.selection = np.zeros(0, np.int64)
        self._brush_of_row = np.zeros(0, object)
        self._order = np.zeros(0, np.int64)  # drawing order: class rows, then the inbox on top
        self._hover = -1
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        # A click on a point is taken by the topmost scatter item there (a ring, the selection, the points)
        # before the ViewBox sees it
        for item in (self.points, self.chosen, self.marks, self.hover_ring):
            item.sigClicked.connect(lambda _item, _spots, ev: self.click_at(ev.scenePos()))

    # -- data -------------------------------------------------------------------------------------
    def set_points(self, xy: np.ndarray, codes: np.ndarray, colours: list[QColor], marked: np.ndarray) -> None:
        """Every row's position (NaN rows are not drawn), its colour index into ``colours`` (-1: the inbox,
        grey), and which rows carry a mislabel ring. Inbox points are drawn last, on top: they are the ones
        to sort, and a grey dot under a cluster of its likely class would be lost."""
        brushes = np.array([QBrush(c) for c in colours] + [QBrush(INBOX_GREY)], dtype=object)
        self._brush_of_row = brushes[np.where(codes < 0, len(colours), codes)]
        self.marked = np.asarray(marked, bool)
        self.move_points(xy, codes)

    def move_points(self, xy: np.ndarray, codes: np.ndarray | None = None) -> None:
        """New positions for the same rows and colours (a layout forming, or another layout chosen)."""
        self.xy = np.asarray(xy, np.float32)
        finite = np.isfinite(self.xy).all(axis=1)
        if codes is not None or len(self._order) != len(self.xy):
            inbox = np.asarray(codes) < 0 if codes is not None else np.zeros(len(self.xy), bool)
            self._order = np.argsort(inbox, kind="stable")
        self.shown = self._order[finite[self._order]]
        self.points.setData(pos=self.xy[self.shown], brush=self._brush_of_row[self.shown])
        rings = self.shown[self.marked[self.shown]] if len(self.marked) == len(self.xy) else self.shown[:0]
        self.marks.setData(pos=self.xy[rings])
        self.set_selection(self.selection)
        self._set_hover(-1)

    def set_selection(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows, np.int64)
        self.selection = rows[rows < len(self.xy)]  # rows of a map that was replaced are dropped
        drawn = self.selection[np.isfinite(self.xy[self.selection]).all(axis=1)]
        self.chosen.setData(pos=self.xy[drawn] if len(drawn) else np.zeros((0, 2)))

    def reset_view(self) -> None:
        """Fit every point again (and follow them while the layout forms, until the user pans or zooms)."""
        self.view.enableAutoRange()

    def set_mode(self, mode: str) -> None:
        self.view.mode = mode

    # -- pointer ----------------------------------------------------------------------------------
    def row_near(self, scene_pos: QPointF, max_px: float = HOVER_PX) -> int:
        """The drawn row nearest to a scene position within ``max_px`` pixels, or -1."""
        if not len(self.shown) or not self.view.sceneBoundingRect().contains(scene_pos):
            return -1
        at = self.view.mapSceneToView(scene_pos)
        px, py = self.view.viewPixelSize()
        if px <= 0 or py <= 0:
            return -1
        d2 = ((self.xy[self.shown, 0] - at.x()) / px) ** 2 + ((self.xy[self.shown, 1] - at.y()) / py) ** 2
        nearest = int(np.argmin(d2))
        return int(self.shown[nearest]) if d2[nearest] <= max_px ** 2 else -1

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        row = self.row_near(scene_pos)
        if row != self._hover:
            self._set_hover(row)
        if row >= 0:
            self.hovered.emit(row, self.mapToGlobal(self.mapFromScene(scene_pos)))

    def _set_hover(self, row: int) -> None:
        if row == self._hover and row >= 0:
            return
        self._hover = row
        self.hover_ring.setData(pos=self.xy[[row]] if row >= 0 else np.zeros((0, 2)))
        if row < 0:
            self.hovered.emit(-1, QPoint())

    def leaveEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().leaveEvent(event)
        self._set_hover(-1)

    def click_at(self, scene_pos: QPointF) -> None:
        row = self.row_near(scene_pos)
        if row >= 0:
            self.clicked.emit(row)

    def select_polygon(self, polygon: np.ndarray) -> None:
        """Select the drawn points inside a polygon in view coordinates (what a lasso or rectangle made)."""
        inside = polygon_contains(polygon, self.xy[self.shown].astype(np.float64))
        rows = np.sort(self.shown[inside])
        self.set_selection(rows)
        self.selected.emit(rows)
