"""Above the inbox's thumbnails: where its suggestions come from, the bottlenecks being computed for them,
the inbox order, "Learn Now" and "Accept All at or Above…" (the dialog that shows the counts per class).

The bar only shows and asks; :class:`~imgclf_gui.gui.dataset.inbox_suggestions.InboxSuggestions` does the
work and the tab moves the images.
"""
from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from imgclf_gui.core.project import rules
from imgclf_gui.core.review.suggestions import ACCEPT_AT, ORDER_NAME, ORDERS
from imgclf_gui.gui.dataset.inbox_suggestions import InboxSuggestions


class SuggestionBar(QWidget):
    """``order_changed(str)`` (an ``ORDERS`` value), ``accept_all_requested()``."""

    order_changed = Signal(str)
    accept_all_requested = Signal()

    def __init__(self, engine: InboxSuggestions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.status = QLabel(self)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # elided, never wider
        self.progress = QProgressBar(self)
        self.progress.setMaximumWidth(140)
        self.progress.setTextVisible(False)
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setToolTip("Stop computing bottlenecks for suggestions (what is done stays cached)")
        self.order = QComboBox(self)
        for value, words in ORDERS:
            self.order.addItem(words.capitalize(), value)
        self.order.setToolTip("Least certain first: the images the model is least sure of, whose labels teach "
                              "it most")
        self.learn_button = QPushButton("Learn Now", self)
        self.learn_button.setToolTip("Train the suggestions' model again on the sorted images (it also does so "
                                     "after every few labels)")
        self.accept_button = QPushButton("Accept All at or Above…", self)
        self.accept_button.setToolTip("Move every inbox image suggested at or above a confidence into its class, "
                                      "in one step you can undo")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        top = QHBoxLayout()
        top.addWidget(QLabel("Order:", self))
        top.addWidget(self.order)
        top.addStretch(1)
        top.addWidget(self.learn_button)
        top.addWidget(self.accept_button)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.progress)
        bottom.addWidget(self.stop_button)
        layout.addLayout(top)
        layout.addLayout(bottom)
        self.order.currentIndexChanged.connect(lambda _i: self.order_changed.emit(self.current_order()))
        self.learn_button.clicked.connect(engine.learn_now)
        self.accept_button.clicked.connect(self.accept_all_requested)
        self.stop_button.clicked.connect(self._stop_or_resume)
        engine.status_changed.connect(self._refresh)
        engine.changed.connect(self._refresh)
        self._refresh()

    def current_order(self) -> str:
        return self.order.currentData() or ORDER_NAME

    def _stop_or_resume(self) -> None:
        if self.engine.can_stop():
            self.engine.stop()
        else:
            self.engine.resume()

    def _refresh(self) -> None:
        text = self.engine.status_text()
        metrics = self.status.fontMetrics()
        self.status.setText(metrics.elidedText(text, Qt.TextElideMode.ElideRight, max(80, self.status.width())))
        self.status.setToolTip(text)
        done, total = self.engine.progress
        self.progress.setVisible(bool(total))
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.stop_button.setVisible(self.engine.can_stop() or self.engine.can_resume())
        self.stop_button.setText("Stop" if self.engine.can_stop() else "Resume")
        ready = self.engine.suggestions is not None
        self.accept_button.setEnabled(ready)
        self.learn_button.setEnabled(self.engine.status_text() != "")

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._refresh()  # the status line is elided to the width it has


class AcceptDialog(QDialog):
    """Choose the confidence; the counts per class follow as it changes. OK accepts :attr:`plan`."""

    def __init__(self, plan_for: Callable[[float], dict[str, list[Path]]], inbox_count: int, percent: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Accept Suggestions")
        self._plan_for = plan_for
        self._inbox = inbox_count
        self.plan: dict[str, list[Path]] = {}
        self.percent = QSpinBox(self)
        self.percent.setRange(50, 100)
        self.percent.setSuffix(" %")
        self.percent.setValue(percent)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.counts = QLabel(self)
        self.counts.setTextFormat(Qt.TextFormat.RichText)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        form = QGridLayout()
        form.addWidget(QLabel("Accept every suggestion at or above", self), 0, 0)
        form.addWidget(self.percent, 0, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.summary)
        layout.addWidget(self.counts)
        note = QLabel("The other images stay in the inbox. One Undo (Ctrl+Z) takes all of these back.", self)
        note.setWordWrap(True)
        note.setEnabled(False)
        layout.addWidget(note)
        layout.addWidget(self.buttons)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.percent.valueChanged.connect(self._update)
        self._update()

    @property
    def threshold(self) -> float:
        return self.percent.value() / 100

    def _update(self) -> None:
        self.plan = self._plan_for(self.threshold)
        total = sum(len(p) for p in self.plan.values())
        self.summary.setText(f"{rules.count_words(total, 'image')} of the inbox's {self._inbox} "
                             f"{'is' if total == 1 else 'are'} suggested at or above {self.percent.value()}%"
                             + (":" if total else "."))
        rows = "".join(f"<tr><td>{html.escape(name)}</td><td align='right'>&nbsp;&nbsp;{len(paths)}</td></tr>"
                       for name, paths in self.plan.items())
        self.counts.setText(f"<table>{rows}</table>" if rows else "")
        self.counts.setVisible(bool(rows))
        self.ok_button.setText(f"Accept {rules.count_words(total, 'Image')}" if total else "Accept")
        self.ok_button.setEnabled(bool(total))


__all__ = ["SuggestionBar", "AcceptDialog", "ACCEPT_AT"]
