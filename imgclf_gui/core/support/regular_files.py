"""Open only plain files: a FIFO, socket or device with an image's name is named, never opened.

Opening a FIFO for reading blocks until someone writes to it (for ever, in practice), and reading a
device can be endless. :func:`open_regular` checks ``stat`` before opening, opens without blocking and
checks the opened file again (a race could swap the file in between).
"""
from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO

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
