"""Cross-validated training on cached bottlenecks: an honest prediction for every image, then the final model.

Entry point: ``cross_validate(features, y, assignment, options, ...) -> CrossValResult``.

1. Folds (``folds.py``). For each fold ``f`` of ``k``: the head (``head.train_head``) trains on the other
   folds. Early stopping and the L2 strength are chosen on an inner validation part drawn from those other
   folds (``folds.inner_validation``), never on fold ``f``: the held-out images take no part in any choice,
   so their predicted probabilities are honest. Every image (but the optional test part) is held out once.
2. The final model trains on all images but the test part, with the settings the folds chose: the median
   L2 strength (the lower of the two middle ones for an even count: the final model has more data, so it
   needs no more regularisation than a fold) and the folds' median number of optimiser steps to their best
   epoch, as epochs of the bigger training set. Steps rather than epochs, as in Goodfellow, Bengio and
   Courville, *Deep Learning*, 7.8 (algorithm 7.2): an epoch of all the images is more steps than an epoch
   of a fold's. No early stopping there: no image is left to stop on.
3. The test part, when one is kept, is predicted by the final model only.

Mirror images (``flips.py``): with ``flipped`` bottlenecks and the setting ``auto``, each fold trains its head
both without and with the mirror images (learning from them, and scoring each held-out image as the mean
with its mirror image's); the way with the lower out-of-fold loss is the one the final model takes and the
one whose predictions are returned (``CrossValResult.flips`` says which, with both losses).

Progress: ``on_stage(FitStage)`` when a fit starts (fold 2 of 5, the final model) and
``on_epoch(FoldEpoch)`` after each epoch of the fits that count, tagged with the fold (1..k, then ``FINAL``).
A fold's curves are its chosen L2 candidate's: streamed live when there is one candidate (L2 given), else
sent as soon as the fold has chosen. ``should_stop`` is polled between batches: a stopped run keeps the
completed folds' predictions, drops the fold in progress, and says whether the final model finished.

Speed: a fold's L2 candidates train together on the same minibatches (``head_search.py``: one wider matrix
product instead of five, the same result as five runs) and the winner is kept, not trained again. BLAS is
pinned to one thread (``head._single_thread_blas``: spinning OpenBLAS threads made these small products
ten times slower on a shared 2-core machine).
"""
from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imgclf_gui.core.support.notes import STAGE_FINAL_MODEL, STAGE_FOLD, Note, describe
from imgclf_gui.core.support.tasks_api import StopFn
from imgclf_gui.core.training.config import L2_CANDIDATES, L2_WITHOUT_VALIDATION, HeadOptions
from imgclf_gui.core.training.flips import FLIPS_OFF, FlipChoice, arms, choose, predict_both, training_rows
from imgclf_gui.core.training.folds import FoldAssignment, FoldChoice, inner_validation
from imgclf_gui.core.training.head import EpochMetrics, HeadModel, HeadResult, train_head
from imgclf_gui.core.training.head_search import train_head_candidates

__all__ = ["FINAL", "FitStage", "FoldEpoch", "FoldResult", "CrossValResult", "cross_validate",
           "final_settings"]

#: the ``fold`` of the final model's stages and epochs
FINAL = "final"
#: L2 used when it is automatic but no fold could choose it (no inner validation images)
DEFAULT_L2 = L2_WITHOUT_VALIDATION


@dataclass(frozen=True)
class FitStage:
    """A fit starts: fold ``fold`` of ``folds`` (1-based), or the final model (``fold == FINAL``).

    ``candidates`` is how many L2 strengths a fold tries (together; 1 when the L2 is given). The final
    model's stage says how many ``images`` it learns from and how many the ``test`` part keeps out.
    """

    fold: int | str
    folds: int
    candidates: int = 1
    images: int = 0
    test: int = 0
    mirrored: bool = False  #: the fold also trains with mirror images, to compare (setting ``auto``)

    @property
    def is_final(self) -> bool:
        return self.fold == FINAL

    def to_note(self) -> Note:
        """The stage as a ``Note`` (``stage.fold`` or ``stage.final_model``), as ``train`` hands it on."""
        if self.is_final:
            return Note(STAGE_FINAL_MODEL, {"folds": self.folds, "images": self.images, "test": self.test})
        values = {"fold": self.fold, "folds": self.folds, "candidates": self.candidates}
        return Note(STAGE_FOLD, {**values, "mirrored": True} if self.mirrored else values)

    def describe(self) -> str:
        """"Fold 2 of 5", "Fold 2 of 5: choosing regularisation among 5 strengths", "Final model, on all 240
        images" (``core/support/notes`` words it)."""
        return describe(self.to_note())


@dataclass(frozen=True)
class FoldEpoch:
    """One epoch of a fit that counts: ``fold`` 1..``folds``, or ``FINAL``; ``metrics`` as ``train_head``'s."""

    fold: int | str
    folds: int
    metrics: EpochMetrics


@dataclass
class FoldResult:
    """One fold's model as it was chosen, and how it did on the images it held out."""

    fold: int  # 1-based
    trained_on: int  # images (not counting augmented copies)
    validated_on: int  # inner validation images: what early stopping and the L2 choice looked at
    held_out: int
    l2: float
    best_epoch: int
    steps_per_epoch: int
    history: list[EpochMetrics]
    l2_search: dict[float, float] = field(default_factory=dict)  # candidate -> its best validation loss
    held_out_accuracy: float = 0.0
    held_out_loss: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"fold": self.fold, "trained_on": self.trained_on, "validated_on": self.validated_on,
                "held_out": self.held_out, "l2": self.l2, "best_epoch": self.best_epoch,
                "epochs_run": len(self.history), "l2_search": {f"{c:g}": v for c, v in self.l2_search.items()},
                "held_out_accuracy": self.held_out_accuracy, "held_out_loss": self.held_out_loss}


@dataclass
class CrossValResult:
    """Honest predictions of every image, each fold's outcome, and the final model.

    ``probabilities[i]`` is image ``i``'s predicted class probabilities from a model that never saw it: its
    fold's model, or the final model for the test part. Rows are NaN where no such prediction exists (the
    folds that a cancel left undone, or the test part when the final model was never trained).
    """

    probabilities: np.ndarray
    folds: list[FoldResult]
    choice: FoldChoice
    final: HeadResult | None = None
    final_l2: float | None = None
    final_epochs: int | None = None
    cancelled: bool = False
    #: whether the model uses mirror images and the out-of-fold losses that decided it (None: the folds
    #: were stopped before they finished)
    flips: FlipChoice | None = None

    @property
    def completed_folds(self) -> int:
        return len(self.folds)

    @property
    def final_complete(self) -> bool:
        """The final model trained for all its epochs (a cancel during it leaves a partly trained head)."""
        return self.final is not None and self.final.head is not None and not self.final.cancelled

    @property
    def head(self) -> HeadModel | None:
        """The final model's head (None when the run stopped before its first epoch)."""
        return self.final.head if self.final is not None else None

    @property
    def predicted(self) -> np.ndarray:
        """(N,) bool: which images have an honest prediction."""
        return ~np.isnan(self.probabilities).any(axis=1)

    def summary(self) -> dict[str, Any]:
        """JSON-able figures of the cross-validation (for ``model.json`` and ``run.json``)."""
        return {"folds": self.choice.to_dict(), "completed_folds": self.completed_folds,
                "final_complete": self.final_complete, "final_l2": self.final_l2,
                "final_epochs": self.final_epochs, "cancelled": self.cancelled,
                "flips": self.flips.to_dict() if self.flips is not None else None,
                "per_fold": [f.to_dict() for f in self.folds]}


def cross_validate(
    features: np.ndarray,
    y: np.ndarray,
    assignment: FoldAssignment,
    options: HeadOptions | None = None,
    *,
    num_classes: int,
    validation_percent: float = 10.0,
    augmented: np.ndarray | None = None,
    flipped: np.ndarray | None = None,
    flips: str = FLIPS_OFF,
    on_epoch: Callable[[FoldEpoch], None] | None = None,
    on_stage: Callable[[FitStage], None] | None = None,
    should_stop: StopFn = None,
) -> CrossValResult:
    """Train one head per fold for honest predictions, then the final head on every folded image.

    ``features`` (N, dim) and integer ``y`` (N,) are aligned with ``assignment.keys``; ``augmented``
    (N, variants, dim) adds the augmented copies of an image wherever that image is trained on (never
    where it is validated or held out); ``flipped`` (N, dim) are the mirror images' features, used as
    ``flips`` says ("auto": where they lower the out-of-fold loss, "on", "off"; see ``flips.py``).
    ``options.l2`` None means chosen per fold among ``L2_CANDIDATES``; ``validation_percent`` is each
    fold's inner validation share (0: no early stopping, default L2).
    """
    options = options or HeadOptions()
    features = np.ascontiguousarray(features, np.float32)
    y = np.asarray(y, np.int64)
    if not len(features) == len(y) == len(assignment.keys):
        raise ValueError(f"{len(features)} feature rows, {len(y)} labels and {len(assignment.keys)} fold keys: "
                         "they must describe the same images")
    k = assignment.k
    ways = arms(flips, flipped is not None)
    probabilities = {way: np.full((len(y), num_classes), np.nan, np.float32) for way in ways}
    fold_results: dict[bool, list[FoldResult]] = {way: [] for way in ways}
    # What a stop hands back: the first way's completed folds (the one streamed live)
    result = CrossValResult(probabilities[ways[0]], fold_results[ways[0]], assignment.choice)
    stage = on_stage or (lambda s: None)
    needs_validation = options.l2 is None or options.early_stopping
    for f in range(k):
        fold = f + 1
        training = assignment.training(f)
        inner_train, inner_val = inner_validation(assignment.keys, y, training,
                                                  validation_percent if needs_validation else 0, f)
        held = assignment.held_out(f)
        for n, way in enumerate(ways):
            if should_stop is not None and should_stop():
                result.cancelled = True
                return result
            # The first way's curves are streamed; a second (the comparison) trains quietly.
            announce = (lambda s: stage(dataclasses.replace(s, mirrored=len(ways) > 1))) if n == 0 else None
            outcome = _train_fold(features, y, augmented, flipped if way else None, inner_train, inner_val,
                                  options, num_classes, fold, k, announce, on_epoch if n == 0 else None, should_stop)
            if outcome is None:
                result.cancelled = True
                return result
            head, fold_result = outcome
            fold_result.held_out = len(held)
            if len(held):
                p = predict_both(head, features[held], flipped[held] if way else None)
                probabilities[way][held] = p
                fold_result.held_out_accuracy = float(np.mean(p.argmax(1) == y[held]))
                fold_result.held_out_loss = float(-np.mean(np.log(np.maximum(p[np.arange(len(held)), y[held]],
                                                                             1e-12))))
            fold_results[way].append(fold_result)

    result.flips = choose(flips if flipped is not None else FLIPS_OFF, probabilities, y, assignment.folded)
    way = result.flips.used
    result.probabilities, result.folds = probabilities[way], fold_results[way]
    if should_stop is not None and should_stop():
        result.cancelled = True
        return result
    mirrors = flipped if result.flips.used else None
    final_idx = assignment.folded
    train_x, train_y = training_rows(features, y, augmented, mirrors, final_idx)
    l2, epochs = final_settings(result.folds, options, len(train_y))
    result.final_l2, result.final_epochs = l2, epochs
    stage(FitStage(FINAL, k, images=len(final_idx), test=len(assignment.test)))
    final_options = dataclasses.replace(options, l2=l2, epochs=epochs, early_stopping=False)
    result.final = train_head(train_x, train_y, None, None, final_options,
                              _tagged(on_epoch, FINAL, k), should_stop, num_classes=num_classes,
                              standardize_on=features[final_idx])
    result.cancelled = result.final.cancelled
    test = assignment.test
    if len(test) and result.final.head is not None:
        result.probabilities[test] = predict_both(result.final.head, features[test],
                                                  mirrors[test] if mirrors is not None else None)
    return result


def final_settings(folds: list[FoldResult], options: HeadOptions, final_rows: int) -> tuple[float, int]:
    """(L2, epochs) for the final model from what the folds chose (see the module docstring).

    ``final_rows``: the rows the final model trains on (augmented copies included, as in the folds).
    """
    if options.l2 is not None:
        l2 = float(options.l2)
    else:
        searched = [f.l2 for f in folds if f.l2_search]
        l2 = float(statistics.median_low(searched)) if searched else DEFAULT_L2
    if not options.early_stopping or not folds or not any(f.validated_on for f in folds):
        return l2, int(options.epochs)
    steps = statistics.median(f.best_epoch * f.steps_per_epoch for f in folds)
    per_epoch = _steps_per_epoch(final_rows, options.batch_size)
    return l2, int(min(options.epochs, max(1, round(steps / per_epoch))))


def _steps_per_epoch(rows: int, batch_size: int) -> int:
    return max(1, math.ceil(rows / max(1, min(int(batch_size), max(rows, 1)))))


def _train_fold(features, y, augmented, flipped, inner_train, inner_val, options: HeadOptions, num_classes: int,
                fold: int, k: int, stage, on_epoch, should_stop) -> tuple[HeadModel, FoldResult] | None:
    """The fold's model (the best L2 candidate on its inner validation), or None when stopped. ``stage``
    None: say nothing (the fold's comparison with mirror images)."""
    stage = stage or (lambda s: None)
    train_x, train_y = training_rows(features, y, augmented, flipped, inner_train)
    have_val = len(inner_val) > 0
    val_x = features[inner_val] if have_val else None
    val_y = y[inner_val] if have_val else None
    if options.l2 is not None:
        candidates = [float(options.l2)]
    else:
        candidates = list(L2_CANDIDATES) if have_val else [DEFAULT_L2]
    live = len(candidates) == 1
    if live:
        stage(FitStage(fold, k))
        runs = [train_head(train_x, train_y, val_x, val_y, dataclasses.replace(options, l2=candidates[0]),
                           _tagged(on_epoch, fold, k), should_stop, num_classes=num_classes,
                           standardize_on=features[inner_train])]
    else:
        stage(FitStage(fold, k, candidates=len(candidates)))
        runs = train_head_candidates(train_x, train_y, val_x, val_y, options, candidates, num_classes=num_classes,
                                     standardize_on=features[inner_train], should_stop=should_stop)
    best: tuple[float, float, HeadResult] | None = None
    search: dict[float, float] = {}
    for l2, run in zip(candidates, runs):
        if run.cancelled or run.head is None:
            return None
        loss = run.history[run.best_epoch - 1].val_loss if have_val and run.history else None
        if loss is not None:
            search[l2] = float(loss)
        if best is None or (loss is not None and loss < best[1]):
            best = (l2, math.inf if loss is None else float(loss), run)
    assert best is not None
    l2, _loss, run = best
    if not live and on_epoch is not None:
        for m in run.history:
            on_epoch(FoldEpoch(fold, k, m))
    return run.head, FoldResult(
        fold=fold, trained_on=len(inner_train), validated_on=len(inner_val), held_out=0, l2=l2,
        best_epoch=run.best_epoch, steps_per_epoch=_steps_per_epoch(len(train_y), options.batch_size),
        history=list(run.history), l2_search=search if len(candidates) > 1 else {})


def _tagged(on_epoch: Callable[[FoldEpoch], None] | None, fold: int | str, k: int):
    if on_epoch is None:
        return None
    return lambda m: on_epoch(FoldEpoch(fold, k, m))
