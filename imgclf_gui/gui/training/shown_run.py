"""The run whose report the Training tab shows, with everything the report needs read from THAT run.

A report, its confusion-matrix cells, its top losses, its curves and its "possibly mislabelled" list all
come from one ``ShownRun``, loaded together (on a worker: ``load_shown_run``), so nothing on screen can mix
two runs: after retraining or "Show Report" on an older run, every part changes at once and the heading
names the run (``runs.run_title``: its name, date and accuracy, never its id).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imgclf_gui.core.models import runs
from imgclf_gui.core.review.mislabels import MislabelScan
from imgclf_gui.core.training.crossval import FINAL, FoldEpoch
from imgclf_gui.core.training.evaluation import PART_OUT_OF_FOLD, PART_TEST, PART_VALIDATION, EvaluationReport
from imgclf_gui.core.training.head import EpochMetrics
from imgclf_gui.core.training.out_of_fold import OutOfFold, OutOfFoldError
from imgclf_gui.gui.common.review_list import ReviewItem

__all__ = ["ShownRun", "load_shown_run", "cell_items", "scored_on", "count_words"]


@dataclass
class ShownRun:
    """One stored run as the report shows it. ``problem`` says what of it could not be read."""

    root: Path
    run: runs.RunInfo
    active: bool
    bundle: Any = None  #: its ``ModelBundle`` (None when it cannot be loaded)
    report: EvaluationReport | None = None
    out_of_fold: OutOfFold | None = None  #: every image's honest prediction (None in runs of older versions)
    mislabels: MislabelScan | None = None
    epochs: list[FoldEpoch] = field(default_factory=list)  #: every fold's epochs, then the final model's
    problem: str = ""

    @property
    def run_id(self) -> str:
        return self.run.run_id

    @property
    def title(self) -> str:
        """"“baseline”, run of 2026-11-29 03:47, accuracy 93.1%" or "run of 2026-11-29 03:47, accuracy 93.1%"."""
        return runs.run_title(self.run)

    def final_history(self) -> list[EpochMetrics]:
        return [e.metrics for e in self.epochs if e.fold == FINAL]


def _epochs(run: runs.RunInfo, metrics: dict[str, Any]) -> list[FoldEpoch]:
    """Every fold's epochs (kept in the model's metrics), then the final model's (``run.json``)."""
    histories = (metrics.get("crossval") or {}).get("histories") or []
    folds = len(histories)
    out: list[FoldEpoch] = []
    for fold, history in enumerate(histories, start=1):
        out += [FoldEpoch(fold, folds, EpochMetrics(**m)) for m in history]
    out += [FoldEpoch(FINAL, folds, EpochMetrics(**m)) for m in run.history]
    return out


def load_shown_run(root: Path, run_id: str, *, mislabels: bool = True) -> ShownRun:
    """Read run ``run_id`` of the project at ``root`` (on a worker thread): model, report, curves, honest
    predictions and its possibly mislabelled images. Raises ``runs.RunError`` when the run is gone."""
    from imgclf_gui.core.models.bundle import BundleError, ModelBundle
    from imgclf_gui.core.project import layout
    from imgclf_gui.core.review.mislabels import project_mislabels

    run = runs.get_run(root, run_id)
    shown = ShownRun(root, run, runs.active_run_id(root) == run_id)
    problems = []
    try:
        shown.bundle = ModelBundle.load(run.model_path, check_backbone=False)
        data = shown.bundle.metrics.get("report")
        shown.report = EvaluationReport.from_dict(data) if data else None
        shown.epochs = _epochs(run, shown.bundle.metrics)
    except (BundleError, OSError, ValueError, KeyError, TypeError) as exc:
        problems.append(f"its model cannot be read ({exc})")
    try:
        shown.out_of_fold = OutOfFold.load(layout.out_of_fold_file(run.folder))
    except FileNotFoundError:
        pass  # trained by an older version: the report's own mistakes are all there is
    except OutOfFoldError as exc:
        problems.append(str(exc))
    if mislabels:
        shown.mislabels = project_mislabels(root, run_id)
    shown.problem = "; ".join(problems)
    return shown


def _scored_rows(shown: ShownRun) -> np.ndarray:
    """(N,) bool: the images of ``out_of_fold`` that the report scored (its part)."""
    oof = shown.out_of_fold
    assert oof is not None
    part = shown.report.part if shown.report is not None else PART_OUT_OF_FOLD
    return oof.predicted & ((oof.folds < 0) if part == PART_TEST else (oof.folds >= 0))


def cell_items(shown: ShownRun, true_index: int, predicted_index: int) -> list[ReviewItem] | None:
    """The images of one confusion-matrix cell, worst first, from the run's honest predictions (any cell,
    the diagonal too); None when the run kept none (runs of older versions: the report's mistakes only)."""
    oof = shown.out_of_fold
    if oof is None or shown.report is None or oof.class_names != shown.report.class_names:
        return None
    scored = _scored_rows(shown)
    paths = oof.absolute_paths(shown.root)
    names = oof.class_names
    return [ReviewItem(paths[i], paths[i], names[true_index], names[predicted_index],
                       float(oof.probabilities[i, predicted_index]))
            for i in oof.cell(true_index, predicted_index) if scored[i]]


def count_words(n: int, word: str) -> str:
    """"1 image", "2,400 images"."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def scored_on(report: EvaluationReport, images: int | None = None) -> str:
    """What a score rests on, in words: "the out-of-fold predictions of all 240 images (5 folds)", "the
    held-out test part (24 images)"; ``images`` is how many images the run learnt from ("all" when equal)."""
    if report.part == PART_OUT_OF_FOLD:
        every = "all " if images is not None and images == report.count else ""
        folds = f" ({report.folds} folds)" if report.folds else ""
        return f"the out-of-fold predictions of {every}{count_words(report.count, 'image')}{folds}"
    if report.part == PART_TEST:
        return f"the held-out test part ({count_words(report.count, 'image')})"
    if report.part == PART_VALIDATION:
        return f"the validation part ({count_words(report.count, 'image')})"
    return count_words(report.count, "image")
