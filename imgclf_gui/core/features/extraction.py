"""Bottleneck extraction: every image through the pretrained backbone once, remembered on disk.

Pipeline: a small thread pool reads, hashes and decodes files (Pillow and hashlib release the GIL)
while the calling thread runs the backbone on batches of 32, so both cores stay busy. At most
``_WINDOW`` images are in flight, whatever the folder size, so memory stays bounded.

A combined backbone runs each of its networks (``backbones.feature_parts``) on inputs made from the same
read and decode of each file (``images.decode.load_rgb_for_sides``), caches each network's vectors where
that network alone caches them, and hands back ``backbones.combine_features`` of them: what the head sees.

Vectors are keyed by (content hash, variant) and cached where :mod:`imgclf_gui.core.features.cache`
places them; a stat index spares re-reading unchanged files. Cache trouble never stops extraction: it
only adds a warning to the result. Variant 0 is the image, 1..k its augmented copies, and
:data:`FLIP_VARIANT` its mirror image (the network input flipped left to right), computed with ``flips``.

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
from imgclf_gui.core.features.network_batches import BATCH_SIZE, NetworkBatches
from imgclf_gui.core.images.augment import augment_for_network
from imgclf_gui.core.images.decode import (
    CROP_POLICIES,
    ImageError,
    decode_for_network,
    load_rgb_for_sides,
    read_error_reason,
    to_network_input,
)
from imgclf_gui.core.support.cpus import cpu_budget
from imgclf_gui.core.support.file_hash import read_and_hash
from imgclf_gui.core.support.notes import Note
from imgclf_gui.core.support.tasks_api import Cancelled, ProgressFn, StopFn

__all__ = ["ExtractionResult", "extract_features", "FLIP_VARIANT", "mirrored"]

#: the cache variant of an image's mirror image (far above the augmented copies' 1..10)
FLIP_VARIANT = 0xFFFF
_WINDOW = 2 * BATCH_SIZE  # images decoded ahead of the network: bounds memory, keeps the backbone fed
_PROGRESS_INTERVAL_S = 0.1


def mirrored(inputs: np.ndarray) -> np.ndarray:
    """Network inputs (..., S, S, 3) flipped left to right: the flip of the picture the network is fed,
    made after resizing, so every path (extraction, ``predict.py``, exports) computes the very same one."""
    return np.ascontiguousarray(inputs[..., ::-1, :])


@dataclass
class ExtractionResult:
    """The features of a list of images (what the head sees), aligned with the list."""

    features: np.ndarray  #: float32 (N, dim); rows of failed images are zero
    ok: np.ndarray  #: bool (N,)
    hashes: list[str | None]  #: content hash per image (None when the file could not be read)
    failed: dict[Path, str]  #: unreadable images and why
    augmented: np.ndarray | None = None  #: float32 (N, variants, dim), or None when variants == 0
    flipped: np.ndarray | None = None  #: float32 (N, dim) of each image's mirror image, or None without flips
    computed: int = 0  #: images that went through a network in this run
    from_cache: int = 0  #: images whose vectors were all reused (cache, or a duplicate in this run)
    warnings: list[Note] = field(default_factory=list)  #: cache problems (never fatal); ``describe`` words them
    cache_file: Path | None = None  #: where the (first network's) vectors were cached (None: not cached at all)


# --------------------------------------------------------------------------------------- the work


@dataclass
class _Prepared:
    """What a decode thread hands to the network thread for one image."""

    row: int
    digest: str | None = None
    error: str | None = None
    #: network inputs to compute, uint8 (S, S, 3) each, by (network, variant)
    inputs: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)


class _Extraction:
    def __init__(self, paths: list[Path], specs: Sequence[Any], caches: VectorCaches | ExtractionCaches,
                 variants: int, flips: bool, crop: str, on_progress: ProgressFn, extractor: Any = None) -> None:
        self.paths = paths
        self.caches = caches
        self.variants = variants
        #: every vector an image needs from each network
        self.wanted = tuple(range(variants + 1)) + ((FLIP_VARIANT,) if flips else ())
        self.crop = crop
        self.on_progress = on_progress
        n = len(paths)
        # one network's caches (a cluster worker's memory) are that network's stores themselves
        stores = caches.networks if isinstance(caches, ExtractionCaches) else [caches]
        self.networks = [NetworkBatches(spec, network, n, variants, flips, self._stored, extractor)
                         for spec, network in zip(specs, stores)]
        self.ok = np.zeros(n, bool)
        self.hashes: list[str | None] = [None] * n
        self.failed: dict[Path, str] = {}
        self.outstanding = np.zeros(n, np.int32)  # vectors still awaited per image, all networks together
        self.done = 0
        self._last_progress = 0.0
        self._last_done = -1  # each value is shown once: the GUI repaints only on change

    # -------------------------------------------------------------------- decode threads (parallel)
    def prepare(self, row: int, force: bool = False) -> _Prepared:
        path = self.paths[row]
        digest: str | None = None
        if not force:
            try:
                st = os.stat(path)
            except OSError as exc:
                return _Prepared(row, error=read_error_reason(exc))
            digest = self.caches.index.lookup(path, st)
            if digest is not None and all(net.stores.has((bytes.fromhex(digest), v))
                                          for net in self.networks for v in self.wanted):
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
        needed = {k: tuple(v for v in self.wanted if force or not net.stores.has((raw, v)))
                  for k, net in enumerate(self.networks)}
        needed = {k: vs for k, vs in needed.items() if vs}
        if not needed:
            return _Prepared(row, digest)
        try:
            pictures = self._decode(data, path, needed)
        except ImageError as exc:
            if exc.lasting:
                self.caches.unreadable.remember(digest, exc.reason)
            return _Prepared(row, digest, error=exc.reason)
        del data  # the encoded file can be large; only the decoded pictures are needed now
        inputs: dict[tuple[int, int], np.ndarray] = {}
        for k, variants in needed.items():
            plain, picture = pictures[k]
            size = self.networks[k].spec.input_size
            for variant in variants:
                if variant == 0:
                    inputs[k, variant] = plain
                elif variant == FLIP_VARIANT:
                    inputs[k, variant] = mirrored(plain)
                else:
                    assert picture is not None
                    inputs[k, variant] = augment_for_network(picture, variant, digest, size, self.crop)
        return _Prepared(row, digest, inputs=inputs)

    def _decode(self, data: bytes, path: Path, needed: dict[int, tuple[int, ...]]
                ) -> dict[int, tuple[np.ndarray, np.ndarray | None]]:
        """(network input, decoded picture when augmenting) for each network that needs computing."""
        augmenting = any(v not in (0, FLIP_VARIANT) for vs in needed.values() for v in vs)
        if len(needed) == 1:  # one network: the single-backbone fast path, one decode straight to its input
            (k,) = needed
            return {k: decode_for_network(data, path, self.networks[k].spec.input_size, self.crop,
                                          keep_rgb=augmenting)}
        sizes = [self.networks[k].spec.input_size for k in needed]
        pictures = load_rgb_for_sides(path, sizes, data=data)
        return {k: (to_network_input(picture, size, self.crop), picture if augmenting else None)
                for k, size, picture in zip(needed, sizes, pictures)}

    # --------------------------------------------------------------------- network thread (caller)
    def _stored(self, row: int) -> None:
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
        # Resolve every vector first (a vector now, or a wait on a computation), so that a bad cached
        # vector can still send the image back for decoding before anything is recorded.
        plans = []
        for k, net in enumerate(self.networks):
            plan = net.plan(raw, self.wanted, {v: image for (n, v), image in item.inputs.items() if n == k})
            if plan is None:
                return False  # indexed but damaged or gone since: decode and compute it
            plans.append(plan)
        self.outstanding[row] = len(self.networks) * len(self.wanted)
        for net, plan in zip(self.networks, plans):
            net.carry_out(row, plan)
        return True

    def finish(self) -> None:
        for net in self.networks:
            net.run_batch()

    def close(self) -> None:
        for net in self.networks:
            net.close()

    def computed(self) -> int:
        return len(set().union(*(net.computed_rows for net in self.networks)))


def extract_features(
    paths: Sequence[str | os.PathLike[str]],
    backbone_id: str,
    project_root: str | os.PathLike[str] | None,
    *,
    variants: int = 0,
    flips: bool = False,
    crop: str = "squash",
    on_progress: ProgressFn = None,
    should_stop: StopFn = None,
    caches: VectorCaches | None = None,
    extractor: Any = None,
) -> ExtractionResult:
    """The features of ``paths`` through backbone ``backbone_id`` (every network of a combined one),
    reusing the project's cache.

    ``variants=k`` also gives k augmented variants per image (``result.augmented``), ``flips`` each image's
    mirror image (``result.flipped``); both are cached too. Unreadable images are skipped and listed in
    ``result.failed``; cache trouble (read-only folder, full disk, damaged file) only adds
    ``result.warnings`` (``Note`` s). ``on_progress(done, total)`` is called at most ~10 times a second
    and once at the end; when ``should_stop()`` turns true, what was computed is saved and
    :class:`~imgclf_gui.core.support.tasks_api.Cancelled` is raised.
    A Dask worker computing its share for the one writer (``core/cluster``) passes ``caches`` (vectors kept
    in memory, nothing written; closed at the end) and ``extractor`` (its backbone, opened once per process);
    both are one network's, so a combined backbone is extracted there network by network.
    Raises ``KeyError`` for an unknown backbone and ``BackboneUnavailable`` when its weights are missing.
    """
    from imgclf_gui.core.backbones import combine_features, feature_parts

    if crop not in CROP_POLICIES:
        raise ValueError(f"crop must be one of {CROP_POLICIES}, not {crop!r}")
    if variants < 0:
        raise ValueError("variants must be >= 0")
    specs = feature_parts(backbone_id)
    if (caches is not None or extractor is not None) and len(specs) > 1:
        raise ValueError(f"{backbone_id} combines several networks: extract them one at a time with given caches")
    path_list = [Path(p) for p in paths]
    if caches is None:
        caches = ExtractionCaches(project_root, specs, crop)
    job = _Extraction(path_list, specs, caches, variants, flips, crop, on_progress, extractor)
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
        job.finish()
        job.progress(force=True)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        job.close()
        caches.close()  # what was computed is on disk before Cancelled (or any error) propagates
    computed = job.computed()
    nets = job.networks
    return ExtractionResult(
        features=combine_features([net.features for net in nets]),
        ok=job.ok,
        hashes=job.hashes,
        failed=job.failed,
        augmented=combine_features([net.augmented for net in nets]) if variants else None,
        flipped=combine_features([net.flipped for net in nets]) if flips else None,
        computed=computed,
        from_cache=len(path_list) - computed - len(job.failed),
        warnings=caches.warnings,
        cache_file=caches.cache_file,
    )

