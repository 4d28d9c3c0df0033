"""Dataset tab: classes on the left, the thumbnail grid in the middle, data health on the right.

Labelling at speed: select images, press a class's key (1..9) and the next image is selected; or drag
thumbnails onto a class. Every move goes through :class:`ProjectModel` and can be undone (Ctrl+Z).
Preferences (thumbnail size, importing, what deleting a class does, moving on after labelling) come from
the window's :class:`Preferences`, read when used; a new thumbnail size is followed at once.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from imgclf_gui.core.images.thumbnails import ThumbnailCache
from imgclf_gui.core.project.manifest import ProjectError
from imgclf_gui.core.support.settings import Settings
from imgclf_gui.gui.common.preferences import Preferences
from imgclf_gui.gui.common.preview import PreviewDialog
from imgclf_gui.gui.common.project_model import INBOX, ProjectModel
from imgclf_gui.gui.common.tasks import TaskRunner
from imgclf_gui.gui.common.thumbnail_grid import ThumbnailGrid, ThumbnailModel
from imgclf_gui.gui.dataset.class_list import ClassListModel, ClassListView, NameRole
from imgclf_gui.gui.dataset.health_panel import HealthPanel


class DatasetTab(QWidget):
    """Sort images into classes."""

    title = "Dataset"

    def __init__(self, project: ProjectModel, tasks: TaskRunner, preferences: Preferences,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.tasks = tasks
        self.preferences = preferences
        side = preferences.settings.thumbnail_size
        self._view: tuple[str, str, list[Path]] = ("class", INBOX, [])  # (kind, name or title, finding paths)
        self._thumbs: ThumbnailCache | None = None
        self._setup_widgets(side)
        self._setup_layout()
        self._setup_actions()
        self._connect()
        self._on_project_changed(project.root)

    # -- setup ----------------------------------------------------------------------------------
    def _setup_widgets(self, side: int) -> None:
        self.class_model = ClassListModel(self.project, self)
        self.class_view = ClassListView(self)
        self.class_view.setModel(self.class_model)
        self.new_button = QPushButton("New", self)
        self.rename_button = QPushButton("Rename", self)
        self.merge_button = QPushButton("Merge…", self)
        self.delete_button = QPushButton("Delete", self)
        self.thumb_model = ThumbnailModel(self.tasks, side, self)
        self.grid = ThumbnailGrid(side, self)
        self.grid.setModel(self.thumb_model)
        self.heading = QLabel(self)
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self.import_button = QPushButton("Import Images…", self)
        self.import_folder_button = QPushButton("Import Folder…", self)
        self.hint = QLabel(self)
        self.hint.setWordWrap(True)
        self.hint.setEnabled(False)
        self.health = HealthPanel(self.project, self.tasks, self)
        self.preview = PreviewDialog(self.tasks, self)

    def _setup_layout(self) -> None:
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(8, 8, 4, 8)
        left_layout.addWidget(QLabel("<b>Classes</b>", left))
        left_layout.addWidget(self.class_view, 1)
        # two rows of two: in one row the four buttons made the list too wide for a 1024-pixel window
        buttons = QGridLayout()
        for i, button in enumerate((self.new_button, self.rename_button, self.merge_button, self.delete_button)):
            buttons.addWidget(button, i // 2, i % 2)
        left_layout.addLayout(buttons)
        centre = QWidget(self)
        centre_layout = QVBoxLayout(centre)
        centre_layout.setContentsMargins(4, 8, 4, 8)
        top = QHBoxLayout()
        top.addWidget(self.heading, 1)
        top.addWidget(self.import_button)
        top.addWidget(self.import_folder_button)
        centre_layout.addLayout(top)
        centre_layout.addWidget(self.grid, 1)
        centre_layout.addWidget(self.hint)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(left)
        self.splitter.addWidget(centre)
        self.splitter.addWidget(self.health)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([240, 660, 250])  # at 1024 pixels wide the grid still shows three columns
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

    def _setup_actions(self) -> None:
        def action(text: str, slot, shortcut: str | QKeySequence | None = None) -> QAction:
            act = QAction(text, self)
            if shortcut:
                act.setShortcut(QKeySequence(shortcut))
            act.triggered.connect(slot)
            return act

        self.import_action = action("&Import Images…", self.import_files_dialog, "Ctrl+I")
        self.import_folder_action = action("Import &Folder…", self.import_folder_dialog, "Ctrl+Shift+I")
        self.new_class_action = action("&New Class…", self.new_class_dialog, "Ctrl+Shift+N")
        self.rename_action = action("Re&name Class…", self.rename_class_dialog, "F2")
        self.key_action = action("Set Labelling &Key…", self.set_key_dialog, "Ctrl+K")
        self.merge_action = action("&Merge Classes…", self.merge_class_dialog)
        self.delete_action = action("&Delete Class…", self.delete_class_dialog, "Ctrl+Shift+Delete")
        self.health_action = action("Data &Health", self._toggle_health, "Ctrl+H")
        self.health_action.setCheckable(True)
        self.health_action.setChecked(True)
        self.check_action = action("&Check Data", self.health.run_check, "Ctrl+Shift+H")
        self.preview_action = action("&Preview Image", self._preview_current, "Ctrl+Return")
        # The class list's right-click menu offers what can be done to the class under the pointer.
        self.class_view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.class_view.addActions([self.rename_action, self.key_action, self.merge_action, self.delete_action])

    def menu_actions(self) -> dict[str, list[QAction]]:
        """Actions the main window puts into its menus."""
        return {
            "File": [self.import_action, self.import_folder_action],
            "Edit": [self.new_class_action, self.rename_action, self.key_action, self.merge_action,
                     self.delete_action],
            "View": [self.health_action, self.check_action, self.preview_action],
        }

    def _connect(self) -> None:
        self.project.project_changed.connect(self._on_project_changed)
        self.project.images_moved.connect(self._on_images_moved)
        self.project.classes_changed.connect(self._on_classes_changed)
        self.preferences.changed.connect(self._on_preferences_changed)
        self.class_view.selectionModel().currentChanged.connect(self._on_class_selected)
        self.class_model.modelReset.connect(self._reselect_class)
        self.class_view.images_dropped.connect(self._on_images_dropped)
        self.grid.key_typed.connect(self._on_key_typed)
        self.grid.files_dropped.connect(self._on_files_dropped)
        self.grid.preview_requested.connect(self.preview.show_image)
        self.health.show_images.connect(self.show_finding)
        self.new_button.clicked.connect(self.new_class_dialog)
        self.rename_button.clicked.connect(self.rename_class_dialog)
        self.merge_button.clicked.connect(self.merge_class_dialog)
        self.delete_button.clicked.connect(self.delete_class_dialog)
        self.import_button.clicked.connect(self.import_files_dialog)
        self.import_folder_button.clicked.connect(self.import_folder_dialog)

    # -- what the grid shows --------------------------------------------------------------------
    def show_class(self, name: str) -> None:
        """Show a class (or ``INBOX``) in the grid."""
        self._view = ("class", name, [])
        row = self.class_model.row_of(name)
        if row is not None and self.class_view.currentIndex().row() != row:
            self.class_view.setCurrentIndex(self.class_model.index(row))
        self.thumb_model.set_paths(self.project.images(name), self._thumbs)
        self._update_heading()
        if self.thumb_model.rowCount():
            self.grid.setCurrentIndex(self.thumb_model.index(0))

    def show_finding(self, title: str, paths: list[Path]) -> None:
        """Show the images of a health finding (any classes) in the grid."""
        self._view = ("finding", title, list(paths))
        self.class_view.clearSelection()
        self.thumb_model.set_paths([p for p in paths if p.exists()], self._thumbs)
        self._update_heading()

    def current_class(self) -> str | None:
        return self._view[1] if self._view[0] == "class" else None

    def _update_heading(self) -> None:
        kind, name, _ = self._view
        count = self.thumb_model.rowCount()
        if self.project.root is None:
            self.heading.setText("<b>No project open</b> — File ▸ Open Project or Create Demo Project")
        elif kind == "finding":
            self.heading.setText(f"<b>{name}</b> — {count} images")
        else:
            label = "Unsorted (inbox)" if name == INBOX else name
            self.heading.setText(f"<b>{label}</b> — {count} images")
        keys = ", ".join(f"{c.key} {c.name}" for c in self.project.classes() if c.key)
        self.hint.setText(
            f"Select images and press a key to send them to a class ({keys}); or drag them onto a class. "
            "Space previews, Ctrl+Z undoes." if keys else
            "Create classes (New), then press their keys to sort the selected images.")

    # -- slots ----------------------------------------------------------------------------------
    def _on_project_changed(self, root: Path | None) -> None:
        self.thumb_model.stop()
        self._thumbs = ThumbnailCache(root, self.thumb_model.side) if root is not None else None
        enabled = root is not None
        for widget in (self.new_button, self.rename_button, self.merge_button, self.delete_button,
                       self.import_button, self.import_folder_button, self.health.check_button):
            widget.setEnabled(enabled)
        if root is None:
            self.thumb_model.set_paths([], None)
            self._update_heading()
            return
        self.show_class(INBOX if self.project.inbox_count() or not self.project.classes()
                        else self.project.classes()[0].name)

    def _on_preferences_changed(self, settings: Settings) -> None:
        side = settings.thumbnail_size
        if side == self.thumb_model.side:
            return
        current = self.grid.currentIndex()
        current_path = self.thumb_model.path(current.row()) if current.isValid() else None
        root = self.project.root
        self._thumbs = ThumbnailCache(root, side) if root is not None else None
        self.thumb_model.set_side(side, self._thumbs)
        self.grid.set_side(side)
        row = self.thumb_model.row_of(current_path) if current_path is not None else None
        if row is not None:
            self.grid.setCurrentIndex(self.thumb_model.index(row))

    def _on_classes_changed(self) -> None:
        if self._view[0] == "class" and self._view[1] != INBOX and self._view[1] not in self.project.class_names():
            self.show_class(INBOX)  # the shown class was renamed, merged or deleted
        self._update_heading()

    def _reselect_class(self) -> None:
        if self._view[0] == "class":
            row = self.class_model.row_of(self._view[1])
            if row is not None:
                self.class_view.setCurrentIndex(self.class_model.index(row))

    def _on_class_selected(self, current, _previous) -> None:
        name = current.data(NameRole) if current.isValid() else None
        if name and (self._view[0] != "class" or self._view[1] != name):
            self.show_class(name)

    def _on_images_moved(self, _moves: list) -> None:
        if self.project.root is None:
            return
        kind, name, paths = self._view
        if kind == "class":
            self.thumb_model.sync(self.project.images(name))
        else:
            self.thumb_model.sync([p for p in paths if p.exists()])
        self._update_heading()

    def _on_key_typed(self, text: str) -> None:
        target = self.project.class_for_key(text)
        if target is None:
            return
        self.send_selected_to(target)

    def send_selected_to(self, target: str) -> None:
        """Send the selected images to ``target`` and select the image after them."""
        paths = self.grid.selected_paths()
        if not paths:
            return
        first = self.thumb_model.row_of(paths[0]) or 0
        self.project.move_images(paths, target)
        rows = self.thumb_model.rowCount()
        if rows and self.preferences.settings.advance_after_labelling:
            row = min(first, rows - 1)
            if self.thumb_model.path(row) in paths:  # nothing moved (already in that class): step on
                row = min(first + len(paths), rows - 1)
            self.grid.clearSelection()
            self.grid.setCurrentIndex(self.thumb_model.index(row))

    def _on_images_dropped(self, class_name: str, paths: list[Path], internal: bool) -> None:
        if internal:
            self.project.move_images(paths, class_name)
        else:
            self._import(paths, class_name)

    def _on_files_dropped(self, paths: list[Path]) -> None:
        self._import(paths, self.current_class() or INBOX)

    # -- importing ------------------------------------------------------------------------------
    def import_files_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, "Import images", str(Path.home()),
            "Images (*.jpg *.jpeg *.png *.bmp *.gif *.tif *.tiff *.webp);;All files (*)")
        if files:
            self._import([Path(f) for f in files], self.current_class() or INBOX)

    def import_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import a folder of images (searched recursively)")
        if folder:
            self._import([Path(folder)], self.current_class() or INBOX)

    def _import(self, paths: list[Path], target: str) -> None:
        if self.project.root is None:
            return
        inside = [p for p in paths if p.resolve().is_relative_to(self.project.root)]
        if inside and len(inside) == len(paths):
            self.project.move_images(inside, target)  # files already in the project: just sort them
            return
        settings = self.preferences.settings
        mode = settings.import_mode
        if settings.ask_import_mode:
            box = QMessageBox(QMessageBox.Icon.Question, "Import images",
                              f"Copy or move {len(paths)} item(s) into the project?", parent=self)
            copy = box.addButton("Copy", QMessageBox.ButtonRole.AcceptRole)
            move = box.addButton("Move", QMessageBox.ButtonRole.AcceptRole)
            box.addButton(QMessageBox.StandardButton.Cancel)
            box.setDefaultButton(copy if mode == "copy" else move)
            box.exec()
            if box.clickedButton() not in (copy, move):
                return
            mode = "copy" if box.clickedButton() is copy else "move"
        self.project.import_files(paths, target, mode)

    # -- class management -----------------------------------------------------------------------
    def _selected_class(self) -> str | None:
        name = self.class_view.current_name()
        return name if name and name != INBOX else None

    def _try(self, fn, *args) -> None:
        try:
            fn(*args)
        except ProjectError as exc:
            QMessageBox.warning(self, "imgclf", str(exc))

    def new_class_dialog(self) -> None:
        name, ok = QInputDialog.getText(self, "New class", "Name of the new class:")
        if ok and name.strip():
            self._try(self.project.create_class, name)

    def rename_class_dialog(self) -> None:
        old = self._selected_class()
        if old is None:
            return
        new, ok = QInputDialog.getText(self, "Rename class", f"New name for “{old}”:", text=old)
        if ok and new.strip() and new.strip() != old:
            self._try(self.project.rename_class, old, new)

    def set_key_dialog(self) -> None:
        name = self._selected_class()
        if name is None:
            return
        current = next((c.key for c in self.project.classes() if c.name == name), "")
        key, ok = QInputDialog.getText(
            self, "Labelling key",
            f"Key that sends the selected images to “{name}” (one letter or digit; empty for a number):",
            text=current)
        if ok:
            self._try(self.project.set_class_key, name, key)

    def merge_class_dialog(self) -> None:
        source = self._selected_class()
        others = [n for n in self.project.class_names() if n != source]
        if source is None or not others:
            return
        target, ok = QInputDialog.getItem(self, "Merge classes", f"Move every image of “{source}” into:",
                                          others, 0, False)
        if ok and target:
            self._try(self.project.merge_classes, [source], target)

    def delete_class_dialog(self) -> None:
        name = self._selected_class()
        if name is None:
            return
        to_trash = self.preferences.settings.delete_class_to == "trash"
        where = "the system trash (not undoable here)" if to_trash else "the unsorted inbox (undoable)"
        answer = QMessageBox.question(self, "Delete class",
                                      f"Delete the class “{name}”? Its images go to {where}; none is erased.")
        if answer != QMessageBox.StandardButton.Yes:
            return
        if to_trash:
            self.project.trash_class(name)
        else:
            self._try(self.project.delete_class, name)

    def _toggle_health(self, checked: bool) -> None:
        self.health.setVisible(checked)

    def _preview_current(self) -> None:
        index = self.grid.currentIndex()
        if index.isValid():
            self.preview.show_image(self.thumb_model.path(index.row()))
