"""Models named as a person recognises them: a run by its date, time and accuracy, never its id."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from imgclf_gui.core.models import runs


class _Bundle:
    """Only ``save`` is used by ``save_run``."""

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True)
        (folder / "model.json").write_text("{}")
        return folder


def _local(created: str) -> str:
    return datetime.fromisoformat(created).astimezone().strftime("%Y-%m-%d %H:%M")


def test_a_run_is_named_by_its_local_time_and_accuracy_and_never_by_its_id(tmp_path):
    root = tmp_path / "birds"
    run = runs.save_run(root, _Bundle(), settings={}, figures={"accuracy": 0.9349})
    title = runs.run_title(run)
    assert title == f"run of {_local(run.created)}, accuracy 93.5%"
    assert run.run_id not in title
    # its model folder says the same; from another project (or none given) it names the project too
    assert runs.model_title(run.model_path, root) == title
    assert runs.model_title(run.model_path) == f"run of {_local(run.created)} in project «birds», accuracy 93.5%"
    assert runs.model_title(run.model_path, tmp_path / "other") == runs.model_title(run.model_path)


def test_a_run_without_figures_or_with_a_damaged_time_still_reads_as_a_run(tmp_path):
    run = runs.save_run(tmp_path, _Bundle(), settings={}, figures={})
    assert runs.run_title(run) == f"run of {_local(run.created)}"
    data = json.loads((run.folder / "run.json").read_text())
    data["created"] = "yesterday"
    (run.folder / "run.json").write_text(json.dumps(data))
    damaged = runs.get_run(tmp_path, run.run_id)
    from_id = datetime.strptime(run.run_id[:15], "%Y%m%d-%H%M%S").replace(tzinfo=UTC).isoformat()
    assert runs.run_title(damaged) == f"run of {_local(from_id)}"  # the id holds the time too


def test_a_saved_model_is_named_by_its_folder_and_the_folder_it_is_in(tmp_path):
    assert runs.model_title(tmp_path / "models" / "colors.imgclf-model") == "colors (in models)"
    # a folder called "model" that is not a run's: its parent tells two of them apart
    first = _Bundle().save(tmp_path / "from-anna" / "model")
    second = _Bundle().save(tmp_path / "from-ben" / "model")
    assert runs.model_title(first) == "model (in from-anna)" != runs.model_title(second)
