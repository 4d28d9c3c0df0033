"""Pixels between numpy and Qt, and the rule for threads: a worker hands pixels over as a numpy array;
QImage and QPixmap are made on the GUI thread only.

A QImage is thread-safe in Qt's terms, but making one on a worker makes PySide6 register a new Python wrapper
there while that thread holds the GIL. We saw the tests hang for good (once in CI, once in some 340 runs
here), with a thumbnail worker inside ``QImage.fromData`` and the GUI thread stuck in Qt's event loop.
A numpy array is plain Python data: nothing Qt happens off the GUI thread, and the copy into a QImage on the
GUI thread costs microseconds.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap


def qimage_to_rgb(image: QImage) -> np.ndarray:
    """A QImage as uint8 (H, W, 3) RGB (transparency composited on white, as core.images does)."""
    if image.hasAlphaChannel():
        flat = QImage(image.size(), QImage.Format.Format_RGB888)
        flat.fill(QColor("white"))
        painter = QPainter(flat)
        painter.drawImage(0, 0, image)
        painter.end()
        image = flat
    else:
        image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h, stride = image.width(), image.height(), image.bytesPerLine()
    data = np.frombuffer(image.constBits(), np.uint8, count=stride * h).reshape(h, stride)
    return np.ascontiguousarray(data[:, : w * 3].reshape(h, w, 3))


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """uint8 (H, W, 3) RGB as a QImage that owns its pixels (GUI thread only)."""
    h, w, _ = rgb.shape
    return QImage(np.ascontiguousarray(rgb).data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def rgb_to_pixmap(rgb: np.ndarray) -> QPixmap:
    """uint8 (H, W, 3) RGB as a QPixmap (GUI thread only)."""
    return QPixmap.fromImage(rgb_to_qimage(rgb))
