"""Classifier: the small model the Classify tab binds to (which model, its loading, predictions, batches).

Everything slow runs through :class:`TaskRunner`, each kind in its own slot: loading a model (TensorFlow/
LiteRT import, backbone conversion the first time), classifying one image, classifying a folder. A newer
request supersedes the older one in its slot, so a stale result never arrives; requests made while the
model loads wait for it. The scores come from ``core.models.predict``, the one file -> scores path.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from imgclf_gui.core.models.predict import UNSURE_BELOW, ModelSource, SingleResult
from imgclf_gui.core.support.tasks_api import Cancelled
from imgclf_gui.gui.classify.wording import count_of
from imgclf_gui.gui.common.tasks import TaskFailure, TaskRunner


def _load(state, source: ModelSource) -> Any:
    from imgclf_gui.core.models.predict import open_predictor
    from imgclf_gui.core.support.notes import describe

    # The first use of a backbone converts it (10-30 s): the status says so instead of a bare "Loading".
    return open_predictor(source, on_stage=lambda note: state.set_status(describe(note) + "…"))


def _classify_one(state, predictor, item: Path | np.ndarray) -> SingleResult:
    from imgclf_gui.core.models.predict import classify_file, classify_picture

    if state.should_stop():  # superseded by a newer image before it started: spare the network
        raise Cancelled
    if isinstance(item, np.ndarray):
        return classify_picture(predictor, item)
    return classify_file(predictor, item)


def _classify_many(state, predictor, paths: list[Path]) -> int:
    from imgclf_gui.core.models.predict import find_images, score_files

    files = find_images(paths, should_stop=state.should_stop)
    # Each batch of rows is one partial result (partial_mode="all"), so a 50,000-file folder fills the
    # table as it goes instead of all at the end.
    score_files(predictor, files, on_rows=state.set_partial_result, on_progress=state.progress_callback,
                should_stop=state.should_stop)
    return len(files)


class Classifier(QObject):
    """Signals (slots of views are ``_on_<signal>``):

    - ``state_changed(str)``: ``"none"`` (no model chosen), ``"loading"``, ``"ready"``, ``"error"``.
    - ``load_status(str)``: what loading is doing when it is more than loading ("Preparing
      EfficientNet-Lite0 (first use only)…"); ``loading_text`` holds the latest, for views shown later.
    - ``model_changed()``: another model is loaded (class names changed).
    - ``busy_changed(bool)``: one image is being classified.
    - ``prediction_ready(object)``: a :class:`SingleResult`.
    - ``prediction_failed(str)``: why the image (or the model) could not be used, in a sentence.
    - ``threshold_changed(float)``.
    - ``batch_started(list)`` (the files and folders given), ``batch_rows(list)`` (of :class:`ResultRow`),
      ``batch_progress(int, int)``,
      ``batch_finished(str)`` (a sentence: done, cancelled, or why it failed).
    """

    state_changed = Signal(str)
    load_status = Signal(str)
    model_changed = Signal()
    busy_changed = Signal(bool)
    prediction_ready = Signal(object)
    prediction_failed = Signal(str)
    threshold_changed = Signal(float)
    batch_started = Signal(list)
    batch_rows = Signal(list)
    batch_progress = Signal(int, int)
    batch_finished = Signal(str)

    def __init__(self, tasks: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.source: ModelSource | None = None
        self.predictor: Any = None
        self.state = "none"
        self.error = ""
        self.threshold = UNSURE_BELOW
        self._load_slot = ("load model", id(self))  # a newer choice of model supersedes a load running
        self._single_slot = ("classify image", id(self))  # a newer image supersedes the one in flight
        self._batch_slot = ("classify images", id(self))  # a newer folder supersedes the batch running
        # The image in flight, or else the one classified last (on screen): a new model classifies it again.
        self._single_item: Path | np.ndarray | None = None
        self.loading_text = ""
        self._waiting_single: Path | np.ndarray | None = None
        self._waiting_batch: list[Path] | None = None

    # -- the model ------------------------------------------------------------------------------
    @property
    def class_names(self) -> list[str]:
        return list(self.predictor.class_names) if self.predictor is not None else []

    def set_source(self, source: ModelSource | None) -> None:
        """Use another model; it loads in the background (``state_changed("loading")`` at once)."""
        if source == self.source and self.state in ("loading", "ready"):
            return
        self.source = source
        self.predictor = None
        self._stop_work_of_previous_model()
        if source is None:
            self.tasks.cancel_slot(self._load_slot)
            self._single_item = self._waiting_single = None  # nothing to classify it with
            self.busy_changed.emit(False)
            self._set_state("none")
            self.model_changed.emit()
            return
        self.loading_text = "Loading model…"
        self._set_state("loading")
        self.tasks.start(_load, source, on_status=self._on_load_status, on_done=self._on_loaded,
                         on_error=self._on_load_failed, on_cancelled=lambda: None, name="load model",
                         slot=self._load_slot)

    def _stop_work_of_previous_model(self) -> None:
        """Scores of the previous model must not reach views that now show this one's classes; the image
        on screen (or in flight) is classified again once this model is loaded."""
        self.tasks.cancel_slot(self._single_slot)
        self._waiting_single = self._single_item
        if self.tasks.slot_task(self._batch_slot) is not None:
            self.tasks.cancel_slot(self._batch_slot)
            self.batch_finished.emit("Stopped: another model was chosen; the rows so far are kept.")

    def _on_load_status(self, text: str) -> None:
        self.loading_text = text
        self.load_status.emit(text)

    def _on_loaded(self, predictor: Any) -> None:
        self.predictor = predictor
        self._set_state("ready")
        self.model_changed.emit()
        waiting, self._waiting_single = self._waiting_single, None
        if waiting is not None:
            self._start_single(waiting)
        batch, self._waiting_batch = self._waiting_batch, None
        if batch is not None:
            self._start_batch(batch)

    def _on_load_failed(self, failure: TaskFailure) -> None:
        self.error = failure.message
        self._waiting_single = None
        if self._waiting_batch is not None:
            self._waiting_batch = None
            self.batch_finished.emit(f"Not classified: {failure.message}")
        self._set_state("error")
        self.model_changed.emit()

    def _set_state(self, state: str) -> None:
        self.state = state
        self.state_changed.emit(state)

    def set_threshold(self, value: float) -> None:
        """Scores below ``value`` (0..1) read "unsure"."""
        value = min(max(float(value), 0.0), 1.0)
        if value != self.threshold:
            self.threshold = value
            self.threshold_changed.emit(value)

    def image_moved(self, old: Path, new: Path) -> None:
        """The image on screen was moved (Add to Class, undo): a next model classifies it where it is now."""
        if isinstance(self._single_item, Path) and self._single_item == old:
            self._single_item = new
        if isinstance(self._waiting_single, Path) and self._waiting_single == old:
            self._waiting_single = new

    # -- one image ------------------------------------------------------------------------------
    def classify(self, item: Path | np.ndarray) -> None:
        """Classify one image file (or a decoded RGB array, e.g. pasted); ``prediction_ready`` follows."""
        self._single_item = item
        if self.state == "ready":
            self._start_single(item)
        elif self.state == "loading":
            self._waiting_single = item
            self.busy_changed.emit(True)
        else:
            self.prediction_failed.emit(self.error or "Choose a model first.")

    def _start_single(self, item: Path | np.ndarray) -> None:
        self.busy_changed.emit(True)
        self._single_item = item
        self.tasks.start(_classify_one, self.predictor, item, on_done=self._on_single_done,
                         on_error=self._on_single_failed, on_cancelled=lambda: None, name="classify image",
                         slot=self._single_slot)

    def _on_single_done(self, result: SingleResult) -> None:
        self.busy_changed.emit(False)
        self.prediction_ready.emit(result)

    def _on_single_failed(self, failure: TaskFailure) -> None:
        self.busy_changed.emit(False)
        reason = getattr(failure.exception, "reason", None) or failure.message
        self.prediction_failed.emit(reason)

    # -- many images ----------------------------------------------------------------------------
    def classify_many(self, paths: list[Path]) -> None:
        """Classify files and folders (searched below) in the background; rows arrive in batches."""
        self.tasks.cancel_slot(self._batch_slot)  # nothing of an older batch reaches the new table
        self._waiting_batch = None
        self.batch_started.emit(list(paths))
        if self.state == "ready":
            self._start_batch(list(paths))
        elif self.state == "loading":
            self._waiting_batch = list(paths)
        else:
            self.batch_finished.emit(f"Not classified: {self.error or 'choose a model first.'}")

    def _start_batch(self, paths: list[Path]) -> None:
        self.tasks.start(
            _classify_many, self.predictor, paths, on_partial=self.batch_rows.emit, partial_mode="all",
            on_progress=self.batch_progress.emit, on_done=self._on_batch_done,
            on_cancelled=lambda: self.batch_finished.emit("Cancelled; the rows so far are kept."),
            on_error=lambda f: self.batch_finished.emit(f"Stopped: {f.message}"), name="classify images",
            slot=self._batch_slot)

    def _on_batch_done(self, count: int) -> None:
        self.batch_finished.emit(f"Classified {count_of(count, 'file')}." if count else "No images found there.")

    def cancel_batch(self) -> None:
        """Stop the batch (the Cancel button): the rows so far stay, ``batch_finished`` says so."""
        if self._waiting_batch is not None:
            self._waiting_batch = None
            self.batch_finished.emit("Cancelled.")
        handle = self.tasks.slot_task(self._batch_slot)
        if handle is not None:
            handle.cancel()


__all__ = ["Classifier"]
