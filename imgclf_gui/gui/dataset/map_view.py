"""The map of the dataset, a window opened from the Dataset tab (View ▸ Dataset Map, or its Map button).

Every image with a cached bottleneck is a point, coloured by its class (the inbox grey); suspected
mislabels of the active model carry a red ring. Hover shows the thumbnail, file name and class; a click
opens the preview; a lasso or rectangle selects, and the selection is sent to a class (through
``ProjectModel.move_images``: journaled, undoable) or shown in the Dataset tab's grid.

A thin view over :mod:`imgclf_gui.core.review.dataset_map`: ``open_map`` runs in a task slot and shows the
quick layout, then ``finish_map`` lays out (or places new images) in another slot, its layouts shown as
they form; images without a bottleneck are offered for extraction (a third slot, cancellable).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QColor, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QProgressBar,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from imgclf_gui.core.images.thumbnails import ThumbnailCache
from imgclf_gui.core.project import rules
from imgclf_gui.core.review.dataset_map import DatasetMap
from imgclf_gui.gui.common.pictures import rgb_to_pixmap
from imgclf_gui.gui.common.preview import PreviewDialog
from imgclf_gui.gui.common.project_model import INBOX, ProjectModel
from imgclf_gui.gui.common.tasks import TaskRunner
from imgclf_gui.gui.dataset.map_card import HoverCard, class_colours, extract_missing, load_thumbnail
from imgclf_gui.gui.dataset.map_plot import INBOX_GREY, LASSO, PAN, RECTANGLE, MapPlot

NEIGHBOURS, QUICK = "Neighbours (t-SNE)", "Quick (PCA)"


def _open(state, root: Path, hashes: dict[Path, str]) -> DatasetMap:
    from imgclf_gui.core.review.dataset_map import open_map

    return open_map(root, hashes=hashes, should_stop=state.stop_callback)


def _finish(state, dmap: DatasetMap) -> DatasetMap:
    from imgclf_gui.core.review.dataset_map import finish_map

    return finish_map(dmap, on_progress=state.progress_callback, should_stop=state.stop_callback,
                      on_layout=state.set_partial_result)


class DatasetMapWindow(QWidget):
    """The map of the open project; ``show_in_grid(title, paths)`` hands a selection to the Dataset tab."""

    def __init__(self, project: ProjectModel, tasks: TaskRunner,
                 show_in_grid: Callable[[str, list[Path]], None] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Dataset Map")
        self.project, self.tasks, self.show_in_grid = project, tasks, show_in_grid
        self.dmap: DatasetMap | None = None
        self.partial: np.ndarray | None = None  # the t-SNE layout while it forms
        self.class_names: list[str] = []
        self._thumbs: ThumbnailCache | None = None
        self._row_of: dict[Path, int] = {}
        self._slots = {k: (k, id(self)) for k in ("map-open", "map-finish", "map-extract", "map-thumb")}
        self._build()
        self.preview = PreviewDialog(tasks, self)
        project.images_moved.connect(self._on_images_moved)
        project.project_changed.connect(self._on_project_changed)
        project.classes_changed.connect(self._recolour)
        self.resize(1100, 700)

    # -- widgets ----------------------------------------------------------------------------------
    def _build(self) -> None:
        self.plot = MapPlot(self)
        self.card = HoverCard(self)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.layout_choice = QComboBox(self)
        self.layout_choice.addItems([NEIGHBOURS, QUICK])
        self.mode_buttons = QButtonGroup(self)
        modes = QHBoxLayout()
        for mode, text, tip in ((PAN, "Pan", "Drag to move the map; the wheel zooms"),
                                (LASSO, "Lasso", "Draw around images to select them"),
                                (RECTANGLE, "Rectangle", "Drag a rectangle to select images")):
            button = QToolButton(self)
            button.setText(text)
            button.setToolTip(tip)
            button.setCheckable(True)
            button.setChecked(mode == PAN)
            button.setProperty("mode", mode)
            self.mode_buttons.addButton(button)
            modes.addWidget(button)
        self.progress = QProgressBar(self)
        self.stop_button = QPushButton("Stop", self)
        self.missing_label = QLabel(self)
        self.missing_label.setWordWrap(True)
        self.compute_button = QPushButton("Compute Missing Bottlenecks", self)
        self.legend = QListWidget(self)
        self.selection_label = QLabel(self)
        self.selection_label.setWordWrap(True)
        self.send_button = QPushButton("Send to Class", self)
        self.send_menu = QMenu(self.send_button)
        self.send_button.setMenu(self.send_menu)
        self.grid_button = QPushButton("Show in Grid", self)
        self.clear_button = QPushButton("Clear Selection", self)
        self.fit_button = QPushButton("Fit Map", self)
        side = QVBoxLayout()
        for widget in (self.status, QLabel("<b>Layout</b>", self), self.layout_choice):
            side.addWidget(widget)
        side.addLayout(modes)
        bar = QHBoxLayout()
        bar.addWidget(self.progress, 1)
        bar.addWidget(self.stop_button)
        side.addLayout(bar)
        for widget in (self.missing_label, self.compute_button, QLabel("<b>Classes</b>", self), self.legend,
                       self.selection_label, self.send_button, self.grid_button, self.clear_button, self.fit_button):
            side.addWidget(widget)
        panel = QWidget(self)
        panel.setLayout(side)
        panel.setFixedWidth(250)
        layout = QHBoxLayout(self)
        layout.addWidget(self.plot, 1)
        layout.addWidget(panel)
        self.plot.hovered.connect(self._on_hovered)
        self.plot.clicked.connect(lambda row: self.preview.show_image(self.dmap.paths[row]) if self.dmap else None)
        self.plot.selected.connect(lambda _rows: self._update_selection())
        self.layout_choice.currentTextChanged.connect(lambda _text: (self._show_layout(fit=True), self._describe()))
        self.mode_buttons.buttonClicked.connect(lambda b: self.plot.set_mode(b.property("mode")))
        self.stop_button.clicked.connect(self._stop)
        self.compute_button.clicked.connect(self.compute_missing)
        self.grid_button.clicked.connect(self._show_selection_in_grid)
        self.clear_button.clicked.connect(lambda: (self.plot.set_selection(np.zeros(0, np.int64)),
                                                   self._update_selection()))
        self.fit_button.clicked.connect(self.plot.reset_view)
        self._busy(False)
        self._update_selection()

    # -- opening and laying out -------------------------------------------------------------------
    def open(self) -> None:
        """Show the window with the map of the project as it is now."""
        self.reload()
        self.show()
        self.raise_()
        self.activateWindow()

    def _on_project_changed(self, _root: Path | None) -> None:
        if self.isVisible():
            self.reload()
        else:  # made again when the window is opened, not in the background for nobody
            self.dmap = None
            for key in ("map-open", "map-finish", "map-extract"):
                self.tasks.cancel_slot(self._slots[key])

    def reload(self, hashes: dict[Path, str] | None = None) -> None:
        """(Re)open the map of the project (quick layout first, then the t-SNE one in the background)."""
        for key in ("map-finish", "map-extract"):
            self.tasks.cancel_slot(self._slots[key])
        root = self.project.root
        self._thumbs = ThumbnailCache(root, 128) if root is not None else None
        if root is None:
            self.dmap = None
            self.status.setText("No project open.")
            self._recolour()
            return
        self.status.setText("Reading the bottlenecks…")
        self.tasks.start(_open, root, dict(hashes or {}), on_done=self._on_opened, on_error=self._on_failed,
                         name="map", slot=self._slots["map-open"])

    def _on_opened(self, dmap: DatasetMap) -> None:
        from imgclf_gui.core.review.map_layout import neighbour_layout_available

        kept = self.selected_paths()  # the same images stay selected in the new map (rows differ)
        self.dmap, self.partial = dmap, None
        self._row_of = {p: i for i, p in enumerate(dmap.paths)}
        self.plot.set_selection(np.array([self._row_of[p] for p in kept if p in self._row_of], np.int64))
        self._recolour()
        self._show_layout(fit=True)
        self._update_missing()
        available, why = neighbour_layout_available()
        if dmap.pending and available:
            self._busy(True)
            self.tasks.start(_finish, dmap, on_progress=self._on_progress, on_partial=self._on_partial_layout,
                             on_done=self._on_finished, on_error=self._on_failed, on_cancelled=self._on_stopped,
                             name="map layout", slot=self._slots["map-finish"])
        self._describe(why if not available else "")

    def _on_partial_layout(self, layout: np.ndarray) -> None:
        if self.dmap is not None and len(layout) == len(self.dmap.paths):
            self.partial = layout
            self._show_layout()

    def _on_finished(self, dmap: DatasetMap) -> None:
        self._busy(False)
        self.dmap, self.partial = dmap, None
        self._show_layout()
        self._describe()

    def _on_stopped(self) -> None:
        self._busy(False)
        self.partial = None
        self._show_layout()
        self._describe("Stopped: the quick layout is shown; reopen the map to lay it out again.")

    def _on_failed(self, failure) -> None:
        self._busy(False)
        self.status.setText(f"The map could not be made: {failure.message}")

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _stop(self) -> None:
        for key in ("map-finish", "map-extract"):
            task = self.tasks.slot_task(self._slots[key])
            if task is not None:
                task.cancel()

    def _busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.stop_button.setVisible(busy)
        if busy:
            self.progress.setRange(0, 0)

    def _describe(self, extra: str = "") -> None:
        dmap = self.dmap
        if dmap is None:
            return
        tsne = self.layout_choice.currentText() == NEIGHBOURS and (self.partial is not None or dmap.refined is not None)
        layout = "t-SNE" if tsne else "PCA"
        lines = [f"{rules.count_words(len(dmap.paths), 'image')} on the map ({layout}, {dmap.backbone_id})."]
        if dmap.pending == "refine":
            lines.append("Arranging neighbours…")
        elif dmap.pending == "place":
            lines.append(f"Placing {rules.count_words(int((~dmap.placed()).sum()), 'new image')}…")
        if dmap.suspects:
            lines.append(f"Red rings: {rules.count_words(len(dmap.suspects), 'suspected mislabel')}.")
        self.status.setText(" ".join(lines + dmap.notes + ([extra] if extra else [])))

    def _layout_shown(self) -> np.ndarray:
        """The layout to draw: the t-SNE one (as far as it has formed) unless the quick one is chosen."""
        dmap = self.dmap
        if dmap is None:
            return np.zeros((0, 2), np.float32)
        if self.layout_choice.currentText() == NEIGHBOURS:
            if self.partial is not None:
                return self.partial
            if dmap.refined is not None:
                return dmap.refined
        return dmap.pca

    def _show_layout(self, fit: bool = False) -> None:
        self.plot.move_points(self._layout_shown())
        if fit:
            self.plot.reset_view()

    def _recolour(self) -> None:
        dmap = self.dmap
        if dmap is None:
            self.plot.set_points(np.zeros((0, 2)), np.zeros(0, np.int64), [], np.zeros(0, bool))
            return
        self.class_names = self.project.class_names()
        index = {name: i for i, name in enumerate(self.class_names)}
        codes = np.array([index.get(label, -1) for label in dmap.labels], np.int64)
        colours = class_colours(self.class_names)
        marked = np.array([p in dmap.suspects for p in dmap.paths], bool)
        self.plot.set_points(self._layout_shown(), codes, colours, marked)
        self._fill_legend(codes, colours)
        self._fill_send_menu()

    def _fill_legend(self, codes: np.ndarray, colours: list[QColor]) -> None:
        self.legend.clear()
        counts = np.bincount(codes + 1, minlength=len(colours) + 1)
        for name, colour, count in [("Inbox", INBOX_GREY, counts[0])] + list(
                zip(self.class_names, colours, counts[1:])):
            swatch = QPixmap(12, 12)
            swatch.fill(colour)
            self.legend.addItem(QListWidgetItem(swatch, f"{name} ({count})"))

    # -- images without bottlenecks ---------------------------------------------------------------
    def _update_missing(self) -> None:
        missing = len(self.dmap.missing) if self.dmap is not None else 0
        self.missing_label.setVisible(bool(missing))
        self.compute_button.setVisible(bool(missing))
        self.missing_label.setText(f"{rules.count_words(missing, 'image')} not on the map yet: "
                                   "their bottlenecks are not computed.")

    def compute_missing(self) -> None:
        """Extract the bottlenecks of the images not on the map (background, cancellable), then reopen."""
        if self.dmap is None or not self.dmap.missing:
            return
        self._busy(True)
        self.compute_button.setEnabled(False)
        self.status.setText(f"Computing {rules.count_words(len(self.dmap.missing), 'bottleneck')}…")
        dmap = self.dmap
        self.tasks.start(extract_missing, list(dmap.missing), dmap.backbone_id, dmap.crop, dmap.root,
                         on_progress=self._on_progress, on_done=self._on_extracted, on_error=self._on_failed,
                         on_cancelled=self._on_extract_stopped, name="map bottlenecks",
                         slot=self._slots["map-extract"])

    def _on_extracted(self, hashes: dict[Path, str]) -> None:
        self._busy(False)
        self.compute_button.setEnabled(True)
        self.reload(hashes)

    def _on_extract_stopped(self) -> None:
        self._busy(False)
        self.compute_button.setEnabled(True)
        self.reload()  # what was computed before stopping is cached: those images join the map

    # -- hover, selection, moves ------------------------------------------------------------------
    def _on_hovered(self, row: int, where: QPoint) -> None:
        dmap = self.dmap
        if row < 0 or dmap is None:
            self.card.hide()
            return
        path = dmap.paths[row]
        label = "the inbox" if dmap.labels[row] == INBOX else f"class {dmap.labels[row]}"
        text = f"<b>{path.name}</b><br>in {label}"
        suspect = dmap.suspects.get(path)
        if suspect is not None:
            text += f"<br><span style='color:#c00'>looks like {suspect.suggested} ({suspect.confidence:.0%})</span>"
        self.card.text.setText(text)
        if self.card.path != path:
            self.card.path = path
            self.card.picture.setText("…")
            if self._thumbs is not None:
                self.tasks.start(load_thumbnail, self._thumbs, path, on_done=self._on_thumbnail,
                                 on_error=lambda _f: self.card.picture.setText("(no picture)"), name="map thumbnail",
                                 slot=self._slots["map-thumb"])
        self.card.show_beside(self.mapFromGlobal(where))

    def _on_thumbnail(self, rgb: np.ndarray) -> None:
        side = self.card.picture.width()  # small images (28-pixel scans) are enlarged to be seen
        self.card.picture.setPixmap(rgb_to_pixmap(rgb).scaled(
            side, side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation))

    def selected_paths(self) -> list[Path]:
        if self.dmap is None:
            return []
        return [self.dmap.paths[r] for r in self.plot.selection]

    def _update_selection(self) -> None:
        count = len(self.plot.selection)
        self.selection_label.setText(f"<b>{rules.count_words(count, 'image')} selected</b>" if count else
                                     "Select images with the lasso or a rectangle.")
        for button in (self.send_button, self.grid_button, self.clear_button):
            button.setEnabled(bool(count))

    def _fill_send_menu(self) -> None:
        self.send_menu.clear()
        for name in [*self.class_names, INBOX]:
            text = "The Inbox" if name == INBOX else name
            action = QAction(text, self.send_menu)
            action.triggered.connect(lambda _checked=False, n=name: self.send_selection_to(n))
            self.send_menu.addAction(action)

    def send_selection_to(self, target: str) -> None:
        """Move the selected images to a class (or ``INBOX``): one journaled, undoable action."""
        paths = self.selected_paths()
        if paths:
            self.project.move_images(paths, target)

    def _show_selection_in_grid(self) -> None:
        if self.show_in_grid is not None:
            self.show_in_grid("Selected on the map", self.selected_paths())

    def _on_images_moved(self, moves: list) -> None:
        """Moved images keep their place and take their new class's colour (undo brings it back); a moved
        suspect loses its ring (the active model's list leaves moved images out) until it is moved back."""
        dmap = self.dmap
        if dmap is None or self.project.root is None:
            return
        if not moves:
            self.reload()
            return
        for old, new in moves:
            row = self._row_of.pop(old, None) if old is not None else None
            if row is not None:
                dmap.paths[row] = new
                dmap.labels[row] = rules.class_of(self.project.root, new) or INBOX
                self._row_of[new] = row
        self._recolour()
        self._update_selection()
