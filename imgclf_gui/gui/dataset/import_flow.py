"""Bringing images into the project: Import Images / Import Folder, and files dropped from a file manager.

Imports go into the inbox (``unsorted/``) unless the user says otherwise: when a class is selected, the
import dialog offers it as a second choice ("into the inbox or into «round»?"), the inbox checked. A drop
names its place itself (the class dropped on, or the class the grid shows), so only copy-or-move is asked,
and only when the preferences say to ask. Files already inside the project are sorted, never copied; a
folder of the project, or one that holds it, is refused with a sentence (it would bring every class in).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from imgclf_gui.core.project import rules
from imgclf_gui.gui.common.preferences import Preferences
from imgclf_gui.gui.common.project_model import INBOX, ProjectModel

IMAGE_FILTER = "Images (*.jpg *.jpeg *.png *.bmp *.gif *.tif *.tiff *.webp);;All files (*)"


def _place_words(place: str) -> str:
    return "the inbox (Unsorted)" if place == INBOX else f"the class “{place}”"


class ImportDialog(QDialog):
    """Where the images go (when there is a choice) and whether they are copied or moved (when asked)."""

    def __init__(self, what: str, place: str, class_name: str | None, mode: str | None,
                 parent: QWidget | None = None) -> None:
        """``what``: "3 files", "the images of the folder “Holiday”"; ``place``: where they go when there is
        no choice; ``class_name``: offered beside the inbox (None: no choice); ``mode``: "copy"/"move",
        the default answer of the copy-or-move question (None: not asked)."""
        super().__init__(parent)
        self.setWindowTitle("Import images")
        layout = QVBoxLayout(self)
        self.inbox_button = QRadioButton("The inbox (Unsorted): sort them with the class keys afterwards", self)
        self.class_button = QRadioButton(f"The class “{class_name}” (when every one of them belongs there)", self)
        self.copy_button = QRadioButton("Copy them (the originals stay where they are)", self)
        self.move_button = QRadioButton("Move them (the originals leave their folder)", self)
        self.where = QButtonGroup(self)
        self.how = QButtonGroup(self)
        if class_name is not None:
            layout.addWidget(QLabel(f"Import {what} into:", self))
            for button in (self.inbox_button, self.class_button):
                self.where.addButton(button)
                layout.addWidget(button)
            self.inbox_button.setChecked(True)
        else:
            layout.addWidget(QLabel(f"Import {what} into {_place_words(place)}.", self))
            self.inbox_button.hide()  # not in the layout: they would sit at the dialog's corner
            self.class_button.hide()
        if mode is not None:
            layout.addWidget(QLabel("Copy or move?", self))
            for button in (self.copy_button, self.move_button):
                self.how.addButton(button)
                layout.addWidget(button)
            (self.copy_button if mode == "copy" else self.move_button).setChecked(True)
        else:
            self.copy_button.hide()
            self.move_button.hide()
        self._class_name = class_name
        self._mode = mode
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.import_button = buttons.addButton("Import", QDialogButtonBox.ButtonRole.AcceptRole)
        self.import_button.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def target(self) -> str:
        return self._class_name if self._class_name is not None and self.class_button.isChecked() else INBOX

    def mode(self) -> str | None:
        if self._mode is None:
            return None
        return "copy" if self.copy_button.isChecked() else "move"


class ImportFlow:
    """The import commands and file drops of the Dataset tab."""

    def __init__(self, parent: QWidget, project: ProjectModel, preferences: Preferences) -> None:
        self.parent = parent
        self.project = project
        self.preferences = preferences

    def import_files(self, selected_class: str | None) -> None:
        """Import Images…: pick files, then the place (inbox, or ``selected_class`` if the user says so)."""
        files, _ = QFileDialog.getOpenFileNames(self.parent, "Import images", str(Path.home()), IMAGE_FILTER)
        if files:
            paths = [Path(f) for f in files]
            self.bring_in(paths, rules.count_words(len(paths), "file"), selected_class)

    def import_folder(self, selected_class: str | None) -> None:
        """Import Folder…: every image in a folder and below it."""
        folder = QFileDialog.getExistingDirectory(self.parent, "Import a folder of images (searched recursively)")
        if folder:
            self.bring_in([Path(folder)], f"the images of the folder “{Path(folder).name}”", selected_class)

    def drop(self, paths: list[Path], target: str) -> None:
        """Files dropped from outside onto a class (or the inbox)."""
        self.bring_in(paths, rules.count_words(len(paths), "item"), target, place_chosen=True)

    def bring_in(self, paths: list[Path], what: str, target: str | None, *, place_chosen: bool = False) -> None:
        """Import ``paths`` into the inbox or ``target``: the place is ``target`` when ``place_chosen`` (a
        drop), else the inbox or, if the user picks it in the dialog, ``target`` (a selected class)."""
        root = self.project.root
        if root is None:
            return
        refusal = rules.import_refusal(root, paths)
        if refusal is not None:
            self.project.message.emit(refusal)
            return
        offer = None if place_chosen or target in (None, INBOX) else target
        inside = [p for p in paths if p.resolve().is_relative_to(root)]
        outside = [p for p in paths if p not in inside]
        settings = self.preferences.settings
        ask_mode = settings.import_mode if settings.ask_import_mode and outside else None
        place = (target or INBOX) if place_chosen else INBOX
        mode = settings.import_mode
        if offer is not None or ask_mode is not None:
            dialog = ImportDialog(what, place, offer, ask_mode, self.parent)
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return
            place = place if place_chosen else dialog.target()
            mode = dialog.mode() or mode
        if inside:
            # already in the project (dragged from a file manager showing it): sort them, never copy
            self.project.move_images(rules.importable_files(inside), place)
        if outside:
            self.project.import_files(outside, place, mode)
