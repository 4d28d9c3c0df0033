"""Classify tab: drop images on it and see what a model makes of them.

One image (dropped, opened or pasted) is shown with a bar chart of its class scores and the verdict in
words; "This is really …" copies it into the right class of the project (undoable) so the next training
learns from it. A folder or several files go to the "Many images" page: a sortable, filterable table,
CSV export and copies sorted into folders. All the work binds to :class:`Classifier`; the slots only
show what it reports.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QGuiApplication, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from imgclf_gui.core.models.predict import ModelSource, ResultRow, SingleResult, describe
from imgclf_gui.gui.classify.batch_page import BatchPage
from imgclf_gui.gui.classify.classify_session import Classifier
from imgclf_gui.gui.classify.correct_panel import CorrectPanel
from imgclf_gui.gui.classify.elided_label import ElidedLabel
from imgclf_gui.gui.classify.model_list import OPEN_OTHER, ModelList
from imgclf_gui.gui.classify.score_bars import ScoreBars
from imgclf_gui.gui.classify.wording import count_of
from imgclf_gui.gui.common.drop_area import DropArea, payload_of
from imgclf_gui.gui.common.pictures import rgb_to_qimage
from imgclf_gui.gui.common.preferences import Preferences
from imgclf_gui.gui.common.project_model import ProjectModel
from imgclf_gui.gui.common.tasks import TaskRunner

_IMAGE_FILTER = "Images (*.jpg *.jpeg *.png *.bmp *.gif *.tif *.tiff *.webp);;All files (*)"


def _active_model(root: Path | None) -> Path | None:
    if root is None:
        return None
    try:
        from imgclf_gui.core.models.runs import active_model_path
    except ImportError:  # an older checkout without training runs
        return None
    try:
        return active_model_path(root)
    except Exception:  # noqa: BLE001 - a damaged runs folder must not break this tab
        return None


class ClassifyTab(QWidget):
    """Classify new images with a trained model or the backbone's ImageNet classes."""

    title = "Classify"

    def __init__(self, project: ProjectModel, tasks: TaskRunner, preferences: Preferences,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.preferences = preferences  # the window's (gui/common/preferences.py); unused here so far
        self.project = project
        self.tasks = tasks
        self.classifier = Classifier(tasks, self)
        self.shown: SingleResult | None = None
        self._opened_bundles: list[Path] = []
        self._active: Path | None = None  # the project's active model, as last read or announced
        # True once the user picked a model other than the project's active one: a new active model
        # must not take that choice away (the entry in the list still changes to it).
        self._chose_other = False
        self.setAcceptDrops(True)
        self._setup_widgets()
        self._setup_layout()
        self._setup_actions()
        self._connect()
        self._fill_models()
        self._on_state_changed(self.classifier.state)
        self._on_project_changed(project.root)

    # -- setup ----------------------------------------------------------------------------------
    def _setup_widgets(self) -> None:
        self.model_combo = ModelList(self)
        self.model_status = ElidedLabel(self, keep_visible=150)  # "Ready: 1000 classes" stays whole
        self.threshold_spin = QDoubleSpinBox(self)
        self.threshold_spin.setRange(0, 100)
        self.threshold_spin.setDecimals(0)
        self.threshold_spin.setSuffix(" %")
        self.threshold_spin.setValue(self.classifier.threshold * 100)
        self.threshold_spin.setToolTip("Below this score the verdict reads “unsure”.")
        self.open_button = QPushButton("Open Images…", self)
        self.folder_button = QPushButton("Open Folder…", self)
        self.paste_button = QPushButton("Paste", self)
        self.pages = QTabWidget(self)
        self.drop_area = DropArea(self)
        self.caption = ElidedLabel(self, elide=Qt.TextElideMode.ElideMiddle)
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.verdict = ElidedLabel(self, emphasis_size=16)
        self.bars = ScoreBars(self)
        # the tab takes every drop; the plot's graphics view would otherwise swallow them
        self.bars.setAcceptDrops(False)
        self.bars.viewport().setAcceptDrops(False)
        self.correct = CorrectPanel(self.project, self)
        self.batch = BatchPage(self.classifier, self.tasks, self)

    def _setup_layout(self) -> None:
        top = QHBoxLayout()
        top.addWidget(QLabel("Model:", self))
        top.addWidget(self.model_combo)
        top.addWidget(self.model_status, 1)
        top.addWidget(QLabel("Unsure below:", self))
        top.addWidget(self.threshold_spin)
        top.addSpacing(12)
        for button in (self.open_button, self.folder_button, self.paste_button):
            top.addWidget(button)
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 4, 0)
        left_layout.addWidget(self.drop_area, 1)
        left_layout.addWidget(self.caption)
        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(4, 0, 0, 0)
        right_layout.addWidget(self.verdict)
        right_layout.addWidget(self.bars, 1)
        right_layout.addWidget(self.correct)
        single = QSplitter(Qt.Orientation.Horizontal, self)
        single.addWidget(left)
        single.addWidget(right)
        single.setChildrenCollapsible(False)
        single.setSizes([480, 560])
        holder = QWidget(self)
        holder_layout = QVBoxLayout(holder)
        holder_layout.setContentsMargins(8, 8, 8, 8)
        holder_layout.addWidget(single)
        self.pages.addTab(holder, "One image")
        self.pages.addTab(self.batch, "Many images")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(top)
        layout.addWidget(self.pages, 1)

    def _setup_actions(self) -> None:
        self.open_action = QAction("Classify &Images…", self)
        self.open_action.triggered.connect(self.open_images_dialog)
        self.folder_action = QAction("Classify a &Folder…", self)
        self.folder_action.triggered.connect(self.open_folder_dialog)
        self.paste_action = QAction("&Paste Image to Classify", self)
        self.paste_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Paste))
        self.paste_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.paste_action.triggered.connect(self.paste)
        self.addAction(self.paste_action)

    def menu_actions(self) -> dict[str, list[QAction]]:
        """Actions the main window puts into its menus."""
        return {"File": [self.open_action, self.folder_action]}

    def _connect(self) -> None:
        c = self.classifier
        c.state_changed.connect(self._on_state_changed)
        c.load_status.connect(self._on_load_status)
        c.busy_changed.connect(self._on_busy_changed)
        c.prediction_ready.connect(self._on_prediction_ready)
        c.prediction_failed.connect(self._on_prediction_failed)
        c.threshold_changed.connect(self._on_threshold_changed)
        c.batch_started.connect(lambda _paths: self.pages.setCurrentWidget(self.batch))
        self.project.project_changed.connect(self._on_project_changed)
        self.project.active_model_changed.connect(self._on_active_model_changed)
        self.project.images_moved.connect(self._on_images_moved)
        self.model_combo.activated.connect(self._on_model_chosen)
        self.threshold_spin.valueChanged.connect(lambda v: c.set_threshold(v / 100.0))
        self.open_button.clicked.connect(self.open_images_dialog)
        self.folder_button.clicked.connect(self.open_folder_dialog)
        self.paste_button.clicked.connect(self.paste)
        self.batch.row_activated.connect(self._on_row_activated)

    # -- models ---------------------------------------------------------------------------------
    def _fill_models(self) -> None:
        current = self.classifier.source
        active = self._active
        if current is not None and current.kind == "bundle" and current.path != active and \
                current.path not in self._opened_bundles:
            self._opened_bundles.append(current.path)  # e.g. the previous project's model, still loaded
        self.model_combo.fill(active=active, opened=[p for p in self._opened_bundles if p != active],
                              current=current, project_root=self.project.root)

    def use_model(self, source: ModelSource) -> None:
        """Classify with ``source`` from now on (it loads in the background, unless it is loaded already)."""
        active = self._active
        self._chose_other = not (source.kind == "bundle" and source.path == active)
        if source.kind == "bundle" and source.path not in self._opened_bundles and source.path != active:
            self._opened_bundles.append(source.path)  # type: ignore[arg-type]
        self.classifier.set_source(source)
        self._fill_models()

    def _on_model_chosen(self, index: int) -> None:
        data = self.model_combo.itemData(index)
        if data == OPEN_OTHER:
            folder = QFileDialog.getExistingDirectory(self, "Open a saved model (a .imgclf-model folder)")
            if folder:
                self.use_model(ModelSource.bundle(Path(folder)))
            else:
                self._fill_models()
        elif isinstance(data, ModelSource):
            self.use_model(data)

    def _ensure_model(self) -> None:
        if self.classifier.source is None or self.classifier.state == "error" and \
                self.model_combo.currentData() != self.classifier.source:
            data = self.model_combo.currentData()
            if isinstance(data, ModelSource):
                self.classifier.set_source(data)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        # The active model may have changed outside the app (``imgclf train DIR``) while the tab was hidden.
        self._follow_active(_active_model(self.project.root))
        # Loading starts when the tab is first seen, so the first drop rarely waits for it.
        self._ensure_model()

    # -- input ----------------------------------------------------------------------------------
    def classify_paths(self, paths: list[Path]) -> None:
        """One file: shown big with its bars; several files or a folder: the table."""
        self._ensure_model()
        if len(paths) == 1 and not paths[0].is_dir():
            self.pages.setCurrentIndex(0)
            self.classifier.classify(paths[0])
        elif paths:
            self.classifier.classify_many(paths)

    def classify_array(self, rgb: np.ndarray) -> None:
        self._ensure_model()
        self.pages.setCurrentIndex(0)
        self.classifier.classify(rgb)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls() or event.mimeData().hasImage():
            event.acceptProposedAction()
            self.drop_area.set_highlight(True)
        else:
            event.ignore()

    def dragLeaveEvent(self, event) -> None:  # noqa: N802
        self.drop_area.set_highlight(False)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        self.drop_area.set_highlight(False)
        payload = payload_of(event.mimeData())
        if payload is None:
            event.ignore()
            return
        event.acceptProposedAction()
        if isinstance(payload, np.ndarray):
            self.classify_array(payload)
        else:
            self.classify_paths(payload)

    def paste(self) -> None:
        payload = payload_of(QGuiApplication.clipboard().mimeData())
        if payload is None:
            self.verdict.show_text("The clipboard holds no image or image file.")
        elif isinstance(payload, np.ndarray):
            self.classify_array(payload)
        else:
            self.classify_paths(payload)

    def open_images_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Classify images", str(Path.home()), _IMAGE_FILTER)
        if files:
            self.classify_paths([Path(f) for f in files])

    def open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Classify every image in a folder (and below)")
        if folder:
            self.classify_paths([Path(folder)])

    # -- slots ----------------------------------------------------------------------------------
    def _on_state_changed(self, state: str) -> None:
        c = self.classifier
        text = {"none": "No model chosen", "loading": c.loading_text,
                "ready": f"Ready: {count_of(len(c.class_names), 'class', 'classes')}" if c.predictor is not None
                else "Ready",
                "error": f"Cannot use this model: {c.error}"}[state]
        self.model_status.show_text(text)
        if state == "loading":
            self._forget_scores()
            self.verdict.show_text(c.loading_text)
            if self.drop_area.has_image():  # the picture stays; its scores come with the new model
                self.drop_area.set_text(c.loading_text, keep_image=True)
        elif state == "error":
            self._forget_scores()
            self.verdict.show_text(f"This model cannot be used: {c.error}")
            self.drop_area.set_text(f"No model: {c.error}")
        elif state == "none":
            self._forget_scores()
            self.verdict.show_text("Choose a model to classify with.")
        elif state == "ready" and self.shown is None and not self.drop_area.has_image():
            self.verdict.show_text("Drop an image to see what the model makes of it.")

    def _forget_scores(self) -> None:
        """Another model (or none): the scores on screen were not made by it, so they go at once."""
        self.shown = None
        self.bars.clear_scores()
        self.correct.set_shown(None)

    def _on_load_status(self, text: str) -> None:
        self.model_status.show_text(text)
        self.verdict.show_text(text)
        if self.drop_area.has_image():
            self.drop_area.set_text(text, keep_image=True)

    def _on_busy_changed(self, busy: bool) -> None:
        if busy:
            waiting = self.classifier.loading_text if self.classifier.state == "loading" else "Classifying…"
            self.drop_area.set_text(waiting, keep_image=True)
            self.verdict.show_text(waiting)

    def _on_prediction_ready(self, result: SingleResult) -> None:
        self.shown = result
        predictor = self.classifier.predictor
        names = self.classifier.class_names
        self.drop_area.set_image(rgb_to_qimage(result.preview))
        where = str(result.path) if result.path is not None else "Pasted image"
        self.caption.show_text(where)
        self._show_verdict()
        self.bars.set_scores(names, result.scores, self.classifier.threshold, limit=predictor.show_top)
        # Only a model of project classes may suggest one; an ImageNet "tabby" is nobody's class here.
        own_classes = predictor.bundle is not None
        self.correct.set_shown(result, names[int(np.argmax(result.scores))] if own_classes else "")

    def _on_prediction_failed(self, reason: str) -> None:
        self.shown = None
        self.drop_area.set_text(f"Cannot classify this file:\n{reason}")
        self.verdict.show_text(f"Cannot classify this file: {reason}")
        self.caption.show_text("")
        self.bars.clear_scores()
        self.correct.set_shown(None)

    def _on_threshold_changed(self, value: float) -> None:
        self.threshold_spin.blockSignals(True)
        self.threshold_spin.setValue(round(value * 100))
        self.threshold_spin.blockSignals(False)
        self.bars.set_threshold(value)
        self._show_verdict()

    def _show_verdict(self) -> None:
        if self.shown is None:
            return
        self.verdict.show_text(describe(self.shown.scores, self.classifier.class_names, self.classifier.threshold),
                               emphasis=True)

    def _on_row_activated(self, row: ResultRow) -> None:
        if row is not None and row.scores is not None:
            self.classify_paths([row.path])

    def _on_images_moved(self, pairs: list) -> None:
        for old, new in pairs:
            if old is None:
                continue
            self.classifier.image_moved(old, new)
            if self.shown is not None and self.shown.path == old:
                self.shown = dataclasses.replace(self.shown, path=new)
                self.caption.show_text(str(new))

    def _on_project_changed(self, root: Path | None) -> None:
        self._chose_other = False  # a choice made for another project's images does not carry over
        self._follow_active(_active_model(root), project_changed=True)

    def _on_active_model_changed(self, path: object) -> None:
        # The Training tab has just stored it and says which: use that, without reading it back.
        self._follow_active(path if isinstance(path, Path) else None)

    def _follow_active(self, active: Path | None, project_changed: bool = False) -> None:
        """Follow the project's active model ``active``: when a project opens, when the Training tab makes
        another run active (``ProjectModel.active_model_changed``), and when the tab is shown again, unless
        the user picked some other model here. A model already loaded (or loading) is not loaded again."""
        previous, self._active = self._active, active
        source = self.classifier.source
        following = project_changed or source is None or not self._chose_other or \
            (source.kind == "bundle" and source.path == previous)
        if active is not None and following:
            self.use_model(ModelSource.bundle(active))  # Classifier.set_source keeps a model it has
        elif active != previous:
            self._fill_models()  # the list's "active model" entry names another folder now
