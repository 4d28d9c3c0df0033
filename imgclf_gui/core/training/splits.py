"""Train / validation / test split: stratified per class, and old images never change part.

Within each class, images are ordered by a salted hash of their content hash (or of their name when no
content hash is known): a fixed pseudo-random order, the same on every machine. The first images in that
order fill the class's test quota, the next its validation quota, the rest are trained on. So every class
gets its share (60 images at 80/10/10: exactly 48/6/6), not a binomial lottery that can leave a class
with one test image.

Stability comes from the previous run's ``assignment`` (hash -> part, remembered by ``train`` in
``.imgclf/split.json``): remembered images keep their part, and new images only fill what their class
is short of. Exact duplicates share one key, hence one part: a duplicate in the test part of an image
that is trained on would make the test score a lie. Every class keeps at least one training image; a
class gets a validation image from 3 images and a test image from 5.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

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
    validation_percent: float,
    test_percent: float,
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
        labels = [s.label for s in samples]
    keys = []
    for i in range(n):
        h = hashes[i] if hashes is not None else None
        if not h:
            path = getattr(samples[i], "path", None)
            h = "name:" + (path.name if path is not None else str(samples[i]))
        keys.append(h)

    previous = dict(previous or {})
    part: dict[str, str] = {key: previous[key] for key in set(keys) if previous.get(key) in PARTS}

    # Distinct keys per class in hash order, so quotas are filled deterministically and order-independently.
    by_class: dict[str, list[str]] = defaultdict(list)
    for key, label in sorted(set(zip(keys, labels)), key=lambda kl: (kl[1], unit_value(kl[0]), kl[0])):
        by_class[label].append(key)

    for label in sorted(by_class):
        members = by_class[label]
        quota = _quotas(len(members), validation_percent, test_percent)
        have = {p: sum(1 for k in members if part.get(k) == p) for p in PARTS}
        for key in members:
            if key in part:  # remembered, or already placed as a duplicate in another class
                continue
            target = TEST if have[TEST] < quota[TEST] else VALIDATION if have[VALIDATION] < quota[VALIDATION] \
                else TRAIN
            part[key] = target
            have[target] += 1
        if not have[TRAIN]:
            # Remembered parts left nothing to learn from (images deleted since): one goes back to training,
            # the one nearest the end of the hash order, taken from validation before test.
            donors = [k for k in members if part[k] == VALIDATION] or [k for k in members if part[k] == TEST]
            part[max(donors, key=unit_value)] = TRAIN

    split = Split(assignment=dict(part))
    for i, key in enumerate(keys):
        getattr(split, part[key]).append(i)
    return split


def _quotas(n: int, validation_percent: float, test_percent: float) -> dict[str, int]:
    """How many of a class's ``n`` distinct images go to each part."""
    test = round(n * test_percent / 100) if n >= MIN_IMAGES_FOR_TEST else 0
    validation = round(n * validation_percent / 100) if n >= MIN_IMAGES_FOR_VALIDATION else 0
    if test_percent > 0 and n >= MIN_IMAGES_FOR_TEST:
        test = max(test, 1)
    if validation_percent > 0 and n >= MIN_IMAGES_FOR_VALIDATION:
        validation = max(validation, 1)
    while test + validation >= n and (test or validation):  # at least one image is always trained on
        if validation >= test and validation:
            validation -= 1
        else:
            test -= 1
    return {TEST: test, VALIDATION: validation, TRAIN: n - test - validation}
