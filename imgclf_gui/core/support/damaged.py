"""Damaged state files are set aside, never trusted and never fatal.

Everything imgclf reads back from disk may have been written by someone else, torn by a power cut or
edited by hand. A reader that finds a file it cannot trust (invalid UTF-8 or JSON, the wrong shape, a
checksum that does not match) calls :func:`set_aside`: the file is renamed ``NAME.damaged`` (nothing is
deleted, so a person can still look at it), the caller carries on as if it were missing, and the
returned sentence tells the user what happened. :func:`read_json` is the common first step.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

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
    from imgclf_gui.core.support.regular_files import NotARegularFile, open_regular

    try:
        with open_regular(path) as handle:
            if os.fstat(handle.fileno()).st_size > max_bytes:
                raise DamagedFile(f"it is larger than {max_bytes >> 20} MB")
            return handle.read(max_bytes + 1)
    except NotARegularFile as exc:
        raise DamagedFile(exc.strerror or "it is not a regular file") from None


def set_aside(path: str | os.PathLike[str], what: str, reason: str, consequence: str,
              *, root: str | os.PathLike[str] | None = None) -> str:
    """Rename the damaged ``path`` to ``path.damaged`` (``.damaged-2``... if taken) and say so in one sentence.

    ``what`` names the file for a user ("the move history"), ``reason`` is :class:`DamagedFile`'s text,
    ``consequence`` what happens instead ("a new one was started"). Paths in the sentence are shown
    relative to ``root`` when given. When even renaming fails, the sentence says the file was ignored.
    """
    path = Path(path)
    shown = _shown(path, root)
    target = path.with_name(path.name + DAMAGED_SUFFIX)
    n = 2
    while os.path.lexists(target):
        target = path.with_name(f"{path.name}{DAMAGED_SUFFIX}-{n}")
        n += 1
    try:
        os.replace(path, target)
    except FileNotFoundError:
        return f"{_capital(what)} ({shown}) was damaged ({reason}) and has gone; {consequence}."
    except OSError as exc:
        return (f"{_capital(what)} ({shown}) is damaged ({reason}) and could not be set aside "
                f"({exc.strerror or exc}); it is ignored and {consequence}.")
    return f"{_capital(what)} ({shown}) was damaged ({reason}); it was set aside as {target.name} and {consequence}."


def _shown(path: Path, root: str | os.PathLike[str] | None) -> str:
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass
    return str(path)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
