"""Retrain the head on a project's class folders: check, extract (cached), fold, cross-validate, refit, score.

``train`` is what the Training tab and ``imgclf train`` drive. Its stages, in order: check the dataset
(``core/training/checks.py``), prepare the backbone on its first use, extract bottlenecks with the features
cache (``on_extract_progress``), give every image a fold by content hash (``core/training/folds.py``;
remembered in ``.imgclf/folds.json``, so an image keeps its fold between runs), train one head per fold and
then the final head on every image (``core/training/crossval.py``; ``on_epoch(FoldEpoch)`` after each epoch
of each fold, then of the final model), and score the honest predictions (``core/training/evaluation.py``):
the out-of-fold prediction of every image, or the held-out test part when one is kept.

It returns what was trained as data (``TrainResult``): the final head, the report, each image's honest
prediction (``TrainResult.out_of_fold``, which a run keeps and ``core/review/mislabels.py`` reads to find
images filed in the wrong class), and ``Note``s for what the person should know. ``core/models`` makes a
model of it and keeps it, so this package never imports ``core/models``.
"""
from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imgclf_gui.core.backbones.spec import BackboneSpec
from imgclf_gui.core.project.scan import Sample
from imgclf_gui.core.support.notes import (
    CROSSVAL_CHOSE,
    FOLDS_NOT_SAVED,
    FOLDS_REDUCED,
    NO_VALIDATION,
    NOT_SCORED,
    SINGLE_IMAGE_CLASS,
    STAGE_CHECKING,
    STAGE_EVALUATING,
    STAGE_EXTRACTING,
    STAGE_PREPARING_BACKBONE,
    STOPPED_IN_FINAL,
    STOPPED_IN_FOLDS,
    UNREADABLE_SKIPPED,
    Note,
)
from imgclf_gui.core.support.tasks_api import ProgressFn, StopFn, check_stop
from imgclf_gui.core.training.checks import DatasetError, check_dataset, judge_class_sizes, refusal
from imgclf_gui.core.training.config import TrainConfig
from imgclf_gui.core.training.crossval import CrossValResult, FoldEpoch, cross_validate
from imgclf_gui.core.training.evaluation import (
    PART_OUT_OF_FOLD,
    PART_TEST,
    EvaluationReport,
    evaluate_probabilities,
)
from imgclf_gui.core.training.flips import FLIPS_OFF
from imgclf_gui.core.training.folds import (
    FoldAssignment,
    assign_folds,
    load_fold_memory,
    sample_keys,
    save_fold_memory,
)
from imgclf_gui.core.training.head import EpochMetrics, HeadModel, labels_to_indices
from imgclf_gui.core.training.out_of_fold import OutOfFold

__all__ = ["TrainResult", "train", "EpochMetrics", "FoldEpoch", "StageFn", "EpochFn"]

StageFn = Callable[[Note], None] | None
EpochFn = Callable[[FoldEpoch], None] | None
#: images whose predictions the export self-test compares (``ModelBundle.validation_paths``)
SELF_TEST_IMAGES = 32


@dataclass
class TrainResult:
    """What ``train`` made, as plain data. ``head`` is the final model's, None when training stopped before
    the final model's first epoch ended (a cancel during the folds: then nothing is kept).

    ``core/models`` keeps it: ``ModelBundle.from_training(result)`` is the model, and
    ``runs.record_training(root, result)`` stores it (with ``out_of_fold``) as the project's new active run.
    """

    head: HeadModel | None
    class_names: list[str]
    spec: BackboneSpec  #: the backbone the bottlenecks came from
    config: TrainConfig  #: as used: ``l2`` is the strength the final model trained with
    history: list[EpochMetrics]  #: the final model's epochs (each fold's are in ``crossval.folds``)
    #: out-of-fold predictions of every image (``part`` "out-of-fold"), or the test part when one is kept;
    #: None when nothing could be scored (stopped before the first fold ended)
    report: EvaluationReport | None
    cancelled: bool
    folds: FoldAssignment  #: each sample's fold (``fold_of``), the fold count and why (``choice``)
    samples: list[Sample]  #: the readable samples; every array here is aligned with them
    crossval: CrossValResult | None = None  #: per-fold outcomes, the final model's settings
    #: every image's honest prediction, with its path, folder and fold: what a run keeps for the
    #: "possibly mislabelled" list (``core/review/mislabels.find_mislabels``) and the confusion-matrix cells
    out_of_fold: OutOfFold | None = None
    #: report (dict), best_epoch, epochs_run, crossval, split_counts, cancelled, history: what a model keeps
    metrics: dict[str, Any] = field(default_factory=dict)
    validation_paths: list[str] = field(default_factory=list)  #: images the export self-test predicts
    train_hashes: list[str] = field(default_factory=list)  #: content hashes of the images the model learnt
    notes: list[Note] = field(default_factory=list)  #: what the person should know (``describe(note)``)
    failed: dict[str, str] = field(default_factory=dict)  #: unreadable images, skipped: path -> reason

    @property
    def best_epoch(self) -> int | None:
        return self.metrics.get("best_epoch")

    @property
    def uses_flips(self) -> bool:
        """The final model scores each image with its mirror image too (as the folds chose, or as set)."""
        return bool(self.crossval is not None and self.crossval.flips is not None and self.crossval.flips.used)

    def part_counts(self) -> dict[str, int]:
        """Images the final model learnt from ("train"), and kept out as the test part ("test"); no image is
        set aside for validation any more (each fold validates on its own share of its training images)."""
        return {"train": int(len(self.folds.folded)), "validation": 0, "test": int(len(self.folds.test))}


def train(
    config: TrainConfig,
    dataset_root: str | os.PathLike[str],
    *,
    on_epoch: EpochFn = None,
    should_stop: StopFn = None,
    on_extract_progress: ProgressFn = None,
    on_stage: StageFn = None,
) -> TrainResult:
    """Cross-validate a head on the class folders of ``dataset_root``, then train the final model on them all.

    Raises ``DatasetError`` for an unusable folder and ``tasks_api.Cancelled`` when stopped before the head
    training starts (preparing the backbone, extraction). Stopped later, it returns ``cancelled=True`` with
    what is complete: the predictions (and report) of the completed folds, and the final head when it had
    begun (``notes`` say which). ``on_stage(note)`` announces each stage as a ``Note`` (``stage.*`` kinds:
    ``stage.fold`` "Fold 2 of 5", ``stage.final_model``); ``on_epoch(FoldEpoch)`` streams every epoch tagged
    with its fold (1..k, then ``crossval.FINAL``).
    """
    from imgclf_gui.core.backbones import get_spec, needs_preparation, prepare_backbone
    from imgclf_gui.core.features.extraction import extract_features

    root = Path(dataset_root)
    stage = on_stage or (lambda note: None)
    stage(Note(STAGE_CHECKING))
    checked = check_dataset(root)
    notes = list(checked.notes)
    spec = get_spec(config.backbone)
    if needs_preparation(config.backbone):
        # Once per machine (10-30 s): its own step, so extraction's clock measures only extraction.
        stage(Note(STAGE_PREPARING_BACKBONE, {"backbone": spec.display_name}))
        prepare_backbone(config.backbone)
        check_stop(should_stop)
    stage(Note(STAGE_EXTRACTING))
    variants = max(0, int(config.augment_variants))
    mirrors = config.flips != FLIPS_OFF  # each image's mirror image, for the folds to decide (or as set)
    extraction = extract_features([s.path for s in checked.samples], config.backbone, root, variants=variants,
                                  flips=mirrors, crop=config.crop, on_progress=on_extract_progress,
                                  should_stop=should_stop)
    notes.extend(extraction.warnings)
    ok = np.asarray(extraction.ok, bool)
    # Entries the scan could not use (links, FIFOs...) are reported with the images that could not be read.
    failed = {**checked.skipped, **{str(p): r for p, r in extraction.failed.items()}}
    samples = [s for s, good in zip(checked.samples, ok) if good]
    if failed:
        notes.append(Note(UNREADABLE_SKIPPED, {"count": len(failed)}))
    features = np.asarray(extraction.features, np.float32)[ok]
    hashes = [h for h, good in zip(extraction.hashes, ok) if good]
    augmented = extraction.augmented[ok] if extraction.augmented is not None and variants else None
    flipped = extraction.flipped[ok] if extraction.flipped is not None else None
    # Classes may have lost images to unreadable files: judge again on what is usable.
    remaining = Counter(s.label for s in samples)
    sizes = judge_class_sizes({n: remaining[n] for n in checked.class_names})
    if not sizes.trainable:
        raise DatasetError(refusal(sizes, after_skipping=True))

    class_names = checked.class_names
    y = labels_to_indices([s.label for s in samples], class_names)
    assignment = _assign_folds(root, config, samples, hashes, notes)
    cv = cross_validate(features, y, assignment, config.head_options(), num_classes=len(class_names),
                        validation_percent=config.validation_percent, augmented=augmented, flipped=flipped,
                        flips=config.flips, on_epoch=on_epoch, on_stage=lambda fit: stage(fit.to_note()),
                        should_stop=should_stop)

    final = cv.final
    config_used = TrainConfig.from_dict({**config.to_dict(), "l2": cv.final_l2}) if cv.final_l2 is not None \
        else config
    folded = assignment.folded
    result = TrainResult(
        head=cv.head, class_names=list(class_names), spec=spec, config=config_used,
        history=list(final.history) if final is not None else [], report=None, cancelled=cv.cancelled,
        folds=assignment, samples=samples, crossval=cv,
        out_of_fold=OutOfFold.from_paths(root, [s.path for s in samples], class_names=class_names, labels=y,
                                         probabilities=cv.probabilities, folds=assignment.fold_of,
                                         hashes=hashes),
        validation_paths=_self_test_paths(samples, y, folded),
        train_hashes=[hashes[i] for i in folded if hashes[i]], notes=notes, failed=failed)
    _say_what_happened(cv, assignment, config, notes)

    stage(Note(STAGE_EVALUATING))
    paths = [str(s.path) for s in samples]
    test = assignment.test
    if len(test) and cv.final_complete:
        result.report = evaluate_probabilities(cv.probabilities[test], y[test], class_names,
                                               [paths[i] for i in test], part=PART_TEST)
    else:
        scored = folded[cv.predicted[folded]]
        if len(scored):
            result.report = evaluate_probabilities(cv.probabilities[scored], y[scored], class_names,
                                                   [paths[i] for i in scored], part=PART_OUT_OF_FOLD,
                                                   folds=assignment.k)
        elif not cv.cancelled:
            notes.append(Note(NOT_SCORED))
    result.metrics = {
        "report": result.report.to_dict() if result.report else None,
        "best_epoch": final.best_epoch if final is not None else None,
        "epochs_run": len(result.history),
        "crossval": {**cv.summary(), "fold_sizes": assignment.fold_sizes(),
                     "histories": [[asdict(m) for m in f.history] for f in cv.folds]},
        "split_counts": result.part_counts(),
        "cancelled": cv.cancelled,
        "history": [asdict(m) for m in result.history],
    }
    return result


def _assign_folds(root: Path, config: TrainConfig, samples: list[Sample], hashes: list[str | None],
                  notes: list[Note]) -> FoldAssignment:
    """Each image's fold, from the project's fold memory (kept up to date on disk when it can be)."""
    memory = load_fold_memory(root, notes)  # a damaged fold memory is set aside, with a note
    try:
        assignment = assign_folds(sample_keys([s.path for s in samples], hashes), [s.label for s in samples],
                                  folds=int(config.folds), test_percent=float(config.test_percent), memory=memory)
    except ValueError as exc:
        raise DatasetError(f"Cannot train with these settings: {exc}.") from None
    try:
        save_fold_memory(root, assignment.memory)
    except OSError as exc:  # a read-only project still trains; the folds come out the same from the hashes
        notes.append(Note(FOLDS_NOT_SAVED, {"reason": exc.strerror or str(exc)}))
    choice = assignment.choice
    if choice.reduced:
        notes.append(Note(FOLDS_REDUCED, choice.to_dict()))
    if choice.unpredictable:
        notes.append(Note(SINGLE_IMAGE_CLASS, {"name": choice.smallest_class}))
    return assignment


def _say_what_happened(cv: CrossValResult, assignment: FoldAssignment, config: TrainConfig,
                       notes: list[Note]) -> None:
    """Notes on the choices the folds made, or on how far a stopped run came."""
    wanted_validation = config.l2 is None or config.early_stopping
    if wanted_validation and cv.folds and not any(f.validated_on for f in cv.folds):
        notes.append(Note(NO_VALIDATION, {"l2": cv.folds[0].l2}))
    if cv.final is None:
        if cv.cancelled:
            notes.append(Note(STOPPED_IN_FOLDS, {"completed": cv.completed_folds, "folds": assignment.k}))
        return
    if cv.cancelled:
        notes.append(Note(STOPPED_IN_FINAL, {"epochs_done": len(cv.final.history), "epochs": cv.final_epochs}))
    if cv.flips is not None:
        notes.append(cv.flips.to_note())
    notes.append(Note(CROSSVAL_CHOSE, {
        "folds": assignment.k, "l2s": [f.l2 for f in cv.folds], "searched": any(f.l2_search for f in cv.folds),
        "final_l2": cv.final_l2, "final_epochs": cv.final_epochs, "images": int(len(assignment.folded))}))


def _self_test_paths(samples: list[Sample], y: np.ndarray, folded: np.ndarray) -> list[str]:
    """Up to ``SELF_TEST_IMAGES`` images, taken from every class in turn, for the export self-test."""
    per_class = [list(folded[y[folded] == c]) for c in np.unique(y[folded])]
    chosen: list[int] = []
    while len(chosen) < SELF_TEST_IMAGES and any(per_class):
        for members in per_class:
            if members and len(chosen) < SELF_TEST_IMAGES:
                chosen.append(int(members.pop(0)))
    return [str(samples[i].path) for i in chosen]
