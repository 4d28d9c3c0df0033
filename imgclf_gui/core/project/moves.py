"""Safe file operations on a project: never overwrite, never lose a file, survive a crash.

Every change the app makes to the class folders is one *file operation* (:class:`Op`):

- ``move``  src -> dst (file or folder). Same volume: ``os.replace`` after checking dst does not exist.
  Across volumes: copy to a hidden temp file next to dst (:func:`partial_path`), fsync, check its
  content hash, rename it into place, then remove the source.
- ``copy``  src -> dst, the same way through a temp file (the source stays).
- ``mkdir`` / ``rmdir`` dst (``rmdir`` only of an empty folder).

An operation on a file carries the file's size and SHA-256 (its *identity*); the journal moves a file
back or onward only while it still has them (:func:`identity_problem`). A name clash never overwrites:
``cat.jpg`` becomes ``cat (2).jpg``, shortened where needed so every name stays within the 255 bytes
file systems allow. :mod:`imgclf_gui.core.project.journal` groups operations into undoable actions and
records them so a crash can be repaired.
"""
from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import stat
from contextlib import suppress
from dataclasses import dataclass, replace
from pathlib import Path

from imgclf_gui.core.support.file_hash import HASH_NAME, HashIndex, file_identity
from imgclf_gui.core.support.safe_files import NotARegularFile, kind_of, open_regular

PARTIAL_SUFFIX = ".imgclf-partial"
NAME_MAX_BYTES = 255  # the longest file name (in bytes) ext4, NTFS, APFS and exFAT all accept

Identity = tuple[int, str]  # size in bytes, hex SHA-256


class MoveError(Exception):
    """One operation could not be done; ``str()`` is a sentence for the user."""


@dataclass(frozen=True)
class Op:
    """One planned or realised file operation (absolute paths), with the identity of the file it
    moves or copies (``size``/``sha256``; None for folders and while not yet known)."""

    kind: str  # "move" | "copy" | "mkdir" | "rmdir"
    src: Path | None
    dst: Path
    size: int | None = None
    sha256: str | None = None

    @property
    def identity(self) -> Identity | None:
        return None if self.size is None or self.sha256 is None else (self.size, self.sha256)

    def with_identity(self, identity: Identity | None) -> Op:
        return replace(self, size=identity[0] if identity else None, sha256=identity[1] if identity else None)

    def inverse(self, trash_dir: Path) -> Op:
        """The operation that undoes this one. Undoing a copy moves the copy into ``trash_dir``."""
        if self.kind == "move":
            assert self.src is not None
            return Op("move", self.dst, self.src, self.size, self.sha256)
        if self.kind == "copy":
            return Op("move", self.dst, trash_dir / self.dst.name, self.size, self.sha256)
        if self.kind == "mkdir":
            return Op("rmdir", None, self.dst)
        if self.kind == "rmdir":
            return Op("mkdir", None, self.dst)
        raise ValueError(self.kind)


_NUMBERED = re.compile(r"^(?P<stem>.*?) \((?P<n>\d+)\)$")


def fit_name(stem: str, tail: str, limit: int = NAME_MAX_BYTES) -> str:
    """``stem + tail``, with ``stem`` cut (at a character boundary) so the name fits in ``limit`` bytes."""
    budget = limit - len(os.fsencode(tail))
    encoded = os.fsencode(stem)
    if len(encoded) <= budget:
        return stem + tail
    while stem and len(os.fsencode(stem)) > budget:
        stem = stem[:-1]
    return stem.rstrip() + tail


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
        candidate = target.with_name(fit_name(stem, f" ({n}){suffix}"))
        if not os.path.lexists(candidate) and candidate not in reserved:
            return candidate
        n += 1


def partial_path(dst: Path) -> Path:
    """The hidden temp file a copy to ``dst`` is written to first (within 255 bytes, deterministic)."""
    name = f".{dst.name}{PARTIAL_SUFFIX}"
    if len(os.fsencode(name)) <= NAME_MAX_BYTES:
        return dst.with_name(name)
    tag = hashlib.sha1(os.fsencode(dst.name)).hexdigest()[:10]
    return dst.with_name(fit_name("." + dst.name, f"~{tag}{PARTIAL_SUFFIX}"))


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
    if isinstance(exc, NotARegularFile):
        return f"{path.name} was left alone: {exc.strerror}."
    if isinstance(exc, FileNotFoundError):
        return f"{path.name} no longer exists (moved or deleted outside imgclf?)."
    if isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"Cannot change {path}: the folder is read-only or you lack permission."
    if exc.errno == errno.ENOSPC:
        return f"Cannot write {path.name}: the disk is full."
    if exc.errno == errno.ENAMETOOLONG:
        return f"Cannot use {path.name}: the name or path is too long for this system."
    if exc.errno == errno.ELOOP:
        return f"Cannot use {path.name}: it is a link that leads back to itself."
    return f"Cannot change {path.name}: {exc.strerror or exc}."


def identify(path: Path, index: HashIndex | None = None) -> Identity | None:
    """The identity of the file at ``path``; None for a real folder. Raises OSError (also
    ``NotARegularFile`` for FIFOs, sockets, devices), never opening anything but a plain file."""
    st = os.lstat(path)
    if stat.S_ISDIR(st.st_mode):
        return None
    return file_identity(path, index=index)


def identity_problem(path: Path, expected: Identity | None, index: HashIndex | None = None) -> str | None:
    """None when ``path`` holds the recorded file (or, with ``expected`` None, a real folder); else a
    sentence saying what was found there instead."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return f"{path.name} is no longer there (moved or deleted outside imgclf?)"
    except OSError as exc:
        return explain(exc, path).rstrip(".")
    if expected is None:
        if stat.S_ISDIR(st.st_mode):
            return None
        return f"{path.name} is now {_found(st)}, not the folder that was moved"
    try:
        found = identify(path, index)
    except OSError as exc:
        return f"{path.name} cannot be checked ({explain(exc, path).rstrip('.')})"
    if found is None:
        return f"{path.name} is now a folder, not the file that was moved"
    if found != expected:
        what = "other contents" if found[0] == expected[0] else f"{found[0]:,} bytes instead of {expected[0]:,}"
        return f"{path.name} is not the file that was moved there any more ({what})"
    return None


def _found(st: os.stat_result) -> str:
    if stat.S_ISREG(st.st_mode):
        return f"a file of {st.st_size:,} bytes"
    return kind_of(st.st_mode)


def rename_no_clobber(src: Path, dst: Path) -> None:
    """Rename ``src`` to a free ``dst`` (raises ``FileExistsError`` if taken, ``OSError`` EXDEV across
    volumes)."""
    if os.path.lexists(dst):
        raise FileExistsError(errno.EEXIST, "exists", str(dst))
    os.replace(src, dst)  # checked free just above; os.replace would silently overwrite otherwise


def copy_to_partial(src: Path, dst: Path, identity: Identity) -> Path:
    """Copy ``src`` to :func:`partial_path` of ``dst``, fsync it and check both ends have ``identity``.

    Returns the temp file (not yet in place). Raises ``MoveError`` / ``OSError``; leaves no temp file then.
    """
    tmp = partial_path(dst)
    try:
        source_digest = hashlib.new(HASH_NAME)
        with open_regular(src) as reader, open(tmp, "wb") as writer:
            for block in iter(lambda: reader.read(1 << 20), b""):
                source_digest.update(block)
                writer.write(block)
            writer.flush()
            os.fsync(writer.fileno())
        shutil.copystat(src, tmp)
        with open_regular(tmp) as handle:
            copied = hashlib.file_digest(handle, HASH_NAME).hexdigest()
        if source_digest.hexdigest() != identity[1] or copied != identity[1]:
            raise MoveError(f"The copy of {src.name} did not match the original; nothing was changed.")
    except BaseException:
        with suppress(OSError):
            tmp.unlink()
        raise
    return tmp


def remove_partial(dst: Path) -> None:
    """Remove a temp file an interrupted copy to ``dst`` left behind (nothing else is ever deleted)."""
    with suppress(OSError):
        tmp = partial_path(dst)
        if os.path.isfile(tmp) and not os.path.islink(tmp):
            tmp.unlink()

