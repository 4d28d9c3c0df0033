"""Suggestions for the inbox: a class and a confidence for every image not sorted yet (no Qt).

The suggestions come from a *quick model*: a head trained in seconds on the cached bottlenecks of the images
already sorted, retrained as the user sorts more (the app after every K labels, the preference
``suggest_retrain_every``). It is a suggestion engine only: it never replaces the user's training runs or
the active model. Before it can be
trained (at least two classes of ``MIN_PER_CLASS`` images with cached bottlenecks) the project's active run
may stand in (:mod:`imgclf_gui.core.review.inbox`).

Entry points:

- :func:`train_quick_model` (labelled vectors -> :class:`QuickModel`), :func:`can_train_quick`;
- :func:`suggest` (a model's scores of vectors -> :class:`Suggestions`, looked up by content hash, so an
  image keeps its suggestion when it is moved and moved back);
- :func:`order_paths` (least certain first, most certain first, by name) and :func:`accept_plan` (what
  "Accept all at or above N%" moves where), :func:`whole_percent` (THE rounding of a shown confidence,
  so a badge that says 95% is accepted at 95%);
- :func:`csv_text` (``imgclf suggest --csv``).

Why this model (measured by ``benchmarks/bench_assisted.py`` on EfficientNet-Lite0 features of
Fashion-MNIST and digits): a softmax head with L2 0.01 and no early stopping learns from 20 images or
20,000 alike; its raw confidence is a little too sure on hard sets, so a temperature (never below 1: it only
ever makes the model less sure) is fitted on out-of-fold predictions of 3 folds of the sorted images. On
Fashion-MNIST that took "accept at or above 95%" from 95.4-96.9% precise to 97% or more.
"""
from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from imgclf_gui.core.support.tasks_api import StopFn, check_stop

__all__ = ["MIN_PER_CLASS", "MIN_CLASSES", "ACCEPT_AT", "ORDERS", "ORDER_NAME", "ORDER_LEAST_CERTAIN",
           "ORDER_MOST_CERTAIN", "SuggestionSource", "QuickModel", "Suggestion", "Suggestions", "can_train_quick",
           "train_quick_model", "suggest", "order_paths", "at_or_above", "accept_plan", "whole_percent", "csv_text"]

#: images (with cached bottlenecks) a class needs, in at least MIN_CLASSES classes, before a quick model
MIN_PER_CLASS = 5
MIN_CLASSES = 2
#: the threshold "Accept all at or above N%" offers first
ACCEPT_AT = 0.95

ORDER_LEAST_CERTAIN, ORDER_MOST_CERTAIN, ORDER_NAME = "least_certain", "most_certain", "name"
#: the inbox orders, (value, words) in the order a menu offers them
ORDERS: tuple[tuple[str, str], ...] = ((ORDER_NAME, "by name"), (ORDER_LEAST_CERTAIN, "least certain first"),
                                       (ORDER_MOST_CERTAIN, "most certain first"))

QUICK_L2 = 0.01
CALIBRATION_FOLDS = 3
# Optimiser steps, not epochs, make a head learn: ``_STEPS`` of them (bounded by the epoch limits), so 15
# images are learnt as well as 1,500 and 20,000 stay quick.
_STEPS, _MIN_EPOCHS, _MAX_EPOCHS = 600, 20, 300
_BATCH = 128
_SCORE_ROWS = 4096  # scored at a time: bounded memory for any inbox
_ROUNDING = 1e-4  # percent points: a float32 0.95 (0.94999999) is 95%


@dataclass(frozen=True)
class SuggestionSource:
    """Where suggestions come from, in words: a quick model (how many images, how long ago) or a run."""

    kind: str  #: "quick" or "run"
    images: int  #: sorted images it learnt from
    trained_at: float  #: ``time.time()`` when it was made
    title: str = ""  #: a run's title (``runs.run_title``)

    def describe(self, now: float | None = None) -> str:
        """"a model trained on 312 images, 40 s ago" / "the active model (run of 2026-11-29 04:47, ...)"."""
        if self.kind == "run":
            return f"the active model ({self.title})" if self.title else "the active model"
        from imgclf_gui.core.support.clock import format_duration

        age = max(0.0, (time.time() if now is None else now) - self.trained_at)
        when = "just now" if age < 5 else f"{format_duration(age)} ago"
        noun = "image" if self.images == 1 else "images"
        return f"a model trained on {self.images} {noun}, {when}"


@dataclass
class QuickModel:
    """A head and the temperature its logits are divided by; scores only ``class_names``."""

    head: object  #: ``core.training.head.HeadModel``
    temperature: float
    class_names: list[str]
    images: int  #: sorted images it learnt from
    _folded: tuple[np.ndarray, np.ndarray] | bool | None = field(default=None, repr=False, compare=False)

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities (N, classes) of bottleneck vectors (N, dim)."""
        if self._folded is None:
            self._folded = _fold(self.head, self.temperature)
        if self._folded is False:
            return _softmax(self.head.logits(features) / self.temperature)  # type: ignore[attr-defined]
        weights, bias = self._folded
        return _softmax(np.asarray(features, np.float32) @ weights + bias)


def _fold(head: object, temperature: float) -> tuple[np.ndarray, np.ndarray] | bool:
    """A one-layer head's standardisation and temperature folded into its weights: scoring is then one
    matrix product, with no (N, dim) temporary (20,000 camera photos: 100 MB less, twice as fast).
    False for a head with a hidden layer."""
    layers = head.layers  # type: ignore[attr-defined]
    if len(layers) != 1:
        return False
    w, b = layers[0]
    mean, std = head.mean.astype(np.float64), head.std.astype(np.float64)  # type: ignore[attr-defined]
    weights = w.astype(np.float64) / std[:, None]
    bias = b.astype(np.float64) - mean @ weights
    return (weights / temperature).astype(np.float32), (bias / temperature).astype(np.float32)


def can_train_quick(counts: Mapping[str, int]) -> bool:
    """Whether classes with these counts of cached images are enough for a quick model."""
    return sum(1 for n in counts.values() if n >= MIN_PER_CLASS) >= MIN_CLASSES


def train_quick_model(features: np.ndarray, labels: Sequence[str], *, seed: int = 0,
                      should_stop: StopFn = None) -> QuickModel:
    """A quick model of ``features`` (N, dim) sorted into ``labels`` (a class name per row).

    Classes are those present, in sorted order (a class with no image can never be suggested). Raises
    ``ValueError`` when :func:`can_train_quick` says no, ``Cancelled`` when ``should_stop`` turns true.
    """
    from imgclf_gui.core.training.head import HeadOptions, train_head

    names = sorted(set(labels))
    counts = {name: 0 for name in names}
    for label in labels:
        counts[label] += 1
    if not can_train_quick(counts):
        raise ValueError(f"a quick model needs {MIN_CLASSES} classes of {MIN_PER_CLASS} images")
    x = np.ascontiguousarray(features, np.float32)
    index = {name: i for i, name in enumerate(names)}
    y = np.array([index[label] for label in labels], np.int64)
    batches = math.ceil(len(y) / _BATCH)
    epochs = int(min(_MAX_EPOCHS, max(_MIN_EPOCHS, math.ceil(_STEPS / batches))))
    options = HeadOptions(l2=QUICK_L2, epochs=epochs, early_stopping=False, batch_size=_BATCH, seed=seed)

    def fit(rows: np.ndarray) -> object:
        check_stop(should_stop)
        result = train_head(x[rows], y[rows], None, None, options, num_classes=len(names), should_stop=should_stop)
        check_stop(should_stop)
        return result.head

    everything = np.arange(len(y))
    head = fit(everything)
    temperature = _fit_temperature(x, y, len(names), fit, seed)
    return QuickModel(head, temperature, names, len(y))


def _fit_temperature(x: np.ndarray, y: np.ndarray, k: int, fit, seed: int) -> float:
    """The temperature (>= 1) that best explains out-of-fold predictions of the sorted images (lowest
    log loss over a grid); 1 when a class has too few images for folds."""
    counts = np.bincount(y, minlength=k)
    present = counts[counts > 0]
    if present.min() < CALIBRATION_FOLDS:
        return 1.0
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), np.int64)
    for c in range(k):
        rows = rng.permutation(np.flatnonzero(y == c))
        fold[rows] = np.arange(len(rows)) % CALIBRATION_FOLDS
    logits = np.zeros((len(y), k), np.float32)
    for f in range(CALIBRATION_FOLDS):
        trained = np.flatnonzero(fold != f)
        head = fit(trained)
        held = fold == f
        logits[held] = head.logits(x[held])  # type: ignore[attr-defined]
    best_t, best_loss = 1.0, math.inf
    for t in np.exp(np.linspace(0.0, math.log(5.0), 40)):
        p = _softmax(logits / t)
        loss = float(-np.log(np.maximum(p[np.arange(len(y)), y], 1e-12)).mean())
        if loss < best_loss:
            best_t, best_loss = float(t), loss
    return best_t


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


@dataclass(frozen=True)
class Suggestion:
    """One image's suggestion."""

    class_name: str
    confidence: float  #: probability of ``class_name``
    margin: float  #: its lead over the second class (0 = a coin toss, 1 = sure)

    @property
    def badge(self) -> str:
        """"circle 97%" (the confidence as :func:`whole_percent` rounds it)."""
        return f"{self.class_name} {whole_percent(self.confidence)}%"


@dataclass
class Suggestions:
    """Scores of many images by one model, looked up by content hash."""

    class_names: list[str]
    hashes: list[str]  #: content hash per row
    scores: np.ndarray  #: (N, classes) probabilities
    source: SuggestionSource
    best: np.ndarray = field(init=False)  #: (N,) index of the suggested class
    confidence: np.ndarray = field(init=False)  #: (N,)
    margin: np.ndarray = field(init=False)  #: (N,) top score minus the second
    _rows: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        scores = np.asarray(self.scores, np.float32).reshape(len(self.hashes), len(self.class_names))
        self.scores = scores
        self.best = scores.argmax(axis=1) if len(scores) else np.zeros(0, np.int64)
        if scores.shape[1] >= 2 and len(scores):
            top2 = np.partition(scores, scores.shape[1] - 2, axis=1)[:, -2:]
            self.confidence, self.margin = top2[:, 1].copy(), top2[:, 1] - top2[:, 0]
        else:
            self.confidence = scores.max(axis=1) if len(scores) else np.zeros(0, np.float32)
            self.margin = self.confidence.copy()
        self._rows = {h: i for i, h in enumerate(self.hashes)}

    def __len__(self) -> int:
        return len(self.hashes)

    def row(self, digest: str | None) -> int | None:
        return None if digest is None else self._rows.get(digest)

    def extended(self, hashes: Sequence[str], scores: np.ndarray) -> Suggestions:
        """These suggestions and those of more contents (scored by the same model); known ones are kept."""
        new = [i for i, h in enumerate(hashes) if h not in self._rows]
        if not new:
            return self
        return Suggestions(self.class_names, self.hashes + [hashes[i] for i in new],
                           np.concatenate([self.scores, np.asarray(scores, np.float32)[new]]), self.source)

    def of(self, digest: str | None) -> Suggestion | None:
        """The suggestion for an image of this content hash, or None when it was not scored."""
        row = self.row(digest)
        if row is None:
            return None
        return Suggestion(self.class_names[int(self.best[row])], float(self.confidence[row]), float(self.margin[row]))


def suggest(model: object, hashes: Sequence[str], features: np.ndarray, source: SuggestionSource,
            *, should_stop: StopFn = None) -> Suggestions:
    """Score ``features`` (N, dim; row i has content hash ``hashes[i]``) with ``model`` (anything with
    ``predict_proba`` and ``class_names``), in bounded chunks."""
    names = list(model.class_names)  # type: ignore[attr-defined]
    scores = np.zeros((len(hashes), len(names)), np.float32)
    for start in range(0, len(hashes), _SCORE_ROWS):
        check_stop(should_stop)
        scores[start:start + _SCORE_ROWS] = model.predict_proba(  # type: ignore[attr-defined]
            np.asarray(features[start:start + _SCORE_ROWS], np.float32))
    return Suggestions(names, list(hashes), scores, source)


def whole_percent(confidence: float) -> int:
    """A confidence as the whole percent shown and compared: rounded DOWN, so 94.6% shows as 94% and is
    not accepted at 95%, and nothing short of certain shows as 100%."""
    return int(math.floor(float(confidence) * 100 + _ROUNDING))


def _rows_of(paths: Sequence[Path], hash_of: Mapping[Path, str], suggestions: Suggestions) -> np.ndarray:
    """Each path's row in ``suggestions`` (-1: none), in one pass (20,000 paths: milliseconds)."""
    rows = suggestions._rows
    return np.fromiter((rows.get(hash_of.get(p, ""), -1) for p in paths), np.int64, len(paths))


def order_paths(paths: Sequence[Path], hash_of: Mapping[Path, str], suggestions: Suggestions | None,
                order: str) -> list[Path]:
    """``paths`` in the inbox order ``order`` (``ORDERS``): by name (as the grid lists a folder), or by the
    margin between the top two classes, least or most certain first (ties by name). Images without a
    suggestion yet follow, by name."""
    by_name = sorted(paths, key=str)
    if order == ORDER_NAME or suggestions is None:
        return by_name
    rows = _rows_of(by_name, hash_of, suggestions)
    scored = np.flatnonzero(rows >= 0)
    margins = suggestions.margin[rows[scored]]
    ranked = scored[np.argsort(margins if order == ORDER_LEAST_CERTAIN else -margins, kind="stable")]
    return [by_name[i] for i in ranked] + [by_name[i] for i in np.flatnonzero(rows < 0)]


def at_or_above(confidence: float, threshold: float) -> bool:
    """THE accept rule: ``confidence`` (0..1) is at or above ``threshold`` (0..1) as a person reads the
    shown percentages (a badge showing 95% is at or above 95%; one showing 94% is not)."""
    return float(confidence) * 100 + _ROUNDING >= float(threshold) * 100


def accept_plan(paths: Sequence[Path], hash_of: Mapping[Path, str], suggestions: Suggestions | None,
                threshold: float) -> dict[str, list[Path]]:
    """Class -> the images of ``paths`` whose suggestion is that class :func:`at_or_above` ``threshold``
    (0..1); classes in the model's order, images by name."""
    if suggestions is None:
        return {}
    by_name = sorted(paths, key=str)
    rows = _rows_of(by_name, hash_of, suggestions)
    found = np.flatnonzero(rows >= 0)
    # the same comparison as at_or_above, on every row at once
    taken = found[suggestions.confidence[rows[found]].astype(np.float64) * 100 + _ROUNDING >= float(threshold) * 100]
    best = suggestions.best[rows[taken]]
    return {name: [by_name[i] for i in taken[best == c]] for c, name in enumerate(suggestions.class_names)
            if (best == c).any()}


def csv_text(rows: Sequence[tuple[str, Suggestion | None, np.ndarray | None]], class_names: Sequence[str]) -> str:
    """CSV of ``(path text, suggestion, scores)`` rows: ``path, suggested, confidence`` and one score per
    class; an image without a suggestion has empty cells."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["path", "suggested", "confidence", *class_names])
    for path, found, scores in rows:
        if found is None or scores is None:
            writer.writerow([path, "", "", *([""] * len(class_names))])
        else:
            writer.writerow([path, found.class_name, f"{found.confidence:.6f}", *(f"{v:.6f}" for v in scores)])
    return buf.getvalue()
