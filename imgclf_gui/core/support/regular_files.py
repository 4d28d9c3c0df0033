"""Open only plain files: a FIFO, socket or device with an image's name is named, never opened.

Opening a FIFO for reading blocks until someone writes to it (for ever, in practice), and reading a
device can be endless. :func:`open_regular` checks ``stat`` before opening, opens without blocking and
checks the opened file again (a race could swap the file in between). :func:`why_unusable` explains in
words why a directory entry cannot be used as a file (loops, dangling links, special files, paths the
system refuses); the scanners report those reasons instead of failing.
"""
from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO

_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))


class NotARegularFile(OSError):
    """The path names something other than a plain file; ``strerror`` says what ("a named pipe (FIFO)")."""


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
    return NotARegularFile(errno.EINVAL, sentence, os.fspath(path))


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


def why_unusable(path: str | os.PathLike[str]) -> str | None:
    """None when ``path`` is a plain file (or a link to one); else why it cannot be used, in words."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return describe_os_error(path, exc)
    except ValueError:  # embedded NUL and the like
        return "the name is not a valid file name on this system"
    if stat.S_ISREG(st.st_mode):
        return None
    return f"it is {kind_of(st.st_mode)}, not an image file"


def describe_os_error(path: str | os.PathLike[str], exc: OSError) -> str:
    """Why a path could not be looked at, for a user (links, loops, over-long paths, permissions)."""
    if exc.errno == errno.ELOOP:
        return "it is a link that leads back to itself (a loop)"
    if exc.errno == errno.ENAMETOOLONG:
        return "the path is too long for the system"
    if isinstance(exc, FileNotFoundError):
        if os.path.islink(path):
            return "it is a link whose target is missing"
        return "it no longer exists (moved or deleted)"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return f"it cannot be read ({exc.strerror or exc})"
