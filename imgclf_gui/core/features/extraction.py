"""Bottleneck extraction: every image through the pretrained backbone once, remembered on disk.

Pipeline: a small thread pool reads, hashes and decodes files (Pillow and hashlib release the GIL)
while the calling thread runs the backbone on batches of 32, so both cores stay busy. At most
``_WINDOW`` images are in flight, whatever the folder size, so memory stays bounded.

Vectors are keyed by (content hash, variant) and cached where :mod:`imgclf_gui.core.features.cache`
places them; a stat index spares re-reading unchanged files. Cache trouble never stops extraction: it
only adds a warning to the result.

Entry point: :func:`extract_features`.
"""
from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imgclf_gui.core.features.cache import ExtractionCaches, VectorCaches
from imgclf_gui.core.features.hashing import read_and_hash
from imgclf_gui.core.features.store import Key
from imgclf_gui.core.images.augment import augment_for_network
from imgclf_gui.core.images.decode import CROP_POLICIES, ImageError, decode_for_network, read_error_reason
from imgclf_gui.core.support.cpus import cpu_budget
from imgclf_gui.core.support.notes import Note
from imgclf_gui.core.support.tasks_api import Cancelled, ProgressFn, StopFn

__all__ = ["ExtractionResult", "extract_features"]

BATCH_SIZE = 32
_WINDOW = 2 * BATCH_SIZE  # images decoded ahead of the network: bounds memory, keeps the backbone fed
_PROGRESS_INTERVAL_S = 0.1


@dataclass
class ExtractionResult:
    """Bottlenecks of a list of images, aligned with the list."""

    features: np.ndarray  #: float32 (N, dim); rows of failed images are zero
    ok: np.ndarray  #: bool (N,)
    hashes: list[str | None]  #: content hash per image (None when the file could not be read)
    failed: dict[Path, str]  #: unreadable images and why
    augmented: np.ndarray | None = None  #: float32 (N, variants, dim), or None when variants == 0
    computed: int = 0  #: images that went through the backbone in this run
    from_cache: int = 0  #: images whose vectors were all reused (cache, or a duplicate in this run)
    warnings: list[Note] = field(default_factory=list)  #: cache problems (never fatal); ``describe`` words them
    cache_file: Path | None = None  #: where the vectors were cached (None: not cached at all)


# --------------------------------------------------------------------------------------- the work


@dataclass
class _Prepared:
    """What a decode thread hands to the network thread for one image."""

    row: int
    digest: str | None = None
    error: str | None = None
    variants: tuple[int, ...] = ()  #: variants that need the backbone (in ``inputs`` order)
    inputs: np.ndarray | None = None  #: uint8 (len(variants), S, S, 3)


class _Extraction:
    def __init__(self, paths: list[Path], spec: Any, backbone_id: str, caches: VectorCaches, variants: int,
                 crop: str, on_progress: ProgressFn, should_stop: StopFn, extractor: Any = None) -> None:
        self.paths = paths
        self.spec = spec
        self.backbone_id = backbone_id
        self.caches = caches
        self.variants = variants
        self.crop = crop
        self.on_progress = on_progress
        self.should_stop = should_stop
        n = len(paths)
        self.features = np.zeros((n, spec.dim), np.float32)
        self.augmented = np.zeros((n, variants, spec.dim), np.float32) if variants else None
        self.ok = np.zeros(n, bool)
        self.hashes: list[str | None] = [None] * n
        self.failed: dict[Path, str] = {}
        self.outstanding = np.zeros(n, np.int32)  # vectors still awaited per image
        self.computed_rows: set[int] = set()
        self.done = 0
        self._last_progress = 0.0
        self._last_done = -1  # each value is shown once: the GUI repaints only on change
        self._extractor: Any = extractor
        self._owns_extractor = extractor is None  # one handed in stays open for its owner's next call
        # Vectors waiting for the backbone, each with every (row, variant) that wants it: identical
        # files (same hash) share one computation.
        self.batch_keys: list[Key] = []
        # Images are written straight into the network's float32 batch as they arrive: one pass that
        # converts and copies, instead of stacking uint8 images and converting the stack afterwards.
        self.batch = np.empty((BATCH_SIZE, spec.input_size, spec.input_size, 3), np.float32)
        self.waiting: dict[Key, list[tuple[int, int]]] = {}
        self.fresh: dict[Key, np.ndarray] = {}  # computed in this run (for later duplicates)

    # -------------------------------------------------------------------- decode threads (parallel)
    def prepare(self, row: int, force: bool = False) -> _Prepared:
        path = self.paths[row]
        wanted = range(self.variants + 1)
        digest: str | None = None
        if not force:
            try:
                st = os.stat(path)
            except OSError as exc:
                return _Prepared(row, error=read_error_reason(exc))
            digest = self.caches.index.lookup(path, st)
            if digest is not None and all(self.caches.has((bytes.fromhex(digest), v)) for v in wanted):
                return _Prepared(row, digest)  # nothing to read: the common case on a re-run
            known = self.caches.unreadable.reason(digest)
            if known is not None:
                return _Prepared(row, digest, error=known)  # failed before with these very bytes
        try:
            data, digest, st = read_and_hash(path)
        except OSError as exc:
            return _Prepared(row, error=read_error_reason(exc))
        self.caches.index.remember(path, st, digest)
        known = None if force else self.caches.unreadable.reason(digest)
        if known is not None:
            return _Prepared(row, digest, error=known)
        raw = bytes.fromhex(digest)
        needed = tuple(v for v in wanted if force or not self.caches.has((raw, v)))
        if not needed:
            return _Prepared(row, digest)
        size = self.spec.input_size
        augmenting = any(needed)
        try:
            plain, rgb = decode_for_network(data, path, size, self.crop, keep_rgb=augmenting)
        except ImageError as exc:
            if exc.lasting:
                self.caches.unreadable.remember(digest, exc.reason)
            return _Prepared(row, digest, error=exc.reason)
        del data  # the encoded file can be large; only the decoded picture is needed now
        if needed == (0,):
            return _Prepared(row, digest, variants=needed, inputs=plain[None])
        inputs = np.empty((len(needed), size, size, 3), np.uint8)
        for i, variant in enumerate(needed):
            if variant == 0:
                inputs[i] = plain
            else:
                assert rgb is not None
                inputs[i] = augment_for_network(rgb, variant, digest, size, self.crop)
        return _Prepared(row, digest, variants=needed, inputs=inputs)

    # --------------------------------------------------------------------- network thread (caller)
    def _store(self, row: int, variant: int, vector: np.ndarray) -> None:
        if variant == 0:
            self.features[row] = vector
        else:
            assert self.augmented is not None
            self.augmented[row, variant - 1] = vector
        self.outstanding[row] -= 1
        if self.outstanding[row] == 0:
            self.ok[row] = True
            self._finished_one()

    def _finished_one(self) -> None:
        self.done += 1
        self.progress()

    def progress(self, force: bool = False) -> None:
        if self.on_progress is None or self.done == self._last_done:
            return
        now = time.monotonic()
        if force or self.done == len(self.paths) or now - self._last_progress >= _PROGRESS_INTERVAL_S:
            self._last_progress = now
            self._last_done = self.done
            self.on_progress(self.done, len(self.paths))

    def accept(self, item: _Prepared) -> bool:
        """Take one prepared image; False when a cached vector turned out bad and it must be redone."""
        row = item.row
        self.hashes[row] = item.digest
        if item.error is not None:
            self.failed[self.paths[row]] = item.error
            self._finished_one()
            return True
        raw = bytes.fromhex(item.digest or "")
        to_compute = dict(zip(item.variants, item.inputs if item.inputs is not None else []))
        # Resolve every variant first (a vector now, or a wait on a computation), so that a bad cached
        # vector can still send the image back for decoding before anything is recorded.
        ready: list[tuple[int, np.ndarray]] = []
        waits: list[tuple[Key, int, np.ndarray | None]] = []
        for variant in range(self.variants + 1):
            key = (raw, variant)
            vector = self.fresh.get(key)
            if vector is None and key not in self.waiting and variant not in to_compute:
                vector = self.caches.get(key)
                if vector is None:
                    return False  # indexed but damaged or gone since: decode and compute it
            if vector is not None:
                ready.append((variant, vector))
            else:
                waits.append((key, variant, to_compute.get(variant)))
        self.outstanding[row] = self.variants + 1
        for key, variant, image in waits:
            if key in self.waiting:
                self.waiting[key].append((row, variant))
            else:
                assert image is not None
                self.waiting[key] = [(row, variant)]
                if len(self.batch_keys) == BATCH_SIZE:
                    self.run_batch()
                self.batch[len(self.batch_keys)] = image
                self.batch_keys.append(key)
        for variant, vector in ready:
            self._store(row, variant, vector)
        if len(self.batch_keys) == BATCH_SIZE:
            self.run_batch()
        return True

    def run_batch(self) -> None:
        if not self.batch_keys:
            return
        if self._extractor is None:  # opened only when something is not cached: re-runs stay instant
            from imgclf_gui.core.backbones import open_extractor

            self._extractor = open_extractor(self.backbone_id)
        keys, self.batch_keys = self.batch_keys, []
        vectors = np.asarray(self._extractor.features(self.batch[:len(keys)]), np.float32)
        new_records: list[tuple[Key, np.ndarray]] = []
        for key, vector in zip(keys, vectors):
            self.fresh[key] = vector
            new_records.append((key, vector))
            rows = self.waiting.pop(key)
            self.computed_rows.add(rows[0][0])  # later copies of the same file count as reused
            for row, variant in rows:
                self._store(row, variant, vector)
        self.caches.add(new_records)

    def close(self) -> None:
        if not self._owns_extractor:
            return
        close = getattr(self._extractor, "close", None)
        if callable(close):
            close()


def extract_features(
    paths: Sequence[str | os.PathLike[str]],
    backbone_id: str,
    project_root: str | os.PathLike[str] | None,
    *,
    variants: int = 0,
    crop: str = "squash",
    on_progress: ProgressFn = None,
    should_stop: StopFn = None,
    caches: VectorCaches | None = None,
    extractor: Any = None,
) -> ExtractionResult:
    """Bottleneck vectors of ``paths`` through backbone ``backbone_id``, reusing the project's cache.

    ``variants=k`` also gives k augmented variants per image (``result.augmented``, cached too).
    Unreadable images are skipped and listed in ``result.failed``; cache trouble (read-only folder,
    full disk, damaged file) only adds ``result.warnings`` (``Note`` s). ``on_progress(done, total)`` is called at
    most ~10 times a second and once at the end; when ``should_stop()`` turns true, what was computed
    is saved and :class:`~imgclf_gui.core.support.tasks_api.Cancelled` is raised.
    A Dask worker computing its share for the one writer (``core/cluster``) passes ``caches`` (vectors kept
    in memory, nothing written; closed at the end) and ``extractor`` (its backbone, opened once per process).
    Raises ``KeyError`` for an unknown backbone and ``BackboneUnavailable`` when its weights are missing.
    """
    from imgclf_gui.core.backbones import get_spec

    if crop not in CROP_POLICIES:
        raise ValueError(f"crop must be one of {CROP_POLICIES}, not {crop!r}")
    if variants < 0:
        raise ValueError("variants must be >= 0")
    spec = get_spec(backbone_id)
    path_list = [Path(p) for p in paths]
    if caches is None:
        caches = ExtractionCaches(project_root, spec, crop)
    job = _Extraction(path_list, spec, backbone_id, caches, variants, crop, on_progress, should_stop, extractor)
    # One decode thread per core: on 2 cores the backbone's own threads share them, which measured
    # the same CPU time as fewer threads or lower-priority decoding, and keeps camera JPEGs (decode-bound) fed.
    workers = max(1, min(4, cpu_budget()))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="imgclf-decode")
    window: deque[Future[_Prepared]] = deque()
    try:
        job.progress(force=True)
        rows = iter(range(len(path_list)))
        for row in rows:
            window.append(pool.submit(job.prepare, row))
            if len(window) >= _WINDOW:
                break
        while window:
            if should_stop is not None and should_stop():
                raise Cancelled()
            item = window.popleft().result()
            if not job.accept(item):
                window.append(pool.submit(job.prepare, item.row, True))
                continue
            row = next(rows, None)
            if row is not None:
                window.append(pool.submit(job.prepare, row))
        job.run_batch()
        job.progress(force=True)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        job.close()
        caches.close()  # what was computed is on disk before Cancelled (or any error) propagates
    computed = len(job.computed_rows)
    return ExtractionResult(
        features=job.features,
        ok=job.ok,
        hashes=job.hashes,
        failed=job.failed,
        augmented=job.augmented,
        computed=computed,
        from_cache=len(path_list) - computed - len(job.failed),
        warnings=caches.warnings,
        cache_file=caches.cache_file,
    )
