"""A project on disk: the folder of class folders plus ``.imgclf/manifest.json`` (schema-versioned).

The class folders are the truth; the manifest only keeps what folders cannot say (each class's labelling
key, given once and kept: see :mod:`~imgclf_gui.core.project.rules`; when the project was made). An
unreadable or newer manifest never blocks opening the images.
"""
from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from imgclf_gui import __version__
from imgclf_gui.core.project import layout
from imgclf_gui.core.support.notes import Note
from imgclf_gui.core.support.safe_files import DamagedFile, atomic_write_json, read_json, set_aside

SCHEMA_VERSION = 1


class ProjectError(Exception):
    """The folder cannot be used as a project; ``str()`` says why, for the user."""


@dataclass
class Manifest:
    """Contents of ``.imgclf/manifest.json``."""

    schema_version: int = SCHEMA_VERSION
    created: float = field(default_factory=time.time)
    app_version: str = __version__
    # class name -> its labelling key ("c", "7"), also remembered a while for classes that are gone
    class_keys: dict[str, str] = field(default_factory=dict)


def open_project(root: str | os.PathLike[str], create: bool = False, notes: list[Note] | None = None) -> Manifest:
    """Check ``root`` is a usable folder, make ``.imgclf/`` and return its manifest.

    A damaged manifest never stops this: it is set aside and rebuilt, with a ``Note`` added to ``notes``.
    """
    root = Path(root)
    if not root.exists():
        if not create:
            raise ProjectError(f"The folder {root} does not exist.")
        root.mkdir(parents=True)
    if not root.is_dir():
        raise ProjectError(f"{root} is a file, not a folder.")
    manifest = load_manifest(root, notes)
    path = layout.manifest_file(root)
    if not path.exists():
        try:
            save_manifest(root, manifest)
        except OSError:
            pass  # a read-only project can still be browsed; writes will report clearly later
    return manifest


def load_manifest(root: str | os.PathLike[str], notes: list[Note] | None = None) -> Manifest:
    """The project's manifest (defaults when there is none). A damaged one (not JSON, not an object, a
    field of the wrong type) is set aside as ``manifest.json.damaged`` and rebuilt from its readable
    fields; the ``Note`` saying so goes to ``notes``."""
    path = layout.manifest_file(root)
    try:
        data = read_json(path)
    except FileNotFoundError:
        return Manifest()
    except DamagedFile as exc:
        _note(notes, set_aside(path, _WHAT, str(exc), "a new one was made", root=root))
        return Manifest()
    except OSError:
        return Manifest()  # unreadable just now (permissions): browse with defaults, touch nothing
    if not isinstance(data, dict):
        _note(notes, set_aside(path, _WHAT, "it is not a JSON object", "a new one was made", root=root))
        return Manifest()
    wrong = [name for name, ok in _FIELD_CHECKS.items() if name in data and not ok(data[name])]
    manifest = Manifest(**{k: v for k, v in data.items() if k in _FIELD_CHECKS and k not in wrong})
    if wrong:
        _note(notes, set_aside(path, _WHAT, f"the field {wrong[0]!r} has the wrong type",
                               "a new one was made from the fields that could be read", root=root))
        try:
            save_manifest(root, manifest)
        except OSError:
            pass
    return manifest


def save_manifest(root: str | os.PathLike[str], manifest: Manifest) -> None:
    atomic_write_json(layout.manifest_file(root), asdict(manifest))


_WHAT = "the project's manifest (labelling keys)"
# Version 1 is the first schema; later versions add their steps here. Unknown keys are dropped and a
# newer schema is read as far as we understand it.
_FIELD_CHECKS = {
    "schema_version": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "created": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "app_version": lambda v: isinstance(v, str),
    "class_keys": lambda v: isinstance(v, dict) and all(isinstance(k, str) and isinstance(x, str)
                                                         for k, x in v.items()),
}


def _note(notes: list[Note] | None, note: Note) -> None:
    if notes is not None:
        notes.append(note)
