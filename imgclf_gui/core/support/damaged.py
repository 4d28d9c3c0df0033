"""Damaged state files are set aside, never trusted and never fatal.

Everything imgclf reads back from disk may have been written by someone else, torn by a power cut or
edited by hand. A reader that finds a file it cannot trust (invalid UTF-8 or JSON, the wrong shape, a
checksum that does not match) calls :func:`set_aside`: the file is renamed ``NAME.damaged`` (nothing is
deleted, so a person can still look at it), the caller carries on as if it were missing, and the
returned :class:`~imgclf_gui.core.support.notes.Note` tells the user what happened. :func:`read_json` is
the common first step and :func:`check_json_file` the whole routine for a JSON file with a known shape.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from imgclf_gui.core.support.notes import STATE_DAMAGED_GONE, STATE_DAMAGED_IGNORED, STATE_SET_ASIDE, Note

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
