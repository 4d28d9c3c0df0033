"""A project on disk: the folder of class folders plus ``.imgclf/manifest.json`` (schema-versioned).

The class folders are the truth; the manifest only keeps what folders cannot say (each class's labelling
key, given once and kept: see :mod:`~imgclf_gui.core.project.rules`; when the project was made). An
unreadable or newer manifest never blocks opening the images.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from imgclf_gui import __version__
from imgclf_gui.core.project import layout
from imgclf_gui.core.support.atomic import atomic_write_json

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


def open_project(root: str | os.PathLike[str], create: bool = False) -> Manifest:
    """Check ``root`` is a usable folder, make ``.imgclf/`` and return its manifest."""
    root = Path(root)
    if not root.exists():
        if not create:
            raise ProjectError(f"The folder {root} does not exist.")
        root.mkdir(parents=True)
    if not root.is_dir():
        raise ProjectError(f"{root} is a file, not a folder.")
    manifest = load_manifest(root)
    path = layout.manifest_file(root)
    if not path.exists():
        try:
            save_manifest(root, manifest)
        except OSError:
            pass  # a read-only project can still be browsed; writes will report clearly later
    return manifest


def load_manifest(root: str | os.PathLike[str]) -> Manifest:
    path = layout.manifest_file(root)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Manifest()
    return _migrate(data)


def save_manifest(root: str | os.PathLike[str], manifest: Manifest) -> None:
    atomic_write_json(layout.manifest_file(root), asdict(manifest))


def _migrate(data: dict) -> Manifest:
    # Version 1 is the first schema; later versions add their steps here. Unknown keys are dropped
    # and a newer schema is read as far as we understand it.
    known = {k: v for k, v in data.items() if k in Manifest.__dataclass_fields__}
    manifest = Manifest(**known)
    if not isinstance(manifest.class_keys, dict):
        manifest.class_keys = {}
    return manifest
