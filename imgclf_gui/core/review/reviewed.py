"""Images the user looked at and kept where they are although they seemed mislabelled.

Entry points: ``reviewed_marks(root)``, ``mark_reviewed(root, paths)``, ``unmark_reviewed(root, paths)``.

A mark is remembered by content hash, with the class the image was kept in, in
``.imgclf/reviewed.json`` (``{"schema": 1, "reviewed": {hash: class}}``). So a reviewed image is not
suggested again when it is renamed, or copied, or when the project is moved; but if it is later filed under
another class and looks wrong there, it is suggested again: the user confirmed a class, not the image.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from imgclf_gui.core.project import layout
from imgclf_gui.core.support.notes import Note

__all__ = ["reviewed_marks", "mark_reviewed", "unmark_reviewed", "is_reviewed"]

SCHEMA_VERSION = 1


def reviewed_marks(project_root: str | os.PathLike[str], notes: list[Note] | None = None) -> dict[str, str]:
    """content hash -> class it was kept in; empty when there are none.

    A damaged file is set aside as ``reviewed.json.damaged`` (a ``state.*`` note is appended to ``notes``),
    so the next mark starts a new file instead of overwriting what a person may still want to look at.
    """
    from imgclf_gui.core.support.safe_files import DamagedFile, read_json, set_aside

    path = layout.reviewed_file(project_root)
    try:
        data = read_json(path)
    except OSError:
        return {}
    except DamagedFile as exc:
        note = set_aside(path, "the list of reviewed images", str(exc),
                         "images marked as reviewed before may be suggested again", root=project_root)
        if notes is not None:
            notes.append(note)
        return {}
    marks = data.get("reviewed") if isinstance(data, dict) else None
    if not isinstance(marks, dict):
        return {}
    return {h: c for h, c in marks.items() if isinstance(h, str) and isinstance(c, str)}


def is_reviewed(marks: dict[str, str], content_hash: str | None, label: str) -> bool:
    """True when the image with ``content_hash`` was kept in class ``label``."""
    return content_hash is not None and marks.get(content_hash) == label


def mark_reviewed(project_root: str | os.PathLike[str], paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """Remember that the images at ``paths`` belong to the class folder they are in now.

    Returns the content hashes marked. Raises ``OSError`` when a file cannot be read or the mark cannot be
    written (read-only project); nothing is half-written.
    """
    root = Path(project_root)
    marks = reviewed_marks(root)
    done = []
    for path, digest in _hashes(root, paths):
        marks[digest] = Path(path).parent.name
        done.append(digest)
    _save(root, marks)
    return done


def unmark_reviewed(project_root: str | os.PathLike[str], paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """Forget the marks of the images at ``paths`` (they may be suggested again); returns the hashes dropped."""
    root = Path(project_root)
    marks = reviewed_marks(root)
    dropped = [digest for _path, digest in _hashes(root, paths) if marks.pop(digest, None) is not None]
    if dropped:
        _save(root, marks)
    return dropped


def _hashes(root: Path, paths: Iterable[str | os.PathLike[str]]) -> list[tuple[Path, str]]:
    from imgclf_gui.core.features.cache import hash_index_path
    from imgclf_gui.core.support.file_hash import HashIndex, content_hash

    index = HashIndex(hash_index_path(root), root)
    out = [(Path(p), content_hash(p, index=index)) for p in paths]
    try:
        index.save()
    except OSError:
        pass  # only a cache: the files are read again next time
    return out


def _save(root: Path, marks: dict[str, str]) -> None:
    from imgclf_gui.core.support.safe_files import atomic_write_json

    atomic_write_json(layout.reviewed_file(root), {"schema": SCHEMA_VERSION, "reviewed": marks})
