"""Content hashes of image files, and a stat index so unchanged files are not read again.

The feature cache is keyed by what is in a file, not where it is: a renamed or moved photo keeps its
bottleneck, an edited one gets a new one. Hashing 20,000 camera photos means reading ~100 GB, so the
hash of each file is remembered with its (size, mtime, inode); while those match, the file is not read.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path

from imgclf_gui.core.atomic import atomic_write_json

HASH_NAME = "sha256"
_INDEX_FORMAT = "imgclf-hash-index"
_INDEX_VERSION = 1
# A file changed again within the same mtime tick as our hashing would look unchanged afterwards
# (FAT-formatted camera cards have 2-second mtimes), so files that young are hashed but not indexed.
_RACY_WINDOW_NS = 3_000_000_000

Signature = tuple[int, int, int]  # size, mtime_ns, inode


def signature(st: os.stat_result) -> Signature:
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def hash_bytes(data: bytes) -> str:
    """Hex digest of ``data``, the same as :func:`content_hash` of a file holding it."""
    return hashlib.new(HASH_NAME, data).hexdigest()


def read_and_hash(path: str | os.PathLike[str]) -> tuple[bytes, str, os.stat_result]:
    """The whole file, its hex digest and its stat taken on the open file (so all three agree).

    Raises OSError (FileNotFoundError, PermissionError, ...) like ``open``.
    """
    with open(path, "rb") as handle:
        st = os.fstat(handle.fileno())
        data = handle.read()
    return data, hash_bytes(data), st


class HashIndex:
    """(path, size, mtime_ns, inode) -> content hash, persisted as JSON; thread-safe.

    Paths inside ``root`` are stored relative to it, so the index survives the project being renamed.
    A missing or damaged index file is simply an empty index: it is a cache, never the truth.
    """

    def __init__(self, file: Path | None, root: Path | None = None) -> None:
        self.file = file
        self.root = Path(os.path.abspath(root)) if root is not None else None
        self._entries: dict[str, list] = {}
        self._lock = threading.Lock()
        self._dirty = False
        if file is not None:
            self._load(file)

    def _load(self, file: Path) -> None:
        try:
            raw = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            return
        if not isinstance(raw, dict) or raw.get("format") != _INDEX_FORMAT or raw.get("version") != _INDEX_VERSION:
            return
        entries = raw.get("entries")
        if not isinstance(entries, dict):
            return
        for key, value in entries.items():
            # Each entry is checked: a hand-edited or damaged file must not feed us a wrong hash type.
            if (
                isinstance(value, list)
                and len(value) == 4
                and all(isinstance(v, int) for v in value[:3])
                and isinstance(value[3], str)
                and len(value[3]) == 64
            ):
                self._entries[key] = value

    def _key(self, path: str | os.PathLike[str]) -> str:
        absolute = os.path.abspath(path)
        if self.root is not None:
            try:
                rel = os.path.relpath(absolute, self.root)
            except ValueError:  # another drive on Windows
                return absolute
            if not rel.startswith(os.pardir):
                return rel.replace(os.sep, "/")
        return absolute

    def lookup(self, path: str | os.PathLike[str], st: os.stat_result) -> str | None:
        """The remembered hash when the file's size, mtime and inode are unchanged, else None."""
        with self._lock:
            value = self._entries.get(self._key(path))
        if value is not None and tuple(value[:3]) == signature(st):
            return value[3]
        return None

    def remember(self, path: str | os.PathLike[str], st: os.stat_result, digest: str) -> None:
        if time.time_ns() - st.st_mtime_ns < _RACY_WINDOW_NS:
            return
        entry = [*signature(st), digest]
        key = self._key(path)
        with self._lock:
            if self._entries.get(key) != entry:
                self._entries[key] = entry
                self._dirty = True

    def __len__(self) -> int:
        return len(self._entries)

    def save(self) -> None:
        """Write the index if it changed (atomically). Raises OSError when it cannot be written."""
        with self._lock:
            if not self._dirty or self.file is None:
                return
            payload = {"format": _INDEX_FORMAT, "version": _INDEX_VERSION, "hash": HASH_NAME,
                       "entries": dict(self._entries)}
            self._dirty = False
        try:
            atomic_write_json(self.file, payload)
        except OSError:
            with self._lock:
                self._dirty = True
            raise


_memory_index = HashIndex(None)


def content_hash(path: str | os.PathLike[str], *, index: HashIndex | None = None) -> str:
    """Hex SHA-256 of the file's bytes; ``index`` (or an in-process one) skips unchanged files.

    Raises OSError when the file cannot be read.
    """
    index = index if index is not None else _memory_index
    st = os.stat(path)
    known = index.lookup(path, st)
    if known is not None:
        return known
    with open(path, "rb") as handle:
        st = os.fstat(handle.fileno())
        digest = hashlib.file_digest(handle, HASH_NAME).hexdigest()  # streamed: big TIFFs exist
    index.remember(path, st, digest)
    return digest
