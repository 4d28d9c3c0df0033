"""A banner above the Dataset tab: the project is read-only here (who holds it), and what opening found.

Bound to :class:`ProjectModel`: ``read_only_changed`` shows or hides the read-only line (it stays while
another window or command holds the project's lock); ``notes_changed`` lists, once per opening, the
state files that were set aside and the interrupted moves that were settled, until the user closes it.
"""
from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

from imgclf_gui.gui.common.project_model import ProjectModel


class StateBanner(QFrame):
    """Hidden when there is nothing to say."""

    def __init__(self, project: ProjectModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self._notes: list[str] = []
        self.setObjectName("stateBanner")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)  # its text's height only
        self.setStyleSheet("#stateBanner { background: #fff4ce; border-bottom: 1px solid #e0c36a; }")
        self.text = QLabel(self)
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.close_button = QToolButton(self)
        self.close_button.setText("✕")
        self.close_button.setToolTip("Hide these notes (the read-only notice stays while it holds)")
        self.close_button.setAutoRaise(True)
        self.close_button.clicked.connect(self._on_dismissed)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        project.read_only_changed.connect(self._on_read_only_changed)
        project.notes_changed.connect(self._on_notes_changed)
        project.project_changed.connect(self._on_project_changed)
        self._notes = list(project.notes) if project.root is not None else []
        self._show()

    def _on_read_only_changed(self, _read_only: bool) -> None:
        self._show()

    def _on_notes_changed(self, notes: list) -> None:
        self._notes = [str(n) for n in notes]
        self._show()

    def _on_project_changed(self, root: object) -> None:
        if root is None:
            self._notes = []
            self._show()

    def _on_dismissed(self) -> None:
        self._notes = []
        self._show()

    def _show(self) -> None:
        lines = []
        if self.project.read_only:
            lines.append(f"<b>Read-only here.</b> {escape(self.project.read_only_reason)}")
        lines += [escape(note) for note in self._notes]
        self.text.setText("<br>".join(lines))
        self.close_button.setVisible(bool(self._notes))
        self.setVisible(bool(lines))
