"""Possibly mislabelled images: the ones whose folder the honest predictions disagree with, confidently.

Entry points: ``find_mislabels(probabilities, labels, class_names, paths, ...) -> list[SuspectedMislabel]``
(on any honest predictions) and ``project_mislabels(root) -> MislabelScan`` (from the project's active model's
saved out-of-fold predictions, without retraining; ``imgclf check`` and the app use it).

The rule is confident learning's (Northcutt, Jiang and Chuang, "Confident Learning: Estimating Uncertainty
in Dataset Labels", JAIR 2021; written here from the paper), "prune by class":

1. Each class ``j`` gets a threshold ``t_j``: the mean honest probability of ``j`` over the images filed
   under ``j`` (how sure the models typically are of that class's own images). Per class, not one cut-off:
   a hard class whose own images get 0.6 on average would otherwise never be suggested, an easy one always.
2. An image confidently belongs to the classes whose probability reaches their threshold; the most probable
   of those is its likely class. Counting (folder, likely class) pairs gives the "confident joint"; each
   row is rescaled to the folder's image count (images confident of no class are spread like the others),
   which estimates how many images of folder ``i`` really show another class (``expected_mislabels``).
3. That many images of folder ``i`` are suspected: those the models were least sure belong to ``i``
   (lowest probability of their folder, "self-confidence"), each with its most probable other class as
   the suggestion, and only where that class is more probable than the folder (so the list never asks
   "square -> circle (30%)" of an image the model calls a square). The list is ranked the same way.

Why counts rather than "another class reaches its threshold" alone: twelve circles filed as squares look
like the other circles, so their circle probability sits around the circles' mean, above it for only about
half of them. The count comes out about right all the same, and self-confidence finds which ones.
Why self-confidence rather than the margin (suggestion minus folder) to pick and rank them: measured on
Lite0 features of Fashion-MNIST with 5% of labels flipped to a random other class (out-of-fold accuracy
~81%; 1,000 to 3,000 images, 4 draws), the top N (N = number flipped) held 79-86% flipped images ranked by
self-confidence, 66-70% by margin; the whole list found 87-94% of the flipped images.

Only honest predictions count (``CrossValResult.probabilities``: each image predicted by a model that never
saw it); predictions of a model trained on the image would agree with its label, right or wrong.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imgclf_gui.core.review.reviewed import is_reviewed, reviewed_marks
from imgclf_gui.core.support.notes import Note

__all__ = ["SuspectedMislabel", "MislabelScan", "class_thresholds", "expected_mislabels", "find_mislabels",
           "training_mislabels", "project_mislabels"]


@dataclass(frozen=True)
class SuspectedMislabel:
    """One image that looks filed in the wrong class folder."""

    path: Path
    label: str  # the class folder it is in
    suggested: str  # the class its honest prediction says
    confidence: float  # predicted probability of ``suggested``
    label_probability: float  # predicted probability of ``label``
    content_hash: str | None = None

    @property
    def margin(self) -> float:
        """How much more likely the suggestion is than the folder (always > 0)."""
        return self.confidence - self.label_probability

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of ``imgclf train --json`` and ``imgclf check --json``."""
        return {"path": str(self.path), "label": self.label, "suggested": self.suggested,
                "confidence": round(self.confidence, 4), "label_probability": round(self.label_probability, 4)}


def class_thresholds(probabilities: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """(classes,) the mean predicted probability of each class over the images labelled with it (its
    typical self-confidence); ``inf`` for a class without predicted images (never suggested)."""
    probabilities = np.asarray(probabilities, np.float64)
    labels = np.asarray(labels, np.int64)
    thresholds = np.full(num_classes, np.inf)
    for j in range(num_classes):
        rows = labels == j
        if rows.any():
            thresholds[j] = float(probabilities[rows, j].mean())
    return thresholds


def find_mislabels(probabilities: np.ndarray, labels: np.ndarray, class_names: Sequence[str],
                   paths: Sequence[str | os.PathLike[str]], hashes: Sequence[str | None] | None = None, *,
                   reviewed: Mapping[str, str] | None = None, limit: int | None = None) -> list[SuspectedMislabel]:
    """Suspected mislabels among images with honest ``probabilities`` (N, classes), worst first (lowest
    probability of their own folder first).

    ``labels[i]`` indexes ``class_names`` (the folder of image ``i``). Rows with NaN (no honest prediction)
    take no part, not even in the thresholds. ``reviewed`` (content hash -> class, ``reviewed_marks``) leaves
    out images the user kept in the class they are in now; they still count for the thresholds.
    """
    probabilities = np.asarray(probabilities, np.float64)
    labels = np.asarray(labels, np.int64)
    k = len(class_names)
    if probabilities.shape != (len(labels), k) or len(paths) != len(labels):
        raise ValueError("probabilities, labels and paths must describe the same images")
    idx = np.flatnonzero(~np.isnan(probabilities).any(axis=1))
    if len(idx) == 0:
        return []
    p, y = probabilities[idx], labels[idx]
    rows_all = np.arange(len(y))
    own = p[rows_all, y]
    others = p.copy()
    others[rows_all, y] = -1.0
    suggested = others.argmax(axis=1)
    expected = expected_mislabels(p, y, k).sum(axis=1)
    picked = []
    for i in range(k):
        rows = np.flatnonzero(y == i)
        picked.extend(rows[np.argsort(own[rows], kind="stable")[:expected[i]]].tolist())
    marks = dict(reviewed or {})
    suspects = []
    for r in picked:
        j = int(suggested[r])
        if p[r, j] <= own[r]:
            continue  # the folder is still the model's best guess: not worth a person's look
        i = int(idx[r])
        digest = hashes[i] if hashes is not None else None
        label = class_names[y[r]]
        if is_reviewed(marks, digest, label):
            continue
        suspects.append(SuspectedMislabel(Path(paths[i]), label, class_names[j], float(p[r, j]), float(own[r]),
                                          digest))
    suspects.sort(key=lambda s: (s.label_probability, -s.confidence, str(s.path)))
    return suspects[:limit] if limit is not None else suspects


def expected_mislabels(probabilities: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """(classes, classes) int: how many images filed under ``i`` likely show ``j`` (zero diagonal), from the
    calibrated confident joint (steps 1 and 2 of the module docstring). Row sums are the expected number of
    mislabelled images per folder."""
    p = np.asarray(probabilities, np.float64)
    y = np.asarray(labels, np.int64)
    k = num_classes
    confident = p >= class_thresholds(p, y, k)[None, :]
    likely = np.where(confident, p, -1.0).argmax(axis=1)
    some = confident.any(axis=1)
    joint = np.zeros((k, k))
    np.add.at(joint, (y[some], likely[some]), 1.0)
    totals = joint.sum(axis=1, keepdims=True)
    counts = np.bincount(y, minlength=k)[:, None]
    calibrated = np.divide(joint * counts, totals, out=np.zeros_like(joint), where=totals > 0)
    expected = np.rint(calibrated).astype(np.int64)
    np.fill_diagonal(expected, 0)
    return expected


def training_mislabels(result: Any, project_root: str | os.PathLike[str]) -> list[SuspectedMislabel]:
    """Suspected mislabels of a ``train(...)`` result just made (``TrainResult.out_of_fold``), without those
    the user marked as reviewed; paths are the samples' own (absolute when the project root was).
    Empty when the result has no honest predictions."""
    oof = getattr(result, "out_of_fold", None)
    if oof is None:
        return []
    return find_mislabels(oof.probabilities, oof.labels, oof.class_names, [s.path for s in result.samples],
                          oof.hashes, reviewed=reviewed_marks(project_root))


@dataclass
class MislabelScan:
    """What ``project_mislabels`` found, and what it could look at."""

    suspects: list[SuspectedMislabel] = field(default_factory=list)
    run_id: str | None = None  # the active run whose predictions were used
    available: bool = False  # False: no active model, or one trained without out-of-fold predictions
    reason: str = ""  # why not available, in one sentence
    considered: int = 0  # images with an honest prediction still where they were at training time
    gone: int = 0  # images moved, renamed or deleted since (not suggested: their folder may be fixed already)
    reviewed: int = 0  # suspects left out because the user kept them
    notes: list[Note] = field(default_factory=list)  # e.g. a damaged reviewed-images file set aside

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "available": self.available, "reason": self.reason,
                "considered": self.considered, "gone": self.gone, "reviewed": self.reviewed,
                "notes": [str(n) for n in self.notes],
                "suspected_mislabels": [s.to_dict() for s in self.suspects]}


def project_mislabels(project_root: str | os.PathLike[str], run_id: str | None = None) -> MislabelScan:
    """Suspected mislabels of a project from its active model's out-of-fold predictions (no training), or
    from those of run ``run_id`` (the run a report shows).

    Images no longer at the path they had when the model was trained are left out (moving an image to the
    suggested class is the fix), and so are images the user marked as reviewed. Never raises for a missing
    or damaged file: ``available`` and ``reason`` say why nothing could be found.
    """
    from imgclf_gui.core.models.runs import active_run_id, runs_folder
    from imgclf_gui.core.project import layout
    from imgclf_gui.core.training.out_of_fold import OutOfFold, OutOfFoldError

    root = Path(project_root)
    which = "This run's model" if run_id else "The active model"
    run_id = run_id or active_run_id(root)
    if run_id is None:
        return MislabelScan(reason="The project has no trained model yet: train once to look for mislabelled "
                                   "images.")
    try:
        oof = OutOfFold.load(layout.out_of_fold_file(runs_folder(root) / run_id))
    except FileNotFoundError:
        return MislabelScan(run_id=run_id, reason=f"{which} has no saved prediction for every image "
                                                  "(trained by an older version, or they could not be "
                                                  "saved): train again to look for mislabelled images.")
    except OutOfFoldError as exc:
        return MislabelScan(run_id=run_id, reason=f"{which}'s predictions cannot be read: {exc} "
                                                  "Train again to look for mislabelled images.")
    paths = oof.absolute_paths(root)
    present = np.array([p.is_file() for p in paths], bool)
    probabilities = np.where(present[:, None], oof.probabilities, np.nan)
    notes: list[Note] = []
    marks = reviewed_marks(root, notes)
    everyone = find_mislabels(probabilities, oof.labels, oof.class_names, paths, oof.hashes)
    kept = [s for s in everyone if not is_reviewed(marks, s.content_hash, s.label)]
    return MislabelScan(kept, run_id, True, "", int(np.count_nonzero(present & oof.predicted)),
                        int(np.count_nonzero(~present)), len(everyone) - len(kept), notes)
