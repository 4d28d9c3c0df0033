"""The main window: assembles the tabs, menus and status bar. Nothing else lives here.

Tabs are listed in :data:`TABS` and built with one constructor signature,
``Tab(project: ProjectModel, tasks: TaskRunner, preferences: Preferences, parent: QWidget | None)``. A tab
may offer ``menu_actions() -> dict[str, list[QAction]]`` (menu title -> actions), ``title`` (its tab text),
and ``close_question() -> str | None`` with ``cancel_work()``: work that closing the window would stop (the
window asks before it closes, and calls ``cancel_work`` when the person chooses to close).
"""
from __future__ import annotations

import importlib
import traceback
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QTabWidget,
    QWidget,
)

from imgclf_gui.core.project.manifest import ProjectError
from imgclf_gui.core.support.settings import Settings
from imgclf_gui.gui.common.preferences import Preferences
from imgclf_gui.gui.common.project_model import ProjectModel
from imgclf_gui.gui.common.tasks import TaskFailure, TaskRunner
from imgclf_gui.gui.shell.placeholder_tab import PlaceholderTab

#: (module, class) of each tab, in order. Adding a tab = adding a line here.
TABS: list[tuple[str, str]] = [
    ("imgclf_gui.gui.dataset.dataset_tab", "DatasetTab"),
    ("imgclf_gui.gui.training.training_tab", "TrainingTab"),
    ("imgclf_gui.gui.classify.classify_tab", "ClassifyTab"),
]
MAX_RECENT = 8


class MainWindow(QMainWindow):
    """imgclf's window. ``project``, ``tasks`` and ``preferences`` are shared by all tabs."""

    def __init__(self, settings: Settings | None = None, parent: QWidget | None = None) -> None:
        """``settings``: start from these preferences instead of the saved ones (tests)."""
        super().__init__(parent)
        self.preferences = Preferences(settings, parent=self)
        self.tasks = TaskRunner(parent=self)
        self.project = ProjectModel(self.tasks, self)
        self.tabs: dict[str, QWidget] = {}
        self.setWindowTitle("imgclf")
        self.setMinimumSize(720, 480)
        self._setup_tabs()
        self._setup_actions()
        self._setup_menus()
        self._setup_status_bar()
        self._connect()
        self._restore_geometry()
        self._on_project_changed(None)
        for note in self.preferences.notes:  # a damaged preferences file was set aside
            self._on_message(note)

    # -- setup ----------------------------------------------------------------------------------
    def _setup_tabs(self) -> None:
        self.tab_widget = QTabWidget(self)
        self.tab_widget.setDocumentMode(True)
        for module_name, class_name in TABS:
            tab = self._make_tab(module_name, class_name)
            title = getattr(tab, "title", class_name.removesuffix("Tab"))
            self.tabs[title] = tab
            self.tab_widget.addTab(tab, title)
        self.setCentralWidget(self.tab_widget)

    def _make_tab(self, module_name: str, class_name: str) -> QWidget:
        # A tab that fails to build must not take the whole app down: show why in its place.
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
            return cls(self.project, self.tasks, self.preferences, self)
        except Exception:  # noqa: BLE001
            text = traceback.format_exc(limit=3)
            return PlaceholderTab(f"This tab could not be loaded:\n\n{text}", self)

    def _action(self, text: str, slot, shortcut: QKeySequence | str | None = None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        return action

    def _setup_actions(self) -> None:
        std = QKeySequence.StandardKey
        self.new_action = self._action("&New Project…", self.new_project_dialog, std.New,
                                       "Create an empty project folder")
        self.open_action = self._action("&Open Project…", self.open_project_dialog, std.Open,
                                        "Open a folder of class folders")
        self.demo_action = self._action("Create &Demo Project…", self.create_demo_dialog, None,
                                        "Make a small project of drawn shapes to try everything")
        self.quit_action = self._action("&Quit", self.close, std.Quit)
        self.undo_action = self._action("&Undo", self.project.undo, std.Undo)
        self.redo_action = self._action("&Redo", self.project.redo, "Ctrl+Shift+Z")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.prefs_action = self._action("&Preferences…", self.preferences_dialog, std.Preferences)
        self.prefs_action.setShortcuts([QKeySequence(std.Preferences), QKeySequence("Ctrl+,")])
        self.about_action = self._action("&About imgclf", self.about_dialog)
        self.tab_actions = []
        for i, title in enumerate(self.tabs):
            action = self._action(f"&{title}", lambda _=False, i=i: self.tab_widget.setCurrentIndex(i),
                                  f"Ctrl+{i + 1}")
            self.tab_actions.append(action)

    def _setup_menus(self) -> None:
        bar = self.menuBar()
        self.file_menu = bar.addMenu("&File")
        self.file_menu.addActions([self.new_action, self.open_action])
        self.recent_menu = self.file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.file_menu.addAction(self.demo_action)
        self.file_menu.addSeparator()
        self._file_tab_anchor = self.file_menu.addSeparator()
        self.file_menu.addAction(self.quit_action)
        self.edit_menu = bar.addMenu("&Edit")
        self.edit_menu.addActions([self.undo_action, self.redo_action])
        self.edit_menu.addSeparator()
        self._edit_tab_anchor = self.edit_menu.addSeparator()
        self.edit_menu.addAction(self.prefs_action)
        self.view_menu = bar.addMenu("&View")
        self.view_menu.addActions(self.tab_actions)
        self.help_menu = bar.addMenu("&Help")
        self.help_menu.addAction(self.about_action)
        menus = {"File": (self.file_menu, self._file_tab_anchor), "Edit": (self.edit_menu, self._edit_tab_anchor)}
        for tab in self.tabs.values():
            provider = getattr(tab, "menu_actions", None)
            for menu_name, actions in (provider() if provider else {}).items():
                if menu_name in menus:
                    menu, anchor = menus[menu_name]
                    menu.insertActions(anchor, actions)
                else:
                    menu = self._find_or_add_menu(menu_name)
                    menu.addActions(actions)

    def _find_or_add_menu(self, title: str) -> QMenu:
        for action in self.menuBar().actions():
            if action.menu() and action.text().replace("&", "") == title:
                return action.menu()
        menu = QMenu(f"&{title}", self)
        self.menuBar().insertMenu(self.help_menu.menuAction(), menu)
        return menu

    def _setup_status_bar(self) -> None:
        status = self.statusBar()
        self.project_label = QLabel(self)
        self.busy_bar = QProgressBar(self)
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setMaximumWidth(120)
        self.busy_bar.setMaximumHeight(14)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.hide()
        status.addPermanentWidget(self.busy_bar)
        status.addPermanentWidget(self.project_label)

    def _connect(self) -> None:
        self.project.project_changed.connect(self._on_project_changed)
        self.project.history_changed.connect(self._on_history_changed)
        self.project.message.connect(self._on_message)
        self.project.read_only_changed.connect(self._on_read_only_changed)
        self.preferences.save_failed.connect(self._on_message)
        self.tasks.busy_changed.connect(self.busy_bar.setVisible)

    # -- slots ----------------------------------------------------------------------------------
    def _on_project_changed(self, root: Path | None) -> None:
        self._on_read_only_changed(self.project.read_only)
        if root is not None:
            self._remember_recent(root)
        self._on_history_changed()

    def _on_read_only_changed(self, read_only: bool) -> None:
        root = self.project.root
        if root is None:
            self.setWindowTitle("imgclf")
            self.project_label.setText("No project open")
            return
        where = " (read-only: open elsewhere)" if read_only else ""
        self.setWindowTitle(f"{root.name}{where} — imgclf")
        self.project_label.setText(f"{root}{where}")

    def _on_history_changed(self) -> None:
        self.undo_action.setEnabled(self.project.can_undo())
        self.undo_action.setText(f"&{self.project.undo_text()}")
        self.redo_action.setEnabled(self.project.can_redo())
        self.redo_action.setText(f"&{self.project.redo_text()}")

    def _on_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    # -- projects -------------------------------------------------------------------------------
    def open_project(self, root: str | Path, create: bool = False) -> bool:
        """Open ``root``; on failure tell the user and return False."""
        try:
            self.project.open(root, create=create)
        except (ProjectError, OSError) as exc:
            QMessageBox.warning(self, "Cannot open project", str(exc))
            return False
        return True

    def open_project_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a project folder (one sub-folder per class)")
        if folder:
            self.open_project(folder)

    def new_project_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose or create an empty folder for the new project")
        if folder:
            self.open_project(folder, create=True)

    def create_demo_dialog(self) -> None:
        from imgclf_gui.gui.shell.start_dialogs import create_demo_interactively

        create_demo_interactively(self)

    def recent_projects(self) -> list[str]:
        value = QSettings().value("recent_projects", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _remember_recent(self, root: Path) -> None:
        recent = [str(root)] + [p for p in self.recent_projects() if p != str(root)]
        QSettings().setValue("recent_projects", recent[:MAX_RECENT])

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = [p for p in self.recent_projects() if Path(p).is_dir()]
        for i, path in enumerate(recent):
            action = self.recent_menu.addAction(f"&{i + 1} {path}")
            action.triggered.connect(lambda _=False, p=path: self.open_project(p))
        if not recent:
            self.recent_menu.addAction("No recent projects").setEnabled(False)

    # -- dialogs --------------------------------------------------------------------------------
    def preferences_dialog(self) -> None:
        from imgclf_gui.gui.shell.preferences_dialog import PreferencesDialog

        PreferencesDialog(self.preferences, self).exec()  # OK writes through self.preferences

    @property
    def settings(self) -> Settings:
        """The current preferences (a copy; ``self.preferences`` is where they change)."""
        return self.preferences.settings

    def about_dialog(self) -> None:
        from imgclf_gui.gui.shell.about import about_text

        QMessageBox.about(self, "About imgclf", about_text())

    # -- geometry -------------------------------------------------------------------------------
    def _restore_geometry(self) -> None:
        qs = QSettings()
        geometry = qs.value("main_window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1180, 760)
        state = qs.value("main_window/state")
        if state is not None:
            self.restoreState(state)
        self.tab_widget.setCurrentIndex(int(qs.value("main_window/tab", 0) or 0))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        busy = [(tab, question) for tab in self.tabs.values()
                if (question := getattr(tab, "close_question", lambda: None)())]
        if busy and not self._confirm_close([question for _tab, question in busy]):
            event.ignore()
            return
        for tab, _question in busy:
            tab.cancel_work()
        qs = QSettings()
        qs.setValue("main_window/geometry", self.saveGeometry())
        qs.setValue("main_window/state", self.saveState())
        qs.setValue("main_window/tab", self.tab_widget.currentIndex())
        self.tasks.shutdown(3000)
        self.project.close()
        super().closeEvent(event)

    def _confirm_close(self, questions: list[str]) -> bool:
        """Ask before closing stops work in progress; True: stop it and close."""
        box = QMessageBox(QMessageBox.Icon.Question, "Close imgclf?", "\n\n".join(questions),
                          QMessageBox.StandardButton.NoButton, self)
        stop = box.addButton("Cancel Training and Close", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Keep Training", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        box.exec()
        return box.clickedButton() is stop

    def report_failure(self, title: str, failure: TaskFailure) -> None:
        """Show a background failure to the user (tabs may call this for their tasks)."""
        QMessageBox.warning(self, title, failure.message)
