"""Where bottleneck vectors are cached, and the cache set of one extraction run.

A project's vectors live in one record file per (backbone version, crop policy) under
``PROJECT/.imgclf/features/`` (see :mod:`imgclf_gui.core.features.store`), beside a stat index of content
hashes and the memory of undecodable files. When the project folder is read-only, new vectors go to a
stand-in folder in the user cache (what the project already holds is still read); when nothing can be
written, extraction still works, with a warning.

Entry points: :func:`open_project_cache` (read a project's vectors of one network),
:func:`cached_features` (what a head of any backbone, combined too, sees, from the cache only),
:func:`cached_backbone_ids`,
:func:`hash_index_path`, :func:`unreadable_memory`; :class:`ExtractionCaches` is what
:func:`~imgclf_gui.core.features.extraction.extract_features` reads from and writes to.
"""
from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from imgclf_gui.core.features.store import FeatureStore, Key
from imgclf_gui.core.images.augment import AUGMENT_VERSION
from imgclf_gui.core.project import layout
from imgclf_gui.core.support.file_hash import HashIndex
from imgclf_gui.core.support.notes import (
    CACHE_ELSEWHERE,
    CACHE_UNAVAILABLE,
    CACHE_WRITE_FAILED,
    HASH_INDEX_NOT_SAVED,
    Note,
)
from imgclf_gui.core.support.safe_files import JsonCache

#: Bump when the network input made from a given file could change (decoding, resizing, draft mode):
#: it is part of the cache identity, so old vectors are then recomputed, never silently reused.
PIPELINE_VERSION = 1


def cache_folder(project_root: str | os.PathLike[str] | None) -> Path:
    """The ``.imgclf`` folder of a project (or the user-cache stand-in for images with no project)."""
    if project_root is None:
        from imgclf_gui.core.support.paths import user_cache_dir

        return user_cache_dir() / "loose-images"
    return layout.state_dir(project_root)


def _fallback_folder(project_root: str | os.PathLike[str] | None) -> Path:
    from imgclf_gui.core.support.paths import user_cache_dir

    key = hashlib.sha256(os.path.abspath(project_root or "-").encode("utf-8")).hexdigest()[:16]
    return user_cache_dir() / "projects" / key


def _safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.@" else "_" for c in text)


def _store_identity(spec: Any, crop: str) -> str:
    """What a cache file's header must say for its vectors to be valid for this backbone and crop."""
    return f"{spec.cache_key}|crop={crop}|size={spec.input_size}|dim={spec.dim}|pipeline={PIPELINE_VERSION}"


def _store_path(folder: Path, spec: Any, crop: str) -> Path:
    return layout.features_dir(folder) / _safe_name(spec.cache_key) / f"{crop}.features"


def hash_index_path(project_root: str | os.PathLike[str] | None) -> Path:
    """The project's stat index of content hashes (path, size, mtime -> hash)."""
    return layout.hash_index_file(cache_folder(project_root))


def decoder_identity() -> str:
    """What decoded the images: a file that failed under it is remembered as unreadable only for it."""
    import PIL

    return f"pillow={PIL.__version__}|pipeline={PIPELINE_VERSION}"


def unreadable_memory(project_root: str | os.PathLike[str] | None) -> UnreadableMemory:
    """The project's memory of file contents that could not be decoded (see :mod:`core.unreadable`)."""
    return UnreadableMemory(layout.unreadable_file(cache_folder(project_root)), decoder_identity())


def open_project_cache(project_root: str | os.PathLike[str], spec: Any, crop: str) -> FeatureStore | None:
    """The project's cache of ``spec``'s bottlenecks, opened read-only (safe beside a running
    extraction); None when there is none yet. The caller closes it. Raises OSError if unreadable."""
    path = _store_path(cache_folder(project_root), spec, crop)
    if not path.exists():
        return None
    return FeatureStore.open(path, dim=spec.dim, identity=_store_identity(spec, crop),
                             augment_version=AUGMENT_VERSION, writable=False)


def cached_backbone_ids(project_root: str | os.PathLike[str]) -> list[str]:
    """Backbones (offered combinations too) whose current version already has bottlenecks cached in the
    project: for a combination, every one of its parts."""
    from imgclf_gui.core.backbones import feature_parts, list_specs

    folder = layout.features_dir(cache_folder(project_root))
    return [spec.id for spec in list_specs()
            if all((folder / _safe_name(part.cache_key)).is_dir() for part in feature_parts(spec))]


def cached_features(project_root: str | os.PathLike[str], backbone_id: str, crop: str,
                    digests: Sequence[str | None], notes: list[Note] | None = None) -> np.ndarray | None:
    """The features a head of ``backbone_id`` sees for these contents, read from the project's cache only
    (``combine_features`` of every part's bottleneck); zero rows where a part has none cached. None when
    a part has no cache at all. Problems met on the way are added to ``notes``. Raises OSError."""
    from imgclf_gui.core.backbones import combine_features, feature_parts

    vectors, found = [], np.ones(len(digests), bool)
    for part in feature_parts(backbone_id):
        store = open_project_cache(project_root, part, crop)
        if store is None:
            return None
        try:
            rows = np.zeros((len(digests), part.dim), np.float32)
            for i, digest in enumerate(digests):
                vector = store.get((bytes.fromhex(digest), 0)) if digest is not None else None
                if vector is None:
                    found[i] = False
                else:
                    rows[i] = vector
            vectors.append(rows)
        finally:
            if notes is not None:
                notes.extend(store.notes)
            store.close()
    features = combine_features(vectors)
    features[~found] = 0.0
    return features


def _why_not_writable(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return "the folder is read-only"
    return exc.strerror or str(exc)


class VectorCaches(Protocol):
    """What an extraction of ONE network reads vectors from and hands new ones to: :class:`ExtractionCaches`
    of one backbone (the project's cache), or a Dask worker's memory whose vectors go back to the one
    writer (``core/cluster``)."""

    index: HashIndex
    unreadable: UnreadableMemory
    warnings: list[Note]

    @property
    def cache_file(self) -> Path | None: ...
    def has(self, key: Key) -> bool: ...
    def get(self, key: Key) -> np.ndarray | None: ...
    def add(self, items: list[tuple[Key, np.ndarray]]) -> None: ...
    def close(self) -> None: ...


class _NetworkStores:
    """Where one network's vectors are looked up (possibly several places) and the one place new ones go."""

    def __init__(self, project_root: str | os.PathLike[str] | None, spec: Any, crop: str,
                 warnings: list[Note]) -> None:
        self.readers: list[FeatureStore] = []
        self.writer: FeatureStore | None = None
        self.fell_back = False  # the project folder could not take new vectors
        self._warnings = warnings
        identity = _store_identity(spec, crop)
        primary, fallback = cache_folder(project_root), _fallback_folder(project_root)

        def open_store(folder: Path, writable: bool) -> FeatureStore:
            return FeatureStore.open(
                _store_path(folder, spec, crop), dim=spec.dim, identity=identity, augment_version=AUGMENT_VERSION,
                writable=writable,
            )

        try:
            self.writer = open_store(primary, True)
        except OSError as exc:
            self.fell_back = True
            reason = _why_not_writable(exc)
            if _store_path(primary, spec, crop).exists():  # what an earlier run cached there is still good to read
                try:
                    self.readers.append(open_store(primary, False))
                except OSError:
                    pass
            try:
                self.writer = open_store(fallback, True)
                warnings.append(Note(CACHE_ELSEWHERE, {"reason": reason, "folder": str(fallback)}))
            except OSError as exc2:
                warnings.append(Note(CACHE_UNAVAILABLE, {"reason": reason, "folder": str(fallback),
                                                         "fallback_reason": _why_not_writable(exc2)}))
        if self.writer is not None:
            self.readers.insert(0, self.writer)
        for store in self.readers:
            warnings.extend(store.notes)

    def has(self, key: Key) -> bool:
        return any(key in store for store in self.readers)

    def get(self, key: Key) -> np.ndarray | None:
        for store in self.readers:
            vector = store.get(key)
            if vector is not None:
                return vector
        return None

    def add(self, items: list[tuple[Key, np.ndarray]]) -> None:
        if self.writer is None or not items:
            return
        try:
            self.writer.append(items)
        except OSError as exc:
            # Keep computing: the vectors are in the result; only their reuse next time is lost.
            self._warnings.append(Note(CACHE_WRITE_FAILED, {"reason": _why_not_writable(exc)}))
            self.writer.close()
            self.readers.remove(self.writer)
            self.writer = None

    def close(self) -> None:
        for store in self.readers:
            store.close()


class ExtractionCaches:
    """The vector caches of each network an extraction runs (``specs``: one per part of a combined backbone,
    each the same file that network uses alone; or one spec), and the project's hash index and
    unreadable-file memory, shared by them all. With one network it is a :class:`VectorCaches` too."""

    def __init__(self, project_root: str | os.PathLike[str] | None, specs: Any, crop: str) -> None:
        self.warnings: list[Note] = []
        specs = [specs] if hasattr(specs, "input_size") else list(specs)
        self.networks = [_NetworkStores(project_root, spec, crop, self.warnings) for spec in specs]
        primary, fallback = cache_folder(project_root), _fallback_folder(project_root)
        if any(n.fell_back for n in self.networks):
            index_file, seed = layout.hash_index_file(fallback), layout.hash_index_file(primary)
        else:
            index_file, seed = layout.hash_index_file(primary), None
        self.index = HashIndex(index_file, project_root)
        if seed is not None and len(self.index) == 0 and seed.exists():
            self.index = HashIndex(seed, project_root)
            self.index.file = index_file
        # Kept beside the hash index it relies on (in the fallback folder when the project is read-only).
        self.unreadable = UnreadableMemory(layout.unreadable_file(index_file.parent), decoder_identity())
        if seed is not None and len(self.unreadable) == 0:
            self.unreadable = UnreadableMemory(layout.unreadable_file(seed.parent), decoder_identity())
            self.unreadable.file = layout.unreadable_file(index_file.parent)
        # A damaged index or memory was set aside (it is damage, never data): say so with the results.
        self.warnings.extend(cache.damage for cache in (self.index, self.unreadable) if cache.damage)

    @property
    def cache_file(self) -> Path | None:
        """The file the first network's new vectors go to (None: nothing can be cached)."""
        writer = self.networks[0].writer
        return writer.path if writer is not None else None

    def _only(self) -> _NetworkStores:
        if len(self.networks) != 1:
            raise ValueError("these caches hold several networks' vectors: use .networks")
        return self.networks[0]

    def has(self, key: Key) -> bool:
        return self._only().has(key)

    def get(self, key: Key) -> np.ndarray | None:
        return self._only().get(key)

    def add(self, items: list[tuple[Key, np.ndarray]]) -> None:
        self._only().add(items)

    def close(self) -> None:
        try:
            self.index.save()
        except OSError as exc:
            self.warnings.append(Note(HASH_INDEX_NOT_SAVED, {"reason": _why_not_writable(exc)}))
        try:
            self.unreadable.save()
        except OSError:
            pass  # only costs decoding the damaged files again next time (the index warning covers why)
        for network in self.networks:
            network.close()


# -- the memory of undecodable files ----------------------------------------------------------------------
# Which file contents could not be decoded, remembered by content hash in ``.imgclf/unreadable.json``.
#
# A damaged photo stays damaged. Without this memory every training run would read it and try to decode
# it again, the training summary would count it as "still to compute" for ever, and every data check
# would decode it again too. Only failures that come from the bytes themselves are remembered (a
# truncated or non-image file: :attr:`ImageError.lasting`), never ones that come from the moment
# (permission denied, a vanished file, no memory left). The memory is tied to the decoder (Pillow's
# version and the feature pipeline's): a newer Pillow that can read the file gets its chance. A file that
# is repaired or replaced has new bytes, hence a new hash, and is tried afresh.
#
# Like the hash index, this is a cache, never the truth: a missing file is an empty memory, and a damaged
# one (its checksum does not match) is set aside and the memory starts empty.

_UNREADABLE_FORMAT = "imgclf-unreadable"
_UNREADABLE_VERSION = 2  # 2: with a checksum
_MAX_REASON = 500


class UnreadableMemory(JsonCache):
    """content hash -> reason, for the decoder named ``decoder``; thread-safe."""

    def __init__(self, file: Path | None, decoder: str) -> None:
        super().__init__(file, format=_UNREADABLE_FORMAT, version=_UNREADABLE_VERSION, header={"decoder": decoder},
                         valid=lambda digest, reason: _is_digest(digest) and isinstance(reason, str)
                         and 0 < len(reason) <= _MAX_REASON,
                         what="the memory of files that could not be decoded",
                         consequence="those files will be tried again")
        self.decoder = decoder

    def reason(self, digest: str | None) -> str | None:
        """Why the content with this hash could not be decoded, or None when it is not known to fail."""
        return None if digest is None else self.get(digest)

    def remember(self, digest: str, reason: str) -> None:
        if _is_digest(digest) and reason:
            self.put(digest, reason[:_MAX_REASON])


def _is_digest(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
