"""The Dataset tab's suggestion engine: a class and a confidence for every inbox image, kept up to date in
the background while the user sorts (the logic is Qt-free in ``core/review/inbox.py`` and ``suggestions.py``).

What runs, each in its own task slot, never blocking a key press:

1. *look up*: content hashes from the stat index and vectors from the bottleneck cache (no decoding);
2. *extract*: the bottlenecks not cached yet, sorted images first, a chunk at a time (progress; Stop);
   each chunk is scored with the current model at once, so badges appear while a big inbox is computed;
3. *learn*: the quick model on the sorted images' vectors (no extraction), then every known vector scored.
   It runs when the project opens, after every K new labels (the ``suggest_retrain_every`` preference),
   when a class it suggests disappears, and on request (:meth:`learn_now`). A label made while it runs
   counts towards the next one.

Suggestions are kept by content hash, so an image keeps its badge when it is moved and moved back (undo).
The quick model is a suggestion engine only: the active model and the runs stay the user's.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from imgclf_gui.core.project import layout, rules
from imgclf_gui.core.review.inbox import Chunk, Gathered, VectorBank
from imgclf_gui.core.review.suggestions import (
    MIN_CLASSES,
    MIN_PER_CLASS,
    Suggestion,
    Suggestions,
    accept_plan,
    order_paths,
)
from imgclf_gui.core.support.settings import Settings
from imgclf_gui.gui.common.preferences import Preferences
from imgclf_gui.gui.common.project_model import ProjectModel
from imgclf_gui.gui.common.tasks import TaskFailure, TaskRunner


# -- worker functions (plain data in and out) ------------------------------------------------------
def _look_up(state, root: Path, choice: Any, paths: list[Path] | None, known: dict, have: dict) -> tuple:
    from imgclf_gui.core.project.scan import list_images, scan_samples
    from imgclf_gui.core.review.inbox import gather_cached, suggestion_features

    choice = choice or suggestion_features(root)
    if paths is None:  # everything: sorted images first, the model needs them first
        paths = [s.path for s in scan_samples(root)] + list_images(layout.inbox_dir(root), recursive=True)
    return choice, gather_cached(root, choice, paths, known, have, should_stop=state.stop_callback)


def _extract(state, root: Path, choice: Any, paths: list[Path]) -> int:
    from imgclf_gui.core.backbones import get_spec, needs_preparation, prepare_backbone
    from imgclf_gui.core.review.inbox import extract_in_chunks
    from imgclf_gui.core.support.notes import STAGE_PREPARING_BACKBONE, Note, describe

    if needs_preparation(choice.backbone):
        state.set_status(describe(Note(STAGE_PREPARING_BACKBONE, {"backbone": get_spec(choice.backbone).display_name})))
        prepare_backbone(choice.backbone)
    state.set_status("")
    return extract_in_chunks(root, choice, paths, state.set_partial_result, on_progress=state.progress_callback,
                             should_stop=state.stop_callback)


def _learn(state, root: Path, choice: Any, matrix: Any, rows: dict[str, int], hash_of: dict) -> tuple:
    from imgclf_gui.core.project.scan import class_names
    from imgclf_gui.core.review.inbox import choose_model, labelled_rows
    from imgclf_gui.core.review.suggestions import suggest

    picked, labels, missing = labelled_rows(root, hash_of, rows)
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    chosen = choose_model(root, choice, matrix[picked], labels, class_names(root), should_stop=state.stop_callback)
    if chosen is None:
        return None, None, counts, missing
    model, source = chosen
    hashes = [""] * len(rows)
    for digest, row in rows.items():
        hashes[row] = digest
    return model, suggest(model, hashes, matrix, source, should_stop=state.stop_callback), counts, missing


class InboxSuggestions(QObject):
    """Suggestions for the open project's inbox. ``changed()``: suggestions changed (badges, order);
    ``status_changed()``: :meth:`status_text` or :attr:`progress` changed."""

    changed = Signal()
    status_changed = Signal()

    def __init__(self, project: ProjectModel, tasks: TaskRunner, preferences: Preferences,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project, self.tasks, self.preferences = project, tasks, preferences
        self._slots = {name: (f"suggest-{name}", id(self)) for name in ("look", "extract", "learn")}
        self._age_timer = QTimer(self, interval=5000)  # "40 s ago" stays true
        self._age_timer.timeout.connect(self.status_changed.emit)
        self._rescan = QTimer(self, singleShot=True, interval=1500)  # outside changes come in bursts
        self._rescan.timeout.connect(lambda: self._look_up(None))
        self._clear()
        project.project_changed.connect(self._restart)
        project.images_moved.connect(self._on_images_moved)
        project.classes_changed.connect(self._on_classes_changed)
        project.active_model_changed.connect(self._restart)
        preferences.changed.connect(self._on_preferences_changed)
        self._restart()

    # -- what the tab asks ----------------------------------------------------------------------
    @property
    def suggestions(self) -> Suggestions | None:
        return self._suggestions

    def suggestion_for(self, path: Path) -> Suggestion | None:
        """The suggestion shown for an image (None: none yet, or its class is gone)."""
        if self._suggestions is None:
            return None
        found = self._suggestions.of(self._hash_of.get(path))
        return found if found is not None and found.class_name in self._classes else None

    def order(self, paths: list[Path], order: str) -> list[Path]:
        return order_paths(paths, self._hash_of, self._suggestions, order)

    def plan(self, paths: list[Path], threshold: float) -> dict[str, list[Path]]:
        """What accepting ``paths`` at or above ``threshold`` would move where (existing classes only)."""
        plan = accept_plan(paths, self._hash_of, self._suggestions, threshold)
        return {name: found for name, found in plan.items() if name in self._classes}

    @property
    def progress(self) -> tuple[int, int]:
        """(done, total) of the bottlenecks being computed; (0, 0) when none is."""
        return self._progress

    def busy(self) -> bool:
        """Something is being looked up, computed or learnt for the suggestions."""
        return any(self.tasks.slot_task(slot) is not None for slot in self._slots.values())

    def can_stop(self) -> bool:
        return self.tasks.slot_task(self._slots["extract"]) is not None

    def can_resume(self) -> bool:
        return bool(self._stopped) and not self.can_stop()

    def status_text(self) -> str:
        """One line: where the suggestions come from, or what is being done for them."""
        if not self._enabled():
            return "Suggestions are off (Preferences)." if self.project.root is not None else ""
        if self._root is None:  # dormant: nothing to suggest, or nothing to learn from yet
            if not self.project.inbox_count():
                return "The inbox is empty: imported images land there, each with a suggested class."
            have = ", ".join(f"{c.name} {c.count}" for c in self.project.classes()) or "no classes yet"
            return (f"Suggestions start when {MIN_CLASSES} classes have {MIN_PER_CLASS} images each "
                    f"(now: {have}).")
        parts = []
        if self._error:
            parts.append(self._error)
        elif self._suggestions is not None:
            parts.append(f"Suggestions from {self._suggestions.source.describe()}")
        elif self._waiting:
            parts.append(self._waiting)
        elif self.tasks.slot_task(self._slots["learn"]) is not None:
            parts.append("Learning from the sorted images…")
        elif self.tasks.slot_task(self._slots["look"]) is not None:
            parts.append("Looking for cached bottlenecks…")
        if self._suggestions is not None and self.tasks.slot_task(self._slots["learn"]) is not None:
            parts.append("learning again…")
        if self._stage:
            parts.append(self._stage)
        elif self._progress[1]:
            parts.append(f"bottlenecks of {self._progress[0]} of {self._progress[1]} images computed")
        elif self._stopped:
            parts.append(f"{rules.count_words(len(self._stopped), 'image')} still without a bottleneck (stopped)")
        if self._failed:
            parts.append(f"{rules.count_words(len(self._failed), 'unreadable image')} left out")
        return "; ".join(parts) + ("." if parts else "")

    # -- commands -------------------------------------------------------------------------------
    def learn_now(self) -> None:
        self._learn()

    def stop(self) -> None:
        """Stop computing bottlenecks (what was computed stays cached); :meth:`resume` goes on."""
        running = self.tasks.slot_task(self._slots["extract"])
        if running is not None:
            running.cancel()

    def resume(self) -> None:
        self._queue, self._stopped = self._stopped + self._queue, []
        self._extract()

    # -- state ----------------------------------------------------------------------------------
    def _enabled(self) -> bool:
        return self.project.root is not None and self.preferences.settings.suggest_inbox

    def _possible(self) -> bool:
        """Worth computing bottlenecks for: an inbox, and a model to be had (enough sorted images, or an
        active run). Otherwise the engine stays dormant and costs nothing."""
        if not self.project.inbox_count():
            return False
        enough = sum(1 for c in self.project.classes() if c.count >= MIN_PER_CLASS) >= MIN_CLASSES
        return enough or self._has_run

    def _clear(self) -> None:
        for slot in self._slots.values():
            self.tasks.cancel_slot(slot)
        self._rescan.stop()
        self._root: Path | None = None
        self._choice: Any = None
        self._bank: VectorBank | None = None
        self._hash_of: dict[Path, str] = {}
        self._suggestions: Suggestions | None = None
        self._model: Any = None
        self._classes: set[str] = set()
        self._labels_since = self._labels_at_start = 0
        self._queue: list[Path] = []
        self._stopped: list[Path] = []
        self._failed: dict[Path, str] = {}
        self._progress = (0, 0)
        self._stage = self._error = self._waiting = ""
        self._learn_again = False

    def _restart(self, *_args) -> None:
        from imgclf_gui.core.models.runs import active_model_path

        self._clear()
        self._age_timer.stop()
        root = self.project.root
        self._has_run = root is not None and active_model_path(root) is not None
        if self._enabled() and self._possible():
            self._root = self.project.root
            self._classes = set(self.project.class_names())
            self._age_timer.start()
            self._look_up(None)
        self.changed.emit()
        self.status_changed.emit()

    def _on_preferences_changed(self, settings: Settings) -> None:
        if settings.suggest_inbox != (self._root is not None):
            self._restart()

    # -- 1. look up -----------------------------------------------------------------------------
    def _look_up(self, paths: list[Path] | None) -> None:
        if self._root is None:
            return
        have = self._bank.snapshot()[1] if self._bank is not None else {}
        self.tasks.start(_look_up, self._root, self._choice, paths, dict(self._hash_of), have,
                         on_done=self._on_looked_up, on_error=self._on_failed, name="suggestions: look up",
                         slot=self._slots["look"])
        self.status_changed.emit()

    def _on_looked_up(self, result: tuple[Any, Gathered]) -> None:
        self._choice, gathered = result
        self._hash_of.update(gathered.hash_of)
        if gathered.vectors is not None:
            self._add(gathered.hashes, gathered.vectors)
        queued = set(self._queue) | set(self._failed)
        self._queue += [p for p in gathered.missing if p not in queued]
        self._extract()
        if self._model is None:
            self._learn()
        self.status_changed.emit()

    def _add(self, hashes: list[str], vectors: Any) -> None:
        if self._bank is None:
            self._bank = VectorBank(vectors.shape[1])
        self._bank.add(hashes, vectors)
        if self._model is not None and self._suggestions is not None:  # new contents get a badge at once
            self._suggestions = self._suggestions.extended(hashes, self._model.predict_proba(vectors))
            self.changed.emit()

    # -- 2. extract -----------------------------------------------------------------------------
    def _extract(self) -> None:
        if self._root is None or not self._queue or self.can_stop():
            return
        root = self._root
        paths = sorted(self._queue, key=lambda p: self._class_of(p) == rules.INBOX)  # sorted images first
        self._queue = []
        self._progress = (0, len(paths))
        self.tasks.start(_extract, root, self._choice, paths, on_partial=self._on_chunk, partial_mode="all",
                         on_progress=self._on_progress, on_status=self._on_stage, on_done=self._on_extracted,
                         on_cancelled=lambda: self._on_extract_stopped(paths), on_error=self._on_failed,
                         name="suggestions: bottlenecks", slot=self._slots["extract"])

    def _on_chunk(self, chunk: Chunk) -> None:
        self._hash_of.update(zip(chunk.paths, chunk.hashes))
        self._failed.update(chunk.failed)
        if len(chunk.paths):
            self._add(chunk.hashes, chunk.vectors)
        if self._model is None and any(self._class_of(p) != rules.INBOX for p in chunk.paths):
            self._learn()  # more sorted images: perhaps enough for a model now

    def _on_progress(self, done: int, total: int) -> None:
        self._progress = (done, total)
        self.status_changed.emit()

    def _on_stage(self, text: str) -> None:
        self._stage = text
        self.status_changed.emit()

    def _on_extracted(self, _failed: int) -> None:
        self._progress, self._stage = (0, 0), ""
        if self._queue:
            self._extract()
        self.status_changed.emit()

    def _on_extract_stopped(self, paths: list[Path]) -> None:
        bank = self._bank
        self._stopped = [p for p in paths if p not in self._failed
                         and (bank is None or self._hash_of.get(p) not in bank)] + self._queue
        self._queue, self._progress, self._stage = [], (0, 0), ""
        self.status_changed.emit()

    def _on_failed(self, failure: TaskFailure) -> None:
        self._progress, self._stage = (0, 0), ""
        self._error = f"No suggestions: {failure.message}"
        self.status_changed.emit()

    # -- 3. learn -------------------------------------------------------------------------------
    def _learn(self) -> None:
        if self._root is None or self._bank is None or self._choice is None:
            return
        if self.tasks.slot_task(self._slots["learn"]) is not None:
            self._learn_again = True  # after this one: it started before the newest labels
            return
        matrix, rows = self._bank.snapshot()
        self._labels_at_start, self._learn_again = self._labels_since, False
        self.tasks.start(_learn, self._root, self._choice, matrix, rows, dict(self._hash_of),
                         on_done=self._on_learnt, on_error=self._on_failed, name="suggestions: learning",
                         slot=self._slots["learn"])
        self.status_changed.emit()

    def _on_learnt(self, result: tuple) -> None:
        model, suggestions, counts, missing = result
        self._labels_since -= self._labels_at_start
        self._error = ""
        if model is None:
            have = ", ".join(f"{name} {n}" for name, n in sorted(counts.items())) or "none yet"
            self._waiting = (f"Suggestions start when {MIN_CLASSES} classes have {MIN_PER_CLASS} images each "
                             f"(sorted now: {have})")
            self._model = self._suggestions = None
        else:
            self._model, self._suggestions, self._waiting = model, suggestions, ""
            matrix, rows = self._bank.snapshot() if self._bank is not None else (None, {})
            later = [h for h in rows if suggestions.row(h) is None]  # arrived while it learnt
            if later and matrix is not None:
                picked = [rows[h] for h in later]
                self._suggestions = suggestions.extended(later, model.predict_proba(matrix[picked]))
        queued = set(self._queue) | set(self._failed)
        self._queue += [p for p in missing if p not in queued]
        self._extract()
        self.changed.emit()
        self.status_changed.emit()
        if self._learn_again or self._labels_since >= self.preferences.settings.suggest_retrain_every:
            self._learn()

    # -- following the project ------------------------------------------------------------------
    def _on_images_moved(self, moves: list) -> None:
        if self._root is None:
            return
        if not moves:  # "rescan": something changed outside the app
            self._rescan.start()
            return
        unknown, labels = [], 0
        for old, new in moves:
            digest = self._hash_of.pop(old, None) if old is not None else None
            if digest is None:
                unknown.append(new)
            else:
                self._hash_of[new] = digest
            target = self._class_of(new)
            if target not in (None, rules.INBOX) and (old is None or self._class_of(old) != target):
                labels += 1
        if unknown:
            self._look_up(unknown)
        self._labels_since += labels
        if labels and self._labels_since >= self.preferences.settings.suggest_retrain_every:
            self._learn()

    def _class_of(self, path: Path) -> str | None:
        """The class folder (or inbox) holding ``path``; cheap: no system call (paths are the project's)."""
        root = self._root
        assert root is not None
        if len(path.parts) <= len(root.parts) + 1 or path.parts[:len(root.parts)] != root.parts:
            return None
        name = path.parts[len(root.parts)]
        return None if name.startswith(".") else name

    def _on_classes_changed(self) -> None:
        if self._root is None:
            if self._enabled() and self._possible():
                self._restart()  # enough sorted images now, or the first image in the inbox
            else:
                self.status_changed.emit()
            return
        self._classes = set(self.project.class_names())
        if self._model is not None and not set(self._model.class_names) <= self._classes:
            self._learn()  # a class it suggests was renamed, merged or deleted
        self.changed.emit()
