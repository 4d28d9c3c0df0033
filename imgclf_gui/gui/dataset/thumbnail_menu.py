"""The right-click menu of the Dataset tab's thumbnails: send to a class or back to the inbox, preview,
show in the file manager. Each entry names the key that does the same (the class keys, 0 for the inbox,
Space), so the menu teaches the keys.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMenu, QWidget

from imgclf_gui.core.project import rules
from imgclf_gui.gui.common.project_model import INBOX, ProjectModel


def _with_key(text: str, key: str) -> str:
    # Qt shows what follows a tab in a menu entry in the shortcut column, right-aligned
    return f"{text}\t{key}" if key else text


def build_thumbnail_menu(parent: QWidget, project: ProjectModel, paths: list[Path],
                         send: Callable[[str], None], preview: Callable[[Path], None],
                         reveal: Callable[[Path], None]) -> QMenu:
    """The menu for the selected ``paths`` (the first is the one under the pointer or current):
    ``send(class_name_or_INBOX)`` moves the selection, ``preview(path)`` shows one image large,
    ``reveal(path)`` shows its folder (see :func:`show_in_file_manager`)."""
    menu = QMenu(parent)
    here = rules.class_of(project.root, paths[0]) if project.root is not None else None
    count = rules.count_words(len(paths), "image") if len(paths) > 1 else "image"
    send_menu = menu.addMenu(f"Send {count} to Class")
    for info in project.classes():
        action = send_menu.addAction(_with_key(info.name, info.key))
        action.setEnabled(info.name != here)
        action.triggered.connect(lambda _=False, name=info.name: send(name))
    if not project.classes():
        send_menu.addAction("No classes yet: create one with New").setEnabled(False)
    to_inbox = menu.addAction(_with_key(f"Send {count} to the Inbox", rules.INBOX_KEY))
    to_inbox.setEnabled(here != INBOX)
    to_inbox.triggered.connect(lambda: send(INBOX))
    menu.addSeparator()
    menu.addAction(_with_key("Preview", "Space")).triggered.connect(lambda: preview(paths[0]))
    menu.addAction("Show in File Manager").triggered.connect(lambda: reveal(paths[0]))
    return menu


def show_in_file_manager(path: Path) -> bool:
    """Open the folder holding ``path`` in the desktop's file manager (Qt cannot portably select the file
    itself). False when no file manager answered."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(path).parent)))
