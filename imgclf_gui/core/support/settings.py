"""User preferences: one typed, versioned object saved as JSON in the user config folder.

Window geometry and recent projects are Qt's business (QSettings); everything a user chooses in the
Preferences dialog lives here, so the CLI can read it too.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from imgclf_gui.core.support.atomic import atomic_write_json
from imgclf_gui.core.support.paths import user_config_dir

SETTINGS_VERSION = 2
FILE_NAME = "settings.json"


@dataclass
class Settings:
    """Everything the Preferences dialog edits. Add a field with a default; bump the version and add a
    migration only when an old value must be transformed."""

    version: int = SETTINGS_VERSION
    import_mode: str = "copy"  # "copy" | "move": what importing files into the project does
    ask_import_mode: bool = True  # ask each time (the choice above is the default answer)
    delete_class_to: str = "inbox"  # "inbox" | "trash": where a deleted class's images go
    thumbnail_size: int = 128  # pixels, the longer side in the grid
    advance_after_labelling: bool = True  # select the next image after sending one to a class
    offer_demo: bool = True  # offer the demo project when no project is open at start


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    # Version 1 had a boolean "move_on_import"; version 2 names the mode.
    move = data.pop("move_on_import", False)
    data.setdefault("import_mode", "move" if move else "copy")
    return data


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2}


def settings_path() -> Path:
    return user_config_dir() / FILE_NAME


def load_settings(path: Path | None = None) -> Settings:
    """The saved settings, migrated to the current version; defaults when missing or unreadable."""
    path = path or settings_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not an object")
    except (OSError, ValueError):
        return Settings()
    version = int(data.get("version", 1))
    while version < SETTINGS_VERSION and version in MIGRATIONS:
        data = MIGRATIONS[version](dict(data))
        version += 1
    data["version"] = SETTINGS_VERSION
    names = {f.name: f for f in fields(Settings)}
    defaults = Settings()
    clean: dict[str, Any] = {}
    for key, value in data.items():
        if key in names and isinstance(value, type(getattr(defaults, key))):
            clean[key] = value  # a value of the wrong type (hand-edited file) falls back to its default
    return Settings(**clean)


def save_settings(settings: Settings, path: Path | None = None) -> None:
    atomic_write_json(path or settings_path(), asdict(settings))
