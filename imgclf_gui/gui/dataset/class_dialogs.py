"""The Dataset tab's questions about classes: new, rename, labelling key, merge, delete.

A name or key is checked as it is typed (:class:`CheckedTextDialog`): the reason it cannot be used shows
under the field and OK waits, so a mistake never throws away what the user typed. The rules themselves
are Qt-free in :mod:`imgclf_gui.core.project.rules`; the changes go through :class:`ProjectModel`.
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from imgclf_gui.core.project import rules
from imgclf_gui.core.project.manifest import ProjectError
from imgclf_gui.gui.common.preferences import Preferences
from imgclf_gui.gui.common.project_model import ProjectModel

Check = Callable[[str], str]  # returns the text to use, or raises ProjectError with the reason


class CheckedTextDialog(QDialog):
    """Asks for one line of text; ``check`` judges it at every keystroke and OK waits for a good one."""

    def __init__(self, title: str, question: str, text: str, check: Check, parent: QWidget | None = None,
                 *, unchanged_ok: bool = False) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self._check = check
        self._initial = text
        self._unchanged_ok = unchanged_ok
        self.value = ""
        self.question = QLabel(question, self)
        self.question.setWordWrap(True)
        self.field = QLineEdit(text, self)
        self.field.selectAll()
        self.reason = QLabel(self)
        self.reason.setWordWrap(True)
        self.reason.setStyleSheet("color: #b3261e;")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        layout = QVBoxLayout(self)
        layout.addWidget(self.question)
        layout.addWidget(self.field)
        layout.addWidget(self.reason)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(380)
        self.field.textChanged.connect(self._judge)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self._judge(text)

    def _judge(self, text: str) -> None:
        reason = ""
        if text.strip() == self._initial.strip() and not self._unchanged_ok:
            ok = False  # nothing typed yet (or the old name): no scolding, just no OK
        else:
            try:
                self.value = self._check(text)
                ok = True
            except ProjectError as exc:
                ok, reason = False, str(exc)
        self.ok_button.setEnabled(ok)
        self.reason.setText(reason)
        self.reason.setVisible(bool(reason))

    def accept(self) -> None:
        if self.ok_button.isEnabled():  # Return in the field comes here too
            super().accept()


def ask_text(parent: QWidget, title: str, question: str, check: Check, text: str = "", *,
             unchanged_ok: bool = False) -> str | None:
    """The checked text the user confirmed, or None when they cancelled."""
    dialog = CheckedTextDialog(title, question, text, check, parent, unchanged_ok=unchanged_ok)
    return dialog.value if dialog.exec() == QDialog.DialogCode.Accepted else None


class ClassDialogs:
    """The class actions of the Dataset tab, each asking what it needs and then doing it."""

    def __init__(self, parent: QWidget, project: ProjectModel, preferences: Preferences) -> None:
        self.parent = parent
        self.project = project
        self.preferences = preferences

    def _try(self, fn, *args) -> None:
        try:
            fn(*args)
        except ProjectError as exc:
            QMessageBox.warning(self.parent, "imgclf", str(exc))

    def new_class(self) -> None:
        name = ask_text(self.parent, "New class", "Name of the new class (it becomes a folder of the project):",
                        lambda text: rules.check_class_name(self.project.root, text))
        if name:
            self._try(self.project.create_class, name)

    def rename_class(self, old: str) -> None:
        new = ask_text(self.parent, "Rename class", f"New name for “{old}” (its folder is renamed):",
                       lambda text: rules.check_class_name(self.project.root, text), text=old)
        if new:
            self._try(self.project.rename_class, old, new)

    def set_key(self, name: str) -> None:
        current = next((c.key for c in self.project.classes() if c.key and c.name == name), "")

        def check(text: str) -> str:
            rules.with_key(self.project.manifest.class_keys, self.project.class_names(), name, text)
            return text.strip()

        key = ask_text(self.parent, "Labelling key",
                       f"Key that sends the selected images to “{name}”: one letter or digit "
                       f"({rules.INBOX_KEY} is the inbox's); leave it empty for a free digit.",
                       check, text=current, unchanged_ok=True)
        if key is not None:
            self._try(self.project.set_class_key, name, key)

    def merge_class(self, source: str) -> None:
        others = [n for n in self.project.class_names() if n != source]
        if not others:
            QMessageBox.information(self.parent, "Merge classes", f"“{source}” is the only class: there is "
                                    "nothing to merge it into.")
            return
        target, ok = QInputDialog.getItem(self.parent, "Merge classes", f"Move every image of “{source}” into:",
                                          others, 0, False)
        if ok and target:
            self._try(self.project.merge_classes, [source], target)

    def delete_class(self, name: str) -> None:
        to_trash = self.preferences.settings.delete_class_to == "trash"
        where = "the system trash (not undoable here)" if to_trash else "the unsorted inbox (undoable)"
        answer = QMessageBox.question(self.parent, "Delete class",
                                      f"Delete the class “{name}”? Its images go to {where}; none is erased.")
        if answer != QMessageBox.StandardButton.Yes:
            return
        if to_trash:
            self.project.trash_class(name)
        else:
            self._try(self.project.delete_class, name)
