"""Large preview of one image, decoded in the background (never blocks the window).

The decode runs in a task slot: showing another image supersedes the decode of the previous one, so a
large image that takes longer can never replace the small one asked for after it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QDialog, QLabel, QVBoxLayout, QWidget

from imgclf_gui.gui.common.pictures import rgb_to_pixmap
from imgclf_gui.gui.common.tasks import TaskRunner

PREVIEW_SIDE = 1400


def _decode(state, path: Path) -> np.ndarray:
    """Worker: the picture as an RGB array (never a Qt object: gui/common/pictures.py)."""
    from imgclf_gui.core.images.decode import load_rgb

    return load_rgb(path, max_side=PREVIEW_SIDE)


class PreviewDialog(QDialog):
    """Non-modal; ``show_image(path)`` replaces the picture shown."""

    def __init__(self, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.setWindowTitle("Preview")
        self.resize(900, 700)
        self.label = QLabel(self)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setMinimumSize(200, 200)
        self.caption = QLabel(self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.caption)
        self._pixmap = QPixmap()
        self._slot = ("preview", id(self))

    def show_image(self, path: Path) -> None:
        path = Path(path)
        self.caption.setText(str(path))
        self._pixmap = QPixmap()  # a resize while decoding must not bring back the previous picture
        self.label.clear()
        self.label.setText("Loading…")
        self.tasks.start(_decode, path, on_done=self._on_loaded, on_error=self._on_failed, name="preview",
                         slot=self._slot)
        self.show()
        self.raise_()

    def _on_loaded(self, rgb: np.ndarray) -> None:
        self._pixmap = rgb_to_pixmap(rgb)
        self._fit()

    def _on_failed(self, failure) -> None:
        self.label.setText(f"Cannot show this image: {failure.message}")

    def _fit(self) -> None:
        if not self._pixmap.isNull():
            self.label.setPixmap(self._pixmap.scaled(self.label.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                                     Qt.TransformationMode.SmoothTransformation))

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit()
