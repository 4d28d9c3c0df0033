"""Carrying out one journaled operation, and settling one that a crash interrupted.

Both work on an :class:`~imgclf_gui.core.project.journal.Action` of a
:class:`~imgclf_gui.core.project.journal.Journal` and write their records through it, so the journal
knows, before each rename that matters, every place the file can be found afterwards.
"""
from __future__ import annotations

import errno
import os
from enum import Enum
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from imgclf_gui.core.project import layout
from imgclf_gui.core.project.moves import (
    MoveError,
    Op,
    copy_to_partial,
    identity_problem,
    partial_path,
    remove_partial,
    rename_no_clobber,
    unique_path,
)

if TYPE_CHECKING:
    from imgclf_gui.core.project.journal import Action, Journal


def execute(journal: Journal, action: Action, i: int, *, verify: bool) -> Op:
    """Do op ``i`` and return it as realised (its destination may have been renamed to avoid a clash).

    With ``verify``, the file is first checked to be the recorded one (undo, redo, recovery). Raises
    ``MoveError`` (a sentence) or ``OSError``; on error nothing has changed.
    """
    op = action.planned[i]
    confine(journal, action, op)
    if op.kind == "mkdir":
        op.dst.mkdir(parents=True, exist_ok=True)
        return op
    if op.kind == "rmdir":
        if os.path.lexists(op.dst):
            op.dst.rmdir()  # only ever an empty folder
        return op
    src = op.src
    assert src is not None
    if verify or op.identity is None:
        problem = identity_problem(src, op.identity, journal.index)
        if problem is not None:
            raise MoveError(f"{problem[:1].upper()}{problem[1:]}, so it was left where it is.")
    if op.kind == "copy" and op.identity is None:
        raise MoveError(f"{src.name} is a folder; only files are copied.")
    dst = op.dst
    if os.path.lexists(dst):  # taken since it was planned: another name, recorded before the rename
        dst = unique_path(dst)
        journal.write({"t": "to", "id": action.id, "i": i, "dst": journal.codec.encode(dst)}, sync=True)
        action.retarget[i] = dst
    dst.parent.mkdir(parents=True, exist_ok=True)
    realised = Op(op.kind, src, dst, op.size, op.sha256)
    if op.kind == "move":
        try:
            rename_no_clobber(src, dst)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            if op.identity is None:
                raise MoveError(f"Cannot move the folder {src.name} to another drive.") from exc
        else:
            remember(journal, realised)
            return realised
    # A copy, or a move to another drive: through a temp file beside dst, recorded once complete.
    assert op.identity is not None
    tmp = copy_to_partial(src, dst, op.identity)
    st = os.stat(src)
    try:
        journal.write({"t": "staged", "id": action.id, "i": i, "dev": st.st_dev, "ino": st.st_ino}, sync=True)
    except OSError:
        tmp.unlink()
        raise
    action.staged[i] = (st.st_dev, st.st_ino)
    if os.path.lexists(dst):
        tmp.unlink()
        raise MoveError(f"A file named {dst.name} appeared while {src.name} was being copied; nothing was changed.")
    os.replace(tmp, dst)
    if op.kind == "move":
        _unlink_source(src, action.staged[i])
    remember(journal, realised)
    return realised


def confine(journal: Journal, action: Action, op: Op) -> None:
    """Refuse an operation that would reach outside the project through a link, touch imgclf's own
    state, or (for a history this user did not record here) touch anything outside the project."""
    for path in (op.src, op.dst):
        if path is None:
            continue
        stored = journal.codec.encode(path)
        assert stored is not None
        if journal.codec.is_outside(stored):  # an imported file's origin: only with this user's signature
            if not action.trusted:
                raise MoveError(f"{path} is outside the project and this step of the history was not recorded "
                                "by you on this computer, so it was refused.")
            continue
        if not journal.codec.inside(path):
            raise MoveError(f"{path.name} lies outside the project through a link, so it was left alone.")
        parts = PurePosixPath(stored).parts
        if parts and parts[0] == layout.STATE_DIR_NAME and (len(parts) < 3 or parts[1] not in (layout.TRASH,
                                                                                             layout.QUARANTINE)):
            raise MoveError(f"{path.name} is part of imgclf's own state and is never moved.")


def remember(journal: Journal, op: Op) -> None:
    """Tell the hash index where the file now is, so checking it later needs no reading."""
    if op.identity is None:
        return
    try:
        st = os.stat(op.dst)
    except OSError:
        return
    if st.st_size == op.size:
        journal.index.remember(op.dst, st, op.sha256)  # type: ignore[arg-type]


def _unlink_source(src: Path, staged: tuple[int, int]) -> None:
    # Only the very file that was copied (same device and inode): never a same-content copy.
    st = os.lstat(src)
    if (st.st_dev, st.st_ino) == staged:
        os.unlink(src)


class Settled(Enum):
    DONE = "done"
    TODO = "todo"
    LOST = "lost"


def settle(journal: Journal, action: Action, i: int) -> tuple[Settled, Op | str | None]:
    """Where op ``i`` of an interrupted action stands, judged from the files: ``(DONE, realised op)``,
    ``(TODO, None)`` (the file is where it was, still to do), or ``(LOST, sentence)``.

    The one change it makes is finishing a copy that was complete and recorded as such (``staged``).
    """
    op = action.planned[i]
    if op.kind == "mkdir":
        return (Settled.DONE, op) if op.dst.is_dir() else (Settled.TODO, None)
    if op.kind == "rmdir":
        return (Settled.DONE, op) if not os.path.lexists(op.dst) else (Settled.TODO, None)
    src, dst, ident = op.src, action.retarget.get(i, op.dst), op.identity
    assert src is not None
    realised = Op(op.kind, src, dst, op.size, op.sha256)
    index = journal.index
    if i in action.staged:
        tmp = partial_path(dst)
        if os.path.isfile(tmp) and not os.path.lexists(dst) and identity_problem(tmp, ident, index) is None:
            confine(journal, action, realised)
            os.replace(tmp, dst)
        if identity_problem(dst, ident, index) is None:
            if op.kind == "move" and os.path.lexists(src) and identity_problem(src, ident, index) is None:
                _unlink_source(src, action.staged[i])
            remember(journal, realised)
            return Settled.DONE, realised
    remove_partial(dst)
    src_problem = identity_problem(src, ident, index)
    if src_problem is None:
        return Settled.TODO, None  # even beside an identical file at dst: that one is someone else's
    if op.kind == "move" and i not in action.staged and identity_problem(dst, ident, index) is None:
        remember(journal, realised)
        return Settled.DONE, realised
    if os.path.lexists(src):
        return Settled.LOST, f"{src_problem[:1].upper()}{src_problem[1:]}, so it was left where it is."
    return Settled.LOST, (f"After the interruption, {src.name} was found neither where it was nor at "
                          f"{dst.name}; nothing was moved.")


def recover(journal: Journal) -> None:
    """Settle every action a crash left without ``end``; each gets a sentence in ``journal.recovered``."""
    from imgclf_gui.core.project.journal import JournalWriteError

    for action_id in list(journal.order):
        action = journal.actions[action_id]
        if action.ended:
            continue
        problems: list[str] = []
        try:
            for i in range(len(action.planned)):
                if i in action.done or i in action.errors or i not in action.identified:
                    continue
                try:
                    state, detail = settle(journal, action, i)
                except (OSError, MoveError) as exc:
                    state, detail = Settled.LOST, str(exc)
                if state is Settled.DONE:
                    assert isinstance(detail, Op)
                    action.done[i] = detail
                    journal.write({"t": "op", "id": action.id, "i": i, "dst": journal.codec.encode(detail.dst)})
                elif state is Settled.TODO:
                    journal.perform(action, i, verify=True, problems=problems)
                else:
                    journal.fail(action, i, str(detail), problems)
            action.status = "interrupted"
            journal.end(action)
        except JournalWriteError as exc:
            journal.recovered.append(f"“{action.label}” was interrupted and could not be settled now: {exc}")
            return
        total = len(action.planned)
        done = len(action.done)
        sentence = (f"“{action.label}” was interrupted when imgclf stopped; {done} of {total} file operation(s) "
                    "are done")
        if done < total:
            sentence += ", the others were not (nothing was lost)"
        if problems:
            sentence += f". {problems[0]}"
        journal.recovered.append(sentence + ("" if sentence.endswith(".") else "."))
