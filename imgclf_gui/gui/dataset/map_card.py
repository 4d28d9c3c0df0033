"""Pieces of the Dataset Map window: the hover card (thumbnail, name, class), the class colours, and two
functions its tasks run on a worker (extracting missing bottlenecks, loading a thumbnail)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from imgclf_gui.core.images.thumbnails import ThumbnailCache

_PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf",
            "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173"]


def class_colours(names: list[str]) -> list[QColor]:
    """One colour per class, in class order: a fixed palette, then evenly spread hues."""
    colours = [QColor(c) for c in _PALETTE[:len(names)]]
    for i in range(len(colours), len(names)):
        colours.append(QColor.fromHsvF((i * 0.618034) % 1.0, 0.75, 0.85))
    return colours


class HoverCard(QFrame):
    """The thumbnail, file name and class of the point under the pointer, floating beside it."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.Box)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)  # clicks reach the map below
        self.setStyleSheet("HoverCard { background: white; border: 1px solid #888; }")
        self.picture = QLabel(self)
        self.picture.setFixedSize(128, 128)
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text = QLabel(self)
        self.text.setWordWrap(True)
        self.text.setFixedWidth(180)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.picture, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.text)
        self.path: Path | None = None
        self.hide()

    def show_beside(self, pointer: QPoint) -> None:
        """Show beside ``pointer`` (parent coordinates), on the side where it fits: never over the point."""
        self.adjustSize()
        size, room = self.size(), self.parentWidget().size()
        x = pointer.x() + 16 if pointer.x() + 16 + size.width() < room.width() else pointer.x() - 16 - size.width()
        y = pointer.y() + 16 if pointer.y() + 16 + size.height() < room.height() else pointer.y() - 16 - size.height()
        self.move(max(0, x), max(0, y))
        self.show()
        self.raise_()


def extract_missing(state, paths: list[Path], backbone_id: str, crop: str, root: Path) -> dict[Path, str]:
    """Task: the bottlenecks of images not on the map (cached); their content hashes by path."""
    from imgclf_gui.core.features.extraction import extract_features

    result = extract_features(paths, backbone_id, root, crop=crop, on_progress=state.progress_callback,
                              should_stop=state.stop_callback)
    return {p: h for p, h in zip(paths, result.hashes) if h is not None}


def load_thumbnail(state, cache: ThumbnailCache, path: Path) -> np.ndarray:
    """Task: the hovered image's thumbnail as an RGB array (never a Qt object: gui/common/pictures.py)."""
    from imgclf_gui.core.images.thumbnails import thumbnail_rgb

    return thumbnail_rgb(cache.get_or_make(path))
