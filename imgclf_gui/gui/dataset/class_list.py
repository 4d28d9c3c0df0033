"""The class list: inbox first (its key is 0), then each class with its key, image count and a balance bar.

Images dragged from the grid, or files from a file manager, can be dropped on a class.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QDropEvent, QPainter, QPalette
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from imgclf_gui.core.project import rules
from imgclf_gui.gui.common.project_model import INBOX, ProjectModel
from imgclf_gui.gui.common.thumbnail_grid import PATHS_MIME

NameRole = Qt.ItemDataRole.UserRole + 1
CountRole = Qt.ItemDataRole.UserRole + 2
KeyRole = Qt.ItemDataRole.UserRole + 3
ShareRole = Qt.ItemDataRole.UserRole + 4  # count / largest class count, for the balance bar


class ClassListModel(QAbstractListModel):
    """Rows: the inbox, then the project's classes (bound to ``ProjectModel.classes_changed``)."""

    def __init__(self, project: ProjectModel, parent=None) -> None:
        super().__init__(parent)
        self._project = project
        self._rows: list[tuple[str, int, str]] = []
        project.classes_changed.connect(self._on_classes_changed)
        project.project_changed.connect(lambda _root: self._on_classes_changed())
        self._on_classes_changed()

    def _on_classes_changed(self) -> None:
        rows = []
        if self._project.root is not None:
            rows = [(INBOX, self._project.inbox_count(), rules.INBOX_KEY)]
            rows += [(c.name, c.count, c.key) for c in self._project.classes()]
        if [r[0] for r in rows] == [r[0] for r in self._rows]:
            self._rows = rows  # same names: update in place so the selection stays
            if rows:
                self.dataChanged.emit(self.index(0), self.index(len(rows) - 1))
            return
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()

    def row_of(self, name: str) -> int | None:
        return next((i for i, r in enumerate(self._rows) if r[0] == name), None)

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        name, count, key = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, NameRole):
            return "Unsorted (inbox)" if name == INBOX and role == Qt.ItemDataRole.DisplayRole else name
        if role == CountRole:
            return count
        if role == KeyRole:
            return key
        if role == ShareRole:
            largest = max((r[1] for r in self._rows[1:]), default=0)
            return count / largest if largest and name != INBOX else -1.0
        if role == Qt.ItemDataRole.ToolTipRole:
            hint = f" — press {key} to send the selected images here" if key else ""
            label = "The inbox (unsorted)" if name == INBOX else name
            return f"{label}: {rules.count_words(count, 'image')}{hint}"
        return None

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        return super().flags(index) | Qt.ItemFlag.ItemIsDropEnabled


class ClassDelegate(QStyledItemDelegate):
    """Draws: [key] name ........ count, with a thin bar showing the class's size against the largest."""

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:  # noqa: N802
        return QSize(200, option.fontMetrics.height() * 2 + 10)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        style = opt.widget.style() if opt.widget else None
        if style:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        pal = option.palette
        text_color = pal.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        r = option.rect.adjusted(8, 4, -8, -4)
        fm = option.fontMetrics
        line = QRect(r.left(), r.top(), r.width(), fm.height() + 2)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        x = r.left()
        key = index.data(KeyRole)
        if key:
            badge = QRect(x, line.top() + 1, fm.horizontalAdvance("0") + 10, fm.height())
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(128, 128, 128, 70))
            painter.drawRoundedRect(badge, 4, 4)
            painter.setPen(text_color)
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, key)
            x = badge.right() + 8
        count = str(index.data(CountRole))
        count_w = fm.horizontalAdvance(count)
        painter.setPen(text_color)
        name_rect = QRect(x, line.top(), r.right() - x - count_w - 8, line.height())
        painter.drawText(name_rect, Qt.AlignmentFlag.AlignVCenter,
                         fm.elidedText(index.data(), Qt.TextElideMode.ElideRight, name_rect.width()))
        painter.drawText(QRect(r.right() - count_w, line.top(), count_w, line.height()),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, count)
        share = float(index.data(ShareRole))
        if share >= 0:
            bar = QRect(x, line.bottom() + 4, r.right() - x, 4)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(128, 128, 128, 50))
            painter.drawRoundedRect(bar, 2, 2)
            colour = (QColor(70, 160, 90) if share >= 0.5 else QColor(230, 160, 40) if share >= 0.2
                      else QColor(210, 70, 60))
            painter.setBrush(colour)
            painter.drawRoundedRect(QRect(bar.left(), bar.top(), max(3, int(bar.width() * share)), 4), 2, 2)
        painter.restore()


class ClassListView(QListView):
    """``images_dropped(class_name, paths, internal)``: internal = dragged from our own grid."""

    images_dropped = Signal(str, list, bool)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setItemDelegate(ClassDelegate(self))
        self.setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)
        self.setDropIndicatorShown(True)
        self.setUniformItemSizes(True)

    def current_name(self) -> str | None:
        index = self.currentIndex()
        return index.data(NameRole) if index.isValid() else None

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls() or event.mimeData().hasFormat(PATHS_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        if self.indexAt(event.position().toPoint()).isValid():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        index = self.indexAt(event.position().toPoint())
        mime = event.mimeData()
        if not index.isValid():
            event.ignore()
            return
        internal = mime.hasFormat(PATHS_MIME)
        if internal:
            paths = [Path(p) for p in bytes(mime.data(PATHS_MIME)).decode("utf-8").splitlines() if p]
        else:
            paths = [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()]
        event.setDropAction(Qt.DropAction.MoveAction if internal else Qt.DropAction.CopyAction)
        event.accept()
        if paths:
            self.images_dropped.emit(index.data(NameRole), paths, internal)
