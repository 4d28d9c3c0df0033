"""What core tells its callers besides results, as data: a ``Note`` is a kind plus values.

Core never hands over sentences to be parsed back: the GUI and the command line look at ``note.kind``
(and its values) to decide what to show, and ``describe(note)`` gives the one wording of it, the same in
the app, on the command line and in a run's ``run.json``. A new kind is a constant below plus one line
in ``_WORDS``; ``describe`` of a kind nobody worded still says something readable.

Kinds are grouped by who raises them: ``stage.*`` (a step of a long job starts), ``features.*`` (the
bottleneck cache), ``data.*`` (the images), ``head.*`` (training the head), ``run.*`` (the run as a whole),
``state.*`` (imgclf's own files in ``.imgclf/``: a damaged one set aside).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Note", "describe"]


@dataclass(frozen=True)
class Note:
    """One thing worth telling a person: ``kind`` (one of the constants below) and its ``values``.

    Values are plain JSON types (str, int, float, bool, lists and dicts of them) so a note can be stored.
    """

    kind: str
    values: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return describe(self)

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": ..., "values": {...}}`` for JSON files."""
        return {"kind": self.kind, "values": dict(self.values)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Note:
        values = data.get("values")
        return cls(str(data.get("kind", "")), dict(values) if isinstance(values, Mapping) else {})


# -- stages of a long job (``on_stage``) ---------------------------------------------------------------
STAGE_CHECKING = "stage.checking"
STAGE_PREPARING_BACKBONE = "stage.preparing_backbone"  # backbone (display name); first use only
STAGE_EXTRACTING = "stage.extracting"
STAGE_CHOOSING_L2 = "stage.choosing_l2"  # step, steps, l2
STAGE_TRAINING = "stage.training"
STAGE_FOLD = "stage.fold"  # fold, folds (1-based), candidates (L2 strengths tried together; 1: L2 given),
#   mirrored (optional, True: the fold also trains with mirror images, to compare)
STAGE_FINAL_MODEL = "stage.final_model"  # folds, images (it trains on), test (images kept out)
STAGE_EVALUATING = "stage.evaluating"

# -- the bottleneck cache (``ExtractionResult.warnings``, ``FeatureStore.notes``) -----------------------
CACHE_ELSEWHERE = "features.cache_elsewhere"  # reason, folder
CACHE_UNAVAILABLE = "features.cache_unavailable"  # reason, fallback_reason, folder
CACHE_WRITE_FAILED = "features.cache_write_failed"  # reason
HASH_INDEX_NOT_SAVED = "features.hash_index_not_saved"  # reason
CACHE_IGNORED = "features.cache_ignored"  # path
CACHE_RESTARTED = "features.cache_restarted"
CACHE_RECORDS_DROPPED = "features.cache_records_dropped"  # count
CACHE_TAIL_CUT = "features.cache_tail_cut"

# -- imgclf's own state files (``support.safe_files.set_aside``, ``review.project_state``) -----------------
STATE_SET_ASIDE = "state.set_aside"  # what, path, reason, moved_to, consequence
STATE_DAMAGED_IGNORED = "state.damaged_ignored"  # what, path, reason, error, consequence (could not rename)
STATE_DAMAGED_GONE = "state.damaged_gone"  # what, path, reason, consequence (vanished meanwhile)

# -- the images (``check_dataset``, ``train``) -------------------------------------------------------
FEW_IMAGES = "data.few_images"  # classes: [[name, count], ...], minimum, recommended, ideal
UNBALANCED = "data.unbalanced"  # big, big_count, small, small_count
UNREADABLE_SKIPPED = "data.unreadable_skipped"  # count (the paths and reasons are in ``failed``)
SPLIT_FAILED = "data.split_failed"  # reason
FOLDS_REDUCED = "data.folds_reduced"  # folds, requested, smallest_class, smallest_count
SINGLE_IMAGE_CLASS = "data.single_image_class"  # name: a class whose images are all one picture
FOLDS_NOT_SAVED = "data.folds_not_saved"  # reason

# -- training the head --------------------------------------------------------------------------------
NO_VALIDATION = "head.no_validation"  # l2
L2_CHOSEN = "head.l2_chosen"  # losses: {"1e-4": loss, ...}, chosen
CROSSVAL_CHOSE = "head.crossval_chose"  # folds, l2s (per fold), searched (bool), final_l2, final_epochs, images
FLIPS_CHOSEN = "head.flips_chosen"  # setting (auto/on/off), used (bool), loss_without, loss_with (None: not trained)
NOT_SCORED = "run.not_scored"
STOPPED_IN_FOLDS = "run.stopped_in_folds"  # completed, folds
STOPPED_IN_FINAL = "run.stopped_in_final"  # epochs_done, epochs


def _flips_words(v: dict) -> str:
    """"Mirror images: used, as the folds chose (out-of-fold loss 0.2130 with them, 0.2450 without)."."""
    used, setting = v["used"], v["setting"]
    with_, without = v.get("loss_with"), v.get("loss_without")
    if setting == "off":
        return "Mirror images: not used (turned off in the settings)."
    if setting == "on":
        loss = f" (out-of-fold loss {with_:.4f})" if with_ is not None else ""
        return f"Mirror images: used, as set{loss}."
    if with_ is None or without is None:
        return f"Mirror images: {'used' if used else 'not used'} (the folds did not finish comparing)."
    if f"{with_:.4f}" == f"{without:.4f}":  # mirror-symmetric pictures: nothing to gain, the simpler model
        return f"Mirror images: not used, as the folds chose (out-of-fold loss {without:.4f} either way)."
    first, second = (with_, without) if used else (without, with_)
    return (f"Mirror images: {'used' if used else 'not used'}, as the folds chose (out-of-fold loss "
            f"{first:.4f} {'with them' if used else 'without them'}, {second:.4f} {'without' if used else 'with'}).")


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _classes(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{name!r} ({count})" for name, count in values.get("classes", []))


_WORDS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    STAGE_CHECKING: lambda v: "Checking the images",
    STAGE_PREPARING_BACKBONE: lambda v: f"Preparing {v['backbone']} (first use only)",
    STAGE_EXTRACTING: lambda v: "Extracting features",
    STAGE_CHOOSING_L2: lambda v: f"Choosing regularisation ({v['step']}/{v['steps']}, L2 {v['l2']:g})",
    STAGE_TRAINING: lambda v: "Training",
    STAGE_FOLD: lambda v: (f"Fold {v['fold']} of {v['folds']}" + (
        f": choosing regularisation among {v['candidates']} strengths" if v.get("candidates", 1) > 1 else "")
        + (", with and without mirror images" if v.get("mirrored") else "")),
    STAGE_FINAL_MODEL: lambda v: (f"Final model, on the {_count(v['images'], 'image')} outside the test part"
                                  if v.get("test") else f"Final model, on all {_count(v['images'], 'image')}"),
    STAGE_EVALUATING: lambda v: "Evaluating",
    CACHE_ELSEWHERE: lambda v: (f"Features cannot be cached in the project folder ({v['reason']}); "
                                f"they are cached in {v['folder']} instead."),
    CACHE_UNAVAILABLE: lambda v: (f"Features cannot be cached ({v['reason']}; {v['fallback_reason']} in "
                                  f"{v['folder']}): they are computed for this run only."),
    CACHE_WRITE_FAILED: lambda v: (f"The feature cache could not be written ({v['reason']}); features of this "
                                   "run will be computed again next time."),
    HASH_INDEX_NOT_SAVED: lambda v: f"The file-hash index could not be saved ({v['reason']}).",
    CACHE_IGNORED: lambda v: f"The feature cache {v['path']} is damaged or from another version; it is ignored.",
    CACHE_RESTARTED: lambda v: ("The feature cache was damaged or written by another version of imgclf; "
                                "it was started afresh."),
    CACHE_RECORDS_DROPPED: lambda v: (f"The feature cache had {_count(v['count'], 'damaged record')}; they were "
                                      "dropped and will be recomputed."),
    CACHE_TAIL_CUT: lambda v: ("The feature cache ended in a half-written record (interrupted run); "
                               "it was cut off."),
    STATE_SET_ASIDE: lambda v: (f"{_capital(v['what'])} ({v['path']}) was damaged ({v['reason']}); it was set "
                                f"aside as {v['moved_to']} and {v['consequence']}."),
    STATE_DAMAGED_IGNORED: lambda v: (f"{_capital(v['what'])} ({v['path']}) is damaged ({v['reason']}) and could "
                                      f"not be set aside ({v['error']}); it is ignored and {v['consequence']}."),
    STATE_DAMAGED_GONE: lambda v: (f"{_capital(v['what'])} ({v['path']}) was damaged ({v['reason']}) and has "
                                   f"gone; {v['consequence']}."),
    FEW_IMAGES: lambda v: (f"Few images in {_classes(v)}: enough to train (at least {v['minimum']}), but "
                           f"{v['recommended']} or more per class (ideally {v['ideal']}) give a more reliable "
                           "model and score."),
    UNBALANCED: lambda v: (f"Unbalanced: {v['big']!r} has {v['big_count']} images, {v['small']!r} only "
                           f"{v['small_count']}; add images to the small class, or the model will favour the "
                           "big one."),
    UNREADABLE_SKIPPED: lambda v: (f"{_count(v['count'], 'image')} could not be read and "
                                   f"{'was' if v['count'] == 1 else 'were'} skipped."),
    SPLIT_FAILED: lambda v: f"The images cannot be split into parts: {v['reason']}",
    FOLDS_REDUCED: lambda v: (f"{v['folds']} folds instead of {v['requested']}: the smallest class, "
                              f"{v['smallest_class']!r}, has {_count(v['smallest_count'], 'different image')}, "
                              "and every fold needs one of it to hold out."),
    SINGLE_IMAGE_CLASS: lambda v: (f"All images of {v['name']!r} are the same picture: the model that predicts "
                                   "them honestly never saw that class, so its score there means little."),
    FOLDS_NOT_SAVED: lambda v: (f"The fold memory could not be saved ({v['reason']}); next time the folds are "
                                "made again from the image contents, the same for the same images."),
    NO_VALIDATION: lambda v: ("No validation images: early stopping is off and the L2 strength is the default "
                              f"{v['l2']:g}; the last epoch is kept."),
    L2_CHOSEN: lambda v: ("L2 chosen on the validation part: "
                          + ", ".join(f"{c} -> loss {loss:.4f}" for c, loss in v["losses"].items())
                          + f"; using {v['chosen']:g}."),
    FLIPS_CHOSEN: _flips_words,
    CROSSVAL_CHOSE: lambda v: (
        (f"Each of the {v['folds']} folds chose its regularisation on its own validation images (L2 "
         + ", ".join(f"{x:g}" for x in v["l2s"]) + "); the final model" if v["searched"] else "The final model")
        + f" learnt from all {_count(v['images'], 'image')} with L2 {v['final_l2']:g} for "
        f"{_count(v['final_epochs'], 'epoch')}."),
    NOT_SCORED: lambda v: "No test or validation images: the model could not be scored.",
    STOPPED_IN_FOLDS: lambda v: (f"Stopped during fold {v['completed'] + 1} of {v['folds']}: "
                                 + (f"the images of the {_count(v['completed'], 'completed fold')} are scored; "
                                    if v["completed"] else "")
                                 + "no final model was trained, so nothing was kept."),
    STOPPED_IN_FINAL: lambda v: (f"Stopped while training the final model ({v['epochs_done']} of "
                                 f"{_count(v['epochs'], 'epoch')}): the scores of all folds stand, but the model "
                                 "is only partly trained."),
}


def describe(note: Note) -> str:
    """The one sentence (or stage name) for ``note``, as the app and the command line show it."""
    words = _WORDS.get(note.kind)
    if words is not None:
        try:
            return words(note.values)
        except (KeyError, TypeError, ValueError):
            pass  # a note read back from an older or damaged file: say what we can
    details = ", ".join(f"{k} {v}" for k, v in note.values.items())
    return note.kind.rsplit(".", 1)[-1].replace("_", " ").capitalize() + (f": {details}" if details else "")
