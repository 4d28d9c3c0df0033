"""A note above the thumbnails that says what a project is when the folder does not look like one yet.

Two cases: photos lying in the project folder itself (a folder of photos opened as a project: no view
shows them and training ignores them), with an offer to move them into the inbox (one journaled,
undoable action); and an empty project, with what to do first. Otherwise the banner is hidden.
"""
from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from imgclf_gui.core.project import rules
from imgclf_gui.gui.common.project_model import INBOX, ProjectModel

WHAT_A_PROJECT_IS = ("A project is a folder with one sub-folder per class (for example <i>cat/</i> and "
                     "<i>dog/</i>) and an inbox, <i>unsorted/</i>, for images still to sort.")


class ProjectBanner(QFrame):
    """Follows the project by itself; ``move_button`` sends the loose photos to the inbox."""

    def __init__(self, project: ProjectModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName("projectBanner")
        self.setStyleSheet("#projectBanner { background: rgba(255, 200, 60, 45); border-radius: 6px; }")
        self.text = QLabel(self)
        self.text.setWordWrap(True)
        self.move_button = QPushButton(self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.move_button)
        self.move_button.clicked.connect(self.move_loose_photos)
        project.project_changed.connect(lambda _root: self.update_note())
        project.images_moved.connect(lambda _moves: self.update_note())
        project.classes_changed.connect(self.update_note)
        self.update_note()

    def update_note(self) -> None:
        root = self.project.root
        loose = rules.loose_images(root) if root is not None else []
        if loose:
            photos = rules.count_words(len(loose), "photo")
            self.text.setText(
                f"<b>This folder has {photos} outside any class.</b> {WHAT_A_PROJECT_IS} Photos lying in the "
                "project folder itself are not shown and not trained on. Move them into the inbox to sort "
                "them here (Edit ▸ Undo puts them back).")
            self.move_button.setText(f"Move {photos} to the Inbox")
            self.move_button.show()
        elif root is not None and not self.project.classes() and not self.project.inbox_count():
            self.text.setText(f"<b>This project is empty.</b> {WHAT_A_PROJECT_IS} Import images into the inbox "
                              "(Import Images… or drop them here), create classes (New), then sort with the keys.")
            self.move_button.hide()
        else:
            self.hide()
            return
        self.show()

    def move_loose_photos(self) -> None:
        """Move every photo of the project folder itself into the inbox (journaled, undoable)."""
        if self.project.root is not None:
            loose = rules.loose_images(self.project.root)
            if loose:
                self.project.move_images(loose, INBOX)
