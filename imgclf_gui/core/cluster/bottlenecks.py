"""Bottlenecks of a project computed on a Dask cluster, cached by this computer alone.

The client looks every image up in the project's stat index first (as one process does): an unchanged
file whose vectors are cached, or whose bytes are known not to decode, never leaves this computer. The
rest goes to the workers in chunks (:mod:`~imgclf_gui.core.cluster.streaming`), which read, hash, decode
and run them exactly as ``extract_features`` does and send the vectors back; this computer appends them
to the project's cache file (the one writer), remembers each file's hash and any undecodable content, and
counts as one process would: an image whose vectors were all cached already (an earlier run, or an
identical file earlier in this one) is "from cache", whoever computed it.

Nothing is returned but counts: the vectors are in the cache, so memory stays flat for any folder size.

Entry point: :func:`extract_on_cluster`.
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from imgclf_gui.core.cluster.connection import ClusterSession, check_workers
from imgclf_gui.core.cluster.remote import ChunkVectors, Expected, extract_chunk
from imgclf_gui.core.cluster.streaming import CHUNK_SIZE, run_chunks
from imgclf_gui.core.features.cache import ExtractionCaches
from imgclf_gui.core.features.extraction import FLIP_VARIANT
from imgclf_gui.core.features.store import Key
from imgclf_gui.core.images.decode import CROP_POLICIES, read_error_reason
from imgclf_gui.core.support.notes import Note
from imgclf_gui.core.support.tasks_api import ProgressFn, StopFn

_PROGRESS_INTERVAL_S = 0.1


@dataclass
class ClusterExtraction:
    """What an extraction on a cluster did; ``computed + from_cache + len(failed) == total``."""

    total: int
    computed: int = 0  #: images whose vectors were new to the cache
    from_cache: int = 0  #: images whose vectors were all cached already
    failed: dict[Path, str] = field(default_factory=dict)  #: unreadable images and why
    warnings: list[Note] = field(default_factory=list)  #: cache problems (never fatal), as in one process
    cache_file: Path | None = None  #: where the vectors were cached (None: they could not be)


@dataclass(frozen=True)
class Pending:
    """An image the workers must read: the path as given, and the stat this computer saw."""

    path: Path
    absolute: str
    stat: os.stat_result


class CacheWriter:
    """The client's half, the one writer: decides what to send (:meth:`pending`) and writes what comes
    back (:meth:`absorb`) into ``caches``. ``result`` holds the counts so far."""

    def __init__(self, caches: ExtractionCaches, variants: int, total: int, on_progress: ProgressFn,
                 flips: bool = False) -> None:
        self.caches = caches
        self.variants = variants
        self.flips = flips
        self.result = ClusterExtraction(total)
        self.on_progress = on_progress
        self._shown = (-1, 0.0)

    @property
    def done(self) -> int:
        return self.result.computed + self.result.from_cache + len(self.result.failed)

    def progress(self, force: bool = False) -> None:
        done, now = self.done, time.monotonic()
        if self.on_progress is None or done == self._shown[0]:
            return
        if force or done == self.result.total or now - self._shown[1] >= _PROGRESS_INTERVAL_S:
            self._shown = (done, now)
            self.on_progress(done, self.result.total)

    def _keys(self, digest: str) -> list[Key]:
        raw = bytes.fromhex(digest)
        return [(raw, v) for v in range(self.variants + 1)] + ([(raw, FLIP_VARIANT)] if self.flips else [])

    def pending(self, paths: Sequence[Path]) -> Iterator[Pending]:
        """The images the workers must read, looked up lazily as the cluster has room for them."""
        for path in paths:
            try:
                st = os.stat(path)
            except OSError as exc:
                self.result.failed[path] = read_error_reason(exc)
                self.progress()
                continue
            digest = self.caches.index.lookup(path, st)
            if digest is not None and all(self.caches.has(key) for key in self._keys(digest)):
                self.result.from_cache += 1  # unchanged and cached: nothing to read
                self.progress()
                continue
            known = self.caches.unreadable.reason(digest)
            if known is not None:  # these very bytes failed to decode before
                self.result.failed[path] = known
                self.progress()
                continue
            yield Pending(path, os.path.abspath(path), st)

    def absorb(self, items: list[Pending], chunk: ChunkVectors) -> None:
        """Write one chunk's answer: vectors new to the cache, hashes into the index, counts."""
        vectors = dict(zip(chunk.keys, chunk.vectors))
        new: list[tuple[Key, object]] = []
        taken: set[Key] = set()
        for i, item in enumerate(items):
            reason = chunk.failed.get(i)
            digest = chunk.hashes[i]
            if reason is not None or digest is None:
                self.result.failed[item.path] = reason or "the file could not be read"
                continue
            signature = chunk.signatures[i]
            # Indexed with this computer's stat, as long as the worker read the file as this computer saw it.
            if signature is not None and signature[:2] == (item.stat.st_size, item.stat.st_mtime_ns):
                self.caches.index.remember(item.path, item.stat, digest)
            fresh = [key for key in self._keys(digest) if key not in taken and not self.caches.has(key)]
            for key in fresh:
                taken.add(key)
                new.append((key, vectors[key]))
            if fresh:
                self.result.computed += 1
            else:
                self.result.from_cache += 1
        for digest, reason in chunk.learned_unreadable.items():
            self.caches.unreadable.remember(digest, reason)
        self.caches.add(new)  # type: ignore[arg-type]
        self.progress()


def extract_on_cluster(
    session: ClusterSession,
    paths: Sequence[str | os.PathLike[str]],
    backbone_id: str,
    project_root: str | os.PathLike[str] | None,
    *,
    variants: int = 0,
    flips: bool = False,
    crop: str = "squash",
    on_progress: ProgressFn = None,
    should_stop: StopFn = None,
    chunk_size: int = CHUNK_SIZE,
) -> ClusterExtraction:
    """Cache the bottlenecks of ``paths`` (and ``variants`` augmented variants, and with ``flips`` each
    image's mirror image) in the project's cache,
    computed on the workers of ``session``: the same vectors, cache file and counts as ``extract_features``.

    Workers are checked first (same imgclf, decoder and backbone; the images visible at the same paths).
    ``on_progress(done, total)`` at most ~10 times a second, ``(0, N)`` first and ``(N, N)`` last;
    ``should_stop()`` (or Ctrl+C) cancels: what arrived is cached, the cache stays consistent, and
    ``Cancelled`` is raised. Raises ``ClusterError`` (a worker that differs or cannot see the images),
    ``KeyError`` (unknown backbone), ``ValueError`` (bad crop or variants).
    """
    from imgclf_gui.core.backbones import get_spec

    if crop not in CROP_POLICIES:
        raise ValueError(f"crop must be one of {CROP_POLICIES}, not {crop!r}")
    if variants < 0:
        raise ValueError("variants must be >= 0")
    spec = get_spec(backbone_id)
    expected = Expected.here(backbone_id)
    path_list = [Path(p) for p in paths]
    check_workers(session, expected, [os.path.abspath(p) for p in path_list])
    caches = ExtractionCaches(project_root, spec, crop)
    writer = CacheWriter(caches, variants, len(path_list), on_progress, flips)
    try:
        writer.progress(force=True)
        run_chunks(session, extract_chunk, (expected, variants, crop, flips), writer.pending(path_list),
                   payload=lambda item: item.absolute, deliver=writer.absorb,
                   lost=lambda item, reason: ChunkVectors.lost(reason, spec.dim),
                   chunk_size=chunk_size, should_stop=should_stop)
        writer.progress(force=True)
    finally:
        caches.close()  # what arrived is on disk before Cancelled (or any error) propagates
    writer.result.warnings = caches.warnings
    writer.result.cache_file = caches.cache_file
    return writer.result


__all__ = ["CacheWriter", "ClusterExtraction", "Pending", "extract_on_cluster"]
