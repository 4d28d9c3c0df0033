"""Undoable actions on a project, recorded in ``.imgclf/journal.jsonl`` so they survive a crash or restart.

The journal is append-only, one framed record per line (:mod:`core.project.journal_records`). An action
runs like this: its ``begin`` record (the planned operations) is written; then, a chunk at a time, the
identity (size + SHA-256) of every file the chunk touches is recorded and fsynced *before* any of them
moves; each finished operation adds an ``op`` (or ``fail``) record; ``end`` closes the action. A name
taken meanwhile, and a copy complete beside its destination, are fsynced (``to``, ``staged``) before
the rename that depends on them, so after a crash the journal always knows where a file can be.

On open, a torn last line is cut off, damaged lines are set aside (the file is kept as
``journal.jsonl.damaged``) and an old unframed journal is converted. An action without ``end`` is
*settled* (:mod:`core.project.journal_execute`): each identified operation is found done, finished, or
done now, and a file is only ever moved when it is the recorded one. Undo runs the inverse operations as
a new action (``kind="undo"``, ``of`` = the action undone); redo likewise; replaying the journal
rebuilds both stacks. A project opened read-only (another process holds its lock) loads the history but
neither repairs nor writes it.
"""
from __future__ import annotations

import errno
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imgclf_gui.core.project import journal_records as records
from imgclf_gui.core.project import layout
from imgclf_gui.core.project.journal_records import PathCodec
from imgclf_gui.core.project.moves import MoveError, Op, explain, identify
from imgclf_gui.core.support.file_hash import HashIndex
from imgclf_gui.core.support.tasks_api import ProgressFn, StopFn

_CHUNK = 32  # operations identified (and fsynced) at a time before any of them moves
_RESERVE_BYTES = 256 << 10
_SAVE_INDEX_AFTER = 50  # file operations after which the hash index is saved at once


class JournalWriteError(OSError):
    """The journal itself could not be written (full disk, read-only folder); ``str()`` is a sentence."""


class ReadOnlyJournal(Exception):
    """The project is open read-only here; ``str()`` says why, for the user."""


@dataclass
class Action:
    """A group of operations the user sees as one step ("Send 3 images to cat")."""

    id: str
    kind: str  # "do" | "undo" | "redo"
    of: str | None
    label: str
    planned: list[Op]
    done: dict[int, Op] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)
    ended: bool = False
    status: str = "done"
    #: False when the action names a place outside the project without this user's signature:
    #: it may then never touch anything outside the project.
    trusted: bool = True
    identified: set[int] = field(default_factory=set)  # ops whose identity was recorded before running
    retarget: dict[int, Path] = field(default_factory=dict)
    staged: dict[int, tuple[int, int]] = field(default_factory=dict)  # op -> (dev, inode) of its source

    @property
    def realised(self) -> list[Op]:
        return [self.done[i] for i in sorted(self.done)]


@dataclass
class ActionResult:
    """What an action did: realised operations (old -> new paths) and problems, one sentence each."""

    action: Action
    problems: list[str]
    cancelled: bool = False

    @property
    def ops(self) -> list[Op]:
        return self.action.realised

    @property
    def moved(self) -> list[tuple[Path | None, Path]]:
        return [(op.src, op.dst) for op in self.ops if op.kind in ("move", "copy")]


class Journal:
    """The undo/redo history of one project, backed by its journal file. Not thread-safe: one owner.

    ``read_only=True`` (another process holds the project's lock) loads the history without repairing
    or writing anything; every change then raises :class:`ReadOnlyJournal` with ``read_only_reason``.
    """

    def __init__(self, root: str | os.PathLike[str], state_dir: str | os.PathLike[str] | None = None, *,
                 read_only: bool = False, read_only_reason: str = "") -> None:
        self.root = Path(root).resolve()
        self.state_dir = Path(state_dir) if state_dir else layout.state_dir(self.root)
        self.path = self.state_dir / layout.JOURNAL
        self.trash_dir = self.state_dir / layout.TRASH
        self.read_only = read_only
        self.read_only_reason = read_only_reason or "This project is open read-only."
        self.codec = PathCodec(self.root)
        self.actions: dict[str, Action] = {}
        self.order: list[str] = []
        self.undo_stack: list[str] = []
        self.redo_stack: list[str] = []
        self._fd: int | None = None
        self._key: bytes | None | bool = False  # False: not looked up yet
        self.index = HashIndex(None if read_only else layout.hash_index_file(self.state_dir), self.root)
        self._unsaved_index = 0
        #: Sentences for the user about what opening found and repaired (damage, interrupted actions).
        self.recovered: list[str] = [str(self.index.damage)] if self.index.damage else []
        from imgclf_gui.core.project.journal_loading import compact_if_large, load

        load(self)
        if not read_only:
            from imgclf_gui.core.project.journal_execute import recover

            self._make_reserve()
            recover(self)
            compact_if_large(self)

    # -- public ---------------------------------------------------------------------------------
    def run(self, label: str, ops: list[Op], *, kind: str = "do", of: str | None = None,
            on_progress: ProgressFn = None, should_stop: StopFn = None) -> ActionResult:
        """Do ``ops`` as one undoable action. Failed operations are skipped and reported; a full disk
        stops the action; a stop request ends it after the current operation (what was done stays
        done and undoable). Raises :class:`ReadOnlyJournal` when the project is read-only here."""
        if self.read_only:
            raise ReadOnlyJournal(self.read_only_reason)
        # Undo and redo of a history someone else wrote may not reach outside the project either.
        trusted = of not in self.actions or self.actions[of].trusted
        action = Action(records.new_action_id(), kind, of, label, list(ops), trusted=trusted)
        problems: list[str] = []
        self.actions[action.id] = action
        try:
            self._write(self._begin_record(action), sync=kind == "do")
        except JournalWriteError as exc:
            del self.actions[action.id]
            return ActionResult(action, [f"{exc} Nothing was changed."])
        self.order.append(action.id)
        try:
            if kind != "do":  # undo / redo: every identity is known; record them all at once
                self._identify(action, 0, len(ops), problems)
        except JournalWriteError as exc:
            return ActionResult(action, [f"{exc} Nothing was changed."])
        cancelled = False
        try:
            for i in range(len(ops)):
                if should_stop is not None and should_stop():
                    cancelled, action.status = True, "cancelled"
                    break
                if i not in action.identified:
                    self._identify(action, i, min(i + _CHUNK, len(ops)), problems)
                if i not in action.errors:
                    self.perform(action, i, verify=kind != "do", problems=problems)
                if on_progress is not None:
                    on_progress(i + 1, len(ops))
                if action.status == "failed":
                    left = len(ops) - i - 1
                    if left:
                        problems.append(f"The other {left} operation(s) were not started; nothing was lost.")
                    break
            self.end(action)
        except JournalWriteError as exc:
            problems.append(f"{exc} The files are safe; imgclf settles this action the next time the project "
                            "opens.")
        self._maybe_save_index(len(ops))
        return ActionResult(action, problems, cancelled)

    def can_undo(self) -> bool:
        return bool(self.undo_stack)

    def can_redo(self) -> bool:
        return bool(self.redo_stack)

    def undo_label(self) -> str | None:
        return self.actions[self.undo_stack[-1]].label if self.undo_stack else None

    def redo_label(self) -> str | None:
        return self.actions[self.redo_stack[-1]].label if self.redo_stack else None

    def undo(self, **kwargs: Any) -> ActionResult | None:
        """Reverse the newest action still in effect (None when there is none)."""
        if not self.undo_stack:
            return None
        target = self.actions[self.undo_stack[-1]]
        ops = [op.inverse(self.trash_dir / target.id) for op in reversed(target.realised)]
        return self.run(target.label, ops, kind="undo", of=target.id, **kwargs)

    def redo(self, **kwargs: Any) -> ActionResult | None:
        """Do again the newest undone action (None when there is none)."""
        if not self.redo_stack:
            return None
        target = self.actions[self.redo_stack[-1]]
        ops = [op.inverse(self.trash_dir / target.id) for op in reversed(target.realised)]
        return self.run(target.label, ops, kind="redo", of=target.id, **kwargs)

    def close(self) -> None:
        self.close_file()
        if not self.read_only:
            self._maybe_save_index(_SAVE_INDEX_AFTER)

    def close_file(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # -- running one operation ------------------------------------------------------------------
    def _identify(self, action: Action, start: int, stop: int, problems: list[str]) -> None:
        """Record (fsynced) the identity of ops ``start..stop`` before any of them runs."""
        ids: list[list[Any] | None] = []
        for i in range(start, stop):
            op = action.planned[i]
            if op.kind in ("move", "copy") and op.identity is None and op.src is not None:
                try:
                    op = action.planned[i] = op.with_identity(identify(op.src, self.index))
                except OSError as exc:
                    self.fail(action, i, explain(exc, op.src), problems)
            ids.append(list(op.identity) if op.identity else None)
            action.identified.add(i)
        self._write({"t": "ids", "id": action.id, "at": start, "ids": ids}, sync=True)

    def perform(self, action: Action, i: int, *, verify: bool, problems: list[str]) -> Op | None:
        """Carry out op ``i`` of ``action`` and record it; None (and a problem) when it failed."""
        from imgclf_gui.core.project.journal_execute import execute

        try:
            realised = execute(self, action, i, verify=verify)
        except MoveError as exc:
            self.fail(action, i, str(exc), problems)
            return None
        except OSError as exc:
            if isinstance(exc, JournalWriteError):
                raise
            failing = Path(exc.filename) if getattr(exc, "filename", None) else (action.planned[i].src
                                                                                or action.planned[i].dst)
            self.fail(action, i, explain(exc, failing), problems)
            if exc.errno == errno.ENOSPC:
                action.status = "failed"
            return None
        action.done[i] = realised
        self._write({"t": "op", "id": action.id, "i": i, "dst": self.codec.encode(realised.dst)})
        return realised

    def fail(self, action: Action, i: int, sentence: str, problems: list[str]) -> None:
        action.errors[i] = sentence
        problems.append(sentence)
        self._write({"t": "fail", "id": action.id, "i": i, "error": sentence[:2000]})

    def end(self, action: Action) -> None:
        self._write({"t": "end", "id": action.id, "status": action.status}, sync=True)
        action.ended = True
        self.apply_to_stacks(action)

    def apply_to_stacks(self, action: Action) -> None:
        if not action.done:
            return  # nothing happened: the stacks stay as they were (a refused undo can be tried again)
        if action.kind == "do":
            self.undo_stack.append(action.id)
            self.redo_stack.clear()
        elif action.kind == "undo":
            if action.of in self.undo_stack:
                self.undo_stack.remove(action.of)
            self.redo_stack.append(action.id)
        elif action.kind == "redo":
            if action.of in self.redo_stack:
                self.redo_stack.remove(action.of)
            self.undo_stack.append(action.id)

    # -- writing --------------------------------------------------------------------------------
    def _begin_record(self, action: Action) -> dict[str, Any]:
        return {"t": "begin", "id": action.id, "kind": action.kind, "of": action.of, "label": action.label[:500],
                "time": round(time.time(), 3), "ops": [self.op_json(op) for op in action.planned]}

    def op_json(self, op: Op) -> list[Any]:
        return [op.kind, self.codec.encode(op.src), self.codec.encode(op.dst), op.size, op.sha256]

    def key(self) -> bytes | None:
        if self._key is False:
            self._key = records.user_key()
        return self._key  # type: ignore[return-value]

    def write(self, record: dict[str, Any], sync: bool = False) -> None:
        """Append one record (signed when it names a place outside the project)."""
        self._write(record, sync)

    def _write(self, record: dict[str, Any], sync: bool = False) -> None:
        action = self.actions.get(record.get("id", ""))
        if records.names_outside(record) and (action is None or action.trusted):
            record = records.sign(record, self.key())
        data = records.frame(record)
        try:
            self._append(data, sync)
        except OSError as exc:
            if exc.errno == errno.ENOSPC and self._release_reserve():
                try:
                    self._append(data, sync)
                    return
                except OSError as again:
                    exc = again
            raise JournalWriteError(exc.errno, _why_journal_failed(exc)) from exc

    def _append(self, data: bytes, sync: bool) -> None:
        if self._fd is None:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0),
                               0o644)
        start = os.fstat(self._fd).st_size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view):]
            if sync:
                os.fsync(self._fd)
        except OSError:
            try:
                os.ftruncate(self._fd, start)  # never leave half a line for the next record to join
            except OSError:
                pass
            raise

    def _make_reserve(self) -> None:
        reserve = self.state_dir / layout.JOURNAL_RESERVE
        try:
            if reserve.exists():
                return
            self.state_dir.mkdir(parents=True, exist_ok=True)
            with open(reserve, "wb") as handle:
                handle.write(b"\0" * _RESERVE_BYTES)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError:
            try:
                reserve.unlink()
            except OSError:
                pass

    def _release_reserve(self) -> bool:
        try:
            (self.state_dir / layout.JOURNAL_RESERVE).unlink()
            return True
        except OSError:
            return False

    def _maybe_save_index(self, count: int) -> None:
        self._unsaved_index += count
        if self._unsaved_index >= _SAVE_INDEX_AFTER:
            try:
                self.index.save()
            except (OSError, ValueError):
                pass  # a cache: it is rebuilt as needed
            self._unsaved_index = 0


def _why_journal_failed(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "The disk is full: imgclf could not record the change in its history."
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return "The project's history cannot be written (the folder is read-only)."
    return f"The project's history cannot be written ({exc.strerror or exc})."


__all__ = ["Action", "ActionResult", "Journal", "JournalWriteError", "ReadOnlyJournal"]
