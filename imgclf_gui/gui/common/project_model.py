"""ProjectModel: the small object every tab binds to (the open project, its classes, undoable moves).

The rules (class names, labelling keys, what merging, deleting or quarantining moves where) live in
:mod:`imgclf_gui.core.project.rules`; the moves run through :class:`~imgclf_gui.core.project.journal.Journal`.
This class adapts them to Qt: signals, large actions in the background, and a watch on the folders for
changes made outside the app. Every change to the class folders goes through :meth:`ProjectModel._run`
(journaled, undoable) and every manifest write through :meth:`ProjectModel._store_keys`.
"""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

from imgclf_gui.core.project import layout, rules
from imgclf_gui.core.project import scan as dataset
from imgclf_gui.core.project.journal import ActionResult, Journal
from imgclf_gui.core.project.manifest import Manifest, ProjectError, open_project, save_manifest
from imgclf_gui.core.project.moves import Op, plan_moves
from imgclf_gui.core.project.rules import INBOX, ClassInfo
from imgclf_gui.core.review.project_state import check_project_state
from imgclf_gui.gui.common.writer_lock import WriterLock

BACKGROUND_OPS = 400  # actions larger than this run on the task runner, with progress
__all__ = ["BACKGROUND_OPS", "INBOX", "ClassInfo", "ProjectModel"]


class ProjectModel(QObject):
    """The open project. Signals carry no widgets; slots of views are named ``_on_<signal>``.

    - ``project_changed(object)``: a project was opened (its root ``Path``) or closed (``None``).
    - ``classes_changed()``: class names or image counts changed (own action or outside change).
    - ``images_moved(list)``: ``[(old_path | None, new_path), ...]`` after a move, copy, undo or redo
      (``last_result.action.kind`` says which: "do", "undo", "redo").
    - ``history_changed()``: undo/redo availability or labels changed.
    - ``message(str)``: a sentence for the status bar (problems of an action, recovery notes).
    - ``busy_changed(bool)``: a long action runs in the background (further moves wait for it).
    - ``active_model_changed(object)``: the project's active model was set in this window (its model
      folder ``Path``, or ``None``); opening a project does not emit it (``project_changed`` does).
    - ``read_only_changed(bool)``: another process holds the project's lock (``read_only_reason`` names it):
      moves, imports and undo are refused with that sentence until the lock is free (checked every 3 s).
    - ``notes_changed(list)``: what opening found (state set aside, a move settled): ``notes``, shown once.
    """

    project_changed = Signal(object)
    classes_changed = Signal()
    images_moved = Signal(list)
    history_changed = Signal()
    message = Signal(str)
    busy_changed = Signal(bool)
    active_model_changed = Signal(object)
    read_only_changed = Signal(bool)
    notes_changed = Signal(list)

    def __init__(self, task_runner: object | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = task_runner
        self.root: Path | None = None
        self.manifest = Manifest()
        self._journal: Journal | None = None
        self._classes: list[ClassInfo] = []
        self._inbox_count = 0
        self._busy = False
        self.last_result: ActionResult | None = None  # the newest action, undo or redo (views read its kind)
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(self._on_directory_changed)
        self._debounce = QTimer(self, singleShot=True, interval=400)
        self._debounce.timeout.connect(self.refresh)
        self.notes: list[str] = []
        self._writer = WriterLock(self)
        self._writer.taken.connect(self._on_lock_taken)

    @property
    def read_only(self) -> bool:
        """True while another process holds this project's lock (see ``read_only_reason``)."""
        return self.root is not None and not self._writer.held

    @property
    def read_only_reason(self) -> str:
        """Who holds the project, in a sentence, while it is read-only here."""
        return self._writer.reason

    # -- opening --------------------------------------------------------------------------------
    def open(self, root: str | os.PathLike[str], create: bool = False) -> None:
        """Open a project folder (raises ``ProjectError`` with a sentence for the user)."""
        if self._busy:  # the journal of the open project is in use by a large move on a worker thread
            raise ProjectError("Please wait: a change to the folders of this project is still running.")
        root = Path(root).expanduser().resolve()
        found: list = []
        manifest = open_project(root, create=create, notes=found)
        self.close()
        took_over = self._writer.take(root)
        self.root, self.manifest = root, manifest
        try:
            self._journal = Journal(root, read_only=self.read_only, read_only_reason=self.read_only_reason)
        except OSError as exc:
            raise ProjectError(f"Cannot open the history of {root}: {exc}") from exc
        found += check_project_state(root)
        self.notes = [str(note) for note in found] + self._journal.recovered + ([took_over] if took_over else [])
        for note in self.notes:
            self.message.emit(note)
        self._scan(first=True)
        self._watch()
        self.project_changed.emit(root)
        self.classes_changed.emit()
        self.history_changed.emit()
        self.read_only_changed.emit(self.read_only)
        self.notes_changed.emit(list(self.notes))

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
        self._journal = None
        self._writer.release()
        if self._watcher.directories():
            self._watcher.removePaths(self._watcher.directories())
        if self.root is not None:
            self.root = None
            self._classes = []
            self.project_changed.emit(None)

    # -- reading --------------------------------------------------------------------------------
    def classes(self) -> list[ClassInfo]:
        return list(self._classes)

    def class_names(self) -> list[str]:
        return [c.name for c in self._classes]

    def inbox_count(self) -> int:
        return self._inbox_count

    def folder(self, class_name: str) -> Path:
        """The folder of a class, or of the inbox for ``INBOX``."""
        assert self.root is not None, "no project open"
        return rules.class_dir(self.root, class_name)

    def images(self, class_name: str) -> list[Path]:
        """Images of a class (or of the inbox), sorted by path."""
        if self.root is None:
            return []
        return dataset.list_images(self.folder(class_name), recursive=True)

    def announce_active_model(self, model_path: Path | None) -> None:
        """Tell every tab that the project's active model is now ``model_path`` (already stored on disk
        by ``core.runs.set_active_run``); the tabs do not know each other, so this is how they hear of it."""
        self.active_model_changed.emit(model_path)

    def class_for_key(self, key: str) -> str | None:
        return next((c.name for c in self._classes if c.key == key), None)

    # -- undo / redo ----------------------------------------------------------------------------
    def can_undo(self) -> bool:
        return bool(self._journal and self._journal.can_undo()) and not self._busy and not self.read_only

    def can_redo(self) -> bool:
        return bool(self._journal and self._journal.can_redo()) and not self._busy and not self.read_only

    def undo_text(self) -> str:
        label = self._journal.undo_label() if self._journal else None
        return f"Undo {label}" if label else "Undo"

    def redo_text(self) -> str:
        label = self._journal.redo_label() if self._journal else None
        return f"Redo {label}" if label else "Redo"

    def undoable_action_ids(self) -> list[str]:
        """Ids of the actions Undo can take back (``ActionResult.action.id``), the next one last: a view
        that undoes only its own moves compares them with the ids of the actions it made."""
        return list(self._journal.undo_stack) if self._journal is not None else []

    def undo(self) -> ActionResult | None:
        if self._refused_while_read_only() or not self.can_undo():
            return None
        assert self._journal is not None
        return self._finish(self._journal.undo())

    def redo(self) -> ActionResult | None:
        if self._refused_while_read_only() or not self.can_redo():
            return None
        assert self._journal is not None
        return self._finish(self._journal.redo())

    # -- actions (each one undoable) ------------------------------------------------------------
    def move_images(self, paths: list[Path], target_class: str) -> ActionResult | None:
        """Send images to a class (or ``INBOX``), renaming on clashes. ``None`` while it runs in the
        background (large batches); ``images_moved`` follows either way."""
        assert self.root is not None, "no project open"
        what = rules.count_words(len(paths), "image") if len(paths) != 1 else Path(paths[0]).name
        ops = rules.plan_send(self.root, paths, target_class)
        return self._run(f"send {what} to {self._display(target_class)}", ops)

    def send_images_to_classes(self, plan: dict[str, list[Path]], label: str) -> ActionResult | None:
        """Each class's images of ``plan`` sent to it as ONE undoable action ``label`` (as :meth:`move_images`)."""
        assert self.root is not None, "no project open"
        return self._run(label, rules.plan_send_many(self.root, plan))

    def copy_image_into_class(self, path: Path, class_name: str) -> Path | None:
        """Copy one image (from anywhere) into a class; returns the new path (None if it failed)."""
        result = self._run(f"copy {Path(path).name} into {class_name}",
                           plan_moves([Path(path)], self.folder(class_name), kind="copy"))
        return result.ops[0].dst if result and result.ops else None

    def import_files(self, paths: list[Path], target_class: str = INBOX, mode: str = "copy") -> ActionResult | None:
        """Bring images (files or folders, searched recursively) into a class or the inbox."""
        files, skipped = rules.importable_files(paths), rules.not_images(paths)
        if not files:
            self.message.emit("No images found to import (hidden and non-image files are skipped).")
            return None
        self.folder(target_class).mkdir(parents=True, exist_ok=True)
        ops = plan_moves(files, self.folder(target_class), kind="copy" if mode == "copy" else "move")
        result = self._run(f"import {rules.count_words(len(files), 'image')} into {self._display(target_class)}", ops)
        if skipped:  # after the "Imported ..." sentence, which this one completes
            names = ", ".join(p.name for p in skipped[:3]) + (" …" if len(skipped) > 3 else "")
            self.message.emit(f"Imported {rules.count_words(len(files), 'image')}; left out "
                              f"{rules.count_words(len(skipped), 'file')} that {'is' if len(skipped) == 1 else 'are'}"
                              f" not an image ({names}).")
        return result

    def create_class(self, name: str) -> ActionResult | None:
        name = rules.check_class_name(self.root, name)
        return self._run(f"create class {name}", [Op("mkdir", None, self.folder(name))])

    def rename_class(self, old: str, new: str) -> ActionResult | None:
        """Rename a class; its labelling key goes with it (see ``rules.assign_keys``)."""
        new = rules.check_class_name(self.root, new)
        return self._run(f"rename {old} to {new}", [Op("move", self.folder(old), self.folder(new))])

    def merge_classes(self, sources: list[str], target: str) -> ActionResult | None:
        """Move every image of ``sources`` into ``target``; the emptied folders are set aside."""
        assert self.root is not None, "no project open"
        return self._run(f"merge {', '.join(sources)} into {target}", rules.plan_merge(self.root, sources, target))

    def delete_class(self, name: str) -> ActionResult | None:
        """Delete a class: its images go to the inbox (undoable); nothing is ever unlinked."""
        assert self.root is not None, "no project open"
        return self._run(f"delete class {name}", rules.plan_delete_class(self.root, name))

    def trash_class(self, name: str) -> None:
        """Send a class folder to the system trash (cannot be undone here; the trash keeps it)."""
        import send2trash

        if self._refused_while_read_only():
            return
        try:
            send2trash.send2trash(str(self.folder(name)))
        except OSError as exc:
            self.message.emit(f"Could not move {name} to the trash: {exc}")
        self.refresh()

    def quarantine(self, paths: list[Path]) -> ActionResult | None:
        """Put unreadable files aside in ``.imgclf/quarantine/<class>/`` (undoable)."""
        assert self.root is not None, "no project open"
        ops = rules.plan_quarantine(self.root, paths)
        return self._run(f"quarantine {rules.count_words(len(ops), 'unreadable file')}", ops)

    def set_class_key(self, name: str, key: str) -> None:
        """Make ``key`` (one letter or digit) send images to class ``name``; "" gives it a free digit.

        A key another class had moves to this one. Raises ``ProjectError`` for anything else (also while
        the project is read-only here)."""
        if self.read_only:
            raise ProjectError(self.read_only_reason)
        self._store_keys(rules.with_key(self.manifest.class_keys, self.class_names(), name, key))
        self._scan()
        self.classes_changed.emit()

    # -- internals ------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Rescan the folders (cheap: names and counts only); emits ``classes_changed`` on a change."""
        if self.root is None:
            return
        before = (self._classes, self._inbox_count)
        self._scan()
        self._watch()
        if (self._classes, self._inbox_count) != before:
            self.classes_changed.emit()
        # Listeners reload a shown folder whose files changed even if counts did not.
        self.images_moved.emit([])

    def _run(self, label: str, ops: list[Op]) -> ActionResult | None:
        if self._journal is None:
            raise ProjectError("No project is open.")
        if self._refused_while_read_only():
            return None
        if self._busy:
            self.message.emit("Please wait: another change to the folders is still running.")
            return None
        if not ops:
            return None
        if len(ops) > BACKGROUND_OPS and self._runner is not None:
            self._run_in_background(label, ops)
            return None
        return self._finish(self._journal.run(label, ops))

    def _run_in_background(self, label: str, ops: list[Op]) -> None:
        journal = self._journal
        assert journal is not None

        def work(state, label: str, ops: list[Op]) -> ActionResult:
            return journal.run(label, ops, on_progress=state.progress_callback, should_stop=state.stop_callback)

        def done(result: ActionResult) -> None:
            self._set_busy(False)
            self._finish(result)

        def failed(failure) -> None:
            self._set_busy(False)
            self.message.emit(f"{label.capitalize()} failed: {failure.message}")
            self.refresh()

        self._set_busy(True)
        self._runner.start(  # type: ignore[attr-defined]
            work, label, ops, on_progress=self._on_action_progress, on_done=done, on_error=failed,
            on_cancelled=lambda: self._set_busy(False), name=label)
        self.message.emit(f"{label.capitalize()}…")

    def _on_action_progress(self, done: int, total: int) -> None:
        self.message.emit(f"Moving files: {done} of {total}")

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.busy_changed.emit(busy)
        self.history_changed.emit()

    def _finish(self, result: ActionResult | None) -> ActionResult | None:
        if result is None:
            return None
        self.last_result = result
        self._scan()
        self._watch()
        self.classes_changed.emit()
        self.images_moved.emit(result.moved)
        self.history_changed.emit()
        if result.problems:
            more = f" (and {len(result.problems) - 1} more)" if len(result.problems) > 1 else ""
            self.message.emit(result.problems[0] + more)
        elif result.ops:
            self.message.emit(f"{rules.done_sentence(result.action.kind, result.action.label)}.")
        return result

    def _scan(self, first: bool = False) -> None:
        assert self.root is not None
        previous = None if first else [c.name for c in self._classes]  # lets a renamed class keep its key
        found = rules.scan_classes(self.root, self.manifest.class_keys, previous)
        self._classes, self._inbox_count = found.classes, found.inbox_count
        self._store_keys(found.keys)

    def _store_keys(self, keys: dict[str, str]) -> None:
        """Keep the labelling keys in the manifest (in memory only when the project cannot be written)."""
        if keys == self.manifest.class_keys or self.root is None:
            return
        self.manifest.class_keys = keys
        if self.read_only:
            return  # the window that holds the lock keeps the manifest
        try:
            save_manifest(self.root, self.manifest)
        except OSError:
            pass  # a read-only project: the keys hold for this session

    def _watch(self) -> None:
        if self.root is None:
            return
        wanted = {str(self.root)} | {str(self.root / c.name) for c in self._classes}
        if layout.inbox_dir(self.root).is_dir():
            wanted.add(str(layout.inbox_dir(self.root)))
        current = set(self._watcher.directories())
        if wanted - current:
            self._watcher.addPaths(sorted(wanted - current))
        if current - wanted:
            self._watcher.removePaths(sorted(current - wanted))

    def _on_directory_changed(self, _path: str) -> None:
        if not self._busy:
            self._debounce.start()

    def _refused_while_read_only(self) -> bool:
        """Say why nothing can change here (another process holds the lock); True when refused."""
        if self.read_only:
            self.message.emit(self.read_only_reason)
        return self.read_only

    def _on_lock_taken(self) -> None:
        """The holder let go: this window may change the project now."""
        if self.root is None:
            return
        if self._journal is not None:
            self._journal.close()
        self._journal = Journal(self.root)  # settles whatever the former holder left interrupted
        for note in [*self._journal.recovered, "The other window let go of this project: moving works here now."]:
            self.message.emit(note)
        self.refresh()
        self.history_changed.emit()
        self.read_only_changed.emit(False)

    @staticmethod
    def _display(class_name: str) -> str:
        return "the inbox" if class_name == INBOX else class_name

