"""Every training run of a project, kept on disk, and which one is the project's active model.

Layout, inside the project::

    .imgclf/runs/<run-id>/model/     the run's ModelBundle (see core/bundle.py)
    .imgclf/runs/<run-id>/run.json   settings, figures (accuracy, macro F1, best epoch...), epoch history,
                                     created time, and the name the user gave the run (optional)
    .imgclf/runs/<run-id>/out_of_fold.npz  every image's honest prediction (core/training/out_of_fold.py);
                                     absent in runs of older versions
    .imgclf/active_model.json        {"schema": 1, "run_id": "<run-id>"}: the model the Classify tab uses

Run ids sort by creation time (``20250131-142501-123456``, UTC to the microsecond), so a plain sorted listing
is the history.
All writes are atomic (``core/atomic.py``); a run folder is only listed once its ``run.json`` exists, and
``run.json`` is written after the model, so a crash never leaves a listed run without a model.
No Qt here: the GUI and the command line share it.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from imgclf_gui.core.project import layout
from imgclf_gui.core.support.notes import Note, describe
from imgclf_gui.core.support.safe_files import atomic_write_json, check_json_file

__all__ = ["RunInfo", "RunError", "list_runs", "get_run", "save_run", "delete_run", "active_run_id",
           "active_model_path", "set_active_run", "runs_folder", "record_training", "run_title", "model_title",
           "rename_run", "run_when", "MAX_NAME"]

SCHEMA_VERSION = 1
_RUN_JSON = "run.json"
_MODEL_DIR = "model"
MAX_NAME = 80  #: characters a run's name may have


class RunError(Exception):
    """A run that does not exist or cannot be used; the message says which."""


@dataclass
class RunInfo:
    """One finished training run as stored in ``.imgclf/runs/<run_id>/``."""

    run_id: str
    folder: Path
    created: str  # ISO 8601, UTC
    settings: dict[str, Any] = field(default_factory=dict)  # TrainConfig.to_dict() as used
    figures: dict[str, Any] = field(default_factory=dict)  # accuracy, macro_f1, best_epoch, epochs_run...
    history: list[dict[str, Any]] = field(default_factory=list)  # EpochMetrics as dicts
    name: str = ""  # what the user called the run ("" until they name it: ``rename_run``)

    @property
    def model_path(self) -> Path:
        """The run's model folder (load it with ``ModelBundle.load``)."""
        return self.folder / _MODEL_DIR


def runs_folder(project_root: str | os.PathLike[str]) -> Path:
    return layout.runs_dir(project_root)


def _run_problem(data: Any) -> str | None:
    if not isinstance(data, dict):
        return "it is not a JSON object"
    for name, kind in (("created", str), ("settings", dict), ("figures", dict), ("history", list), ("name", str)):
        if name in data and not isinstance(data[name], kind):
            return f"the field {name!r} has the wrong type"
    if not all(isinstance(epoch, dict) for epoch in data.get("history", [])):
        return "the field 'history' has the wrong type"
    return None


def _read_run(folder: Path, notes: list[Note] | None = None) -> RunInfo | None:
    """The run in ``folder``; None for a half-written or foreign folder. A damaged ``run.json`` is set
    aside (the run is then no longer listed; its model stays) and the ``Note`` goes to ``notes``."""
    if not (folder / _MODEL_DIR).is_dir():
        return None
    data, note = check_json_file(folder / _RUN_JSON, f"the record of training run {folder.name}", _run_problem,
                                 "the run is no longer listed (its model folder is kept)",
                                 root=folder.parent.parent.parent)
    if note is not None and notes is not None:
        notes.append(note)
    if data is None:
        return None
    return RunInfo(run_id=folder.name, folder=folder, created=str(data.get("created", "")),
                   settings=dict(data.get("settings") or {}), figures=dict(data.get("figures") or {}),
                   history=list(data.get("history") or []), name=_clean_name(data.get("name") or ""))


def list_runs(project_root: str | os.PathLike[str], notes: list[Note] | None = None) -> list[RunInfo]:
    """Every complete run of the project, oldest first (empty when there is none). Notes about
    damaged run records that were set aside go to ``notes``."""
    folder = runs_folder(project_root)
    try:
        names = sorted(entry.name for entry in os.scandir(folder)
                       if entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."))
    except OSError:
        return []
    runs = [_read_run(folder / name, notes) for name in names]
    return [r for r in runs if r is not None]


def get_run(project_root: str | os.PathLike[str], run_id: str) -> RunInfo:
    """The run ``run_id``; raises ``RunError`` when it is missing or incomplete."""
    if not run_id or "/" in run_id or "\\" in run_id or run_id.startswith("."):
        raise RunError(f"{run_id!r} is not a run id.")
    run = _read_run(runs_folder(project_root) / run_id)
    if run is None:
        raise RunError(f"There is no training run {run_id!r} in this project.")
    return run


def _new_run_id() -> str:
    # Down to the microsecond so that sorting names sorts runs by creation, even two in one second.
    now = datetime.now(UTC)
    return now.strftime("%Y%m%d-%H%M%S-") + f"{now.microsecond:06d}"


def save_run(project_root: str | os.PathLike[str], bundle: Any, *, settings: dict[str, Any],
             figures: dict[str, Any], history: list[dict[str, Any]] | None = None) -> RunInfo:
    """Store a trained ``ModelBundle`` as a new run; it does not become active by itself."""
    while True:
        run_id = _new_run_id()
        folder = runs_folder(project_root) / run_id
        try:
            folder.mkdir(parents=True, exist_ok=False)
            break
        except FileExistsError:
            continue  # same microsecond as another run (fast clock-less systems): take the next one
    try:
        bundle.save(folder / _MODEL_DIR)
        created = datetime.now(UTC).isoformat(timespec="seconds")
        atomic_write_json(folder / _RUN_JSON, {"schema": SCHEMA_VERSION, "created": created,
                                               "settings": settings, "figures": figures,
                                               "history": list(history or [])})
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return RunInfo(run_id, folder, created, dict(settings), dict(figures), list(history or []))


def delete_run(project_root: str | os.PathLike[str], run_id: str) -> None:
    """Remove a run; refuses the active one (make another run active first)."""
    run = get_run(project_root, run_id)
    if active_run_id(project_root) == run_id:
        raise RunError("This run is the active model; make another run active before deleting it.")
    shutil.rmtree(run.folder)


def active_run_id(project_root: str | os.PathLike[str], notes: list[Note] | None = None) -> str | None:
    """The id stored in ``.imgclf/active_model.json``, or None (no file, or run gone). A damaged file is set
    aside (no model is active then) and the ``Note`` goes to ``notes``."""
    data, note = check_json_file(
        layout.active_model_file(project_root), "the choice of active model",
        lambda d: None if isinstance(d, dict) and isinstance(d.get("run_id"), str) else "it names no run",
        "no model is active until you make one active", root=project_root)
    if note is not None and notes is not None:
        notes.append(note)
    if data is None:
        return None
    run_id = data["run_id"]
    try:
        get_run(project_root, run_id)
    except RunError:
        return None
    return run_id


def active_model_path(project_root: str | os.PathLike[str]) -> Path | None:
    """Folder of the project's active model (a ``ModelBundle``), or None when no run is active."""
    run_id = active_run_id(project_root)
    return None if run_id is None else runs_folder(project_root) / run_id / _MODEL_DIR


def set_active_run(project_root: str | os.PathLike[str], run_id: str) -> Path:
    """Make ``run_id`` the project's active model; returns its model folder. Raises ``RunError``."""
    run = get_run(project_root, run_id)
    atomic_write_json(layout.active_model_file(project_root),
                      {"schema": SCHEMA_VERSION, "run_id": run_id})
    return run.model_path


def record_training(project_root: str | os.PathLike[str], result: Any, *, bundle: Any = None) -> RunInfo:
    """Keep a finished ``train(...)`` result as a new run and make it the project's active model: what both
    the Training tab and ``imgclf train DIR`` do. ``bundle`` is ``ModelBundle.from_training(result)`` when
    the caller made it already. The run also keeps every image's honest prediction
    (``layout.out_of_fold_file``) for the "possibly mislabelled" list; a run whose predictions could not be
    written still works as a model. Raises ``RunError`` when there is no model (stopped too early)."""
    from dataclasses import asdict

    from imgclf_gui.core.models.bundle import ModelBundle

    if result.head is None:
        raise RunError("Training stopped before the final model's first epoch ended; there is no model to keep.")
    if bundle is None:
        bundle = ModelBundle.from_training(result)
    report = result.report
    figures = {
        "accuracy": report.accuracy if report else None,
        "accuracy_interval": list(report.accuracy_interval) if report else None,
        "macro_f1": report.macro_f1 if report else None,
        "scored_on": report.part if report else None,
        "scored_images": report.count if report else 0,
        "folds": result.folds.k,
        "best_epoch": result.metrics.get("best_epoch"),
        "epochs_run": len(result.history),
        "cancelled": result.cancelled,
        "split_counts": result.part_counts(),
        "classes": list(result.class_names),
        # Both: the words as shown then, and the notes as data for whoever reads runs later.
        "warnings": [describe(n) for n in result.notes],
        "notes": [n.to_dict() for n in result.notes],
    }
    run = save_run(project_root, bundle, settings=result.config.to_dict(), figures=figures,
                   history=[asdict(m) for m in result.history])
    if result.out_of_fold is not None:
        try:
            result.out_of_fold.save(layout.out_of_fold_file(run.folder))
        except OSError:
            pass  # the model is kept all the same; only the mislabel list of this run is not available
    set_active_run(project_root, run.run_id)
    return run


def _clean_name(name: str) -> str:
    """A name as shown: one line, no control characters, at most ``MAX_NAME`` characters."""
    text = "".join(c if c.isprintable() else " " for c in str(name))
    return " ".join(text.split())[:MAX_NAME]


def rename_run(project_root: str | os.PathLike[str], run_id: str, name: str) -> RunInfo:
    """Give run ``run_id`` the name ``name`` (kept in its ``run.json``; "" removes the name). Returns the run
    as it is now. Raises ``RunError`` for an unknown run or an unreadable record, ``OSError`` when the
    record cannot be written."""
    from imgclf_gui.core.support.safe_files import DamagedFile, read_json

    run = get_run(project_root, run_id)
    path = run.folder / _RUN_JSON
    try:
        data = read_json(path)
    except DamagedFile as exc:
        raise RunError(f"The record of this run cannot be read ({exc}).") from None
    clean = _clean_name(name)
    if clean:
        data["name"] = clean
    else:
        data.pop("name", None)
    atomic_write_json(path, data)
    run.name = clean
    return run


def run_when(run: RunInfo) -> str:
    """When the run was trained, in local time: "2026-11-29 04:47" (from the run id when ``created`` is
    damaged: the id holds the creation time too, in UTC)."""
    try:
        created = datetime.fromisoformat(run.created)
    except (TypeError, ValueError):  # a hand-edited run.json
        try:
            created = datetime.strptime(run.run_id[:15], "%Y%m%d-%H%M%S").replace(tzinfo=UTC)
        except ValueError:
            return "an unknown time"
    return created.astimezone().strftime("%Y-%m-%d %H:%M")


def run_title(run: RunInfo, project: str | None = None) -> str:
    """A run as a person recognises it: "run of 2026-11-29 04:47, accuracy 93.5%" (local time), after the
    name the user gave it ("“baseline”, run of ..."), with "in project «NAME»" after the time when
    ``project`` is given.

    Never the run id: "20261129-034738-793791" means nothing to whoever reads it.
    """
    title = f"run of {run_when(run)}" + (f" in project «{project}»" if project else "")
    accuracy = run.figures.get("accuracy")
    if isinstance(accuracy, (int, float)) and not isinstance(accuracy, bool):
        title += f", accuracy {accuracy:.1%}"
    return f"“{run.name}”, {title}" if run.name else title


def _run_of_model(folder: Path) -> tuple[Path, RunInfo] | None:
    """(project root, run) when ``folder`` is the model of a training run, ``PROJECT/.imgclf/runs/<id>/model``."""
    folder = Path(folder)
    if folder.name != _MODEL_DIR or len(folder.parents) < 4:
        return None
    root = folder.parents[3]
    if runs_folder(root) != folder.parent.parent:
        return None
    run = _read_run(folder.parent)
    return None if run is None else (root, run)


def model_title(folder: str | os.PathLike[str], project_root: str | os.PathLike[str] | None = None) -> str:
    """A model folder in words, to tell models apart in a list or a message.

    A run's model: :func:`run_title`, plus "in project «NAME»" when it belongs to a project other than
    ``project_root``. A saved model: its folder name (without ``.imgclf-model``) and the folder it is in,
    "colors (in models)".
    """
    folder = Path(folder)
    found = _run_of_model(folder)
    if found is not None:
        root, run = found
        same_project = project_root is not None and Path(project_root) == root
        return run_title(run, None if same_project else root.name)
    name = folder.name.removesuffix(".imgclf-model") or folder.name
    parent = folder.parent.name
    return f"{name} (in {parent})" if parent else name
