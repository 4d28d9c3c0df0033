"""Data health: what would hurt training, found before training (run in the background, cancellable).

Findings: unreadable files (with the reason), exact duplicates (same content hash) and near duplicates
(cosine similarity of cached bottleneck features, only when the feature cache already has them), classes
too small to train and very unbalanced classes, and, when asked (``mislabels=True``) and the project's
active model kept its out-of-fold predictions, images that look filed in the wrong class
(``core/review/mislabels.py``; nothing is retrained). Each finding lists the images concerned.
"""
from __future__ import annotations

import os
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

from imgclf_gui.core.project import layout
from imgclf_gui.core.project import scan as dataset
from imgclf_gui.core.review.mislabels import MislabelScan, SuspectedMislabel, project_mislabels
from imgclf_gui.core.support.notes import describe
from imgclf_gui.core.support.tasks_api import ProgressFn, StopFn, check_stop
from imgclf_gui.core.training.checks import (
    class_size_advice,
    few_images_note,
    judge_class_sizes,
    unbalanced_note,
)

NEAR_DUPLICATE_COSINE = 0.985


@dataclass
class Finding:
    """One problem: ``kind`` in unreadable / duplicate / near_duplicate / tiny_class (too few images to train) /
    small_class (enough to train, fewer than recommended) / unbalanced / mislabel (one image that looks filed
    in the wrong class; ``HealthReport.mislabels`` has them all as ``SuspectedMislabel``s, worst first)."""

    kind: str
    title: str
    detail: str
    paths: list[Path] = field(default_factory=list)


@dataclass
class HealthReport:
    findings: list[Finding]
    checked: int
    notes: list[str] = field(default_factory=list)  # e.g. "near duplicates: train once to enable"
    skipped: list[str] = field(default_factory=list)  # kinds not looked for (near_duplicate without features)
    mislabels: MislabelScan | None = None  # the suspects behind the "mislabel" findings (with mislabels=True)

    def of_kind(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]


def check_health(root: str | os.PathLike[str], *, include_inbox: bool = True, mislabels: bool = False,
                 on_progress: ProgressFn = None, should_stop: StopFn = None) -> HealthReport:
    """Check every image of the project. Near duplicates are found among the images whose bottlenecks
    the project has cached (nothing is extracted here: that is training's job).

    Built for 20,000 camera photos: files are hashed through the project's stat index (unchanged files
    are not read again), an image whose bottleneck is cached is known to decode and is not decoded again,
    a content already known to be unreadable is not retried, and the rest are decoded on every core.
    """
    root = Path(root)
    skipped_entries: list[dataset.Skipped] = []  # links, loops, FIFOs, paths too long: named with the reason
    labelled = dataset.scan_samples(root, skipped_entries)
    items = [(s.path, s.label) for s in labelled]
    if include_inbox:
        items += [(p, dataset.INBOX_NAME)
                  for p in dataset.list_images(layout.inbox_dir(root), recursive=True, skipped=skipped_entries)]
    findings: list[Finding] = [Finding("unreadable", f"Skipped: {s.path.name}", s.reason, [s.path])
                               for s in skipped_entries]
    by_hash: dict[str, list[Path]] = defaultdict(list)
    readable: list[Path] = []
    readable_digests: list[str | None] = []
    checker = _FileChecker(root)
    pool = ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)), thread_name_prefix="imgclf-health")
    try:
        results = _in_order(pool, checker.check, [path for path, _label in items])
        for i, ((path, _label), (digest, reason)) in enumerate(zip(items, results)):
            check_stop(should_stop)
            if reason:
                findings.append(Finding("unreadable", f"Unreadable: {path.name}", reason, [path]))
            else:
                readable.append(path)
                readable_digests.append(digest)
                if digest is not None:
                    by_hash[digest].append(path)
            if on_progress is not None:
                on_progress(i + 1, len(items))
        features = checker.cached_vectors(readable_digests)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        checker.close()
    for paths in by_hash.values():
        if len(paths) > 1:
            folders = sorted({p.parent.name for p in paths})
            where = "across " + ", ".join(folders) if len(folders) > 1 else f"in {folders[0]}"
            findings.append(Finding("duplicate", f"{len(paths)} identical images {where}",
                                    ", ".join(p.name for p in paths), sorted(paths)))
    notes: list[str] = []
    skipped: list[str] = []
    if features is None:
        notes.append("Near duplicates: train once to enable (they need the cached bottleneck features).")
        skipped.append("near_duplicate")
    else:
        near, left_out = _near_duplicates(readable, features, by_hash)
        findings += near
        if left_out:
            notes.append(f"Near duplicates: the {MAX_NEAR_GROUPS} biggest groups are listed; "
                         f"{left_out} smaller group(s) are not.")
        missing = int(np.count_nonzero(~np.any(np.asarray(features), axis=1)))
        if missing:
            notes.append(f"Near duplicates: {missing} image(s) not trained on yet were not compared "
                         "(train again to include them).")
    findings += _class_size_findings(root, labelled)
    scan = None
    if mislabels:
        scan = project_mislabels(root)
        if scan.available:
            findings += [_mislabel_finding(s) for s in scan.suspects]
        else:
            notes.append(f"Possibly mislabelled images: {scan.reason[0].lower()}{scan.reason[1:]}")
            skipped.append("mislabel")
    return HealthReport(findings, len(items), notes, skipped, scan)


def _mislabel_finding(suspect: SuspectedMislabel) -> Finding:
    return Finding("mislabel", f"{suspect.path.name}: {suspect.label} → {suspect.suggested} "
                               f"({suspect.confidence:.0%})",
                   f"Filed under {suspect.label}. Predicted by a model that never saw it (the active model's "
                   f"cross-validation): {suspect.suggested} {suspect.confidence:.1%}, {suspect.label} only "
                   f"{suspect.label_probability:.1%}.", [suspect.path])


_T = TypeVar("_T")


def _in_order(pool: ThreadPoolExecutor, fn: Callable[[Path], _T], paths: list[Path],
              window: int = 64) -> Iterator[_T]:
    """``map(fn, paths)`` on the pool, in order, with at most ``window`` files in flight."""
    pending: deque[Future[_T]] = deque()
    queue = iter(paths)
    for path in queue:
        pending.append(pool.submit(fn, path))
        if len(pending) >= window:
            break
    while pending:
        result = pending.popleft().result()
        following = next(queue, None)
        if following is not None:
            pending.append(pool.submit(fn, following))
        yield result


class _FileChecker:
    """Is one file a usable image? Thread-safe; shares what training already learnt about the files."""

    def __init__(self, root: Path) -> None:
        from imgclf_gui.core.backbones import feature_parts, get_spec
        from imgclf_gui.core.features.cache import (
            cached_backbone_ids,
            hash_index_path,
            open_project_cache,
            unreadable_memory,
        )
        from imgclf_gui.core.images.decode import CROP_POLICIES
        from imgclf_gui.core.support.file_hash import HashIndex
        from imgclf_gui.core.training.config import load_project_config

        self.root = root
        self.index = HashIndex(hash_index_path(root), root)
        self.memory = unreadable_memory(root)
        self.stores = []  # every network's cached bottlenecks: an image in any of them is known to decode
        cached = cached_backbone_ids(root)
        for network in dict.fromkeys(part.id for backbone in cached for part in feature_parts(backbone)):
            for crop in CROP_POLICIES:
                try:
                    store = open_project_cache(root, get_spec(network), crop)
                except OSError:
                    continue
                if store is not None:
                    self.stores.append(store)
        # Near duplicates are judged on what the project's model sees (its backbone, combined or not, as
        # training joins it); with none of those cached, on the first backbone that is.
        config = load_project_config(root)
        chosen = [config.backbone] if config.backbone in cached else []
        self.near_sources = [(b, c) for b in chosen + cached for c in (config.crop, *CROP_POLICIES)]

    def check(self, path: Path) -> tuple[str | None, str | None]:
        """(content hash or None, why it is unusable or None)."""
        from imgclf_gui.core.images.decode import ImageError, load_rgb, read_error_reason
        from imgclf_gui.core.support.file_hash import content_hash

        try:
            digest = content_hash(path, index=self.index)
        except OSError as exc:
            return None, read_error_reason(exc)
        known = self.memory.reason(digest)
        if known is not None:
            return digest, known
        raw = bytes.fromhex(digest)
        if any((raw, 0) in store for store in self.stores):
            return digest, None  # it became a bottleneck with today's decoder: it decodes
        try:
            load_rgb(path, max_side=64)  # draft mode: a JPEG decodes at 1/8 size, so this stays quick
        except ImageError as exc:
            if exc.lasting:
                self.memory.remember(digest, exc.reason)
            return digest, exc.reason
        return digest, None

    def cached_vectors(self, digests: list[str | None]) -> np.ndarray | None:
        """(N, dim) cached features of these contents (``features.cache.cached_features``), zero rows where
        none is cached; None when the project has no cache at all."""
        from imgclf_gui.core.features.cache import cached_features

        for backbone, crop in self.near_sources:
            try:
                features = cached_features(self.root, backbone, crop, digests)
            except OSError:
                continue
            if features is not None:
                return features
        return None

    def close(self) -> None:
        for saved in (self.index, self.memory):
            try:
                saved.save()
            except OSError:
                pass  # read-only project: the next check reads and decodes again, nothing worse
        for store in self.stores:
            store.close()


MAX_NEAR_GROUPS = 200  # groups listed; a folder of burst shots can hold thousands


def _near_duplicates(paths: list[Path], features, by_hash: dict[str, list[Path]]) -> tuple[list[Finding], int]:
    """Groups of near-identical images, biggest first, at most ``MAX_NEAR_GROUPS`` of them; also returns
    how many groups were left out. Groups, not pairs: 40 shots of one scene are one finding, not 780."""
    hash_of = {p: h for h, ps in by_hash.items() for p in ps}
    found: list[Finding] = []
    for members in sorted(_near_groups(features), key=lambda m: (-len(m), m[0])):
        group = [paths[i] for i in members]
        if len({hash_of.get(p, str(p)) for p in group}) < 2:
            continue  # all the same bytes: listed as exact duplicates already
        names = " ~ ".join(p.name for p in group[:3]) + (" ..." if len(group) > 3 else "")
        title = (f"Near duplicates: {names}" if len(group) == 2
                 else f"{len(group)} near-identical images: {names}")
        found.append(Finding("near_duplicate", title, f"each one's bottleneck has a cosine similarity >= "
                             f"{NEAR_DUPLICATE_COSINE} with {group[0].name}'s", group))
    return found[:MAX_NEAR_GROUPS], max(0, len(found) - MAX_NEAR_GROUPS)


def _near_groups(features) -> list[list[int]]:
    """Indices grouped around a first image: each image joins the group of the first earlier image it
    is near-identical to (cosine >= NEAR_DUPLICATE_COSINE), or starts one. Every member is close to its
    group's first image, so similarity cannot chain a slow pan or a colour ramp into one giant group.
    Rows of zeros (no cached vector) take no part; memory stays at 512 x N similarities."""
    feats = np.asarray(features, dtype=np.float32)
    n = len(feats)
    if n == 0:
        return []
    lengths = np.linalg.norm(feats, axis=1)
    usable = lengths > 0
    norm = feats / np.maximum(lengths, 1e-12)[:, None]
    free = usable.copy()  # not in a group yet
    groups: list[list[int]] = []
    for start in range(0, n, 512):
        close = (norm[start:start + 512] @ norm.T) >= NEAR_DUPLICATE_COSINE
        for offset in np.flatnonzero(free[start:start + 512]).tolist():
            i = start + offset
            if not free[i]:
                continue  # claimed by an earlier image of this block
            members = np.flatnonzero(close[offset] & free)
            free[members] = False
            if len(members) > 1:  # the image itself is among them
                groups.append(members.tolist())
    return groups


def _class_size_findings(root: Path, samples: list[dataset.Sample]) -> list[Finding]:
    """Classes too small or too unbalanced, judged by the same thresholds and words as training
    (``core/training/checks.py``)."""
    images: dict[str, list[Path]] = {name: [] for name in dataset.class_names(root)}
    for s in samples:
        images.setdefault(s.label, []).append(s.path)
    sizes = judge_class_sizes({name: len(paths) for name, paths in images.items()})
    found = []
    for name in sizes.empty + sizes.too_few:
        count = sizes.counts[name]
        have = "no images" if count == 0 else f"only {count} image{'s' if count != 1 else ''}"
        found.append(Finding("tiny_class", f"Class {name} has {have}",
                             f"Too few to train: it takes {class_size_advice()}.", sorted(images[name])))
    for name in sizes.few:
        found.append(Finding("small_class", f"Class {name} has only {sizes.counts[name]} images",
                             describe(few_images_note(sizes, [name])), sorted(images[name])))
    unbalanced = unbalanced_note(sizes)
    if unbalanced is not None:
        big, small = sizes.unbalanced
        found.append(Finding("unbalanced", f"Unbalanced: {big} ({sizes.counts[big]}) vs {small} "
                             f"({sizes.counts[small]})", describe(unbalanced), sorted(images[small])))
    return found
