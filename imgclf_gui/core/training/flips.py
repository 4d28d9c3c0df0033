"""Mirror images, decided per project by the folds: learn from each image's mirror image too, and score an
image as the mean of its own and its mirror image's scores, only where that lowers the out-of-fold loss.

Photos of cats look as much like cats flipped left to right; icons with text, flags, clocks or a left/right
class do not. So the folds decide (setting ``flips``: :data:`FLIPS_AUTO`, the default): each fold trains
its head both ways on the same images, every image gets an honest prediction both ways, and the way with
the lower out-of-fold loss (mean cross-entropy of the true class) is the one the final model takes. Forced
on or off, the folds train only that way. The mirror image is the network input flipped
(``features.extraction.mirrored``), whose bottleneck is cached like an augmented copy, so the decision
costs one more pass of the network per image, once.

Entry points: :class:`FlipChoice` (what was decided and on what figures), :func:`arms` (which ways the
folds train), :func:`training_rows`, :func:`predict_both`, :func:`choose`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from imgclf_gui.core.support.notes import FLIPS_CHOSEN, Note, describe

__all__ = ["FLIPS_AUTO", "FLIPS_ON", "FLIPS_OFF", "FLIP_SETTINGS", "FlipChoice", "arms", "training_rows",
           "predict_both", "out_of_fold_loss", "choose"]

FLIPS_AUTO, FLIPS_ON, FLIPS_OFF = "auto", "on", "off"
FLIP_SETTINGS = (FLIPS_AUTO, FLIPS_ON, FLIPS_OFF)
#: a probability is never taken as smaller than this in a loss (log(0) is -inf)
_FLOOR = 1e-12


@dataclass(frozen=True)
class FlipChoice:
    """Whether the model uses mirror images, why (``setting``), and the out-of-fold losses compared (None
    where that way was not trained: a forced setting, or folds stopped before they finished)."""

    setting: str
    used: bool
    loss_without: float | None = None
    loss_with: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"setting": self.setting, "used": self.used, "loss_without": self.loss_without,
                "loss_with": self.loss_with}

    def to_note(self) -> Note:
        return Note(FLIPS_CHOSEN, self.to_dict())

    def describe(self) -> str:
        """"Mirror images: used, as the folds chose (out-of-fold loss 0.2130 with them, 0.2450 without)."
        (``core/support/notes`` words it)."""
        return describe(self.to_note())


def arms(setting: str, have_flipped: bool) -> list[bool]:
    """The ways the folds train (False: without mirror images, True: with), the first one streamed live."""
    if setting == FLIPS_OFF or not have_flipped:
        return [False]
    return [True] if setting == FLIPS_ON else [False, True]


def training_rows(features: np.ndarray, y: np.ndarray, augmented: np.ndarray | None, flipped: np.ndarray | None,
                  idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``idx`` plus, when there are any, their augmented copies and their mirror images (same labels)."""
    x, labels = [features[idx]], [y[idx]]
    if augmented is not None and augmented.shape[1] and len(idx):
        x.append(augmented[idx].reshape(-1, augmented.shape[-1]))
        labels.append(np.repeat(y[idx], augmented.shape[1]))
    if flipped is not None and len(idx):
        x.append(flipped[idx])
        labels.append(y[idx])
    if len(x) == 1:
        return x[0], labels[0]
    return np.concatenate(x), np.concatenate(labels)


def predict_both(head: Any, features: np.ndarray, flipped: np.ndarray | None) -> np.ndarray:
    """The head's probabilities for ``features``; with ``flipped``, the mean with the mirror images' (as
    ``ModelBundle.predict_features`` of a model that uses them)."""
    p = head.predict_proba(features)
    if flipped is None:
        return p
    return ((p + head.predict_proba(flipped)) * np.float32(0.5)).astype(np.float32)


def out_of_fold_loss(probabilities: np.ndarray, y: np.ndarray, rows: np.ndarray) -> float:
    """Mean cross-entropy of the true class over ``rows``."""
    if len(rows) == 0:
        return float("nan")
    p = probabilities[rows, y[rows]]
    return float(-np.mean(np.log(np.maximum(p, _FLOOR))))


def choose(setting: str, probabilities: dict[bool, np.ndarray], y: np.ndarray, rows: np.ndarray) -> FlipChoice:
    """The way the final model takes: the one trained when there was one, else the lower out-of-fold loss on
    ``rows`` (the images both ways predicted); a tie keeps the plain way."""
    losses = {arm: out_of_fold_loss(p, y, rows) for arm, p in probabilities.items()}
    if len(losses) == 1:
        (arm, loss), = losses.items()
        return FlipChoice(setting, arm, None if arm else loss, loss if arm else None)
    used = bool(losses[True] < losses[False])
    return FlipChoice(setting, used, losses[False], losses[True])
