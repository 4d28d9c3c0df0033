"""A virtualised grid of image thumbnails for 20,000 images.

``ThumbnailModel`` holds only paths. The view asks for an icon only for the rows it paints; a missing icon
is requested from a small background loader (through :class:`TaskRunner`, newest requests first, at most
one batch in flight, in the model's task slot) and a placeholder shown until it arrives. Decoded thumbnails
are cached on disk (:class:`~imgclf_gui.core.images.thumbnails.ThumbnailCache`) and the latest few thousand
in memory. A model may be given a badge for each image (``set_badges``: the inbox's suggestions, "circle
97%"), which the grid paints over the bottom of the thumbnail, in amber when the suggestion is unsure.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QAbstractListModel, QMimeData, QModelIndex, QRect, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDropEvent,
    QKeyEvent,
    QPainter,
    QPixmap,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from imgclf_gui.core.images.thumbnails import ThumbnailCache, ThumbnailError, thumbnail_rgb
from imgclf_gui.core.support.tasks_api import Cancelled
from imgclf_gui.gui.common.pictures import rgb_to_pixmap
from imgclf_gui.gui.common.tasks import TaskRunner

PATHS_MIME = "application/x-imgclf-paths"
PathRole = Qt.ItemDataRole.UserRole + 1
BadgeRole = Qt.ItemDataRole.UserRole + 2  #: (text, unsure) or None
#: what a badge says about one image: (text, unsure) or None for no badge
BadgeFn = Callable[[Path], "tuple[str, bool] | None"]
BATCH = 24
MAX_PENDING = 400
MEMORY_ITEMS = 3000


def _placeholder(side: int, broken: bool = False) -> QPixmap:
    pixmap = QPixmap(side, side)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(220, 120, 110) if broken else QColor(128, 128, 128, 60))
    painter.drawRoundedRect(6, 6, side - 12, side - 12, 8, 8)
    if broken:
        painter.setPen(QColor("white"))
        painter.drawText(pixmap.rect(), Qt.AlignmentFlag.AlignCenter, "unreadable")
    painter.end()
    return pixmap


def _load_batch(state, cache: ThumbnailCache, paths: list[Path]) -> None:
    """Worker: thumbnails as RGB arrays (never a Qt object: gui/common/pictures.py), one partial result each."""
    for path in paths:
        if state.should_stop():
            raise Cancelled()
        try:
            state.set_partial_result((path, thumbnail_rgb(cache.get_or_make(path)), ""))
        except (ThumbnailError, OSError) as exc:
            state.set_partial_result((path, None, str(exc)))


class ThumbnailModel(QAbstractListModel):
    """Paths of one folder (or of a health finding). ``decoded`` counts thumbnails produced (tests)."""

    def __init__(self, tasks: TaskRunner, side: int = 128, parent=None) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self.side = side
        self.paths: list[Path] = []
        self._rows: dict[Path, int] = {}
        self._cache: ThumbnailCache | None = None
        self._pixmaps: OrderedDict[Path, QPixmap] = OrderedDict()
        self._broken: dict[Path, str] = {}
        self._pending: OrderedDict[Path, None] = OrderedDict()
        self._slot = ("thumbnails", id(self))  # the batch in flight
        self.decoded = 0
        self._badge: BadgeFn | None = None
        self._placeholder = _placeholder(side)
        self._broken_icon = _placeholder(side, broken=True)
        self._kick_timer = QTimer(self, singleShot=True, interval=0)
        self._kick_timer.timeout.connect(self._kick)

    # -- content --------------------------------------------------------------------------------
    def set_paths(self, paths: list[Path], cache: ThumbnailCache | None) -> None:
        """Show ``paths``; thumbnails come from ``cache`` (another cache, e.g. another project or size,
        forgets those held in memory, and the batch in flight is dropped so none of its arrive late)."""
        self.beginResetModel()
        self.paths = list(paths)
        self._rows = {p: i for i, p in enumerate(self.paths)}
        if cache is not self._cache:
            self._tasks.cancel_slot(self._slot)
            self._pixmaps.clear()
            self._broken.clear()
        self._cache = cache
        self._pending.clear()
        self.endResetModel()

    def set_side(self, side: int, cache: ThumbnailCache | None) -> None:
        """Thumbnails of another size, from ``cache`` (made for that size)."""
        self.side = side
        self._placeholder = _placeholder(side)
        self._broken_icon = _placeholder(side, broken=True)
        self.set_paths(self.paths, cache)

    def sync(self, paths: list[Path]) -> None:
        """Show ``paths``; pure removals keep the other rows (and selection) in place."""
        if paths == self.paths:
            return
        keep = set(paths)
        if set(self.paths) >= keep and [p for p in self.paths if p in keep] == paths:
            for row in range(len(self.paths) - 1, -1, -1):
                if self.paths[row] not in keep:
                    self.beginRemoveRows(QModelIndex(), row, row)
                    del self.paths[row]
                    self.endRemoveRows()
            self._rows = {p: i for i, p in enumerate(self.paths)}
            return
        self.set_paths(paths, self._cache)

    def path(self, row: int) -> Path:
        return self.paths[row]

    def set_badges(self, badge: BadgeFn | None) -> None:
        """Paint ``badge(path)`` on each thumbnail (None: no badges); call :meth:`badges_changed` when
        what it returns changes."""
        self._badge = badge
        self.badges_changed()

    def badges_changed(self) -> None:
        if self.paths:
            self.dataChanged.emit(self.index(0), self.index(len(self.paths) - 1),
                                  [BadgeRole, Qt.ItemDataRole.ToolTipRole])

    def row_of(self, path: Path) -> int | None:
        return self._rows.get(path)

    # -- Qt model interface ---------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.paths)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        path = self.paths[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return path.name
        if role == Qt.ItemDataRole.DecorationRole:
            return self._icon(path)
        if role == Qt.ItemDataRole.ToolTipRole:
            reason = self._broken.get(path)
            badge = self._badge(path) if self._badge is not None else None
            suggested = f"\nSuggested: {badge[0]}{' (unsure)' if badge[1] else ''}" if badge else ""
            return f"{path}\n{reason}" if reason else f"{path}{suggested}"
        if role == BadgeRole:
            return self._badge(path) if self._badge is not None else None
        if role == PathRole:
            return str(path)
        return None

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsDragEnabled if index.isValid() else base

    def mimeTypes(self) -> list[str]:  # noqa: N802
        return [PATHS_MIME, "text/uri-list"]

    def mimeData(self, indexes) -> QMimeData:  # noqa: N802
        paths = [self.paths[i.row()] for i in sorted(indexes, key=lambda i: i.row())]
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
        mime.setData(PATHS_MIME, "\n".join(map(str, paths)).encode("utf-8"))
        return mime

    def supportedDragActions(self) -> Qt.DropAction:  # noqa: N802
        return Qt.DropAction.MoveAction | Qt.DropAction.CopyAction

    # -- loading --------------------------------------------------------------------------------
    def _icon(self, path: Path) -> QPixmap:
        pixmap = self._pixmaps.get(path)
        if pixmap is not None:
            self._pixmaps.move_to_end(path)
            return pixmap
        if path in self._broken:
            return self._broken_icon
        if self._cache is not None:
            self._pending[path] = None
            self._pending.move_to_end(path)  # newest first: what is on screen now wins
            while len(self._pending) > MAX_PENDING:
                self._pending.popitem(last=False)
            self._kick_timer.start()
        return self._placeholder

    def _kick(self) -> None:
        if self._tasks.slot_task(self._slot) is not None or not self._pending or self._cache is None:
            return
        batch = []
        while self._pending and len(batch) < BATCH:
            batch.append(self._pending.popitem(last=True)[0])
        self._tasks.start(
            _load_batch, self._cache, batch, on_partial=self._on_thumbnail, partial_mode="all",
            on_done=self._on_batch_end, on_cancelled=self._on_batch_end, on_error=self._on_batch_end,
            name="thumbnails", slot=self._slot)

    def _on_batch_end(self, *_args) -> None:
        self._kick()

    def _on_thumbnail(self, item: tuple[Path, np.ndarray | None, str]) -> None:
        path, rgb, reason = item
        self.decoded += 1
        if rgb is None:
            self._broken[path] = reason or "cannot be decoded"
        else:
            self._pixmaps[path] = rgb_to_pixmap(rgb)
            while len(self._pixmaps) > MEMORY_ITEMS:
                self._pixmaps.popitem(last=False)
        row = self._rows.get(path)
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])

    def stop(self) -> None:
        """Load nothing more (the project is closing): drop the waiting requests and the batch in flight."""
        self._pending.clear()
        self._tasks.cancel_slot(self._slot)


class _BadgeDelegate(QStyledItemDelegate):
    """Paints an item as usual, then its badge over the bottom of the thumbnail. Every thumbnail gets the
    same square (small pictures centred in it), so a 28-pixel scan lines up with camera photos."""

    def initStyleOption(self, option: QStyleOptionViewItem, index: QModelIndex) -> None:  # noqa: N802
        super().initStyleOption(option, index)
        view = option.widget
        if isinstance(view, QListView):
            option.decorationSize = view.iconSize()

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        super().paint(painter, option, index)
        badge = index.data(BadgeRole)
        if not badge:
            return
        text, unsure = badge
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        widget = opt.widget
        style = widget.style() if widget is not None else None
        icon = style.subElementRect(QStyle.SubElement.SE_ItemViewItemDecoration, opt, widget) if style else opt.rect
        painter.save()
        painter.setFont(opt.font)
        metrics = painter.fontMetrics()
        height = metrics.height() + 4
        width = min(opt.rect.width() - 8, metrics.horizontalAdvance(text) + 14)
        # over the bottom of a thumbnail, or just below one too small to hold it (a 28-pixel scan)
        top = icon.bottom() - height - 2 if icon.height() >= 3 * height else icon.bottom() + 3
        box = QRect(icon.center().x() - width // 2, top, width, height)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(176, 104, 0, 225) if unsure else QColor(20, 20, 20, 200))
        painter.drawRoundedRect(box, height / 2, height / 2)
        painter.setPen(QColor("white"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter,
                         metrics.elidedText(text, Qt.TextElideMode.ElideMiddle, box.width() - 10))
        painter.restore()


class ThumbnailGrid(QListView):
    """The grid view: icon mode, uniform sizes, batched layout, multi-select, drag out, drop files in.

    ``key_typed(str)`` for a plain key (labelling hotkeys), ``accept_requested()`` for Enter (take the
    suggestions of the selected images), ``files_dropped(list)`` for files dropped from outside the app,
    ``preview_requested(Path)`` on Space / double-click. Badges (``BadgeRole``) are painted on thumbnails.
    """

    key_typed = Signal(str)
    accept_requested = Signal()
    files_dropped = Signal(list)
    preview_requested = Signal(object)

    def __init__(self, side: int = 128, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(200)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        # setMovement(Static) turned drops off on the viewport, where Qt delivers them, and the calls above
        # do not turn them back on (the view's own flag was already set): without this no file drop lands.
        self.viewport().setAcceptDrops(True)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setWordWrap(False)
        self.setSpacing(6)
        self.setItemDelegate(_BadgeDelegate(self))
        self.set_side(side)
        self.doubleClicked.connect(lambda i: self.preview_requested.emit(Path(i.data(PathRole))))

    def set_side(self, side: int, min_cell_width: int | None = None) -> None:
        """Thumbnails of ``side`` pixels in cells at least ``min_cell_width`` wide (default: side + 24);
        the cells widen so that the columns fill the width of the view."""
        self._side = side
        self._min_cell_width = max(min_cell_width or 0, side + 24)
        self.setIconSize(QSize(side, side))
        self._fit_grid()

    def set_min_cell_width(self, width: int) -> None:
        """Cells at least ``width`` wide (e.g. for captions longer than a file name)."""
        self.set_side(self._side, width)

    @property
    def min_cell_width(self) -> int:
        return self._min_cell_width

    def _layout_width(self) -> int:
        # QListView lays items out in the largest viewport minus room for a vertical scroll bar, reserved
        # even while the bar is hidden (so the layout does not jump when it appears): use the same width.
        width = self.maximumViewportSize().width()
        if self.verticalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAsNeeded:
            width -= self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, self.verticalScrollBar())
        return width

    def _fit_grid(self) -> None:
        """Spread the columns evenly: as many minimum-width cells as fit, then share out what is left.
        Only the grid size changes, so uniform item sizes and the batched (virtualised) layout stay."""
        # one pixel spare: the icon-mode layout wraps a cell that would touch the last pixel column
        width = self._layout_width() - 1
        columns = max(1, width // self._min_cell_width)
        size = QSize(max(self._min_cell_width, width // columns), self._side + 34)
        if size != self.gridSize():
            self.setGridSize(size)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        self._fit_grid()
        super().resizeEvent(event)

    def selected_paths(self) -> list[Path]:
        rows = sorted(i.row() for i in self.selectionModel().selectedIndexes())
        model = self.model()
        return [model.path(r) for r in rows]  # type: ignore[attr-defined]

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        text = event.text()
        plain = not (event.modifiers() & ~(Qt.KeyboardModifier.KeypadModifier | Qt.KeyboardModifier.ShiftModifier))
        if event.key() == Qt.Key.Key_Space and self.currentIndex().isValid():
            self.preview_requested.emit(Path(self.currentIndex().data(PathRole)))
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and plain:
            self.accept_requested.emit()
            return
        if plain and text and text.isprintable() and not text.isspace():
            self.key_typed.emit(text.lower())
            return
        super().keyPressEvent(event)

    # Drops from outside (a file manager) import files; internal drags only go to the class list.
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls() and not event.mimeData().hasFormat(PATHS_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        self.dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        urls = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if urls and not event.mimeData().hasFormat(PATHS_MIME):
            event.acceptProposedAction()
            self.files_dropped.emit(urls)
        else:
            event.ignore()


__all__ = ["ThumbnailModel", "ThumbnailGrid", "PATHS_MIME", "PathRole", "BadgeRole"]
