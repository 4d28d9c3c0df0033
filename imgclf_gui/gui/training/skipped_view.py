"""The images the last training run skipped as unreadable: a button that counts them and opens the list.

Shown beside the status line only after a run that skipped images; the list names every one (relative
to the project) with the reason, and can be copied as text to act on it elsewhere.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


class SkippedButton(QPushButton):
    """"Skipped images (N)…": opens :class:`SkippedDialog`; hidden when the last run skipped none."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.skipped: dict[str, str] = {}
        self.root: Path | None = None
        self.dialog: SkippedDialog | None = None
        self.setToolTip("The images the last run could not read, each with the reason")
        self.clicked.connect(self.open_list)
        self.set_skipped({}, None)

    def set_skipped(self, skipped: dict[str, str], root: Path | None) -> None:
        self.skipped, self.root = dict(sorted(skipped.items())), root
        self.setText(f"Skipped images ({len(skipped)})…")
        self.setVisible(bool(skipped))

    def open_list(self) -> None:
        self.dialog = SkippedDialog(self.skipped, self.root, self.window())
        self.dialog.open()  # not exec(): the window keeps working


class SkippedDialog(QDialog):
    """Every skipped image of a run, with the reason, in a table that can be copied."""

    def __init__(self, skipped: dict[str, str], root: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Images skipped by training")
        self.resize(720, 420)
        note = QLabel(f"Training left out {len(skipped)} image(s) it could not read. Check Data on the Dataset tab "
                      "can set them aside.", self)
        note.setWordWrap(True)
        self.table = QTableWidget(len(skipped), 2, self)
        self.table.setHorizontalHeaderLabels(["Image", "Reason"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.rows = [(_shown(path, root), reason) for path, reason in skipped.items()]
        for row, (name, reason) in enumerate(self.rows):
            self.table.setItem(row, 0, QTableWidgetItem(name))
            self.table.setItem(row, 1, QTableWidgetItem(reason))
            self.table.item(row, 1).setToolTip(reason)
        self.table.resizeColumnToContents(0)
        self.table.horizontalHeader().setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.copy_button = buttons.addButton("Copy List", QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self.copy_list)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)

    def text(self) -> str:
        """The list as text: one ``image<TAB>reason`` line each."""
        return "".join(f"{name}\t{reason}\n" for name, reason in self.rows)

    def copy_list(self) -> None:
        QApplication.clipboard().setText(self.text())


def _shown(path: str, root: Path | None) -> str:
    if root is not None and Path(path).is_relative_to(root):
        return Path(path).relative_to(root).as_posix()
    return path
