"""Retrain the head on a project's class folders: check the data, extract (cached), split, train, score.

``train`` is what the Training tab and ``imgclf train`` drive. Its stages, in order: check the dataset
(``check_dataset``), extract bottlenecks with the features cache (``on_extract_progress``), split by content
hash (``core/splits.py``; the assignment is remembered in ``.imgclf/split.json`` so an image never changes
part between runs), train the head on the training part (``core/head.py``; ``on_epoch`` after every epoch),
and score it on the test part, or on validation when there is no test part (``core/evaluation.py``).
"""
from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from imgclf_gui.core.project import layout
from imgclf_gui.core.project.scan import Sample, scan_samples
from imgclf_gui.core.support.tasks_api import ProgressFn, StopFn
from imgclf_gui.core.training.evaluation import EvaluationReport, evaluate_probabilities
from imgclf_gui.core.training.head import EpochMetrics, HeadOptions, labels_to_indices, train_head
from imgclf_gui.core.training.splits import Split, split_samples

__all__ = ["DatasetError", "DatasetCheck", "EpochMetrics", "TrainConfig", "TrainResult", "check_dataset",
           "train", "train_head", "MIN_IMAGES_PER_CLASS", "RECOMMENDED_IMAGES_PER_CLASS"]

MIN_IMAGES_PER_CLASS = 2
RECOMMENDED_IMAGES_PER_CLASS = 20


class DatasetError(Exception):
    """The folder cannot be trained on as it is; the message says what to change."""


@dataclass
class TrainConfig:
    """Every choice of a training run; JSON-able and stored in the bundle. Defaults need no tuning."""

    backbone: str = "efficientnet-lite0"
    epochs: int = 100
    batch_size: int = 128
    learning_rate: float = 0.001
    l2: float | None = None  # None: chosen on the validation part among a few strengths
    label_smoothing: float = 0.0
    hidden_units: int = 0  # 0: a softmax layer on the bottlenecks; N: one hidden ReLU layer of N units
    dropout: float = 0.2  # on the hidden layer only
    class_weights: bool = True
    early_stopping: bool = True
    patience: int = 10
    augment_variants: int = 0  # k augmented copies (flip, crop-and-scale, brightness) per training image
    validation_percent: float = 10.0
    test_percent: float = 10.0
    seed: int = 0
    crop: str = "squash"  # how images become squares: "squash" (whole image) or "center"

    def head_options(self) -> HeadOptions:
        return HeadOptions(epochs=self.epochs, batch_size=self.batch_size, learning_rate=self.learning_rate,
                           l2=self.l2, label_smoothing=self.label_smoothing, hidden_units=self.hidden_units,
                           dropout=self.dropout, class_weights=self.class_weights,
                           early_stopping=self.early_stopping, patience=self.patience, seed=self.seed)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Unknown keys (from a newer version) are ignored rather than refused."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class DatasetCheck:
    """What ``check_dataset`` found: the samples to use, class names, and warnings to show."""

    samples: list[Sample]
    class_names: list[str]
    counts: dict[str, int]
    warnings: list[str] = field(default_factory=list)


@dataclass
class TrainResult:
    """Outcome of ``train``. ``bundle`` is None only when cancelled before the first epoch ended."""

    bundle: Any  # ModelBundle | None (imported lazily to keep this module light)
    history: list[EpochMetrics]
    report: EvaluationReport | None
    cancelled: bool
    split: Split
    samples: list[Sample]
    warnings: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # unreadable images, skipped: path -> reason


def check_dataset(root: str | os.PathLike[str]) -> DatasetCheck:
    """Validate a folder of class folders before any work; raises ``DatasetError`` naming the classes.

    Hidden files, ``.imgclf/`` and the ``unsorted/`` inbox are ignored. At least two classes with at least
    ``MIN_IMAGES_PER_CLASS`` images each are required; classes under ``RECOMMENDED_IMAGES_PER_CLASS`` give
    a warning.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder.")
    samples = scan_samples(root)
    counts = Counter(s.label for s in samples)
    from imgclf_gui.core.project.scan import class_names as folder_classes

    names = folder_classes(root)
    empty = [n for n in names if counts[n] == 0]
    too_few = [n for n in names if 0 < counts[n] < MIN_IMAGES_PER_CLASS]
    usable = [n for n in names if counts[n] >= MIN_IMAGES_PER_CLASS]
    if len(names) < 2:
        found = f"only {names[0]!r}" if names else "none"
        raise DatasetError(f"{root} needs at least two class folders with images in them (found {found}). "
                           "Make one sub-folder per kind of image.")
    problems = []
    if empty:
        problems.append("no images in " + ", ".join(repr(n) for n in empty))
    if too_few:
        problems.append(f"fewer than {MIN_IMAGES_PER_CLASS} images in "
                        + ", ".join(f"{n!r} ({counts[n]})" for n in too_few))
    if problems:
        raise DatasetError("Cannot train: " + "; ".join(problems) + ". Add images to these classes "
                           "or remove their folders.")
    warnings = []
    small = [n for n in usable if counts[n] < RECOMMENDED_IMAGES_PER_CLASS]
    if small:
        warnings.append(f"Few images in {', '.join(f'{n!r} ({counts[n]})' for n in small)}: "
                        f"{RECOMMENDED_IMAGES_PER_CLASS} or more per class (ideally 100) give a more reliable "
                        "model and score.")
    return DatasetCheck(samples, names, {n: counts[n] for n in names}, warnings)


def train(
    config: TrainConfig,
    dataset_root: str | os.PathLike[str],
    *,
    on_epoch: Callable[[EpochMetrics], None] | None = None,
    should_stop: StopFn = None,
    on_extract_progress: ProgressFn = None,
    on_stage: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train a model on the class folders of ``dataset_root`` and score it on images it never saw.

    Raises ``DatasetError`` for an unusable folder and ``tasks_api.Cancelled`` when stopped during
    extraction. Stopped during training, it returns ``cancelled=True`` with the best head so far (scored
    on the test part all the same). ``on_stage(text)`` names each stage for a status line.
    """
    from imgclf_gui.core.features.extraction import extract_features
    from imgclf_gui.core.models.bundle import ModelBundle

    root = Path(dataset_root)
    stage = on_stage or (lambda text: None)
    checked = check_dataset(root)
    warnings = list(checked.warnings)
    stage("Extracting features")
    variants = max(0, int(config.augment_variants))
    extraction = extract_features([s.path for s in checked.samples], config.backbone, root, variants=variants,
                                  crop=config.crop, on_progress=on_extract_progress, should_stop=should_stop)
    ok = np.asarray(extraction.ok, bool)
    failed = {str(p): r for p, r in extraction.failed.items()}
    samples = [s for s, good in zip(checked.samples, ok) if good]
    if failed:
        warnings.append(f"{len(failed)} image(s) could not be read and were skipped.")
    features = np.asarray(extraction.features, np.float32)[ok]
    hashes = [h for h, good in zip(extraction.hashes, ok) if good]
    augmented = extraction.augmented[ok] if extraction.augmented is not None and variants else None
    # Classes may have lost images to unreadable files: check again on what is usable.
    remaining = Counter(s.label for s in samples)
    short = [n for n in checked.class_names if remaining[n] < MIN_IMAGES_PER_CLASS]
    if short:
        raise DatasetError("Cannot train: after skipping unreadable images, fewer than "
                           f"{MIN_IMAGES_PER_CLASS} remain in " + ", ".join(repr(n) for n in short) + ".")

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
    if len(va) == 0:
        warnings.append("Too few images for a validation part: trained for the full number of epochs "
                        "without early stopping or automatic regularisation.")
    result = train_head(train_x, train_y, features[va] if len(va) else None, y[va] if len(va) else None,
                        config.head_options(), on_epoch, should_stop, num_classes=len(class_names),
                        standardize_on=features[tr], on_stage=stage)
    warnings.extend(result.notes)
    if result.head is None:
        return TrainResult(None, result.history, None, True, split, samples, warnings, failed)

    stage("Evaluating")
    spec = _backbone_spec(config.backbone)
    score_idx, part = (te, "test") if len(te) else (va, "validation")
    report = None
    if len(score_idx):
        probs = result.head.predict_proba(features[score_idx])
        report = evaluate_probabilities(probs, y[score_idx], class_names,
                                        [str(samples[i].path) for i in score_idx], part=part)
    else:
        warnings.append("No test or validation images: the model could not be scored.")
    config_used = TrainConfig.from_dict({**config.to_dict(), "l2": result.l2})
    bundle = ModelBundle.create(
        head=result.head, class_names=class_names, spec=spec, config=config_used,
        metrics={
            "report": report.to_dict() if report else None,
            "best_epoch": result.best_epoch,
            "epochs_run": len(result.history),
            "l2_search": {f"{k:g}": v for k, v in result.l2_search.items()},
            "split_counts": split.counts(),
            "cancelled": result.cancelled,
            "history": [asdict(m) for m in result.history],
        },
        validation_paths=[str(samples[i].path) for i in va],
        train_hashes=[hashes[i] for i in tr if hashes[i]],
    )
    return TrainResult(bundle, result.history, report, result.cancelled, split, samples, warnings, failed)


def _backbone_spec(backbone_id: str) -> Any:
    from imgclf_gui.core.backbones import get_spec

    return get_spec(backbone_id)


def _load_split_memory(path: Path, config: TrainConfig) -> dict[str, str] | None:
    """The previous assignment, if it was made with the same percentages (else a fresh split)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (data.get("validation_percent"), data.get("test_percent")) != (config.validation_percent,
                                                                         config.test_percent):
        return None
    assignment = data.get("assignment")
    return assignment if isinstance(assignment, dict) else None


def _save_split_memory(path: Path, config: TrainConfig, previous: dict[str, str] | None, split: Split) -> None:
    from imgclf_gui.core.support.atomic import atomic_write_json

    # Keep parts of images that are gone for now: if they come back they return to the same part.
    assignment = {**(previous or {}), **split.assignment}
    try:
        atomic_write_json(path, {"schema": 1, "validation_percent": config.validation_percent,
                                 "test_percent": config.test_percent, "assignment": assignment})
    except OSError:
        pass  # a read-only dataset still trains; the split is then recomputed from hashes next time
