"""Undoable actions on a project, recorded in ``.imgclf/journal.jsonl`` so they survive a crash or restart.

The journal is append-only JSON lines::

    {"t": "begin", "id": 7, "kind": "do", "of": null, "label": "Send 3 images to cat", "ops": [[k, src, dst], ...]}
    {"t": "op", "id": 7, "i": 0, "dst": "cat/a.jpg"}          # operation 0 done (dst as realised)
    {"t": "op", "id": 7, "i": 1, "error": "a.jpg no longer exists"}
    {"t": "end", "id": 7}

The ``begin`` line is fsynced before anything is touched. On open, an action without ``end`` is
*completed*: each operation without an ``op`` line is settled from the state of the files
(:func:`moves.settle`), so a move interrupted by a crash is finished, never half-done.
Undo runs the inverse operations as a new action (``kind="undo"``, ``of`` = the action undone); redo
likewise. Replaying the journal rebuilds both stacks, so undo/redo work after a restart.
Paths inside the project are stored relative to it (with ``/``), so a project folder can be moved.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from imgclf_gui.core.project import layout
from imgclf_gui.core.project.moves import MoveError, Op, execute, settle
from imgclf_gui.core.support.atomic import atomic_write_text
from imgclf_gui.core.support.tasks_api import ProgressFn, StopFn

KEEP_UNDO = 200  # undoable actions kept when the journal is compacted
_COMPACT_BYTES = 4 << 20


@dataclass
class Action:
    """A group of operations the user sees as one step ("Send 3 images to cat")."""

    id: int
    kind: str  # "do" | "undo" | "redo"
    of: int | None
    label: str
    planned: list[Op]
    done: dict[int, Op] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)
    ended: bool = False

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
    """The undo/redo history of one project, backed by its journal file. Not thread-safe: one owner."""

    def __init__(self, root: str | os.PathLike[str], state_dir: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root).resolve()
        self.state_dir = Path(state_dir) if state_dir else layout.state_dir(self.root)
        self.path = self.state_dir / layout.JOURNAL
        self.trash_dir = self.state_dir / layout.TRASH
        self.actions: dict[int, Action] = {}
        self.undo_stack: list[int] = []
        self.redo_stack: list[int] = []
        self._next_id = 1
        self._handle: IO[str] | None = None
        #: Sentences describing what recovery repaired when the project was opened.
        self.recovered: list[str] = []
        self._load()
        self._recover()
        self._compact_if_large()

    # -- public ---------------------------------------------------------------------------------
    def run(self, label: str, ops: list[Op], *, kind: str = "do", of: int | None = None,
            on_progress: ProgressFn = None, should_stop: StopFn = None) -> ActionResult:
        """Do ``ops`` as one undoable action. Failed operations are skipped and reported; a stop request
        ends the action after the current operation (what was done stays done and undoable)."""
        action = Action(self._next_id, kind, of, label, list(ops))
        self._next_id += 1
        self.actions[action.id] = action
        self._write({"t": "begin", "id": action.id, "kind": kind, "of": of, "label": label,
                     "time": round(time.time(), 3), "ops": [self._op_json(op) for op in ops]}, sync=True)
        problems: list[str] = []
        cancelled = False
        for i, op in enumerate(ops):
            if should_stop is not None and should_stop():
                cancelled = True
                break
            try:
                realised = execute(op)
            except MoveError as exc:
                action.errors[i] = str(exc)
                problems.append(str(exc))
                self._write({"t": "op", "id": action.id, "i": i, "error": str(exc)})
            else:
                action.done[i] = realised
                self._write({"t": "op", "id": action.id, "i": i, "dst": self._rel(realised.dst)})
            if on_progress is not None:
                on_progress(i + 1, len(ops))
        self._end(action)
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
        ops = [op.inverse(self.trash_dir / str(target.id)) for op in reversed(target.realised)]
        return self.run(target.label, ops, kind="undo", of=target.id, **kwargs)

    def redo(self, **kwargs: Any) -> ActionResult | None:
        """Do again the newest undone action (None when there is none)."""
        if not self.redo_stack:
            return None
        target = self.actions[self.redo_stack[-1]]
        ops = [op.inverse(self.trash_dir / str(target.id)) for op in reversed(target.realised)]
        return self.run(target.label, ops, kind="redo", of=target.id, **kwargs)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    # -- bookkeeping ----------------------------------------------------------------------------
    def _end(self, action: Action) -> None:
        action.ended = True
        self._write({"t": "end", "id": action.id}, sync=True)
        self._apply_to_stacks(action)

    def _apply_to_stacks(self, action: Action) -> None:
        if action.kind == "do":
            if action.done:
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

    def _load(self) -> None:
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line torn by a crash while it was written
                self._replay(record)

    def _replay(self, record: dict[str, Any]) -> None:
        kind = record.get("t")
        if kind == "begin":
            ops = [self._op_from_json(o) for o in record["ops"]]
            action = Action(record["id"], record["kind"], record.get("of"), record["label"], ops)
            self.actions[action.id] = action
            self._next_id = max(self._next_id, action.id + 1)
            return
        action = self.actions.get(record.get("id", -1))
        if action is None:
            return
        if kind == "op":
            i = record["i"]
            if "dst" in record:
                planned = action.planned[i]
                action.done[i] = Op(planned.kind, planned.src, self._abs(record["dst"]))
            else:
                action.errors[i] = record.get("error", "")
        elif kind == "end" and not action.ended:
            action.ended = True
            self._apply_to_stacks(action)

    def _recover(self) -> None:
        for action in sorted(self.actions.values(), key=lambda a: a.id):
            if action.ended:
                continue
            fixed = 0
            for i, op in enumerate(action.planned):
                if i in action.done or i in action.errors:
                    continue
                try:
                    realised = settle(op)
                except (MoveError, OSError) as exc:
                    realised = None
                    action.errors[i] = str(exc)
                if realised is not None:
                    action.done[i] = realised
                    self._write({"t": "op", "id": action.id, "i": i, "dst": self._rel(realised.dst)})
                    fixed += 1
            self._end(action)
            self.recovered.append(
                f"Completed “{action.label}”, which was interrupted ({fixed} file operation(s) finished)."
            )

    def _compact_if_large(self) -> None:
        """Rewrite the journal with only the actions the stacks still need, once it grows large."""
        try:
            if self.path.stat().st_size < _COMPACT_BYTES:
                return
        except FileNotFoundError:
            return
        self.close()
        self.undo_stack = self.undo_stack[-KEEP_UNDO:]
        keep = set(self.undo_stack) | set(self.redo_stack)
        lines = []
        for action_id in sorted(keep):
            action = self.actions[action_id]
            # Written as plain "do" actions so replay rebuilds the stacks in the same order.
            lines.append({"t": "begin", "id": action.id, "kind": "do", "of": None, "label": action.label,
                          "ops": [self._op_json(op) for op in action.realised]})
            lines.extend({"t": "op", "id": action.id, "i": i, "dst": self._rel(op.dst)}
                         for i, op in enumerate(action.realised))
            lines.append({"t": "end", "id": action.id})
        atomic_write_text(self.path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines))
        redo = list(self.redo_stack)
        self.actions, self.undo_stack, self.redo_stack = {}, [], []
        self._load()
        # A redo entry replayed as "do" landed on the undo stack; put it back where it was.
        for action_id in redo:
            if action_id in self.undo_stack:
                self.undo_stack.remove(action_id)
        self.redo_stack = redo

    def _write(self, record: dict[str, Any], sync: bool = False) -> None:
        if self._handle is None:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "a", encoding="utf-8")
        self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._handle.flush()
        if sync:
            # fsync at action boundaries only: per-operation lines may be lost in a crash, but
            # recovery judges undone operations from the files themselves.
            os.fsync(self._handle.fileno())

    def _rel(self, path: Path | None) -> str | None:
        if path is None:
            return None
        path = Path(os.path.abspath(path))
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def _abs(self, text: str | None) -> Path | None:
        if text is None:
            return None
        path = Path(text)
        return path if path.is_absolute() else self.root / path

    def _op_json(self, op: Op) -> list[Any]:
        return [op.kind, self._rel(op.src), self._rel(op.dst)]

    def _op_from_json(self, item: list[Any]) -> Op:
        kind, src, dst = item
        dst_path = self._abs(dst)
        assert dst_path is not None
        return Op(kind, self._abs(src), dst_path)
