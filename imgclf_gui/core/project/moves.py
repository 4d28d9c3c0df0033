"""Safe file operations on a project: never overwrite, never lose a file, survive a crash.

Every change the app makes to the class folders is one *file operation* (:class:`Op`):

- ``move``  src -> dst (file or folder). Same volume: ``os.replace`` after checking dst does not exist.
  Across volumes: copy to a hidden temp file next to dst, fsync, verify size and bytes, rename, then
  remove the source.
- ``copy``  src -> dst, the same way through a temp file (the source stays).
- ``mkdir`` / ``rmdir`` dst (``rmdir`` only of an empty folder).

A name clash never overwrites: ``cat.jpg`` becomes ``cat (2).jpg``. :mod:`imgclf_gui.core.project.journal` groups
operations into undoable actions and records them so a crash can be repaired.
"""
from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

PARTIAL_SUFFIX = ".imgclf-partial"


class MoveError(Exception):
    """One operation could not be done; ``str()`` is a sentence for the user."""


@dataclass(frozen=True)
class Op:
    """One planned or realised file operation (absolute paths)."""

    kind: str  # "move" | "copy" | "mkdir" | "rmdir"
    src: Path | None
    dst: Path

    def inverse(self, trash_dir: Path) -> Op:
        """The operation that undoes this one. Undoing a copy moves the copy into ``trash_dir``."""
        if self.kind == "move":
            assert self.src is not None
            return Op("move", self.dst, self.src)
        if self.kind == "copy":
            return Op("move", self.dst, trash_dir / self.dst.name)
        if self.kind == "mkdir":
            return Op("rmdir", None, self.dst)
        if self.kind == "rmdir":
            return Op("mkdir", None, self.dst)
        raise ValueError(self.kind)


_NUMBERED = re.compile(r"^(?P<stem>.*?) \((?P<n>\d+)\)$")


def unique_path(target: Path, reserved: set[Path] | None = None) -> Path:
    """``target`` if free, else ``name (2).ext``, ``name (3).ext``... (also avoiding ``reserved``)."""
    reserved = reserved or set()
    if not os.path.lexists(target) and target not in reserved:
        return target
    stem, suffix = target.stem, target.suffix
    if target.is_dir():
        stem, suffix = target.name, ""
    match = _NUMBERED.match(stem)
    n = 2
    if match:
        stem, n = match.group("stem"), int(match.group("n")) + 1
    while True:
        candidate = target.with_name(f"{stem} ({n}){suffix}")
        if not os.path.lexists(candidate) and candidate not in reserved:
            return candidate
        n += 1


def plan_moves(paths: list[Path], target_dir: Path, kind: str = "move") -> list[Op]:
    """Operations sending ``paths`` into ``target_dir`` with clash-free names (files already there skipped)."""
    reserved: set[Path] = set()
    ops = []
    for path in paths:
        path = Path(path)
        if kind == "move" and path.parent == target_dir:
            continue
        dst = unique_path(target_dir / path.name, reserved)
        reserved.add(dst)
        ops.append(Op(kind, path, dst))
    return ops


def explain(exc: OSError, path: Path) -> str:
    """A sentence a user understands for an OS error on ``path``."""
    if isinstance(exc, FileNotFoundError):
        return f"{path.name} no longer exists (moved or deleted outside imgclf?)."
    if isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"Cannot change {path}: the folder is read-only or you lack permission."
    if exc.errno == errno.ENOSPC:
        return f"Cannot write {path.name}: the disk is full."
    return f"Cannot change {path.name}: {exc.strerror or exc}."


def execute(op: Op) -> Op:
    """Do ``op`` and return it as realised (the destination may have been renamed to avoid a clash).

    Raises :class:`MoveError` with a user-facing sentence; on error nothing has changed.
    """
    try:
        if op.kind == "mkdir":
            op.dst.mkdir(parents=True, exist_ok=True)
            return op
        if op.kind == "rmdir":
            if op.dst.exists():
                op.dst.rmdir()
            return op
        assert op.src is not None
        if not os.path.lexists(op.src):
            raise FileNotFoundError(errno.ENOENT, "missing", str(op.src))
        dst = unique_path(op.dst)
        dst.parent.mkdir(parents=True, exist_ok=True)
        if op.kind == "copy":
            _copy_verified(op.src, dst)
            return Op("copy", op.src, dst)
        try:
            # Checked free just above; os.replace would silently overwrite otherwise.
            os.replace(op.src, dst)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            if op.src.is_dir():
                raise MoveError(f"Cannot move the folder {op.src.name} to another drive.") from exc
            _copy_verified(op.src, dst)
            os.unlink(op.src)
        return Op("move", op.src, dst)
    except MoveError:
        raise
    except OSError as exc:
        failing = Path(exc.filename) if getattr(exc, "filename", None) else (op.src or op.dst)
        raise MoveError(explain(exc, failing)) from exc


def _copy_verified(src: Path, dst: Path) -> None:
    """Copy through a hidden temp file, fsync, compare the bytes, then rename into place."""
    tmp = dst.with_name(f".{dst.name}{PARTIAL_SUFFIX}")
    try:
        shutil.copyfile(src, tmp)
        shutil.copystat(src, tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        if file_digest(src) != file_digest(tmp):
            raise MoveError(f"Copy of {src.name} did not match the original; nothing was changed.")
        if os.path.lexists(dst):
            dst = unique_path(dst)
        os.replace(tmp, dst)
    finally:
        if tmp.exists():
            tmp.unlink()


def file_digest(path: Path) -> str:
    """blake2b of a file's bytes (used to verify copies and to recognise an already-done move)."""
    digest = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def settle(op: Op) -> Op | None:
    """After a crash: finish ``op`` if it was not done, judging by the files on disk.

    Returns the realised operation, or ``None`` when it can be neither confirmed nor done (both source
    and destination are gone). Leftover temp files of an interrupted copy are removed.
    """
    tmp = op.dst.with_name(f".{op.dst.name}{PARTIAL_SUFFIX}")
    if tmp.exists():
        tmp.unlink()
    if op.kind in ("mkdir", "rmdir"):
        try:
            return execute(op)
        except MoveError:
            return None
    assert op.src is not None
    src_there, dst_there = os.path.lexists(op.src), os.path.lexists(op.dst)
    if op.kind == "copy":
        if dst_there:
            return op
        return execute(op) if src_there else None
    if dst_there and not src_there:
        return op  # the rename happened before the crash
    if src_there and dst_there and op.src.is_file() and _same_bytes(op.src, op.dst):
        os.unlink(op.src)  # a cross-volume move died after its verified copy: finish it
        return op
    if src_there:
        return execute(op)
    return None


def _same_bytes(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_size == b.stat().st_size and file_digest(a) == file_digest(b)
    except OSError:
        return False
