"""Content hashes of image files, and a stat index so unchanged files are not read again.

The feature cache is keyed by what is in a file, not where it is: a renamed or moved photo keeps its
bottleneck, an edited one gets a new one. Hashing 20,000 camera photos means reading ~100 GB, so the
hash of each file is remembered with its (size, mtime, inode); while those match, the file is not read.
"""
from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from imgclf_gui.core.support.json_cache import JsonCache

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


def _valid_entry(_key: str, value: object) -> bool:
    return (isinstance(value, list) and len(value) == 4 and all(isinstance(v, int) for v in value[:3])
            and isinstance(value[3], str) and len(value[3]) == 64)


class HashIndex(JsonCache):
    """(path, size, mtime_ns, inode) -> content hash, persisted as JSON; thread-safe.

    Paths inside ``root`` are stored relative to it, so the index survives the project being renamed.
    A missing or damaged index file is simply an empty index: it is a cache, never the truth.
    """

    def __init__(self, file: Path | None, root: Path | None = None) -> None:
        super().__init__(file, format=_INDEX_FORMAT, version=_INDEX_VERSION, header={"hash": HASH_NAME},
                         valid=_valid_entry)
        self.root = Path(os.path.abspath(root)) if root is not None else None

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
        value = self.get(self._key(path))
        if value is not None and tuple(value[:3]) == signature(st):
            return value[3]
        return None

    def remember(self, path: str | os.PathLike[str], st: os.stat_result, digest: str) -> None:
        if time.time_ns() - st.st_mtime_ns < _RACY_WINDOW_NS:
            return
        self.put(self._key(path), [*signature(st), digest])


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
