"""Where imgclf writes: checked before the work starts, cleaned up when writing fails.

Every output (a CSV, a JSON report, copies sorted into folders, a model folder, an export, a demo
project) goes through here, so that a mistyped path, a read-only folder or a full disk is reported in one
sentence *before* minutes of work, and a failure while writing leaves no partial file behind.

- :func:`check_output_file` / :func:`check_output_folder`: the right kind (a file path that is not a
  folder, a folder that is not a file), a folder we can really create files in (a probe file is made and
  removed: permissions, read-only disks and ACLs all answer truthfully, also for root), and room on the
  disk where the size can be estimated. Raise :class:`OutputError`.
- :func:`writing`: turns an ``OSError`` raised while writing into one :class:`OutputError` sentence after
  running a clean-up; :class:`NewFiles` is the clean-up of a job that adds files to a folder.
- :func:`write_text_output`: an atomic text write with both, and names that are not valid UTF-8 escaped.
- File names that are not valid UTF-8 (a Linux name's undecodable bytes become surrogates in Python) are
  written as ``\\xNN`` per byte (:data:`ESCAPE`, a codec error handler): ``caf\\xe9.jpg``.
"""
from __future__ import annotations

import codecs
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

#: codec error handler: each undecodable byte of a file name as the four characters ``\xNN``
ESCAPE = "imgclf-escape"
#: the same inside JSON strings (``\\xNN``, so the JSON stays valid and reads back as ``\xNN``)
ESCAPE_JSON = "imgclf-escape-json"
#: free space kept beyond an estimate: the estimate is rough, and a disk filled to the last byte hurts
SPACE_MARGIN = 256 << 10


class OutputError(OSError):
    """An output that cannot be written; ``str()`` is one sentence naming the path and the reason.

    An ``OSError``, so that code catching failed writes keeps catching it (``errno`` is None).

    ``wrong_kind`` is True when the path itself is of the wrong kind (a folder given for a file, a file
    for a folder, a folder that is not a model): the command line was wrong, not the disk.
    """

    def __init__(self, message: str, *, path: Path | None = None, wrong_kind: bool = False) -> None:
        super().__init__(message)
        self.path = path
        self.wrong_kind = wrong_kind


def _escaped(exc: UnicodeError, backslash: str) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    out = []
    for ch in exc.object[exc.start:exc.end]:
        code = ord(ch)
        out.append(f"{backslash}x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"{backslash}u{code:04x}")
    return "".join(out), exc.end


codecs.register_error(ESCAPE, lambda exc: _escaped(exc, "\\"))
codecs.register_error(ESCAPE_JSON, lambda exc: _escaped(exc, "\\\\"))


def escape_undecodable(text: str, *, json: bool = False) -> str:
    """``text`` with each undecodable file-name byte written as ``\\xNN`` (the rest unchanged); with
    ``json``, as ``\\\\xNN`` (for text that is JSON, printed rather than written through here)."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", ESCAPE_JSON if json else ESCAPE).decode("utf-8")


# ------------------------------------------------------------------------------------------ checks
def check_output_file(path: str | os.PathLike[str], what: str, *, need_bytes: int = 0) -> Path:
    """Check that ``what`` ("the CSV file") can be written to ``path`` (replacing a plain file there).

    Raises :class:`OutputError` when ``path`` is a folder or something other than a plain file
    (``wrong_kind``), when its folder cannot be created or written in, or when the disk has less than
    ``need_bytes`` free. Nothing is left on disk by the check.
    """
    path = Path(path)
    if os.path.lexists(path):
        st = os.stat(path) if path.exists() else os.lstat(path)
        if stat.S_ISDIR(st.st_mode):
            raise OutputError(f"{path} is a folder; give a file name for {what}.", path=path, wrong_kind=True)
        if not stat.S_ISREG(st.st_mode) and not stat.S_ISLNK(st.st_mode):
            from imgclf_gui.core.support.safe_files import kind_of

            raise OutputError(f"{path} is {kind_of(st.st_mode)}, not a file {what} can be written to.",
                              path=path, wrong_kind=True)
    _check_writable(path.parent, path, what, need_bytes)
    return path


def check_output_folder(path: str | os.PathLike[str], what: str, *, need_bytes: int = 0,
                        problem: Callable[[Path], str | None] | None = None, replaced: bool = False) -> Path:
    """Check that ``what`` ("the sorted copies") can be written into the folder ``path``.

    ``path`` may exist (a folder) or not (it is created later, with its parents). ``problem(path)``, for an
    existing folder, says why it must not be used ("exists and is not an imgclf model"); ``replaced``: the
    folder is written beside it and renamed into place, so its parent must be writable. Raises
    :class:`OutputError`.
    """
    path = Path(path)
    if os.path.lexists(path):
        if not path.is_dir():
            raise OutputError(f"{path} is a file, not a folder; give a folder for {what}.", path=path,
                              wrong_kind=True)
        reason = problem(path) if problem is not None else None
        if reason:
            raise OutputError(f"{path} {reason}; choose another name for {what}.", path=path, wrong_kind=True)
    _check_writable(path.parent if replaced or not path.is_dir() else path, path, what, need_bytes)
    return path


def _check_writable(folder: Path, target: Path, what: str, need_bytes: int) -> None:
    existing = folder
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"{_capital(what)} cannot be written to {target}: {existing} is a file, not a folder.",
                          path=target)
    try:
        probe = tempfile.mkdtemp(prefix=".imgclf-probe-", dir=existing)
        os.rmdir(probe)
    except OSError as exc:
        raise OutputError(_sentence(exc, target, what, where=existing), path=target) from None
    if need_bytes > 0:
        try:
            disk = os.statvfs(existing) if hasattr(os, "statvfs") else None
        except OSError:
            disk = None
        free = None if disk is None else disk.f_bavail * disk.f_frsize
        if free is not None and free < need_bytes + SPACE_MARGIN:
            raise OutputError(f"There is not enough room for {what} in {existing}: it needs about "
                              f"{_size(need_bytes)} and a little to spare, and {_size(free)} is free.", path=target)


def _size(n: int) -> str:
    if n >= 1 << 30:
        return f"{n / (1 << 30):.1f} GB"
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MB"
    return f"{max(1, -(-n >> 10))} KB"


def _sentence(exc: OSError, target: Path, what: str, *, where: Path | None = None, cleaned: bool = False) -> str:
    """One sentence for a failed write: what, where, why in plain words, and that nothing was left."""
    where = where if where is not None else target.parent
    code = exc.errno
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        why = f"the disk holding {where} is full"
    elif code == errno.EROFS:
        why = f"{where} is on a read-only disk"
    elif code in (errno.EACCES, errno.EPERM):
        why = f"you have no permission to write in {where}"
    elif code == errno.ENAMETOOLONG:
        why = "the name is too long for the file system"
    elif code == errno.ENOTDIR:
        why = "a part of the path is a file, not a folder"
    else:
        why = (exc.strerror or str(exc)).rstrip(".").lower()
    tail = "; nothing was left behind" if cleaned else ""
    return f"{_capital(what)} cannot be written to {target}: {why}{tail}."


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


# ------------------------------------------------------------------------------------------ writing
@contextmanager
def writing(target: str | os.PathLike[str], what: str, *, cleanup: Callable[[], None] | None = None,
            atomic: bool = False) -> Iterator[None]:
    """Run the writes of ``what`` to ``target``; an ``OSError`` becomes one :class:`OutputError` sentence,
    after ``cleanup()`` has removed what was partly written (``atomic``: the writes remove their own
    temporary files, as ``atomic_write_*`` and ``ModelBundle.save`` do)."""
    try:
        yield
    except OSError as exc:
        if cleanup is not None:
            cleanup()
        if isinstance(exc, OutputError):
            raise
        cleaned = atomic or cleanup is not None
        raise OutputError(_sentence(exc, Path(target), what, cleaned=cleaned), path=Path(target)) from None


def write_text_output(path: str | os.PathLike[str], text: str, what: str, *, json: bool = False) -> None:
    """Write ``text`` to ``path`` atomically (the old file stays until the new one is complete); file names
    that are not valid UTF-8 are escaped (:data:`ESCAPE`, or :data:`ESCAPE_JSON` inside JSON)."""
    from imgclf_gui.core.support.safe_files import atomic_write_bytes

    data = text.encode("utf-8", ESCAPE_JSON if json else ESCAPE)
    with writing(path, what, atomic=True):
        atomic_write_bytes(path, data)


class NewFiles:
    """What a job adds below ``folder``, so that a job that fails can take all of it back.

    Made before the job: remembers whether the folder existed and what it held. :meth:`remove` deletes
    every file and folder that was not there before (the whole folder if it was new); files that were
    there are never touched.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.existed = os.path.lexists(self.folder)
        self.before: set[str] = set()
        if self.existed and self.folder.is_dir():
            for top, dirs, files in os.walk(self.folder):
                rel = os.path.relpath(top, self.folder)
                self.before.update(os.path.normpath(os.path.join(rel, n)) for n in dirs + files)

    def remove(self) -> None:
        """Delete what was added since this object was made; never raises."""
        if not self.existed:
            shutil.rmtree(self.folder, ignore_errors=True)
            return
        for top, dirs, files in os.walk(self.folder, topdown=False):
            rel = os.path.relpath(top, self.folder)
            for name in files + dirs:
                key = os.path.normpath(os.path.join(rel, name))
                if key in self.before:
                    continue
                full = os.path.join(top, name)
                try:
                    if name in dirs and not os.path.islink(full):
                        os.rmdir(full)  # emptied above (bottom-up), unless it holds older files
                    else:
                        os.unlink(full)
                except OSError:
                    pass


__all__ = ["OutputError", "check_output_file", "check_output_folder", "writing", "write_text_output", "NewFiles",
           "escape_undecodable", "ESCAPE", "ESCAPE_JSON"]
