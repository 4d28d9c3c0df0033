"""The picture pane of the Classify tab and what a drop or a paste carries.

``DropArea`` shows the classified picture scaled to fit (or an invitation to drop one) with a dashed
frame; the tab itself accepts the drops, so a drop anywhere on it works. :func:`payload_of` turns a
drop's or the clipboard's ``QMimeData`` into file paths or a decoded picture.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QMimeData, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from imgclf_gui.gui.common.pictures import qimage_to_rgb

HINT = "Drop images or a folder here\n(or Open Images…, or paste with Ctrl+V)"


def payload_of(mime: QMimeData) -> list[Path] | np.ndarray | None:
    """Local file paths of a drop (files and folders), else an image it carries as RGB, else None."""
    urls = [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()] if mime.hasUrls() else []
    if urls:
        return urls
    if mime.hasImage():
        image = mime.imageData()
        if isinstance(image, QImage) and not image.isNull():
            return qimage_to_rgb(image)
    return None


class DropArea(QWidget):
    """Shows one picture scaled to fit, a caption-free frame, or the drop hint (``set_text``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pixmap = QPixmap()
        self._text = HINT
        self._highlight = False
        self.setMinimumSize(200, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(420, 360)

    def set_image(self, image: QImage) -> None:
        self._pixmap = QPixmap.fromImage(image)
        self._text = ""
        self.update()

    def set_text(self, text: str, keep_image: bool = False) -> None:
        """Show ``text`` (over the picture when ``keep_image``, e.g. "Classifying…")."""
        if not keep_image:
            self._pixmap = QPixmap()
        self._text = text
        self.update()

    def has_image(self) -> bool:
        return not self._pixmap.isNull()

    def set_highlight(self, on: bool) -> None:
        """Emphasise the frame while something is dragged over the tab."""
        self._highlight = on
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        rect = self.rect().adjusted(4, 4, -4, -4)
        pen = QPen(self.palette().highlight().color() if self._highlight else QColor(160, 160, 160))
        pen.setStyle(Qt.PenStyle.DashLine)
        pen.setWidth(2)
        painter.setPen(pen)
        painter.drawRoundedRect(rect, 8, 8)
        if not self._pixmap.isNull():
            inner = rect.adjusted(6, 6, -6, -6)
            scaled = self._pixmap.size().scaled(inner.size(), Qt.AspectRatioMode.KeepAspectRatio)
            x = inner.x() + (inner.width() - scaled.width()) // 2
            y = inner.y() + (inner.height() - scaled.height()) // 2
            painter.drawPixmap(x, y, scaled.width(), scaled.height(), self._pixmap)
        if self._text:
            painter.setPen(self.palette().text().color() if self._pixmap.isNull() else QColor("white"))
            if not self._pixmap.isNull():  # readable over any picture
                band = rect.adjusted(0, rect.height() // 2 - 20, 0, -(rect.height() // 2 - 20))
                painter.fillRect(band, QColor(0, 0, 0, 140))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._text)
        painter.end()
