"""Dataset tab: classes on the left, the thumbnail grid in the middle, data health on the right.

Labelling at speed: select images, press a class's key (1..9, or its letter; 0 sends back to the inbox)
and the next image is selected; or drag thumbnails onto a class, or right-click them. Every move goes
through :class:`ProjectModel` and can be undone (Ctrl+Z); after an undo or redo the images it moved back
are selected (or the image after the ones it took away), so the next key acts at once.
Preferences (thumbnail size, importing, what deleting a class does, moving on after labelling) come from
the window's :class:`Preferences`, read when used; a new thumbnail size is followed at once.

The pieces: :mod:`.dataset_actions` (menus and shortcuts), :mod:`.import_flow` (importing and file drops),
:mod:`.class_dialogs` (new, rename, key, merge, delete), :mod:`.thumbnail_menu` (right-click on images),
:mod:`.project_banner` (what a project is, loose photos), :mod:`.class_list`, :mod:`.health_panel`.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QPoint, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QMenu, QPushButton, QSplitter, QVBoxLayout, QWidget

from imgclf_gui.core.images.thumbnails import ThumbnailCache
from imgclf_gui.core.project import rules
from imgclf_gui.core.support.settings import Settings
from imgclf_gui.gui.common.preferences import Preferences
from imgclf_gui.gui.common.preview import PreviewDialog
from imgclf_gui.gui.common.project_model import INBOX, ProjectModel
from imgclf_gui.gui.common.tasks import TaskRunner
from imgclf_gui.gui.common.thumbnail_grid import ThumbnailGrid, ThumbnailModel
from imgclf_gui.gui.dataset.class_dialogs import ClassDialogs
from imgclf_gui.gui.dataset.class_list import ClassListModel, ClassListView, NameRole
from imgclf_gui.gui.dataset.dataset_actions import DatasetActions
from imgclf_gui.gui.dataset.health_panel import HealthPanel
from imgclf_gui.gui.dataset.import_flow import ImportFlow
from imgclf_gui.gui.dataset.inbox_review import InboxReview
from imgclf_gui.gui.dataset.project_banner import ProjectBanner
from imgclf_gui.gui.dataset.state_banner import StateBanner
from imgclf_gui.gui.dataset.thumbnail_menu import build_thumbnail_menu, show_in_file_manager


class DatasetTab(QWidget):
    """Sort images into classes."""

    title = "Dataset"

    def __init__(self, project: ProjectModel, tasks: TaskRunner, preferences: Preferences,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.tasks = tasks
        self.preferences = preferences
        self._view: tuple[str, str, list[Path]] = ("class", INBOX, [])  # (kind, name or title, finding paths)
        self._thumbs: ThumbnailCache | None = None
        self._labelling = False  # a key or menu of this tab is sending images (it follows "advance" itself)
        self.thumb_menu: QMenu | None = None  # the thumbnails' right-click menu while it is open
        self.class_dialogs = ClassDialogs(self, project, preferences)
        self.importer = ImportFlow(self, project, preferences)
        self._setup_widgets(preferences.settings.thumbnail_size)
        self._setup_layout()
        self.commands = DatasetActions(self)
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
        self.grid.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.heading = QLabel(self)
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self.import_button = QPushButton("Import Images…", self)
        self.import_folder_button = QPushButton("Import Folder…", self)
        self.map_button = QPushButton("Map", self)
        self.map_button.setToolTip("Every image placed by what the network sees: find clusters, strays and "
                                   "mislabels, and sort a whole group at once (Ctrl+M)")
        self.map_window = None  # the Dataset Map, made on first use (it imports pyqtgraph)
        self.banner = ProjectBanner(self.project, self)
        self.hint = QLabel(self)
        self.hint.setWordWrap(True)
        self.hint.setEnabled(False)
        self.health = HealthPanel(self.project, self.tasks, self)
        self.preview = PreviewDialog(self.tasks, self)
        self.state_banner = StateBanner(self.project, self)
        self.review = InboxReview(self)  # the inbox's suggestions: badges, order, Enter, Accept All

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
        top.addWidget(self.map_button)
        centre_layout.addLayout(top)
        centre_layout.addWidget(self.banner)
        centre_layout.addWidget(self.review.bar)
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
        layout.addWidget(self.state_banner)  # read-only here, and what opening the project found
        layout.addWidget(self.splitter, 1)

    def menu_actions(self) -> dict[str, list[QAction]]:
        """Actions the main window puts into its menus."""
        return self.commands.menus()

    def _connect(self) -> None:
        self.project.project_changed.connect(self._on_project_changed)
        self.project.images_moved.connect(self._on_images_moved)
        self.project.classes_changed.connect(self._on_classes_changed)
        self.preferences.changed.connect(self._on_preferences_changed)
        self.class_view.selectionModel().currentChanged.connect(self._on_class_selected)
        self.class_model.modelReset.connect(self._reselect_class)
        self.class_view.images_dropped.connect(self._on_images_dropped)
        self.grid.key_typed.connect(self._on_key_typed)
        self.grid.accept_requested.connect(self.review.accept_selected)
        self.grid.files_dropped.connect(self._on_files_dropped)
        self.grid.preview_requested.connect(self.preview.show_image)
        self.grid.customContextMenuRequested.connect(self._on_thumbnail_menu)
        self.health.show_images.connect(self.show_finding)
        self.new_button.clicked.connect(self.new_class_dialog)
        self.rename_button.clicked.connect(self.rename_class_dialog)
        self.merge_button.clicked.connect(self.merge_class_dialog)
        self.delete_button.clicked.connect(self.delete_class_dialog)
        self.import_button.clicked.connect(self.import_files_dialog)
        self.import_folder_button.clicked.connect(self.import_folder_dialog)
        self.map_button.clicked.connect(self.open_map)

    # -- what the grid shows --------------------------------------------------------------------
    def show_class(self, name: str) -> None:
        """Show a class (or ``INBOX``) in the grid."""
        self._view = ("class", name, [])
        row = self.class_model.row_of(name)
        if row is not None and self.class_view.currentIndex().row() != row:
            self.class_view.setCurrentIndex(self.class_model.index(row))
        self.thumb_model.set_paths(self.review.listing(name), self._thumbs)
        self.review.showing(name)
        self._update_heading()
        if self.thumb_model.rowCount():
            self.grid.setCurrentIndex(self.thumb_model.index(0))

    def show_finding(self, title: str, paths: list[Path]) -> None:
        """Show the images of a health finding (any classes) in the grid."""
        self._view = ("finding", title, list(paths))
        self.class_view.clearSelection()
        self.thumb_model.set_paths([p for p in paths if p.exists()], self._thumbs)
        self.review.showing(None)
        self._update_heading()

    def current_class(self) -> str | None:
        return self._view[1] if self._view[0] == "class" else None

    def _update_heading(self) -> None:
        kind, name, _ = self._view
        count = rules.count_words(self.thumb_model.rowCount(), "image")
        if self.project.root is None:
            self.heading.setText("<b>No project open</b> — File ▸ Open Project or Create Demo Project")
        else:
            label = name if kind == "finding" else "Unsorted (inbox)" if name == INBOX else name
            self.heading.setText(f"<b>{label}</b> — {count}")
        keys = ", ".join(f"{c.key} {c.name}" for c in self.project.classes() if c.key)
        self.hint.setText(
            f"Select images and press a key to send them to a class ({keys}; {rules.INBOX_KEY} the inbox), "
            "drag them onto a class, or right-click them. Space previews, Ctrl+Z undoes." if keys else
            "Create classes (New), then press their keys to sort the selected images.")

    # -- keeping a selection --------------------------------------------------------------------
    def _select(self, paths: list[Path], current: Path | None = None) -> None:
        """Select ``paths`` (those shown) with ``current`` (default: the first) as the current image."""
        rows = sorted(r for r in map(self.thumb_model.row_of, paths) if r is not None)
        if not rows:
            return
        selection = QItemSelection()
        start = previous = rows[0]
        for row in rows[1:] + [None]:  # contiguous runs as one range each: 20,000 rows stay cheap
            if row is not None and row == previous + 1:
                previous = row
                continue
            selection.select(self.thumb_model.index(start), self.thumb_model.index(previous))
            if row is not None:
                start = previous = row
        model = self.grid.selectionModel()
        model.select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        current_row = self.thumb_model.row_of(current) if current is not None else None
        index = self.thumb_model.index(rows[0] if current_row is None else current_row)
        model.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)
        self.grid.scrollTo(index)

    def _keep_selection(self, kind: str, moves: list, before: list[Path], selected: list[Path],
                        current: Path | None) -> None:
        """After images moved: the images an undo or redo brought here, else the selection that is still
        shown, else (its images left) the image that followed them, so the next key has something to act on."""
        shown = set(self.thumb_model.paths)
        if kind in ("undo", "redo"):
            was_shown = set(before)
            arrived = [new for _old, new in moves if new in shown and new not in was_shown]
            if arrived:
                self._select(arrived)
                return
        still = [p for p in selected if p in shown]
        if still:
            self._select(still, current if current in shown else None)
        elif selected and self.thumb_model.rowCount() and (
                not self._labelling or self.preferences.settings.advance_after_labelling):
            position = {p: i for i, p in enumerate(before)}  # 20,000 selected images: no list.index each
            first = min(position[p] for p in selected if p in position)
            row = sum(1 for p in before[:first] if p in shown)  # where the next image now is
            self._select([self.thumb_model.path(min(row, self.thumb_model.rowCount() - 1))])

    # -- slots ----------------------------------------------------------------------------------
    def _on_project_changed(self, root: Path | None) -> None:
        self.thumb_model.stop()
        self._thumbs = ThumbnailCache(root, self.thumb_model.side) if root is not None else None
        enabled = root is not None
        for widget in (self.new_button, self.rename_button, self.merge_button, self.delete_button,
                       self.import_button, self.import_folder_button, self.map_button, self.health.check_button):
            widget.setEnabled(enabled)
        if root is None:
            self.thumb_model.set_paths([], None)
            self.review.showing(None)
            self._update_heading()
            return
        self.show_class(INBOX if self.project.inbox_count() or not self.project.classes()
                        else self.project.classes()[0].name)

    def _on_preferences_changed(self, settings: Settings) -> None:
        side = settings.thumbnail_size
        if side == self.thumb_model.side:
            return
        current = self._current_path()
        root = self.project.root
        self._thumbs = ThumbnailCache(root, side) if root is not None else None
        self.thumb_model.set_side(side, self._thumbs)
        self.grid.set_side(side)
        if current is not None:
            self._select([current])

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

    def _current_path(self) -> Path | None:
        index = self.grid.currentIndex()
        return self.thumb_model.path(index.row()) if index.isValid() else None

    def _on_images_moved(self, moves: list) -> None:
        if self.project.root is None:
            return
        kind, name, paths = self._view
        before, selected, current = list(self.thumb_model.paths), self.grid.selected_paths(), self._current_path()
        self.thumb_model.sync(self.review.listing(name) if kind == "class" else [p for p in paths if p.exists()])
        self._update_heading()
        last = self.project.last_result
        action = last.action.kind if moves and last is not None and last.moved == moves else "do"
        self._keep_selection(action, moves, before, selected, current)

    def _on_key_typed(self, text: str) -> None:
        target = INBOX if text == rules.INBOX_KEY else self.project.class_for_key(text)
        if target is not None:
            self.send_selected_to(target)

    def send_selected_to(self, target: str) -> None:
        """Send the selected images to ``target`` (a class or ``INBOX``); the image after them is
        selected next (unless the preferences say not to move on)."""
        paths = self.grid.selected_paths()
        if not paths or self.project.root is None:
            return
        self.send_paths(paths, lambda: self.project.move_images(paths, target))

    def send_paths(self, paths: list[Path], move) -> None:
        """Label ``paths`` with ``move()`` (a ProjectModel action), then select the image after them."""
        self._labelling = True
        try:
            result = move()
        finally:
            self._labelling = False
        if result is not None and not result.moved and self.preferences.settings.advance_after_labelling:
            # nothing moved (already in that class): step on, as a sorted image would
            last = self.thumb_model.row_of(paths[-1])
            if last is not None and last + 1 < self.thumb_model.rowCount():
                self._select([self.thumb_model.path(last + 1)])

    def _on_images_dropped(self, class_name: str, paths: list[Path], internal: bool) -> None:
        if internal:
            self.project.move_images(paths, class_name)
        else:
            self.importer.drop(paths, class_name)

    def _on_files_dropped(self, paths: list[Path]) -> None:
        self.importer.drop(paths, self.current_class() or INBOX)

    def _on_thumbnail_menu(self, pos: QPoint) -> None:
        index = self.grid.indexAt(pos)
        if not index.isValid():
            return
        if not self.grid.selectionModel().isSelected(index):
            self.grid.setCurrentIndex(index)  # right-click outside the selection: it acts on that image
        here = self.thumb_model.path(index.row())
        paths = [here] + [p for p in self.grid.selected_paths() if p != here]
        if self.thumb_menu is not None:
            self.thumb_menu.deleteLater()
        self.thumb_menu = build_thumbnail_menu(self, self.project, paths, self.send_selected_to,
                                               self.preview.show_image, self._reveal)
        self.thumb_menu.popup(self.grid.viewport().mapToGlobal(pos))

    def _reveal(self, path: Path) -> None:
        if not show_in_file_manager(path):
            self.project.message.emit(f"No file manager answered; the image is in {path.parent}.")

    # -- commands (menus, buttons) --------------------------------------------------------------
    def import_files_dialog(self) -> None:
        self.importer.import_files(self._selected_class())

    def import_folder_dialog(self) -> None:
        self.importer.import_folder(self._selected_class())

    def _selected_class(self) -> str | None:
        name = self.class_view.current_name()
        return name if name and name != INBOX else None

    def new_class_dialog(self) -> None:
        self.class_dialogs.new_class()

    def rename_class_dialog(self) -> None:
        if (name := self._selected_class()) is not None:
            self.class_dialogs.rename_class(name)

    def set_key_dialog(self) -> None:
        if (name := self._selected_class()) is not None:
            self.class_dialogs.set_key(name)

    def merge_class_dialog(self) -> None:
        if (name := self._selected_class()) is not None:
            self.class_dialogs.merge_class(name)

    def delete_class_dialog(self) -> None:
        if (name := self._selected_class()) is not None:
            self.class_dialogs.delete_class(name)

    def open_map(self) -> None:
        """Open the Dataset Map window (a selection there can be shown in this grid)."""
        if self.project.root is None:
            return
        if self.map_window is None:
            from imgclf_gui.gui.dataset.map_view import DatasetMapWindow

            self.map_window = DatasetMapWindow(self.project, self.tasks, self.show_finding, self)
        self.map_window.open()

    def preview_current(self) -> None:
        if (path := self._current_path()) is not None:
            self.preview.show_image(path)
