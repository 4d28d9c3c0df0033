"""What a training run would work on, computed before it starts: classes, folds, cached bottlenecks.

The Training tab shows this so a person knows what "Train" will do and roughly how long it takes (the
images still to extract dominate). It only reads: the stat index of content hashes and the feature cache
are opened read-only, so it can run beside a training run. Files the index does not know yet are
read and hashed, up to a bound in files and bytes (then counted as "to compute"), and only when the
project has cached bottlenecks they could match: before the first training nothing is read at all, which
keeps this quick on 20,000 camera photos.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imgclf_gui.core.support.notes import SPLIT_FAILED, Note
from imgclf_gui.core.training.checks import DatasetError, check_dataset
from imgclf_gui.core.training.config import TrainConfig
from imgclf_gui.core.training.folds import FoldChoice

__all__ = ["TrainingSummary", "summarize"]

_MAX_READ = 2000  # files hashed by reading them when the stat index does not know them
_MAX_READ_BYTES = 256 << 20  # ... and at most this much of them (a camera photo is 3-10 MB)


@dataclass
class TrainingSummary:
    """Figures for the "what will be trained" box. ``error`` is set when training cannot start."""

    class_counts: dict[str, int] = field(default_factory=dict)
    #: images the final model will learn from ("train") and keep out as the test part ("test"); "validation"
    #: is 0: each fold validates on a share of its own training images
    parts: dict[str, int] = field(default_factory=dict)
    folds: FoldChoice | None = None  # how many folds, and why fewer than asked for
    total: int = 0
    cached: int | None = None  # images whose bottleneck is cached (None: could not tell)
    unreadable: int = 0  # images whose very bytes failed to decode before: skipped, never "to compute"
    #: augmented copies and mirror images still to compute, over all images with a known content (0 without
    #: augmentation nor flips); counted apart from ``cached`` so that asking for more copies never makes
    #: cached images look lost
    copies_to_compute: int = 0
    notes: list[Note] = field(default_factory=list)
    error: str | None = None

    @property
    def remaining(self) -> int | None:
        return None if self.cached is None else max(0, self.total - self.cached - self.unreadable)


def summarize(root: str | os.PathLike[str], config: TrainConfig) -> TrainingSummary:
    """Check the dataset and count what ``train(config, root)`` would extract and train on."""
    from imgclf_gui.core.training.folds import assign_folds, sample_keys

    root = Path(root)
    try:
        checked = check_dataset(root)
    except DatasetError as exc:
        return TrainingSummary(error=str(exc))
    summary = TrainingSummary(class_counts=dict(checked.counts), total=len(checked.samples),
                              notes=list(checked.notes))
    from imgclf_gui.core.features.cache import cached_backbone_ids

    # Reading files only tells which bottlenecks are cached: pointless when none are (any network of a
    # combined backbone: switching to a combination reuses what its parts cached).
    try:
        from imgclf_gui.core.backbones import feature_parts

        networks = [part.id for part in feature_parts(config.backbone)]
    except (KeyError, ValueError):
        networks = []
    may_read = bool(set(networks) & set(cached_backbone_ids(root)))
    hashes = _known_hashes(root, [s.path for s in checked.samples], may_read=may_read)
    try:
        # Without the fold memory (only reading here): the counts depend on the class sizes alone.
        assignment = assign_folds(sample_keys([s.path for s in checked.samples], hashes),
                                  [s.label for s in checked.samples], folds=int(config.folds),
                                  test_percent=float(config.test_percent))
        summary.parts = {"train": len(assignment.folded), "validation": 0, "test": len(assignment.test)}
        summary.folds = assignment.choice
    except ValueError as exc:
        summary.notes.append(Note(SPLIT_FAILED, {"reason": str(exc)}))
    from imgclf_gui.core.features.cache import unreadable_memory

    memory = unreadable_memory(root)
    unreadable = [h is not None and memory.reason(h) is not None for h in hashes]
    # Unreadable contents are skipped, never computed: their copies are not "to compute" either.
    counted = _count_cached(root, config, [None if bad else h for h, bad in zip(hashes, unreadable)],
                            summary.notes)
    if counted is not None:
        summary.cached, summary.copies_to_compute = counted
        summary.unreadable = sum(unreadable)
    return summary


def _known_hashes(root: Path, paths: list[Path], *, may_read: bool = True) -> list[str | None]:
    """Content hashes the stat index remembers for unchanged files (None for the others)."""
    from imgclf_gui.core.features.cache import hash_index_path
    from imgclf_gui.core.support.file_hash import HashIndex, read_and_hash

    index = HashIndex(hash_index_path(root), root)
    out: list[str | None] = []
    files = size = 0
    for path in paths:
        try:
            st = os.stat(path)
            digest = index.lookup(path, st)
            # The index skips files changed in the last seconds; read those, up to a bound that keeps
            # this quick on a freshly imported big folder (the rest count as "to compute").
            if digest is None and may_read and files < _MAX_READ and size + st.st_size <= _MAX_READ_BYTES:
                files += 1
                size += st.st_size
                digest = read_and_hash(path)[1]
            out.append(digest)
        except OSError:
            out.append(None)
    return out


def _count_cached(root: Path, config: TrainConfig, hashes: list[str | None],
                  notes: list[Note]) -> tuple[int, int] | None:
    """(images whose bottleneck is cached by every network of the backbone, augmented copies not cached
    yet by some network), or None when unknown."""
    from imgclf_gui.core.backbones import feature_parts
    from imgclf_gui.core.features.cache import open_project_cache

    try:
        specs: Any = feature_parts(config.backbone)
    except (KeyError, ValueError, LookupError):
        return None
    stores = []
    try:
        for spec in specs:
            stores.append(open_project_cache(root, spec, config.crop))
    except OSError:
        for store in stores:
            if store is not None:
                store.close()
        return None
    from imgclf_gui.core.features.extraction import FLIP_VARIANT
    from imgclf_gui.core.training.flips import FLIPS_OFF

    # augmented copies, and the mirror image the folds decide on
    copies = [*range(1, int(config.augment_variants) + 1), *([FLIP_VARIANT] if config.flips != FLIPS_OFF else [])]
    try:
        cached = missing = 0
        for h in hashes:
            if h is None:
                continue
            raw = bytes.fromhex(h)
            cached += all(store is not None and (raw, 0) in store for store in stores)
            missing += sum(1 for v in copies if not all(store is not None and (raw, v) in store for store in stores))
        return cached, missing
    finally:
        for store in stores:
            if store is not None:
                notes.extend(store.notes)
                store.close()
