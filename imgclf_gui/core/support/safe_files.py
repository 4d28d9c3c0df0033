"""imgclf's own files, written whole and read back as untrusted: one idea, four parts.

- **Plain files only** (:func:`open_regular`): a FIFO, socket or device with a state file's or an image's
  name is named, never opened (opening a FIFO blocks for ever); ``stat`` before opening, no blocking, and
  ``fstat`` again after (a race could swap the file in between).
- **Atomic writes** (:class:`AtomicFile`, :func:`atomic_write_bytes` / ``_text`` / ``_json``): a temp file in
  the same folder, fsync, rename; a crash leaves the old file or the new one, never half.
- **Damaged state is set aside, never trusted and never fatal** (:func:`set_aside`, :func:`read_json`,
  :func:`check_json_file`): everything imgclf reads back may have been written by someone else, torn by a
  power cut or edited by hand. A file it cannot trust (not UTF-8 or JSON, the wrong shape, a checksum that
  does not match) is renamed ``NAME.damaged`` (nothing is deleted, so a person can still look at it), the
  caller carries on as if it were missing, and the returned :class:`~imgclf_gui.core.support.notes.Note`
  tells the user what happened.
- **JSON caches** (:class:`JsonCache`): a thread-safe dict persisted as one checksummed JSON file that is only
  ever a cache, never the truth. Shape: ``{"format": F, "version": V, ...header, "entries": {key: value},
  "checksum": sha256}`` (the checksum covers the rest, canonical JSON). A file that is damaged (a checksum
  that does not match, not JSON, another format, an entry of the wrong shape) is set aside, the cache starts
  empty and :attr:`JsonCache.damage` says so; a file of an older version or made for another header
  (another decoder, another hash) is simply outdated: it loads as empty and is replaced at the next save.
  Saving is atomic and skipped when nothing changed. Used by the content-hash index and the memory of
  undecodable files.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from imgclf_gui.core.support.notes import STATE_DAMAGED_GONE, STATE_DAMAGED_IGNORED, STATE_SET_ASIDE, Note

# -- plain files only ----------------------------------------------------------------------------------

_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))


class NotARegularFile(OSError):
    """The path names something other than a plain file; ``kind`` says what ("a named pipe (FIFO)")."""

    kind = "not a regular file"


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISLNK(mode):
        return "a link"
    return "not a regular file"


def _refuse(path: str | os.PathLike[str], mode: int) -> NotARegularFile:
    what = kind_of(mode)
    sentence = f"it is {what}, not a regular file" if what != "not a regular file" else "it is not a regular file"
    refusal = NotARegularFile(errno.EINVAL, sentence, os.fspath(path))
    refusal.kind = what
    return refusal


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """Open a plain file for reading in binary mode (links are followed).

    Raises :class:`NotARegularFile` for a FIFO, socket, device or folder (none of them is ever opened
    in a way that could block), and ``OSError`` like ``open`` otherwise.
    """
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise _refuse(path, st.st_mode)
    fd = os.open(path, _OPEN_FLAGS)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _refuse(path, st.st_mode)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


# -- atomic writes -------------------------------------------------------------------------------------

class AtomicFile:
    """A file written piece by piece (a CSV of a million rows) that replaces ``path`` only at :meth:`commit`;
    :meth:`discard`, an error or Ctrl+C before it (as a context manager), or a crash leave the old file, or
    none. Write to :attr:`handle`."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, self._tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        self.handle: BinaryIO = os.fdopen(fd, "wb")

    def commit(self) -> None:
        """Make the file appear at ``path`` whole (fsync, rename); on failure nothing is left and it raises."""
        try:
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()
            os.replace(self._tmp, self.path)
        except BaseException:
            self.discard()
            raise
        _fsync_dir(self.path.parent)

    def discard(self) -> None:
        """Forget what was written; never raises."""
        try:
            self.handle.close()
        except OSError:
            pass
        try:
            os.unlink(self._tmp)
        except OSError:
            pass

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` with ``data``; a crash leaves either the old file or the new one, never half."""
    with AtomicFile(path) as out:
        out.handle.write(data)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], value: Any) -> None:
    atomic_write_text(path, json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def _fsync_dir(folder: Path) -> None:
    if os.name == "nt":  # directories cannot be opened for fsync on Windows
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- damaged state set aside ---------------------------------------------------------------------------

DAMAGED_SUFFIX = ".damaged"
MAX_STATE_BYTES = 256 << 20  # no state file of ours is near this; a bigger one is not ours


class DamagedFile(Exception):
    """A state file that cannot be trusted; ``str()`` says why in a few words ("not valid JSON")."""


def read_json(path: str | os.PathLike[str], *, max_bytes: int = MAX_STATE_BYTES) -> Any:
    """The JSON value stored in ``path``.

    Raises ``FileNotFoundError`` (and other ``OSError``) when it cannot be read, and :class:`DamagedFile`
    when it is not a regular file, too big, not UTF-8 or not JSON. Checking the shape is the caller's job.
    """
    data = read_state_bytes(path, max_bytes=max_bytes)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DamagedFile("it is not valid UTF-8 text") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise DamagedFile("it is nested too deeply") from None
    except ValueError as exc:
        raise DamagedFile(f"it is not valid JSON ({exc.args[0] if exc.args else exc})") from None


def read_state_bytes(path: str | os.PathLike[str], *, max_bytes: int = MAX_STATE_BYTES) -> bytes:
    """The bytes of a state file, refusing (as :class:`DamagedFile`) anything that is not a plain file of
    reasonable size. A FIFO put in place of a state file is never opened (it would block for ever)."""
    try:
        with open_regular(path) as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > max_bytes:
                raise DamagedFile(f"it is larger than {max_bytes >> 20} MB")
            # read(n) reserves n bytes up front: ask for what the file holds (+1 to notice growth), not the limit
            return handle.read(size + 1)
    except NotARegularFile as exc:
        raise DamagedFile(exc.strerror or "it is not a regular file") from None


def set_aside(path: str | os.PathLike[str], what: str, reason: str, consequence: str,
              *, root: str | os.PathLike[str] | None = None) -> Note:
    """Rename the damaged ``path`` to ``path.damaged`` (``.damaged-2``... if taken) and say so.

    ``what`` names the file for a user ("the move history"), ``reason`` is :class:`DamagedFile`'s text,
    ``consequence`` what happens instead ("a new one was started"). The path in the note is relative to
    ``root`` when given. ``str()`` of the returned :class:`Note` is the sentence; when even renaming
    fails, it says the file is ignored.
    """
    path = Path(path)
    values = {"what": what, "path": _shown(path, root), "reason": reason, "consequence": consequence}
    target = path.with_name(path.name + DAMAGED_SUFFIX)
    n = 2
    while os.path.lexists(target):
        target = path.with_name(f"{path.name}{DAMAGED_SUFFIX}-{n}")
        n += 1
    try:
        os.replace(path, target)
    except FileNotFoundError:
        return Note(STATE_DAMAGED_GONE, values)
    except OSError as exc:
        return Note(STATE_DAMAGED_IGNORED, {**values, "error": exc.strerror or str(exc)})
    return Note(STATE_SET_ASIDE, {**values, "moved_to": target.name})


def _shown(path: Path, root: str | os.PathLike[str] | None) -> str:
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass
    return str(path)


def check_json_file(path: str | os.PathLike[str], what: str, problem_of: Callable[[Any], str | None],
                    consequence: str, *, root: str | os.PathLike[str] | None = None) -> tuple[Any, Note | None]:
    """Read a JSON state file and judge its shape; a damaged one is set aside.

    Returns ``(value, None)`` when the file is fine, ``(None, None)`` when there is none (or it cannot be
    read just now), and ``(None, note)`` when it was damaged: ``problem_of(value)`` names what is wrong
    with a value (None: nothing), the note is :func:`set_aside`'s.
    """
    try:
        value = read_json(path)
    except DamagedFile as exc:
        return None, set_aside(path, what, str(exc), consequence, root=root)
    except OSError:
        return None, None
    try:
        problem = problem_of(value)
    except (TypeError, ValueError, AttributeError, KeyError) as exc:  # a shape the checker did not foresee
        problem = f"it has an unexpected shape ({type(exc).__name__})"
    if problem is not None:
        return None, set_aside(path, what, problem, consequence, root=root)
    return value, None


# -- JSON caches ---------------------------------------------------------------------------------------

def _canonical(body: dict[str, Any]) -> bytes:
    # ensure_ascii: file names that are not valid UTF-8 (kept by Python as lone surrogates) survive.
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


class JsonCache:
    def __init__(self, file: Path | None, *, format: str, version: int, header: dict[str, Any] | None = None,
                 valid: Callable[[str, Any], bool] = lambda key, value: True,
                 what: str = "a cache file", consequence: str = "it will be made again") -> None:
        self.file = file
        self._format = format
        self._version = version
        self._header = dict(header or {})
        self._entries: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._dirty = False
        #: What was set aside when the file was damaged (a ``Note``; ``str()`` is the sentence), else None.
        self.damage: Note | None = None
        if file is not None:
            problem = self._load(file, valid)
            if problem is not None:
                self._entries = {}
                self.damage = set_aside(file, what, problem, consequence, root=file.parent.parent)

    def _load(self, file: Path, valid: Callable[[str, Any], bool]) -> str | None:
        """Fill the entries from ``file``; the reason when the file is damaged, else None."""
        try:
            raw = read_json(file)
        except DamagedFile as exc:
            return str(exc)
        except OSError:
            return None  # missing or unreadable now: an empty cache, nothing to set aside
        if not isinstance(raw, dict):
            return "it is not a JSON object"
        if raw.get("format") != self._format:
            return "it is not a file of this kind"
        if raw.get("version") != self._version:
            return None  # another version of imgclf wrote it: outdated, replaced at the next save
        checksum = raw.pop("checksum", None)
        if not isinstance(checksum, str) or checksum != hashlib.sha256(_canonical(raw)).hexdigest():
            return "its checksum does not match its contents"
        if any(raw.get(name) != value for name, value in self._header.items()):
            return None  # made for another decoder or hash: outdated
        entries = raw.get("entries")
        if not isinstance(entries, dict):
            return "it has no entries"
        if not all(isinstance(k, str) and valid(k, v) for k, v in entries.items()):
            return "it holds entries of the wrong shape"
        self._entries = entries
        return None

    def get(self, key: str) -> Any:
        with self._lock:
            return self._entries.get(key)

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            if self._entries.get(key) != value:
                self._entries[key] = value
                self._dirty = True

    def __len__(self) -> int:
        return len(self._entries)

    def save(self) -> None:
        """Write the file if anything changed (atomically). Raises OSError when it cannot be written."""
        with self._lock:
            if not self._dirty or self.file is None:
                return
            body = {"format": self._format, "version": self._version, **self._header,
                    "entries": dict(self._entries)}
            self._dirty = False
        data = _canonical(body)
        body["checksum"] = hashlib.sha256(data).hexdigest()
        try:
            atomic_write_bytes(self.file, _canonical(body) + b"\n")
        except OSError:
            with self._lock:
                self._dirty = True
            raise
