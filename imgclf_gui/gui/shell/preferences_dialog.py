"""Preferences dialog: edits the window's :class:`~imgclf_gui.gui.common.preferences.Preferences`; OK writes
them through it (saved, and every tab follows at once), Cancel changes nothing."""
from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QSpinBox,
    QWidget,
)

from imgclf_gui.core.support.settings import Settings
from imgclf_gui.gui.common.preferences import Preferences


class PreferencesDialog(QDialog):
    """OK writes :meth:`result_settings` through ``preferences``; Cancel changes nothing."""

    def __init__(self, preferences: Preferences, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self._preferences = preferences
        self._settings = settings = preferences.settings
        self.import_mode = QComboBox(self)
        self.import_mode.addItem("Copy them (originals stay where they are)", "copy")
        self.import_mode.addItem("Move them into the project", "move")
        self.import_mode.setCurrentIndex(0 if settings.import_mode == "copy" else 1)
        self.ask_import = QCheckBox("Ask every time", self)
        self.ask_import.setChecked(settings.ask_import_mode)
        self.delete_to = QComboBox(self)
        self.delete_to.addItem("Move its images to the unsorted inbox (undoable)", "inbox")
        self.delete_to.addItem("Send the folder to the system trash", "trash")
        self.delete_to.setCurrentIndex(0 if settings.delete_class_to == "inbox" else 1)
        self.thumb_size = QSpinBox(self)
        self.thumb_size.setRange(64, 256)
        self.thumb_size.setSingleStep(16)
        self.thumb_size.setSuffix(" px")
        self.thumb_size.setValue(settings.thumbnail_size)
        self.advance = QCheckBox("Select the next image after sending one to a class", self)
        self.advance.setChecked(settings.advance_after_labelling)
        self.suggest = QCheckBox("Suggest a class for inbox images (computes their bottlenecks in the background)",
                                 self)
        self.suggest.setChecked(settings.suggest_inbox)
        self.retrain_every = QSpinBox(self)
        self.retrain_every.setRange(1, 1000)
        self.retrain_every.setPrefix("after every ")
        self.retrain_every.setSuffix(" labels")
        self.retrain_every.setValue(settings.suggest_retrain_every)
        self.retrain_every.setToolTip("The suggestions' model learns again from the sorted images this often")
        form = QFormLayout(self)
        form.addRow("When importing images:", self.import_mode)
        form.addRow("", self.ask_import)
        form.addRow("When deleting a class:", self.delete_to)
        form.addRow("Thumbnail size:", self.thumb_size)
        form.addRow("Labelling:", self.advance)
        form.addRow("Suggestions:", self.suggest)
        form.addRow("Learn again:", self.retrain_every)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def accept(self) -> None:
        self._preferences.update(self.result_settings())
        super().accept()

    def result_settings(self) -> Settings:
        return replace(
            self._settings,
            import_mode=self.import_mode.currentData(),
            ask_import_mode=self.ask_import.isChecked(),
            delete_class_to=self.delete_to.currentData(),
            thumbnail_size=self.thumb_size.value(),
            advance_after_labelling=self.advance.isChecked(),
            suggest_inbox=self.suggest.isChecked(),
            suggest_retrain_every=self.retrain_every.value(),
        )
