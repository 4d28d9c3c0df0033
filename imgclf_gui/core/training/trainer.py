"""Retrain the head on a project's class folders: check the data, extract (cached), split, train, score.

``train`` is what the Training tab and ``imgclf train`` drive. Its stages, in order: check the dataset
(``core/training/checks.py``), prepare the backbone on its first use, extract bottlenecks with the
features cache (``on_extract_progress``), split by content hash (``core/training/splits.py``; the
assignment is remembered in ``.imgclf/split.json`` so an image never changes part between runs), train the
head on the training part (``core/training/head.py``; ``on_epoch`` after every epoch), and score it on the
test part, or on validation when there is no test part (``core/training/evaluation.py``).
It returns what was trained as data (``TrainResult``); ``core/models`` makes a model of it and keeps it,
so this package never imports ``core/models``. What the person should know comes back as ``Note``s.
"""
from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imgclf_gui.core.backbones.spec import BackboneSpec
from imgclf_gui.core.project import layout
from imgclf_gui.core.project.scan import Sample
from imgclf_gui.core.support.notes import (
    NOT_SCORED,
    STAGE_CHECKING,
    STAGE_EVALUATING,
    STAGE_EXTRACTING,
    STAGE_PREPARING_BACKBONE,
    UNREADABLE_SKIPPED,
    Note,
)
from imgclf_gui.core.support.tasks_api import ProgressFn, StopFn, check_stop
from imgclf_gui.core.training.checks import DatasetError, check_dataset, judge_class_sizes, refusal
from imgclf_gui.core.training.config import TrainConfig
from imgclf_gui.core.training.evaluation import EvaluationReport, evaluate_probabilities
from imgclf_gui.core.training.head import EpochMetrics, HeadModel, labels_to_indices, train_head
from imgclf_gui.core.training.splits import Split, split_samples

__all__ = ["TrainResult", "train", "EpochMetrics", "StageFn"]

StageFn = Callable[[Note], None] | None


@dataclass
class TrainResult:
    """What ``train`` made, as plain data. ``head`` is None only when stopped before the first epoch ended.

    ``core/models`` keeps it: ``ModelBundle.from_training(result)`` is the model, and
    ``runs.record_training(root, result)`` stores it as the project's new active run.
    """

    head: HeadModel | None
    class_names: list[str]
    spec: BackboneSpec  #: the backbone the bottlenecks came from
    config: TrainConfig  #: as used: ``l2`` is the strength actually trained with
    history: list[EpochMetrics]
    report: EvaluationReport | None  #: on the test part, else on validation; None when nothing to score
    cancelled: bool
    split: Split
    samples: list[Sample]  #: the readable samples; the indices of ``split`` refer to them
    #: report (dict), best_epoch, epochs_run, l2_search, split_counts, cancelled, history: what a model keeps
    metrics: dict[str, Any] = field(default_factory=dict)
    validation_paths: list[str] = field(default_factory=list)
    train_hashes: list[str] = field(default_factory=list)  #: content hashes of the images trained on
    notes: list[Note] = field(default_factory=list)  #: what the person should know (``describe(note)``)
    failed: dict[str, str] = field(default_factory=dict)  #: unreadable images, skipped: path -> reason

    @property
    def best_epoch(self) -> int | None:
        return self.metrics.get("best_epoch")


def train(
    config: TrainConfig,
    dataset_root: str | os.PathLike[str],
    *,
    on_epoch: Callable[[EpochMetrics], None] | None = None,
    should_stop: StopFn = None,
    on_extract_progress: ProgressFn = None,
    on_stage: StageFn = None,
) -> TrainResult:
    """Train a head on the class folders of ``dataset_root`` and score it on images it never saw.

    Raises ``DatasetError`` for an unusable folder and ``tasks_api.Cancelled`` when stopped before the
    head training starts (preparing the backbone, extraction). Stopped during training, it returns
    ``cancelled=True`` with the best head so far (scored on the test part all the same). ``on_stage(note)``
    announces each stage as a ``Note`` (``core/support/notes``: ``stage.*`` kinds) for a status line.
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
    extraction = extract_features([s.path for s in checked.samples], config.backbone, root, variants=variants,
                                  crop=config.crop, on_progress=on_extract_progress, should_stop=should_stop)
    notes.extend(extraction.warnings)
    ok = np.asarray(extraction.ok, bool)
    failed = {str(p): r for p, r in extraction.failed.items()}
    samples = [s for s, good in zip(checked.samples, ok) if good]
    if failed:
        notes.append(Note(UNREADABLE_SKIPPED, {"count": len(failed)}))
    features = np.asarray(extraction.features, np.float32)[ok]
    hashes = [h for h, good in zip(extraction.hashes, ok) if good]
    augmented = extraction.augmented[ok] if extraction.augmented is not None and variants else None
    # Classes may have lost images to unreadable files: judge again on what is usable.
    remaining = Counter(s.label for s in samples)
    sizes = judge_class_sizes({n: remaining[n] for n in checked.class_names})
    if not sizes.trainable:
        raise DatasetError(refusal(sizes, after_skipping=True))

    class_names = checked.class_names
    split_file = layout.split_file(root)
    previous = _load_split_memory(split_file, config)
    split = split_samples(samples, config.validation_percent, config.test_percent, hashes, previous=previous)
    _save_split_memory(split_file, config, previous, split)

    y = labels_to_indices([s.label for s in samples], class_names)
    tr, va, te = (np.array(ix, np.int64) for ix in (split.train, split.validation, split.test))
    train_x, train_y = features[tr], y[tr]
    if augmented is not None:
        # The augmented variants of training images only: variants of test images are never seen.
        extra = augmented[tr].reshape(-1, augmented.shape[-1])
        train_x = np.concatenate([train_x, extra])
        train_y = np.concatenate([train_y, np.repeat(y[tr], augmented.shape[1])])
    head_result = train_head(train_x, train_y, features[va] if len(va) else None, y[va] if len(va) else None,
                             config.head_options(), on_epoch, should_stop, num_classes=len(class_names),
                             standardize_on=features[tr], on_stage=stage)
    notes.extend(head_result.notes)
    config_used = TrainConfig.from_dict({**config.to_dict(), "l2": head_result.l2})
    result = TrainResult(
        head=head_result.head, class_names=list(class_names), spec=spec, config=config_used,
        history=head_result.history, report=None, cancelled=head_result.cancelled, split=split, samples=samples,
        validation_paths=[str(samples[i].path) for i in va], train_hashes=[hashes[i] for i in tr if hashes[i]],
        notes=notes, failed=failed)
    if head_result.head is None:
        result.cancelled = True
        return result

    stage(Note(STAGE_EVALUATING))
    score_idx, part = (te, "test") if len(te) else (va, "validation")
    if len(score_idx):
        probs = head_result.head.predict_proba(features[score_idx])
        result.report = evaluate_probabilities(probs, y[score_idx], class_names,
                                               [str(samples[i].path) for i in score_idx], part=part)
    else:
        notes.append(Note(NOT_SCORED))
    result.metrics = {
        "report": result.report.to_dict() if result.report else None,
        "best_epoch": head_result.best_epoch,
        "epochs_run": len(head_result.history),
        "l2_search": {f"{k:g}": v for k, v in head_result.l2_search.items()},
        "split_counts": split.counts(),
        "cancelled": head_result.cancelled,
        "history": [asdict(m) for m in head_result.history],
    }
    return result


def _load_split_memory(path: Path, config: TrainConfig) -> dict[str, str] | None:
    """The previous assignment, if it was made with the same percentages (else a fresh split)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):  # damaged: check_project_state sets it aside when the project opens
        return None
    if (data.get("validation_percent"), data.get("test_percent")) != (config.validation_percent,
                                                                         config.test_percent):
        return None
    assignment = data.get("assignment")
    if not isinstance(assignment, dict):
        return None
    return {k: v for k, v in assignment.items() if isinstance(k, str) and v in ("train", "validation", "test")}


def _save_split_memory(path: Path, config: TrainConfig, previous: dict[str, str] | None, split: Split) -> None:
    from imgclf_gui.core.support.atomic import atomic_write_json

    # Keep parts of images that are gone for now: if they come back they return to the same part.
    assignment = {**(previous or {}), **split.assignment}
    try:
        atomic_write_json(path, {"schema": 1, "validation_percent": config.validation_percent,
                                 "test_percent": config.test_percent, "assignment": assignment})
    except OSError:
        pass  # a read-only dataset still trains; the split is then recomputed from hashes next time
