"""Run history and the active model: what the Classify tab loads must be the run the user chose."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from imgclf_gui.core.models import runs


class _FakeBundle:
    """Stands in for ModelBundle: only ``save`` is used by ``save_run``."""

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True)
        (folder / "model.json").write_text("{}")
        return folder


def test_runs_are_listed_in_order_and_one_can_be_made_active(tmp_path):
    assert runs.list_runs(tmp_path) == []
    assert runs.active_model_path(tmp_path) is None
    first = runs.save_run(tmp_path, _FakeBundle(), settings={"epochs": 5}, figures={"accuracy": 0.8})
    second = runs.save_run(tmp_path, _FakeBundle(), settings={"epochs": 9}, figures={"accuracy": 0.9},
                           history=[{"epoch": 1}])
    listed = runs.list_runs(tmp_path)
    assert [r.run_id for r in listed] == sorted([first.run_id, second.run_id])
    assert runs.get_run(tmp_path, second.run_id).history == [{"epoch": 1}]
    path = runs.set_active_run(tmp_path, first.run_id)
    assert path == first.model_path and (path / "model.json").is_file()
    assert runs.active_model_path(tmp_path) == first.model_path
    stored = json.loads((tmp_path / ".imgclf" / "active_model.json").read_text())
    assert stored["run_id"] == first.run_id


def test_unknown_or_deleted_runs_are_never_active(tmp_path):
    with pytest.raises(runs.RunError):
        runs.set_active_run(tmp_path, "nope")
    with pytest.raises(runs.RunError):
        runs.get_run(tmp_path, "../escape")
    run = runs.save_run(tmp_path, _FakeBundle(), settings={}, figures={})
    runs.set_active_run(tmp_path, run.run_id)
    with pytest.raises(runs.RunError):
        runs.delete_run(tmp_path, run.run_id)  # the active model stays
    other = runs.save_run(tmp_path, _FakeBundle(), settings={}, figures={})
    runs.delete_run(tmp_path, other.run_id)
    assert [r.run_id for r in runs.list_runs(tmp_path)] == [run.run_id]
    (run.folder / "run.json").unlink()  # damaged run: it disappears rather than pointing nowhere
    assert runs.active_model_path(tmp_path) is None


def test_a_failed_save_leaves_no_run(tmp_path):
    class Broken:
        def save(self, folder):
            raise OSError("disk full")

    with pytest.raises(OSError):
        runs.save_run(tmp_path, Broken(), settings={}, figures={})
    assert runs.list_runs(tmp_path) == []
    assert list(runs.runs_folder(tmp_path).iterdir()) == []


def test_a_run_keeps_the_name_a_person_gives_it(tmp_path):
    root = tmp_path / "birds"
    run = runs.save_run(root, _FakeBundle(), settings={}, figures={"accuracy": 0.931})
    when = runs.run_when(run)
    named = runs.rename_run(root, run.run_id, "  baseline\n with  flips ")
    assert named.name == "baseline with flips"  # one line, spaces tidied
    again = runs.get_run(root, run.run_id)
    assert again.name == "baseline with flips" and again.figures == {"accuracy": 0.931}  # the rest is kept
    assert runs.run_title(again) == f"“baseline with flips”, run of {when}, accuracy 93.1%"
    assert runs.model_title(again.model_path, root) == runs.run_title(again)
    assert run.run_id not in runs.model_title(again.model_path)
    runs.rename_run(root, run.run_id, "")
    assert runs.get_run(root, run.run_id).name == "" and runs.run_title(runs.get_run(root, run.run_id)) == (
        f"run of {when}, accuracy 93.1%")
    assert len(runs.rename_run(root, run.run_id, "x" * 500).name) == runs.MAX_NAME
    with pytest.raises(runs.RunError):
        runs.rename_run(root, "20000101-000000-000000", "nope")
