"""Check every state file of a project when it opens: a damaged one is set aside, never fatal.

``check_project_state(root) -> list[Note]``: one note (``str()``: a sentence) per file that was damaged and set aside
(``NAME.damaged``), empty when all is well. The app shows these once when a project opens, the command
line prints them. Each file is judged by the same rules its own reader uses (the manifest, runs,
thumbnail and JSON caches check themselves; the training files are checked here against their schema),
and what happens instead is said: rebuilt from what could be read, made again, or ignored. The move
history (``journal.jsonl``) is checked by the journal itself when the app opens it.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from imgclf_gui.core.project import layout
from imgclf_gui.core.support.notes import Note
from imgclf_gui.core.support.safe_files import DamagedFile, check_json_file, read_json, set_aside

__all__ = ["check_project_state"]


def check_project_state(root: str | os.PathLike[str]) -> list[Note]:
    """Set aside every damaged state file of the project at ``root``; one ``Note`` for each."""
    from imgclf_gui.core.features.cache import hash_index_path, unreadable_memory
    from imgclf_gui.core.images.thumbnails import check_thumbnail_cache
    from imgclf_gui.core.models.runs import active_run_id, list_runs
    from imgclf_gui.core.project.manifest import load_manifest
    from imgclf_gui.core.support.file_hash import HashIndex

    root = Path(root)
    if not layout.state_dir(root).is_dir():
        return []
    notes: list[Note] = []
    load_manifest(root, notes)
    list_runs(root, notes)
    active_run_id(root, notes)
    for cache in (HashIndex(hash_index_path(root), root), unreadable_memory(root)):
        if cache.damage:
            notes.append(cache.damage)
    for db in sorted(layout.thumbs_dir(root).glob("*.sqlite")):
        note = check_thumbnail_cache(db, root)
        if note:
            notes.append(note)
    for path, what, problem_of, consequence in (
        (layout.folds_file(root), "the memory of cross-validation folds", _folds_problem,
         "the folds will be made afresh from the images' contents"),
        (layout.split_file(root), "the old memory of the train / validation / test split", _split_problem,
         "the split will be made afresh from the images' contents"),
        (layout.reviewed_file(root), "the list of images you kept after review", _reviewed_problem,
         "those images may be suggested again"),
    ):
        note = check_json_file(path, what, problem_of, consequence, root=root)[1]
        if note:
            notes.append(note)
    note = _check_training_settings(root)
    if note:
        notes.append(note)
    return notes


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _folds_problem(data: Any) -> str | None:
    if not isinstance(data, dict):
        return "it is not a JSON object"
    folds = data.get("folds", {})
    if not isinstance(folds, dict) or not all(
            k.isdigit() and isinstance(lists, list) and all(_str_list(keys) for keys in lists)
            for k, lists in folds.items()):
        return "the field 'folds' has the wrong shape"
    test = data.get("test", {})
    if not isinstance(test, dict) or not (_is_number(test.get("percent", 0)) and _str_list(test.get("keys", []))
                                          and _str_list(test.get("others", []))):
        return "the field 'test' has the wrong shape"
    return None


def _split_problem(data: Any) -> str | None:
    if not isinstance(data, dict):
        return "it is not a JSON object"
    if not all(_is_number(data.get(name, 0)) for name in ("validation_percent", "test_percent")):
        return "a percentage has the wrong type"
    assignment = data.get("assignment", {})
    if not isinstance(assignment, dict) or not all(
            isinstance(part, str) and part in ("train", "validation", "test") for part in assignment.values()):
        return "the field 'assignment' has the wrong shape"
    return None


def _reviewed_problem(data: Any) -> str | None:
    if not isinstance(data, dict):
        return "it is not a JSON object"
    marks = data.get("reviewed", {})
    if not isinstance(marks, dict) or not all(isinstance(c, str) for c in marks.values()):
        return "the field 'reviewed' has the wrong shape"
    return None


def _check_training_settings(root: Path) -> Note | None:
    """The Training tab's settings: set aside when damaged, and written again with the values that could
    be read (the others back to their defaults)."""
    from imgclf_gui.core.training.config import TrainConfig, save_project_config

    path = layout.training_settings_file(root)
    what = "the Training tab's settings"
    try:
        data = read_json(path)
    except DamagedFile as exc:
        return set_aside(path, what, str(exc), "the defaults are used", root=root)
    except OSError:
        return None
    stored = data.get("config") if isinstance(data, dict) else None
    if not isinstance(stored, dict):
        return set_aside(path, what, "it holds no settings", "the defaults are used", root=root)
    known = set(TrainConfig().to_dict())
    wrong = [name for name, value in stored.items()
             if name in known and not _same(getattr(TrainConfig.from_dict({name: value}), name), value)]
    if not wrong:
        return None
    note = set_aside(path, what, f"the setting {wrong[0]!r} has the wrong type",
                     "the others were kept and that one is back to its default", root=root)
    try:
        save_project_config(root, TrainConfig.from_dict(stored))
    except OSError:
        pass
    return note


def _same(kept: Any, stored: Any) -> bool:
    return kept == stored or (isinstance(kept, float) and isinstance(stored, int) and kept == float(stored))
