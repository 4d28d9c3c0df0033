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

# -- imgclf's own state files (``support.damaged.set_aside``, ``review.project_state``) -----------------
STATE_SET_ASIDE = "state.set_aside"  # what, path, reason, moved_to, consequence
STATE_DAMAGED_IGNORED = "state.damaged_ignored"  # what, path, reason, error, consequence (could not rename)
STATE_DAMAGED_GONE = "state.damaged_gone"  # what, path, reason, consequence (vanished meanwhile)

# -- the images (``check_dataset``, ``train``) -------------------------------------------------------
FEW_IMAGES = "data.few_images"  # classes: [[name, count], ...], minimum, recommended, ideal
UNBALANCED = "data.unbalanced"  # big, big_count, small, small_count
UNREADABLE_SKIPPED = "data.unreadable_skipped"  # count (the paths and reasons are in ``failed``)
SPLIT_FAILED = "data.split_failed"  # reason

# -- training the head --------------------------------------------------------------------------------
NO_VALIDATION = "head.no_validation"  # l2
L2_CHOSEN = "head.l2_chosen"  # losses: {"1e-4": loss, ...}, chosen
NOT_SCORED = "run.not_scored"


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
    NO_VALIDATION: lambda v: ("No validation images: early stopping is off and the L2 strength is the default "
                              f"{v['l2']:g}; the last epoch is kept."),
    L2_CHOSEN: lambda v: ("L2 chosen on the validation part: "
                          + ", ".join(f"{c} -> loss {loss:.4f}" for c, loss in v["losses"].items())
                          + f"; using {v['chosen']:g}."),
    NOT_SCORED: lambda v: "No test or validation images: the model could not be scored.",
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
