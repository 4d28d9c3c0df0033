"""A one-line label that elides what does not fit ("…") and shows the whole text as its tooltip.

The Classify tab's verdict and model status use it: an ImageNet name or an error message may be far
longer than the room there is, and a wrapped or clipped line would push the chart around or lose its
top. The line keeps one height whatever it shows.
"""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class ElidedLabel(QLabel):
    """``show_text(text, emphasis=False)``; ``full_text`` is what was asked for, ``text()`` what fits.

    With ``emphasis_size`` (points) an emphasised text is bold at that size; the line is always as high
    as that, so switching between a message and a verdict never moves what is below.
    """

    def __init__(self, parent: QWidget | None = None, *, emphasis_size: float | None = None,
                 keep_visible: int = 40, elide: Qt.TextElideMode = Qt.TextElideMode.ElideRight) -> None:
        super().__init__(parent)
        self.full_text = ""
        self._elide_mode = elide  # ElideMiddle for a path: its start and its file name both matter
        self._keep_visible = keep_visible  # pixels of text a layout may not take away
        self._plain = QFont(self.font())
        self._emphasis = QFont(self.font())
        if emphasis_size is not None:
            self._emphasis.setPointSizeF(emphasis_size)
            self._emphasis.setBold(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(False)
        # As wide as the text if there is room, else it elides; the height is one line of the larger font.
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        margins = self.contentsMargins()
        self.setFixedHeight(QFontMetrics(self._emphasis).height() + margins.top() + margins.bottom() + 4)

    def show_text(self, text: str, emphasis: bool = False) -> None:
        self.full_text = text
        self.setFont(self._emphasis if emphasis else self._plain)
        self._elide()
        self.updateGeometry()  # another text wants another width

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        margins = self.contentsMargins()
        width = QFontMetrics(self.font()).horizontalAdvance(self.full_text) + margins.left() + margins.right() + 2
        return QSize(width, self.height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(min(self.sizeHint().width(), self._keep_visible), self.height())

    def _elide(self) -> None:
        shown = QFontMetrics(self.font()).elidedText(self.full_text, self._elide_mode,
                                                     max(10, self.contentsRect().width()))
        super().setText(shown)
        self.setToolTip(self.full_text if shown != self.full_text else "")

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._elide()
