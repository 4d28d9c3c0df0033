"""How many images a class needs, in one place: what training refuses, what it warns about, and what
Check Data (``core/review/health.py``) reports. Both read the thresholds and the judgement from here, so
they can never disagree ("at least 2 images per class to train, 20 or more recommended").

``check_dataset(root)`` is the check ``train`` starts with (and the Training tab's summary shows).
"""
from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from imgclf_gui.core.project.scan import Sample, Skipped, printable, scan_samples
from imgclf_gui.core.project.scan import class_names as folder_classes
from imgclf_gui.core.support.notes import FEW_IMAGES, UNBALANCED, Note

__all__ = ["MIN_IMAGES_TO_TRAIN", "RECOMMENDED_IMAGES", "IDEAL_IMAGES", "UNBALANCED_RATIO", "ClassSizes",
           "judge_class_sizes", "class_size_advice", "few_images_note", "unbalanced_note", "DatasetError",
           "DatasetCheck", "check_dataset", "refusal"]

#: fewer images than this in a class and training refuses to start
MIN_IMAGES_TO_TRAIN = 2
#: fewer than this and the model and its score are unreliable: training warns, Check Data reports it
RECOMMENDED_IMAGES = 20
#: what a class ideally has
IDEAL_IMAGES = 100
#: the biggest class has at least this many times the images of the smallest: "unbalanced"
UNBALANCED_RATIO = 5.0


class DatasetError(Exception):
    """The folder cannot be trained on as it is; the message says what to change."""


@dataclass(frozen=True)
class ClassSizes:
    """The judgement on a project's class sizes (classes in the order given)."""

    counts: dict[str, int]
    empty: list[str]  #: no image at all
    too_few: list[str]  #: some images, fewer than MIN_IMAGES_TO_TRAIN: training refuses
    few: list[str]  #: enough to train, fewer than RECOMMENDED_IMAGES: training warns
    unbalanced: tuple[str, str] | None  #: (biggest, smallest) class when UNBALANCED_RATIO apart

    @property
    def trainable(self) -> bool:
        return not self.empty and not self.too_few


def judge_class_sizes(counts: Mapping[str, int]) -> ClassSizes:
    """Sort classes by the thresholds above; ``counts`` maps every class (empty ones too) to its images."""
    counts = dict(counts)
    empty = [n for n, c in counts.items() if c == 0]
    too_few = [n for n, c in counts.items() if 0 < c < MIN_IMAGES_TO_TRAIN]
    few = [n for n, c in counts.items() if MIN_IMAGES_TO_TRAIN <= c < RECOMMENDED_IMAGES]
    sizes = {n: c for n, c in counts.items() if c > 0}
    unbalanced = None
    if len(sizes) >= 2:
        big, small = max(sizes, key=sizes.__getitem__), min(sizes, key=sizes.__getitem__)
        if sizes[big] >= UNBALANCED_RATIO * sizes[small]:
            unbalanced = (big, small)
    return ClassSizes(counts, empty, too_few, few, unbalanced)


def class_size_advice() -> str:
    """The rule in words, as training's refusal and Check Data both say it."""
    return f"at least {MIN_IMAGES_TO_TRAIN} images per class to train, {RECOMMENDED_IMAGES} or more recommended"


def few_images_note(sizes: ClassSizes, names: list[str] | None = None) -> Note:
    """The warning for classes that can be trained on but have few images (``names``: default all such)."""
    names = sizes.few if names is None else names
    return Note(FEW_IMAGES, {"classes": [[n, sizes.counts[n]] for n in names], "minimum": MIN_IMAGES_TO_TRAIN,
                             "recommended": RECOMMENDED_IMAGES, "ideal": IDEAL_IMAGES})


def unbalanced_note(sizes: ClassSizes) -> Note | None:
    if sizes.unbalanced is None:
        return None
    big, small = sizes.unbalanced
    return Note(UNBALANCED, {"big": big, "big_count": sizes.counts[big], "small": small,
                             "small_count": sizes.counts[small]})


@dataclass
class DatasetCheck:
    """What ``check_dataset`` found: the samples to use, class names and counts, and notes to show."""

    samples: list[Sample]
    class_names: list[str]
    counts: dict[str, int]
    notes: list[Note] = field(default_factory=list)
    #: entries of the class folders that cannot be used (links, loops, FIFOs...): path -> reason
    skipped: dict[str, str] = field(default_factory=dict)


def check_dataset(root: str | os.PathLike[str]) -> DatasetCheck:
    """Validate a folder of class folders before any work; raises ``DatasetError`` naming the classes.

    Hidden files, ``.imgclf/`` and the ``unsorted/`` inbox are ignored. At least two classes with at least
    ``MIN_IMAGES_TO_TRAIN`` images each are required; classes under ``RECOMMENDED_IMAGES`` and very
    unbalanced classes give a note.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder.")
    skipped: list[Skipped] = []
    samples = scan_samples(root, skipped)
    found = Counter(s.label for s in samples)
    names = folder_classes(root)
    if len(names) < 2:
        which = f"only {names[0]!r}" if names else "none"
        raise DatasetError(f"{root} needs at least two class folders with images in them (found {which}). "
                           "Make one sub-folder per kind of image.")
    sizes = judge_class_sizes({n: found[n] for n in names})
    if not sizes.trainable:
        raise DatasetError(refusal(sizes))
    notes = [few_images_note(sizes)] if sizes.few else []
    unbalanced = unbalanced_note(sizes)
    if unbalanced is not None:
        notes.append(unbalanced)
    return DatasetCheck(samples, names, sizes.counts, notes, {printable(s.path): s.reason for s in skipped})


def refusal(sizes: ClassSizes, *, after_skipping: bool = False) -> str:
    """Why training cannot start, naming the classes (``after_skipping``: unreadable images were left out)."""
    problems = []
    if sizes.empty:
        problems.append("no " + ("readable " if after_skipping else "") + "images in "
                        + ", ".join(repr(n) for n in sizes.empty))
    if sizes.too_few:
        problems.append(f"fewer than {MIN_IMAGES_TO_TRAIN} {'readable ' if after_skipping else ''}images in "
                        + ", ".join(f"{n!r} ({sizes.counts[n]})" for n in sizes.too_few))
    return (f"Cannot train: {'; '.join(problems)}. It takes {class_size_advice()}: add images to these "
            "classes or remove their folders.")
