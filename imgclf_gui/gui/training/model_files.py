"""Save Model As / Export of ONE named run (the active model unless the person picks another), in the
background. Whatever report is on screen, the file written is the run chosen, and its README names it
(``runs.run_title``: name, date, accuracy)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from imgclf_gui.core.models import runs
from imgclf_gui.gui.common.project_model import ProjectModel
from imgclf_gui.gui.common.tasks import TaskRunner

__all__ = ["ModelFiles", "Written"]


class Written:
    """What ``finished`` carries: the run written, and the export result or saved folder (or an error)."""

    def __init__(self, title: str, result: Any = None, error: str = "") -> None:
        self.title = title  #: the run, as ``runs.run_title`` says it
        self.result = result  #: an ``ExportResult``, or the saved model folder (``Path``)
        self.error = error  #: what went wrong, one sentence ("" when it worked)


def _work(state, root: Path, run_id: str, write: Callable[[Any, str], Any]) -> Written:
    from imgclf_gui.core.models.bundle import ModelBundle

    run = runs.get_run(root, run_id)
    bundle = ModelBundle.load(run.model_path, check_backbone=False)
    return Written(runs.run_title(run), write(bundle, runs.run_title(run, root.name)))


class ModelFiles(QObject):
    """``finished(Written)`` after each save or export; ``busy()`` while one runs."""

    finished = Signal(object)

    def __init__(self, project: ProjectModel, tasks: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.tasks = tasks
        self._slot = ("model files", id(self))
        self.destroyed.connect(lambda *_a, slot=self._slot: tasks.cancel_slot(slot))
        project.project_changed.connect(lambda _root: tasks.cancel_slot(self._slot))

    def busy(self) -> bool:
        return self.tasks.slot_task(self._slot) is not None

    def save_model_as(self, run_id: str, folder: Path) -> None:
        """Write run ``run_id``'s model to ``folder`` (an ``.imgclf-model`` folder)."""
        self._start(run_id, lambda bundle, _source: bundle.save(folder), "save model")

    def export_model(self, run_id: str, fmt: str, out: Path) -> None:
        """Export run ``run_id``'s model as ``fmt`` (``export_formats.FORMATS``) into the folder ``out``."""
        self._start(run_id, lambda bundle, source: bundle.export(fmt, out, source=source), f"export {fmt}")

    def _start(self, run_id: str, write: Callable[[Any, str], Any], name: str) -> None:
        root = self.project.root
        if root is None:
            self.finished.emit(Written("", error="No project is open."))
            return
        self.tasks.start(_work, root, run_id, write, name=name, slot=self._slot, on_done=self.finished.emit,
                         on_error=lambda f: self.finished.emit(Written("", error=f"{name.capitalize()} failed: "
                                                                                 f"{f.message}")))
