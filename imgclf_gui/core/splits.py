"""Train / validation / test split that stays put when images are added.

Each image's part is decided by a salted hash of its content hash (or of its name when no content hash
is known), so an image keeps its part whatever else is in the folder, and exact duplicates (same content
hash) always share a part: a duplicate in the test part of an image that is trained on would make the test
score a lie. Two adjustments keep small classes usable:

* every class keeps at least one training image;
* a class with enough images gets at least one validation (and test) image even when the hash put none
  there; the image chosen is the one whose hash is closest to that part.

Because those adjustments depend on the rest of the folder, a caller that wants strict stability across
runs passes the previous run's ``assignment`` (hash -> part) as ``previous``: known images then never change
parts (unless their class would otherwise have no training image).
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Mapping, Sequence

TRAIN, VALIDATION, TEST = "train", "validation", "test"
PARTS = (TRAIN, VALIDATION, TEST)

#: a class needs this many distinct images before a validation / test image is forced on it
MIN_IMAGES_FOR_VALIDATION = 3
MIN_IMAGES_FOR_TEST = 5

_SALT = b"imgclf-split-v1:"


@dataclass
class Split:
    """Indices into the samples list, per part, plus the hash -> part map to reuse next time."""

    train: list[int] = field(default_factory=list)
    validation: list[int] = field(default_factory=list)
    test: list[int] = field(default_factory=list)
    assignment: dict[str, str] = field(default_factory=dict)

    def part_of(self, index: int) -> str:
        for name in PARTS:
            if index in getattr(self, name):
                return name
        raise KeyError(index)

    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in PARTS}


def unit_value(key: str) -> float:
    """A number in [0, 1) fixed by ``key`` alone, identical on every machine and Python version."""
    digest = hashlib.sha256(_SALT + key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_samples(
    samples: Sequence[object],
    validation_percent: float = 10,
    test_percent: float = 10,
    hashes: Sequence[str | None] | None = None,
    *,
    labels: Sequence[str] | None = None,
    previous: Mapping[str, str] | None = None,
) -> Split:
    """Split ``samples`` into train / validation / test, stratified by class and stable by hash.

    ``samples`` are objects with ``.path`` and ``.label`` (``dataset.Sample``) unless ``labels`` is given.
    ``hashes[i]`` is the content hash of sample ``i``; where it is missing the file name is used, so a
    renamed file may change part but an edited one never silently keeps a stale part.
    ``previous`` is an earlier ``Split.assignment``: those keys keep their part.
    """
    if not 0 <= validation_percent < 100 or not 0 <= test_percent < 100:
        raise ValueError("validation and test percentages must each be between 0 and 100")
    if validation_percent + test_percent >= 100:
        raise ValueError("validation and test together must leave some images for training")
    n = len(samples)
    if labels is None:
        labels = [getattr(s, "label") for s in samples]
    keys = []
    for i in range(n):
        h = hashes[i] if hashes is not None else None
        if not h:
            path = getattr(samples[i], "path", None)
            h = "name:" + (path.name if path is not None else str(samples[i]))
        keys.append(h)

    test_cut = test_percent / 100.0
    val_cut = test_cut + validation_percent / 100.0
    previous = dict(previous or {})
    part: dict[str, str] = {}
    for key in set(keys):
        if key in previous and previous[key] in PARTS:
            part[key] = previous[key]
        else:
            u = unit_value(key)
            part[key] = TEST if u < test_cut else VALIDATION if u < val_cut else TRAIN

    # Distinct keys per class, in a fixed order, so the adjustments below are deterministic.
    by_class: dict[str, list[str]] = defaultdict(list)
    for key, label in sorted(set(zip(keys, labels)), key=lambda kl: (kl[1], unit_value(kl[0]), kl[0])):
        by_class[label].append(key)

    for label in sorted(by_class):
        members = by_class[label]
        in_part = {p: [k for k in members if part[k] == p] for p in PARTS}
        if not in_part[TRAIN]:
            # Highest hash value = closest to the training range; taken from validation before test.
            donor = in_part[VALIDATION] or in_part[TEST]
            key = max(donor, key=unit_value)
            _move(part, in_part, key, TRAIN)
        for wanted, percent, minimum in ((TEST, test_percent, MIN_IMAGES_FOR_TEST),
                                         (VALIDATION, validation_percent, MIN_IMAGES_FOR_VALIDATION)):
            if percent <= 0 or in_part[wanted] or len(members) < minimum or len(in_part[TRAIN]) < 2:
                continue
            key = min(in_part[TRAIN], key=unit_value)  # lowest value = closest to the test/validation ranges
            _move(part, in_part, key, wanted)

    split = Split(assignment=dict(part))
    for i, key in enumerate(keys):
        getattr(split, part[key]).append(i)
    return split


def _move(part: dict[str, str], in_part: dict[str, list[str]], key: str, target: str) -> None:
    in_part[part[key]].remove(key)
    part[key] = target
    in_part[target].append(key)
