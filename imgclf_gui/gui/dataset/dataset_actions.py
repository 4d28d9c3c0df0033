"""The Dataset tab's commands as QActions: the window's menus, their shortcuts and the class list's
right-click menu. Each action calls a method of the tab; nothing is decided here.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence

from imgclf_gui.core.project import rules
from imgclf_gui.gui.common.project_model import INBOX

if TYPE_CHECKING:
    from imgclf_gui.gui.dataset.dataset_tab import DatasetTab


class DatasetActions:
    """Built once per tab; :meth:`menus` is what the tab's ``menu_actions`` hands the window."""

    def __init__(self, tab: DatasetTab) -> None:
        def action(text: str, slot: Callable[[], object], shortcut: str | None = None) -> QAction:
            act = QAction(text, tab)
            if shortcut:
                act.setShortcut(QKeySequence(shortcut))
            act.triggered.connect(lambda _checked=False: slot())
            return act

        self.import_files = action("&Import Images…", tab.import_files_dialog, "Ctrl+I")
        self.import_folder = action("Import &Folder…", tab.import_folder_dialog, "Ctrl+Shift+I")
        self.new_class = action("&New Class…", tab.new_class_dialog, "Ctrl+Shift+N")
        self.rename = action("Re&name Class…", tab.rename_class_dialog, "F2")
        self.key = action("Set Labelling &Key…", tab.set_key_dialog, "Ctrl+K")
        self.merge = action("&Merge Classes…", tab.merge_class_dialog)
        self.delete = action("&Delete Class…", tab.delete_class_dialog, "Ctrl+Shift+Delete")
        # The grid itself answers the key (like the class keys); the menu only names it.
        self.to_inbox = action(f"Send Selected Images to the In&box\t{rules.INBOX_KEY}",
                               lambda: tab.send_selected_to(INBOX))
        self.health = action("Data &Health", lambda: tab.health.setVisible(self.health.isChecked()), "Ctrl+H")
        self.health.setCheckable(True)
        self.health.setChecked(True)
        self.check = action("&Check Data", tab.health.run_check, "Ctrl+Shift+H")
        self.preview = action("&Preview Image", tab.preview_current, "Ctrl+Return")
        self.map = action("Dataset &Map", tab.open_map, "Ctrl+M")
        # The class list's right-click menu offers what can be done to the class under the pointer.
        tab.class_view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        tab.class_view.addActions([self.rename, self.key, self.merge, self.delete])

    def menus(self) -> dict[str, list[QAction]]:
        return {
            "File": [self.import_files, self.import_folder],
            "Edit": [self.new_class, self.rename, self.key, self.merge, self.delete, self.to_inbox],
            "View": [self.health, self.check, self.preview, self.map],
        }
