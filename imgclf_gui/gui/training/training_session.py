"""TrainingSession: the small model the Training tab binds to (settings, a run in progress, the run shown).

All work goes through :class:`TaskRunner`: the summary of what will be trained, the training run itself
(extraction progress as task progress, epochs and stage names as partial results in ``"all"`` mode so no
epoch is lost), saving a run, loading the run a report shows (``shown_run.py``, in its own slot) and the
model files (``model_files.py``). Slots of the tab only display what the signals carry.

A run belongs to the project it was started in. A run that fails or is cancelled during extraction saves
nothing, so the active model stays as it was; a run whose project was closed while it ran (opening another
project cancels it) is neither saved nor announced, so the new project's active model and the Classify tab
never receive a model of another project.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from imgclf_gui.core.models import runs
from imgclf_gui.core.support.clock import RateClock
from imgclf_gui.core.support.notes import (
    CROSSVAL_CHOSE,
    FLIPS_CHOSEN,
    L2_CHOSEN,
    STAGE_CHECKING,
    STAGE_EXTRACTING,
    STAGE_PREPARING_BACKBONE,
    STOPPED_IN_FINAL,
    STOPPED_IN_FOLDS,
    UNREADABLE_SKIPPED,
    Note,
    describe,
)
from imgclf_gui.core.training.config import TrainConfig, load_project_config, save_project_config
from imgclf_gui.core.training.crossval import FINAL
from imgclf_gui.core.training.evaluation import EvaluationReport
from imgclf_gui.core.training.head import EpochMetrics
from imgclf_gui.core.training.trainer import TrainResult
from imgclf_gui.gui.common.project_model import ProjectModel
from imgclf_gui.gui.common.tasks import TaskFailure, TaskHandle, TaskRunner
from imgclf_gui.gui.training.model_files import ModelFiles
from imgclf_gui.gui.training.shown_run import ShownRun, load_shown_run, scored_on


@dataclass
class RunOutcome:
    """What ``run_finished`` carries: the result, and the stored run (None when nothing was kept)."""

    result: TrainResult | None
    run: runs.RunInfo | None
    message: str


def _train_work(state, config: TrainConfig, root: Path) -> TrainResult:
    """Worker: the engine's ``train`` with its callbacks turned into task progress / partial results."""
    from imgclf_gui.core.training.trainer import train

    return train(config, root,
                 on_epoch=lambda m: state.set_partial_result(("epoch", m)),
                 on_stage=lambda note: state.set_partial_result(("stage", note)),
                 on_extract_progress=state.progress_callback, should_stop=state.stop_callback)


def _save_work(state, root: Path, result: TrainResult) -> tuple[runs.RunInfo, ShownRun]:
    """Worker: make the model, store it as a run (model folder, run.json, honest predictions), make it the
    project's active model, and read it back as the report will show it."""
    from imgclf_gui.core.models.bundle import ModelBundle

    run = runs.record_training(root, result, bundle=ModelBundle.from_training(result))
    return run, load_shown_run(root, run.run_id)


class TrainingSession(QObject):
    """Settings, the running training task and the project's runs, as signals for the Training tab.

    - ``config_changed(object)``: the ``TrainConfig`` shown (after load or a change).
    - ``summary_changed(object)``: a ``core.training.summary.TrainingSummary`` (or None: no project).
    - ``running_changed(bool)``; ``stage_changed(str)``: a sentence for the status line.
    - ``stage_started(object)``: the ``Note`` of each stage of a run (``core/support/notes`` ``stage.*``).
    - ``extract_progress(object)``: a ``core.support.clock.ClockReading`` (done, total, rate, time left).
    - ``epoch_added(object)``: one ``EpochMetrics`` of the final model, in order; ``history_reset()`` before a
      new run. ``fold_epoch_added(object)``: every epoch of every fit as a ``crossval.FoldEpoch`` (``.fold``
      1..k, then ``crossval.FINAL``; ``.folds``; ``.metrics``), in order.
    - ``run_finished(object)``: a ``RunOutcome``; ``run_failed(str, str)``: message and traceback.
    - ``shown_run_changed(object)``: the ``ShownRun`` whose report is shown (None: nothing to show).
    - ``runs_changed()``; ``active_model_changed(object)``: model folder ``Path`` of the active run, or None.
    - ``files.finished(object)``: a Save / Export ended (``model_files.ModelFiles``).
    """

    config_changed = Signal(object)
    summary_changed = Signal(object)
    running_changed = Signal(bool)
    stage_changed = Signal(str)
    stage_started = Signal(object)
    extract_progress = Signal(object)
    epoch_added = Signal(object)
    fold_epoch_added = Signal(object)
    history_reset = Signal()
    run_finished = Signal(object)
    run_failed = Signal(str, str)
    shown_run_changed = Signal(object)
    runs_changed = Signal()
    active_model_changed = Signal(object)

    def __init__(self, project: ProjectModel, tasks: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.tasks = tasks
        self.config = TrainConfig()
        self.history: list[EpochMetrics] = []  # the final model's epochs of the run in progress
        self.shown: ShownRun | None = None
        self.summary: Any = None
        self.files = ModelFiles(project, tasks, self)
        #: asked after a cancelled head training: keep the best model so far? (the tab shows a dialog)
        self.ask_keep_best: Callable[[], bool] = lambda: True
        self._handle: TaskHandle | None = None
        self._saving = False
        self._last_stage = ""
        self._summary_slot = ("training summary", id(self))
        self._shown_slot = ("shown run", id(self))
        # Nothing may arrive once this session is gone (the window's shutdown covers the app; this covers
        # a tab deleted while its runner lives on, as in tests).
        self.destroyed.connect(lambda *_a, slots=(self._summary_slot, self._shown_slot):
                               [tasks.cancel_slot(s) for s in slots])
        self._clock = RateClock()
        self._summary_timer = QTimer(self, singleShot=True, interval=300)
        self._summary_timer.timeout.connect(self._start_summary)
        project.project_changed.connect(self._on_project_changed)
        project.classes_changed.connect(self.refresh_summary)
        project.images_moved.connect(self._on_images_moved)  # a bound slot: disconnected with self

    @property
    def report(self) -> EvaluationReport | None:
        """The report shown (the shown run's)."""
        return self.shown.report if self.shown is not None else None

    # -- settings -------------------------------------------------------------------------------
    def set_config(self, config: TrainConfig) -> None:
        """Use ``config`` for the next run and remember it for this project."""
        if config == self.config:
            return
        self.config = config
        if self.project.root is not None:
            try:
                save_project_config(self.project.root, config)
            except OSError as exc:
                self.project.message.emit(f"Training settings could not be saved: {exc}")
        self.config_changed.emit(config)
        self.refresh_summary()

    def _load_config(self) -> TrainConfig:
        return load_project_config(self.project.root) if self.project.root is not None else TrainConfig()

    # -- project --------------------------------------------------------------------------------
    def _on_project_changed(self, root: object) -> None:
        self.cancel()  # the run finishes quietly (see _on_task_done): it belongs to the other project
        self.config = self._load_config()
        self.history = []
        self.history_reset.emit()
        self.config_changed.emit(self.config)
        self.runs_changed.emit()
        self.show_run(runs.active_run_id(root) if root is not None else None)
        self.active_model_changed.emit(runs.active_model_path(root) if root is not None else None)
        self.refresh_summary()

    def _on_images_moved(self, _moved: list) -> None:
        self.refresh_summary()

    def refresh_summary(self) -> None:
        """Recount what will be trained, soon (changes often come in bursts)."""
        self._summary_timer.start()

    def _start_summary(self) -> None:
        from imgclf_gui.core.training.summary import summarize

        if self.project.root is None:
            self.tasks.cancel_slot(self._summary_slot)
            self.summary = None
            self.summary_changed.emit(None)
            return
        # In a slot: a newer count supersedes an older one still running, which then never arrives.
        self.tasks.start(lambda _state, root, config: summarize(root, config), self.project.root, self.config,
                         on_done=self._on_summary, on_error=lambda f: None, name="training summary",
                         slot=self._summary_slot)

    def _on_summary(self, summary: Any) -> None:
        self.summary = summary
        self.summary_changed.emit(summary)

    # -- runs -----------------------------------------------------------------------------------
    def runs(self) -> list[runs.RunInfo]:
        return runs.list_runs(self.project.root) if self.project.root is not None else []

    def active_run_id(self) -> str | None:
        return runs.active_run_id(self.project.root) if self.project.root is not None else None

    def make_active(self, run_id: str) -> None:
        """Make a stored run the project's active model (the Classify tab follows the signal)."""
        if self.project.root is None:
            return
        try:
            path = runs.set_active_run(self.project.root, run_id)
            title = runs.run_title(runs.get_run(self.project.root, run_id))
        except (runs.RunError, OSError) as exc:
            self.project.message.emit(str(exc))
            return
        self.runs_changed.emit()
        self._announce_active(path)
        if self.shown is not None:
            self.shown.active = self.shown.run_id == run_id
            self.shown_run_changed.emit(self.shown)
        self.project.message.emit(f"{title[0].upper()}{title[1:]} is now the model used for classifying.")

    def rename_run(self, run_id: str, name: str) -> None:
        """Give a run a name people recognise (kept in its run.json)."""
        if self.project.root is None:
            return
        try:
            run = runs.rename_run(self.project.root, run_id, name)
        except (runs.RunError, OSError) as exc:
            self.project.message.emit(f"The run could not be renamed: {exc}")
            return
        self.runs_changed.emit()
        if self.shown is not None and self.shown.run_id == run_id:
            self.shown.run = run
            self.shown_run_changed.emit(self.shown)

    def _announce_active(self, path: Path) -> None:
        """A run was just made active: the tab's own signal, and the project's so other tabs follow."""
        self.active_model_changed.emit(path)
        self.project.announce_active_model(path)

    def show_run(self, run_id: str | None) -> None:
        """Show the report, curves and lists of a stored run (None: nothing); read in the background, so
        everything shown changes at once when it has arrived."""
        root = self.project.root
        if run_id is None or root is None:
            self.tasks.cancel_slot(self._shown_slot)
            self._set_shown(None)
            return
        self.tasks.start(lambda _state, root, run_id: load_shown_run(root, run_id), root, run_id,
                         on_done=self._set_shown, name="show run", slot=self._shown_slot,
                         on_error=lambda f: self.project.message.emit(f"That run cannot be shown: {f.message}"))

    def reload_mislabels(self) -> None:
        """Read the shown run again (after images were moved or kept, its list of suspects changes)."""
        if self.shown is not None:
            self.show_run(self.shown.run_id)

    def _set_shown(self, shown: ShownRun | None) -> None:
        self.shown = shown
        if shown is not None and shown.problem:
            self.project.message.emit(f"Part of that run cannot be shown: {shown.problem}.")
        self.shown_run_changed.emit(shown)

    # -- training -------------------------------------------------------------------------------
    def is_running(self) -> bool:
        """A run is training or being saved."""
        return self._saving or (self._handle is not None and self._handle.is_running())

    def start(self) -> TaskHandle | None:
        """Start a run with the current settings (None when no project is open or one runs already)."""
        if self.project.root is None or self.is_running():
            return None
        self.history = []
        self.history_reset.emit()
        self._clock.reset()
        self._last_stage = ""
        root, config = self.project.root, self.config
        self._handle = self.tasks.start(
            _train_work, config, root, on_progress=self._on_task_progress, on_partial=self._on_task_partial,
            on_done=lambda result: self._on_task_done(result, root),
            on_error=lambda failure: self._on_task_error(failure, root),
            on_cancelled=lambda: self._on_task_cancelled(root), partial_mode="all", name="training")
        self.running_changed.emit(True)
        self._on_stage(Note(STAGE_CHECKING))
        return self._handle

    def cancel(self) -> None:
        if self._handle is not None and self._handle.is_running():
            self._handle.cancel()
            self.stage_changed.emit("Stopping…")

    def _on_task_progress(self, done: int, total: int) -> None:
        self.extract_progress.emit(self._clock.update(done, total))

    def _on_task_partial(self, item: tuple[str, Any]) -> None:
        kind, value = item
        if kind == "epoch":
            self.fold_epoch_added.emit(value)
            if value.fold == FINAL:  # the final model's epochs (every fold's: fold_epoch_added)
                self.history.append(value.metrics)
                self.epoch_added.emit(value.metrics)
        else:
            self._on_stage(value)

    def _on_stage(self, note: Note) -> None:
        if self._last_stage == STAGE_EXTRACTING and note.kind not in (STAGE_EXTRACTING, STAGE_PREPARING_BACKBONE):
            self.refresh_summary()  # every bottleneck is cached now: "to compute" must not stay stale
        self._last_stage = note.kind
        self.stage_started.emit(note)
        self.stage_changed.emit(f"{describe(note)}…")

    def _finish(self, outcome: RunOutcome) -> None:
        self._saving = False
        self.refresh_summary()  # bottlenecks were cached by the run, whatever its end
        self.running_changed.emit(False)
        self.stage_changed.emit(outcome.message)
        self.run_finished.emit(outcome)

    def _elsewhere(self, root: Path, saved: bool = False) -> None:
        """The run's project was closed while it ran: say so, and announce nothing to this project."""
        what = "its model was kept in that project" if saved else "nothing of it was kept"
        # No result either: its skipped images and figures belong to the other project.
        self._finish(RunOutcome(None, None, f"The training of {root.name} stopped when another project was "
                                            f"opened; {what}."))

    def _on_task_done(self, result: TrainResult, root: Path) -> None:
        if root != self.project.root:
            self._elsewhere(root)
            return
        if result.head is None:
            stopped = next((n for n in result.notes if n.kind == STOPPED_IN_FOLDS), None)
            done = stopped.values.get("completed", 0) if stopped else 0
            where = (f"Stopped during fold {done + 1} of {stopped.values.get('folds')}"
                     + (f", after {done} complete fold{'s' if done != 1 else ''}" if done else "")
                     if stopped else "Stopped")
            self._finish(RunOutcome(result, None, f"{where}; without the final model nothing was kept. The "
                                                  "previous model is unchanged."))
            return
        if result.cancelled and not self.ask_keep_best():
            self._finish(RunOutcome(result, None, "Stopped; the model of this run was discarded. The previous "
                                                  "model is unchanged."))
            return
        self._saving = True
        self.stage_changed.emit("Saving the model…")
        self.tasks.cancel_slot(self._shown_slot)  # an older run being read must not replace this one
        self.tasks.start(_save_work, root, result, name="save run",
                         on_done=lambda saved: self._on_saved(result, root, *saved),
                         on_error=lambda f: self._finish(RunOutcome(result, None,
                                                                    f"The model could not be saved: {f.message}")))

    def _on_saved(self, result: TrainResult, root: Path, run: runs.RunInfo, shown: ShownRun) -> None:
        if root != self.project.root:
            self._elsewhere(root, saved=True)
            return
        self._set_shown(shown)
        self.runs_changed.emit()
        self._announce_active(run.model_path)
        report = result.report
        score = (f"{report.accuracy:.1%} right on {scored_on(report, result.part_counts()['train'])}" if report
                 else "not scored")
        stopped = next((describe(n) for n in result.notes if n.kind == STOPPED_IN_FINAL), None)
        what = f"{stopped} This partly trained model" if stopped else "Done: the new model"
        self._finish(RunOutcome(result, run, f"{what} is now used for classifying; {score}." + _notes(result)))

    def _on_task_error(self, failure: TaskFailure, root: Path) -> None:
        if root != self.project.root:
            self._elsewhere(root)
            return
        self.refresh_summary()
        self.running_changed.emit(False)
        self.stage_changed.emit(f"Training failed: {failure.message}. The previous model is unchanged.")
        self.run_failed.emit(failure.message, failure.traceback)

    def _on_task_cancelled(self, root: Path) -> None:
        if root != self.project.root:
            self._elsewhere(root)
            return
        self._finish(RunOutcome(None, None, "Cancelled while computing bottlenecks; those done are cached "
                                            "for next time. The previous model is unchanged."))


def _notes(result: TrainResult) -> str:
    """What the user should know about the run: skipped files (the tab's Skipped images… button lists
    each with its reason) and other notes."""
    # The L2 search detail is for the command line's log (the run's figures keep it); a stop is said first
    # already; what the folds chose is kept with the run (its figures and notes), not repeated here.
    hidden = (L2_CHOSEN, UNREADABLE_SKIPPED, STOPPED_IN_FINAL, STOPPED_IN_FOLDS, CROSSVAL_CHOSE, FLIPS_CHOSEN)
    notes = [describe(n) for n in result.notes if n.kind not in hidden]
    if result.failed:
        named = ", ".join(Path(path).name for path in sorted(result.failed)[:3])
        more = f" and {len(result.failed) - 3} more" if len(result.failed) > 3 else ""
        notes.insert(0, f"Skipped as unreadable: {named}{more} (Skipped images… lists each with the reason; "
                        "Check Data on the Dataset tab can quarantine them).")
    return "".join(f" {n}" for n in notes)
