"""Large preview of one image, decoded in the background (never blocks the window)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QDialog, QLabel, QVBoxLayout, QWidget

from imgclf_gui.gui.common.tasks import TaskRunner

PREVIEW_SIDE = 1400


def _decode(state, path: Path) -> QImage:
    from imgclf_gui.core.images.decode import load_rgb

    rgb = load_rgb(path, max_side=PREVIEW_SIDE)
    h, w, _ = rgb.shape
    return QImage(rgb.tobytes(), w, h, 3 * w, QImage.Format.Format_RGB888).copy()


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
        self._task = None

    def show_image(self, path: Path) -> None:
        path = Path(path)
        self.caption.setText(str(path))
        self.label.setText("Loading…")
        if self._task is not None:
            self._task.cancel()
        self._task = self.tasks.start(_decode, path, on_done=self._on_loaded,
                                      on_error=lambda f: self.label.setText(f"Cannot show this image: {f.message}"))
        self.show()
        self.raise_()

    def _on_loaded(self, image: QImage) -> None:
        self._pixmap = QPixmap.fromImage(image)
        self._fit()

    def _fit(self) -> None:
        if not self._pixmap.isNull():
            self.label.setPixmap(self._pixmap.scaled(self.label.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                                     Qt.TransformationMode.SmoothTransformation))

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit()
