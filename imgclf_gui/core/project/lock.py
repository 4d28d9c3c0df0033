"""One writer per project: an advisory lock in ``.imgclf/lock`` shared by the app, the CLI and a second window.

The lock is the operating system's (``flock`` on POSIX, ``msvcrt.locking`` on Windows) on the open file, so
it ends with the process that held it, however that process ended: a lock a crashed process left behind
is recognised as stale and simply taken over. The file also says who holds it (pid, host, start time,
program) so a second opener can be told. Whoever cannot take the lock gets the project read-only: it
can browse, train and classify, but moves, imports and undo wait until the lock is free.

Entry points: :func:`try_lock` (the app: a lock or the holder), :func:`hold_project` (a CLI command that
changes files: a context manager that raises :class:`ProjectLocked` with a sentence).
"""
from __future__ import annotations

import errno
import json
import os
import socket
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from imgclf_gui.core.project import layout

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
try:
    import msvcrt
except ImportError:  # POSIX
    msvcrt = None  # type: ignore[assignment]

_WINDOWS_LOCK_OFFSET = 1 << 20  # Windows locks block reads: lock a byte far past the holder's details


class ProjectLocked(Exception):
    """Another process is changing the project; ``str()`` says who, ``.holder`` the details."""

    def __init__(self, message: str, holder: LockHolder | None = None) -> None:
        super().__init__(message)
        self.holder = holder


@dataclass(frozen=True)
class LockHolder:
    """Who holds a project's lock, as written in its lock file."""

    pid: int
    host: str
    started: float  # seconds since the epoch
    app: str  # "imgclf (window)", "imgclf demo", ...

    def describe(self) -> str:
        since = time.strftime("%H:%M on %d %b", time.localtime(self.started)) if self.started else "a while"
        where = "" if self.host == socket.gethostname() else f" on {self.host}"
        return f"{self.app} (process {self.pid}{where}, since {since})"


class ProjectLock:
    """A held lock; :meth:`release` (or the process ending) frees it."""

    def __init__(self, root: Path, fd: int, holder: LockHolder, took_over: LockHolder | None) -> None:
        self.root = root
        self.holder = holder
        #: The holder a crashed process left in the file, when this lock took it over.
        self.took_over = took_over
        self._fd: int | None = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __del__(self) -> None:
        # A lock nobody released (a window dropped without closing its project) must not outlive it.
        try:
            self.release()
        except Exception:  # noqa: BLE001 - interpreter shutdown: nothing left to tell
            pass

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)  # nobody holds it: a reader must not be told otherwise
        except OSError:
            pass
        finally:
            _unlock(fd)
            os.close(fd)


def read_holder(root: str | os.PathLike[str]) -> LockHolder | None:
    """The holder recorded in the project's lock file (None when empty, missing or unreadable)."""
    try:
        from imgclf_gui.core.support.safe_files import DamagedFile, read_json

        data = read_json(layout.lock_file(root), max_bytes=4096)
    except (OSError, DamagedFile):
        return None
    if not isinstance(data, dict):
        return None
    pid, host, started, app = (data.get(k) for k in ("pid", "host", "started", "app"))
    if not (isinstance(pid, int) and isinstance(host, str) and isinstance(started, (int, float))
            and isinstance(app, str)):
        return None
    return LockHolder(pid, host[:100], float(started), app[:100])


def try_lock(root: str | os.PathLike[str], app: str) -> ProjectLock | ProjectLocked:
    """Take the project's lock for ``app``, or return why not (a :class:`ProjectLocked`, never raised).

    A folder where no lock file can be made (read-only medium) gives a ``ProjectLocked`` saying so.
    """
    root = Path(root)
    path = layout.lock_file(root)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = _open_lock_file(path)
    except OSError as exc:
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return ProjectLocked("The project folder is read-only, so nothing in it can be moved or imported.")
        return ProjectLocked(f"The project's lock cannot be taken ({exc.strerror or exc}), so it is open "
                             "read-only.")
    if not _lock(fd):
        os.close(fd)
        holder = read_holder(root)
        who = holder.describe() if holder else "another imgclf"
        return ProjectLocked(f"This project is open in {who}; it is read-only here (browse, train and classify "
                             "work) until that one closes it.", holder)
    previous = read_holder(root)
    holder = LockHolder(os.getpid(), socket.gethostname(), time.time(), app)
    details = json.dumps({"pid": holder.pid, "host": holder.host, "started": holder.started, "app": app})
    try:
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, details.encode("utf-8"))
    except OSError:
        pass  # the lock holds all the same; a second opener is just told less
    return ProjectLock(root, fd, holder, previous)


@contextmanager
def hold_project(root: str | os.PathLike[str], app: str) -> Iterator[ProjectLock]:
    """``with hold_project(root, "imgclf demo"):`` change files in the project; raises
    :class:`ProjectLocked` (its message is the sentence to print) when another process holds it."""
    lock = try_lock(root, app)
    if isinstance(lock, ProjectLocked):
        raise lock
    try:
        yield lock
    finally:
        lock.release()


def _open_lock_file(path: Path) -> int:
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) \
        | getattr(os, "O_CLOEXEC", 0)
    for _attempt in range(2):
        fd = os.open(path, flags, 0o644)
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return fd
        os.close(fd)  # something else in its place (a FIFO...): set it aside and make a proper one
        from imgclf_gui.core.support.safe_files import set_aside

        set_aside(path, "the project's lock file", "it is not a regular file", "a new one was made")
    raise OSError(errno.EINVAL, "the lock file is not a regular file", str(path))


def _lock(fd: int) -> bool:
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return False
            raise
    if msvcrt is not None:
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    return True  # no advisory locks on this system: one writer is then the user's business


def _unlock(fd: int) -> None:
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
        elif msvcrt is not None:
            os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    except OSError:
        pass
