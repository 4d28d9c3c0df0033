"""Scores of a trained model on labelled images it was not trained on.

Everything is computed from predicted probabilities and true class indices with numpy, so the same code
scores the out-of-fold predictions of a cross-validated training (every labelled image, each predicted by a
fold model that never saw it), the held-out test part when one is kept, a labelled folder
(``imgclf evaluate``) and the benchmarks. ``EvaluationReport.part`` says which of these was scored.
"""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: what a report scored (``EvaluationReport.part``)
PART_OUT_OF_FOLD = "out-of-fold"  # every image, predicted by the fold model that held it out
PART_TEST = "test"  # the held-out test part, predicted by the final model
PART_VALIDATION = "validation"  # older runs without a test part
PART_FOLDER = "folder"  # a labelled folder (imgclf evaluate)


def wilson_interval(correct: int, count: int, z: float = 1.959964) -> tuple[float, float]:
    """95% confidence interval of a proportion (Wilson score interval); (0, 1) when ``count`` is 0.

    Unlike the normal approximation it stays inside 0..1 and is honest for small counts and for scores
    near 100%: 58 right out of 60 gives 88.6%..99.1%, not 92.1%..101.2%.
    """
    if count <= 0:
        return 0.0, 1.0
    p = correct / count
    denom = 1 + z * z / count
    centre = (p + z * z / (2 * count)) / denom
    half = z * math.sqrt(p * (1 - p) / count + z * z / (4 * count * count)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class ClassScores:
    name: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class Mistake:
    """One misclassified image: the top losses of fastai, with the file name it leaves out."""

    path: str
    true: str
    predicted: str
    confidence: float  # probability of the predicted class
    loss: float  # -log p(true class); larger = worse


@dataclass
class EvaluationReport:
    """Accuracy, per-class table, confusion matrix (rows true, columns predicted) and mistakes."""

    accuracy: float
    class_names: list[str]
    confusion: np.ndarray
    per_class: list[ClassScores]
    mistakes: list[Mistake] = field(default_factory=list)
    part: str = PART_TEST  # which images were scored: one of the PART_* names above
    count: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # images that could not be read: path -> reason
    folds: int = 0  # with part == PART_OUT_OF_FOLD: how many fold models made the predictions

    @property
    def correct(self) -> int:
        return int(round(self.accuracy * self.count))

    @property
    def accuracy_interval(self) -> tuple[float, float]:
        """95% interval of the accuracy (Wilson): how far the score may be from the truth by chance."""
        return wilson_interval(self.correct, self.count)

    @property
    def scored_on(self) -> str:
        """Which images the score rests on, in words: "1,000 images, each predicted by one of 5 models that
        never saw it", "120 test images never used for any choice", ..."""
        n = f"{self.count:,} image{'' if self.count == 1 else 's'}"
        if self.part == PART_OUT_OF_FOLD:
            return (f"{n}, each predicted by one of {self.folds or 'the'} fold models that never saw it "
                    "(cross-validation)")
        if self.part == PART_TEST:
            return f"{self.count:,} test images never used for any choice"
        if self.part == PART_VALIDATION:
            return f"{self.count:,} validation images"
        return n

    @property
    def macro_f1(self) -> float:
        scored = [c.f1 for c in self.per_class if c.support > 0]
        return float(np.mean(scored)) if scored else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "part": self.part,
            "count": self.count,
            "accuracy": self.accuracy,
            "accuracy_interval": list(self.accuracy_interval),
            "macro_f1": self.macro_f1,
            "class_names": list(self.class_names),
            "confusion": self.confusion.astype(int).tolist(),
            "per_class": [asdict(c) for c in self.per_class],
            "mistakes": [asdict(m) for m in self.mistakes],
            "failed": dict(self.failed),
            "folds": self.folds,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvaluationReport:
        return cls(
            accuracy=float(data["accuracy"]),
            class_names=list(data["class_names"]),
            confusion=np.array(data["confusion"], dtype=np.int64).reshape(len(data["class_names"]), -1),
            per_class=[ClassScores(**c) for c in data["per_class"]],
            mistakes=[Mistake(**m) for m in data.get("mistakes", [])],
            part=data.get("part", PART_TEST),
            count=int(data.get("count", 0)),
            failed=dict(data.get("failed", {})),
            folds=int(data.get("folds") or 0),
        )

    def format_text(self, max_mistakes: int = 20) -> str:
        """A plain-text report for the terminal: accuracy, per-class table, confusion matrix, top losses."""
        low, high = self.accuracy_interval
        lines = [f"Accuracy on {self.scored_on}: {self.accuracy:.1%}"
                 f"  (95% interval {low:.1%} to {high:.1%}; macro F1 {self.macro_f1:.3f})"]
        width = max([len(n) for n in self.class_names] + [5])
        lines.append(f"{'class':<{width}}  precision  recall     f1  support")
        for c in self.per_class:
            lines.append(f"{c.name:<{width}}  {c.precision:9.3f}  {c.recall:6.3f}  {c.f1:5.3f}  {c.support:7d}")
        lines.append("Confusion matrix (rows: true class, columns: predicted, in the order above):")
        cell = max(4, len(str(int(self.confusion.max()) if self.confusion.size else 0)) + 1)
        for name, row in zip(self.class_names, self.confusion):
            lines.append(f"{name:<{width}} " + "".join(f"{int(v):>{cell}}" for v in row))
        if self.mistakes:
            shown = self.mistakes[:max_mistakes]
            lines.append(f"Misclassified ({len(self.mistakes)}, worst first"
                         + (f", first {len(shown)} shown" if len(shown) < len(self.mistakes) else "") + "):")
            for m in shown:
                lines.append(f"  {m.path}: {m.true} -> {m.predicted} ({m.confidence:.1%})")
        if self.failed:
            lines.append(f"Could not read {len(self.failed)} image(s):")
            lines.extend(f"  {p}: {r}" for p, r in sorted(self.failed.items()))
        return "\n".join(lines)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts (num_classes x num_classes), rows = true class, columns = predicted class."""
    cm = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(cm, (np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)), 1)
    return cm


def per_class_scores(cm: np.ndarray, class_names: Sequence[str]) -> list[ClassScores]:
    """Precision, recall and F1 per class from a confusion matrix (0 where undefined, as scikit-learn)."""
    tp = np.diag(cm).astype(np.float64)
    predicted = cm.sum(axis=0).astype(np.float64)
    actual = cm.sum(axis=1).astype(np.float64)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return [ClassScores(str(n), float(p), float(r), float(f), int(s))
            for n, p, r, f, s in zip(class_names, precision, recall, f1, actual)]


def evaluate_probabilities(
    probabilities: np.ndarray,
    y_true: np.ndarray,
    class_names: Sequence[str],
    paths: Sequence[str | Path] | None = None,
    *,
    part: str = PART_TEST,
    folds: int = 0,
) -> EvaluationReport:
    """Score predicted ``probabilities`` (N, classes) against true class indices ``y_true`` (N,).

    Mistakes are sorted worst first by the loss on the true class, then by path for equal losses.
    ``part`` (and ``folds`` for out-of-fold predictions) say what was scored.
    """
    probabilities = np.asarray(probabilities, np.float64)
    y_true = np.asarray(y_true, np.int64)
    k = len(class_names)
    n = len(y_true)
    if n == 0:
        return EvaluationReport(0.0, list(class_names), np.zeros((k, k), np.int64),
                                per_class_scores(np.zeros((k, k), np.int64), class_names), [], part, 0,
                                folds=folds)
    y_pred = probabilities.argmax(axis=1)
    cm = confusion_matrix(y_true, y_pred, k)
    mistakes = []
    if paths is not None:
        for i in np.flatnonzero(y_pred != y_true):
            p_true = float(probabilities[i, y_true[i]])
            mistakes.append(Mistake(str(paths[i]), class_names[y_true[i]], class_names[y_pred[i]],
                                    float(probabilities[i, y_pred[i]]), float(-np.log(max(p_true, 1e-12)))))
        mistakes.sort(key=lambda m: (-m.loss, m.path))
    return EvaluationReport(float(np.mean(y_pred == y_true)), list(class_names), cm,
                            per_class_scores(cm, class_names), mistakes, part, n, folds=folds)
