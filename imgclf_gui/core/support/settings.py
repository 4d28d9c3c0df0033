"""User preferences: one typed, versioned object saved as JSON in the user config folder.

Window geometry and recent projects are Qt's business (QSettings); everything a user chooses in the
Preferences dialog lives here, so the CLI can read it too.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from imgclf_gui.core.support.notes import Note
from imgclf_gui.core.support.paths import user_config_dir
from imgclf_gui.core.support.safe_files import atomic_write_json

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
    suggest_inbox: bool = True  # suggest a class for inbox images (their bottlenecks are computed in the background)
    suggest_retrain_every: int = 20  # new labels after which the suggestions' model learns again


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    # Version 1 had a boolean "move_on_import"; version 2 names the mode.
    move = data.pop("move_on_import", False)
    data.setdefault("import_mode", "move" if move else "copy")
    return data


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2}


def settings_path() -> Path:
    return user_config_dir() / FILE_NAME


def load_settings(path: Path | None = None, notes: list[Note] | None = None) -> Settings:
    """The saved settings, migrated to the current version; defaults when missing or unreadable.

    A damaged file (not JSON, not an object, a value of the wrong type) is set aside as
    ``settings.json.damaged`` and written again with what could be read; the ``Note`` goes to ``notes``.
    """
    from imgclf_gui.core.support.safe_files import DamagedFile, read_json, set_aside

    path = path or settings_path()
    what = "your imgclf preferences"
    try:
        data = read_json(path)
    except DamagedFile as exc:
        _note(notes, set_aside(path, what, str(exc), "the defaults are used"))
        return Settings()
    except OSError:
        return Settings()
    if not isinstance(data, dict):
        _note(notes, set_aside(path, what, "it is not a JSON object", "the defaults are used"))
        return Settings()
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool):
        version = 1
    while version < SETTINGS_VERSION and version in MIGRATIONS:
        data = MIGRATIONS[version](dict(data))
        version += 1
    data["version"] = SETTINGS_VERSION
    names = {f.name: f for f in fields(Settings)}
    defaults = Settings()
    clean: dict[str, Any] = {}
    wrong = []
    for key, value in data.items():
        if key in names and isinstance(value, type(getattr(defaults, key))):
            clean[key] = value
        elif key in names:
            wrong.append(key)  # a value of the wrong type (hand-edited file) falls back to its default
    settings = Settings(**clean)
    if wrong:
        _note(notes, set_aside(path, what, f"the setting {wrong[0]!r} has the wrong type",
                               "the others were kept and that one is back to its default"))
        try:
            save_settings(settings, path)
        except OSError:
            pass
    return settings


def _note(notes: list[Note] | None, note: Note) -> None:
    if notes is not None:
        notes.append(note)


def save_settings(settings: Settings, path: Path | None = None) -> None:
    atomic_write_json(path or settings_path(), asdict(settings))
