"""Cross-validation folds by content hash: each image is held out once, by a model that never saw it.

Entry points: ``assign_folds(keys, labels, folds=5, test_percent=0, memory=None) -> FoldAssignment``,
``inner_validation(...)`` (the early-stopping part inside one fold's training images), and the fold memory
``load_fold_memory(root)`` / ``save_fold_memory(root, memory)`` (``.imgclf/folds.json``).

- Key: an image's content hash (its file name only when it could not be hashed: ``sample_keys``). Exact
  duplicates share a key, hence a fold: a copy on each side would make a held-out prediction a lie.
- Stratified: within each class, distinct keys in a fixed pseudo-random order (a salted SHA-256, the same on
  every machine) each go to the fold holding the fewest images of that class so far (ties: fewest images
  overall, then the lower fold). 60 images in 5 folds: exactly 12 per fold.
- Stable: the memory maps keys to folds, per fold count. A known image keeps its fold; new images fill the
  folds their class is short of. Images that are gone stay remembered, so they come back to their fold.
- How many folds: the requested number (5), fewer when the smallest class has fewer distinct images (a class
  of 3 images gets 3 folds, each holding out one of them), never under 2. ``FoldChoice`` says which and why.
- Optional test part (``test_percent`` > 0, off by default): chosen first, with the rules of ``splits.py``
  (stratified, remembered, a class gives a test image from 5 images). It is in no fold: no model and no
  choice ever sees it, only the final score does.

Migrating ``split.json`` (the train / validation / test memory before cross-validation): its test images
seed the test part when the same test percentage is asked for again, so a user who kept a test part keeps
the same one; every other image is simply folded afresh by hash (a fold has no counterpart in the old split).
"""
from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imgclf_gui.core.project import layout
from imgclf_gui.core.support.notes import Note
from imgclf_gui.core.training.splits import MIN_IMAGES_FOR_VALIDATION, TEST, split_samples

__all__ = ["DEFAULT_FOLDS", "MIN_FOLDS", "MAX_FOLDS", "TEST_PART", "FoldChoice", "FoldAssignment", "FoldMemory",
           "assign_folds", "inner_validation", "sample_keys", "load_fold_memory", "save_fold_memory"]

DEFAULT_FOLDS = 5
MIN_FOLDS = 2
MAX_FOLDS = 10
#: ``FoldAssignment.fold_of`` value of an image in the held-out test part
TEST_PART = -1
SCHEMA_VERSION = 1

_FOLD_SALT = "imgclf-folds-v1:"
_INNER_SALT = "imgclf-inner-validation-v1:"


def _unit(salt: str, key: str) -> float:
    """A number in [0, 1) fixed by ``salt`` and ``key``, identical on every machine."""
    digest = hashlib.sha256((salt + key).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def sample_keys(paths: Sequence[str | os.PathLike[str]], hashes: Sequence[str | None]) -> list[str]:
    """The fold key of each image: its content hash, or ``name:<file name>`` when it has none."""
    return [h if h else "name:" + Path(p).name for p, h in zip(paths, hashes)]


@dataclass(frozen=True)
class FoldChoice:
    """How many folds were made, and why (``folds < requested`` only because a class is small)."""

    folds: int
    requested: int
    smallest_class: str  # the class with the fewest distinct images outside the test part
    smallest_count: int

    @property
    def reduced(self) -> bool:
        return self.folds < self.requested

    @property
    def unpredictable(self) -> bool:
        """True when the smallest class has a single distinct image: its held-out copies are predicted by
        models that never saw the class."""
        return self.smallest_count < MIN_FOLDS

    def to_dict(self) -> dict[str, Any]:
        return {"folds": self.folds, "requested": self.requested, "smallest_class": self.smallest_class,
                "smallest_count": self.smallest_count}


@dataclass
class FoldMemory:
    """What ``folds.json`` remembers: per fold count, key -> fold; and the test part with its percentage."""

    folds: dict[int, dict[str, int]] = field(default_factory=dict)
    test_percent: float = 0.0  # the percentage ``test_keys`` were chosen with (0: no test part remembered)
    test_keys: set[str] = field(default_factory=set)
    #: keys known to be outside the test part (only needed when ``folds`` cannot tell: after a migration)
    other_keys: set[str] = field(default_factory=set)
    migrated_from_split: bool = False

    def to_json(self) -> dict[str, Any]:
        folds_json = {}
        for k, mapping in sorted(self.folds.items()):
            lists: list[list[str]] = [[] for _ in range(k)]
            for key, fold in mapping.items():
                lists[fold].append(key)
            folds_json[str(k)] = [sorted(keys) for keys in lists]
        return {"schema": SCHEMA_VERSION, "folds": folds_json,
                "test": {"percent": self.test_percent, "keys": sorted(self.test_keys),
                         "others": sorted(self.other_keys)}}

    @classmethod
    def from_json(cls, data: Any) -> FoldMemory:
        """Tolerant: anything malformed is left out (the folds are then made afresh from the hashes)."""
        memory = cls()
        if not isinstance(data, dict):
            return memory
        folds = data.get("folds")
        for k_text, lists in (folds.items() if isinstance(folds, dict) else ()):
            try:
                k = int(k_text)
            except ValueError:
                continue
            if not MIN_FOLDS <= k <= MAX_FOLDS or not isinstance(lists, list) or len(lists) != k:
                continue
            memory.folds[k] = {key: fold for fold, keys in enumerate(lists) if isinstance(keys, list)
                               for key in keys if isinstance(key, str)}
        test = data.get("test")
        if isinstance(test, dict) and isinstance(test.get("percent"), int | float) and \
                not isinstance(test.get("percent"), bool):
            memory.test_percent = float(test["percent"])
            memory.test_keys = {k for k in _list(test.get("keys")) if isinstance(k, str)}
            memory.other_keys = {k for k in _list(test.get("others")) if isinstance(k, str)}
        return memory


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


@dataclass
class FoldAssignment:
    """Which fold holds out each image (``fold_of[i]`` in 0..k-1, or ``TEST_PART``), aligned with the keys."""

    keys: list[str]
    fold_of: np.ndarray
    choice: FoldChoice
    test_percent: float = 0.0
    memory: FoldMemory = field(default_factory=FoldMemory)  # to save: the old memory updated with this one

    @property
    def k(self) -> int:
        return self.choice.folds

    def held_out(self, fold: int) -> np.ndarray:
        """Indices of the images fold ``fold`` (0-based) holds out."""
        return np.flatnonzero(self.fold_of == fold)

    def training(self, fold: int) -> np.ndarray:
        """Indices of the images fold ``fold`` trains on: every other fold, never the test part."""
        return np.flatnonzero((self.fold_of != fold) & (self.fold_of != TEST_PART))

    @property
    def test(self) -> np.ndarray:
        return np.flatnonzero(self.fold_of == TEST_PART)

    @property
    def folded(self) -> np.ndarray:
        """Indices of every image in some fold (all but the test part): what the final model trains on."""
        return np.flatnonzero(self.fold_of != TEST_PART)

    def fold_sizes(self) -> list[int]:
        return np.bincount(self.fold_of[self.fold_of >= 0], minlength=self.k).astype(int).tolist()


def assign_folds(keys: Sequence[str], labels: Sequence[str], *, folds: int = DEFAULT_FOLDS,
                 test_percent: float = 0.0, memory: FoldMemory | None = None) -> FoldAssignment:
    """Give every image a fold (or the test part), stratified by class and stable by key.

    ``keys[i]`` (``sample_keys``) and ``labels[i]`` describe image ``i``. The result does not depend on the
    order of the images. Raises ``ValueError`` for a fold count outside ``MIN_FOLDS..MAX_FOLDS`` or a test
    percentage outside 0..50.
    """
    if not MIN_FOLDS <= int(folds) <= MAX_FOLDS:
        raise ValueError(f"the number of folds must be between {MIN_FOLDS} and {MAX_FOLDS}, not {folds}")
    if not 0 <= test_percent <= 50:
        raise ValueError(f"the test part must be between 0 and 50 percent, not {test_percent:g}")
    if len(keys) != len(labels):
        raise ValueError("one label per key")
    memory = memory or FoldMemory()
    n = len(keys)
    in_test = np.zeros(n, bool)
    new_memory = FoldMemory({k: dict(m) for k, m in memory.folds.items()}, memory.test_percent,
                            set(memory.test_keys), set(memory.other_keys))
    if test_percent > 0 and n:
        previous: dict[str, str] = {}
        if memory.test_percent == test_percent:
            previous.update({key: "train" for key in memory.other_keys})
            previous.update({key: "train" for mapping in memory.folds.values() for key in mapping})
            previous.update({key: TEST for key in memory.test_keys})
        split = split_samples(list(keys), 0, test_percent, list(keys), labels=list(labels), previous=previous)
        in_test[split.test] = True
        chosen = {keys[i] for i in split.test}
        if memory.test_percent != test_percent:
            new_memory.test_keys, new_memory.other_keys = set(), set()
        new_memory.test_percent = test_percent
        new_memory.test_keys = (new_memory.test_keys | chosen) - {keys[i] for i in np.flatnonzero(~in_test)}
        new_memory.other_keys = set()  # the fold lists say which keys are outside the test part
        for mapping in new_memory.folds.values():
            for key in chosen:
                mapping.pop(key, None)

    per_class: dict[str, list[str]] = defaultdict(list)
    for key, label in set(zip((keys[i] for i in range(n) if not in_test[i]),
                              (labels[i] for i in range(n) if not in_test[i]))):
        per_class[label].append(key)
    if per_class:
        smallest = min(sorted(per_class), key=lambda c: len(per_class[c]))
        choice = FoldChoice(max(MIN_FOLDS, min(int(folds), len(per_class[smallest]))), int(folds), smallest,
                            len(per_class[smallest]))
    else:
        choice = FoldChoice(int(folds), int(folds), "", 0)
    k = choice.folds

    remembered = memory.folds.get(k, {})
    fold_of_key: dict[str, int] = {}
    total = [0] * k
    present = {key for keys_ in per_class.values() for key in keys_}
    for key in present:
        fold = remembered.get(key)
        if isinstance(fold, int) and 0 <= fold < k:
            fold_of_key[key] = fold
            total[fold] += 1
    for label in sorted(per_class):
        members = sorted(per_class[label], key=lambda key: (_unit(_FOLD_SALT, key), key))
        have = [0] * k
        for key in members:
            if key in fold_of_key:
                have[fold_of_key[key]] += 1
        for key in members:
            if key in fold_of_key:  # remembered, or placed already as a duplicate in another class
                continue
            fold = min(range(k), key=lambda f: (have[f], total[f], f))
            fold_of_key[key] = fold
            have[fold] += 1
            total[fold] += 1

    fold_of = np.full(n, TEST_PART, np.int64)
    for i in range(n):
        if not in_test[i]:
            fold_of[i] = fold_of_key[keys[i]]
    new_memory.folds[k] = {**new_memory.folds.get(k, {}), **fold_of_key}
    return FoldAssignment(list(keys), fold_of, choice, float(test_percent), new_memory)


def inner_validation(keys: Sequence[str], y: np.ndarray, indices: np.ndarray, percent: float, fold: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Split one fold's training images ``indices`` into (inner training, inner validation) index arrays.

    The inner validation part is what early stopping and the L2 choice look at, so the fold's held-out
    images never influence a choice. Stratified and keyed by content like the folds (duplicates together),
    in an order of its own for each fold; a class gives validation images from ``MIN_IMAGES_FOR_VALIDATION``
    distinct images and always keeps one to train on. ``percent`` 0 gives no validation part.
    """
    indices = np.asarray(indices, np.int64)
    if percent <= 0 or len(indices) == 0:
        return indices, indices[:0]
    salt = f"{_INNER_SALT}{fold}:"
    per_class: dict[int, set[str]] = defaultdict(set)
    for i in indices.tolist():
        per_class[int(y[i])].add(keys[i])
    in_validation: dict[str, bool] = {}
    for label in sorted(per_class):
        members = sorted(per_class[label], key=lambda key: (_unit(salt, key), key))
        count = len(members)
        quota = max(1, round(count * percent / 100)) if count >= MIN_IMAGES_FOR_VALIDATION else 0
        quota = min(quota, count - 1)
        taken = sum(1 for key in members if in_validation.get(key))
        for key in members:
            if key in in_validation:
                continue
            in_validation[key] = taken < quota
            taken += in_validation[key]
    mask = np.array([in_validation[keys[i]] for i in indices.tolist()], bool)
    return indices[~mask], indices[mask]


def load_fold_memory(project_root: str | os.PathLike[str], notes: list[Note] | None = None) -> FoldMemory:
    """The fold memory of a project; migrated from the old ``split.json`` when there is no fold memory yet.

    Never raises. A damaged file is set aside as ``folds.json.damaged`` (a ``state.*`` note saying so is
    appended to ``notes``) and the folds are made afresh from the content hashes, which gives the same folds for the
    same images; only images added since are placed differently.
    """
    from imgclf_gui.core.support.safe_files import DamagedFile, read_json, set_aside

    path = layout.folds_file(project_root)
    try:
        data = read_json(path)
    except DamagedFile as exc:
        note = set_aside(path, "the fold memory", str(exc), "the folds are made afresh from the image contents",
                         root=project_root)
        if notes is not None:
            notes.append(note)
        return FoldMemory()
    except OSError:
        return _migrate_split_memory(layout.split_file(project_root))
    return FoldMemory.from_json(data)


def _migrate_split_memory(split_file: Path) -> FoldMemory:
    from imgclf_gui.core.support.safe_files import DamagedFile, read_json

    try:
        data = read_json(split_file)
    except (OSError, DamagedFile):
        return FoldMemory()  # it is only read once, to migrate: a damaged one is simply not used
    assignment = data.get("assignment") if isinstance(data, dict) else None
    percent = data.get("test_percent") if isinstance(data, dict) else None
    if not isinstance(assignment, Mapping) or not isinstance(percent, int | float) or percent <= 0:
        return FoldMemory(migrated_from_split=isinstance(assignment, Mapping))
    test = {k for k, part in assignment.items() if isinstance(k, str) and part == TEST}
    others = {k for k, part in assignment.items() if isinstance(k, str) and part != TEST}
    return FoldMemory(test_percent=float(percent), test_keys=test, other_keys=others, migrated_from_split=True)


def save_fold_memory(project_root: str | os.PathLike[str], memory: FoldMemory) -> None:
    """Write ``.imgclf/folds.json`` atomically; raises ``OSError`` (read-only project, full disk)."""
    from imgclf_gui.core.support.safe_files import atomic_write_bytes

    text = json.dumps(memory.to_json(), separators=(",", ":"), ensure_ascii=True) + "\n"
    atomic_write_bytes(layout.folds_file(project_root), text.encode("ascii"))
