""""This is really …": put the shown image into the right class of the project, with an Undo button.

An image from outside the project is copied in (:meth:`ProjectModel.copy_image_into_class`); one that is
already in the project (its inbox, or another class) is moved, so no duplicate is left behind
(:meth:`ProjectModel.move_images`). Both are journaled, so Edit ▸ Undo works too; this panel's Undo only
acts while its change is still the newest, so it never undoes someone else's move.
"""
from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QMessageBox, QPushButton, QVBoxLayout, QWidget

from imgclf_gui.core.models.predict import SingleResult
from imgclf_gui.core.project import rules
from imgclf_gui.gui.common.project_model import ProjectModel


class CorrectPanel(QWidget):
    """Class chooser, Add to Class and Undo for the image the tab shows (``set_shown``)."""

    def __init__(self, project: ProjectModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.shown: SingleResult | None = None
        self._guess = ""
        # what the last Add to Class (or its Undo) did, said while that image is shown
        self._added_note = ""
        self._note_image: SingleResult | None = None
        # copies made here with their journal label, newest last (for Undo)
        self._added: list[tuple[Path, str]] = []
        self.combo = QComboBox(self)
        self.combo.setMinimumContentsLength(12)
        # Nothing chosen until the user chooses, unless a model of the project's classes suggests one.
        self.combo.setPlaceholderText("choose the class")
        self.add_button = QPushButton("Add to Class", self)
        self.add_button.setToolTip("Put this image into that class folder of the project, so the next training "
                                   "learns from it: an image from the project's inbox is moved there, any "
                                   "other image is copied (the original stays where it is).")
        self.undo_button = QPushButton("Undo", self)
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("This is really:", self))
        row.addWidget(self.combo, 1)
        row.addWidget(self.add_button)
        row.addWidget(self.undo_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.note)
        project.project_changed.connect(self._on_project_changed)
        project.classes_changed.connect(self._fill)
        project.history_changed.connect(self._update)
        self.add_button.clicked.connect(lambda: self.add_to_class())
        self.combo.currentIndexChanged.connect(lambda _i: self._update())
        self.undo_button.clicked.connect(self.undo_add)
        self._fill()

    def set_shown(self, result: SingleResult | None, guess: str = "") -> None:
        """The image on screen (None: nothing to add) and the model's guess: preselected only when it is
        one of the project's classes; otherwise nothing is, and the user chooses."""
        if result is not None and self._note_image is not None and not _same_image(result, self._note_image):
            self._added_note, self._note_image = "", None  # "Added as …" / "Removed …" was about another image
        self.shown, self._guess = result, guess
        # The classes are already listed (refilled when they change); only the choice follows the image,
        # and never carries over from the image before (one click put a cat into «square» that way).
        self.combo.setCurrentIndex(self.combo.findText(guess) if guess else -1)
        self._update()

    def _on_project_changed(self, _root) -> None:
        self._added.clear()
        self._added_note, self._note_image = "", None
        self._fill()

    def _fill(self) -> None:
        previous = self.combo.currentText()
        names = self.project.class_names() if self.project.root is not None else []
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItems(names)
        # the user's choice for this image if they made one, else the guess, else nothing
        self.combo.setCurrentIndex(names.index(previous) if previous in names else
                                   names.index(self._guess) if self._guess in names else -1)
        self.combo.blockSignals(False)
        self._update()

    def _update(self) -> None:
        usable = self.project.root is not None and self.combo.count() > 0
        self.combo.setEnabled(usable)
        self.add_button.setEnabled(usable and self.shown is not None and self.combo.currentIndex() >= 0)
        self.undo_button.setEnabled(self._can_undo_add())
        if self.project.root is None:
            self.note.setText("Open a project to add corrected images to its classes.")
        elif not usable:
            self.note.setText("The project has no classes yet.")
        elif self._added_note:
            self.note.setText(self._added_note)
        else:
            self.note.setText("Wrong? Choose the right class and Add to Class: the image goes into that class "
                              "folder (moved from the project's inbox, else copied), so the next training "
                              "learns from it.")

    def add_to_class(self, class_name: str | None = None) -> Path | None:
        """Copy the shown image into ``class_name`` (default: the chosen one); returns the copy."""
        class_name = class_name or self.combo.currentText()
        if self.shown is None or not class_name or self.project.root is None:
            return None
        source = self.shown.path
        try:
            if source is None:  # a pasted image: give it a file first
                from PIL import Image

                folder = Path(tempfile.mkdtemp(prefix="imgclf-paste-"))
                source = folder / f"pasted-{time.strftime('%Y%m%d-%H%M%S')}.png"
                Image.fromarray(np.ascontiguousarray(self.shown.preview)).save(source)
            here = rules.class_of(self.project.root, source)
            if here == class_name:
                self.note.setText(f"{source.name} is already in {class_name}.")
                return None
            if here is not None:  # already in the project: a copy would be a duplicate in two places
                result = self.project.move_images([source], class_name)
                copy = result.moved[0][1] if result is not None and result.moved else None
            else:
                copy = self.project.copy_image_into_class(source, class_name)
        except OSError as exc:
            QMessageBox.warning(self, "Add to class", f"Could not copy the image: {exc}")
            return None
        if copy is not None:
            self._added.append((copy, self.project.undo_text()))
            how = "Added" if here is None else "Moved"
            if here is not None:  # the shown image lives there now: a second choice moves it on from there
                self.shown = dataclasses.replace(self.shown, path=copy)
            self._added_note = f"{how} as {copy.relative_to(self.project.root)}; the next training learns from it."
            self._note_image = self.shown
        self._update()
        return copy

    def _can_undo_add(self) -> bool:
        # Offered beside the image it was added from; Edit ▸ Undo stays for later.
        return bool(self._added) and self._note_image is not None and self.project.can_undo() and \
            self.project.undo_text() == self._added[-1][1]

    def undo_add(self) -> None:
        """Undo the last "Add to Class" (through the project's journal, like Edit ▸ Undo)."""
        if not self._can_undo_add():
            self._update()
            return
        copy, _ = self._added.pop()
        result = self.project.undo()
        back = result.moved[0][1] if result is not None and result.moved else None
        place = rules.class_of(self.project.root, back) if back is not None else None
        if place is not None and self.shown is not None and self.shown.path == copy:  # a move undone
            self.shown = self._note_image = dataclasses.replace(self.shown, path=back)
        if place is not None:
            self._added_note = f"Moved {copy.name} back to {'the inbox' if place == rules.INBOX else place}."
        else:
            self._added_note = f"Removed {copy.name} from {copy.parent.name} again."
        self._update()


def _same_image(a: SingleResult, b: SingleResult) -> bool:
    """The same file, or the same pasted picture (classified again, e.g. by another model)."""
    if a.path is not None or b.path is not None:
        return a.path == b.path
    return a.preview.shape == b.preview.shape and bool(np.array_equal(a.preview, b.preview))
