"""Content hashes of image files, and a stat index so unchanged files are not read again.

The feature cache is keyed by what is in a file, not where it is: a renamed or moved photo keeps its
bottleneck, an edited one gets a new one. The move journal records the same hash of every file it moves
and moves a file back only when it still has it. Hashing 20,000 camera photos means reading ~100 GB, so
the hash of each file is remembered with its (size, mtime, inode) in ``hash-index.json``; while those
match, the file is not read. Only plain files are ever opened (:mod:`core.support.safe_files`).
"""
from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from imgclf_gui.core.support.safe_files import JsonCache, open_regular

HASH_NAME = "sha256"
_INDEX_FORMAT = "imgclf-hash-index"
_INDEX_VERSION = 2  # 2: with a checksum
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

    Raises OSError (FileNotFoundError, PermissionError, ...) like ``open``, and
    :class:`~imgclf_gui.core.support.safe_files.NotARegularFile` for a FIFO, socket or device.
    """
    with open_regular(path) as handle:
        st = os.fstat(handle.fileno())
        data = handle.read()
    return data, hash_bytes(data), st


def _valid_entry(_key: str, value: object) -> bool:
    return (isinstance(value, list) and len(value) == 4 and all(isinstance(v, int) for v in value[:3])
            and _is_hex_digest(value[3]))


def _is_hex_digest(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


class HashIndex(JsonCache):
    """(path, size, mtime_ns, inode) -> content hash, persisted as JSON; thread-safe.

    Paths inside ``root`` are stored relative to it, so the index survives the project being renamed.
    A missing index file is an empty index; a damaged one (checksum, shape) is set aside and the index
    starts empty (``.damage`` says so): it is a cache, never the truth.
    """

    def __init__(self, file: Path | None, root: Path | None = None) -> None:
        super().__init__(file, format=_INDEX_FORMAT, version=_INDEX_VERSION, header={"hash": HASH_NAME},
                         valid=_valid_entry, what="the index of file contents",
                         consequence="files will be hashed again as needed")
        self.root = Path(os.path.abspath(root)) if root is not None else None
        self._prefix = os.path.join(str(self.root), "") if root is not None else None

    def _key(self, path: str | os.PathLike[str]) -> str:
        absolute = os.path.abspath(path)
        if self._prefix is not None and absolute.startswith(self._prefix):
            # the common case, without relpath's splitting and joining (20,000 lookups: ~0.3 s less)
            return absolute[len(self._prefix):].replace(os.sep, "/")
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

    Raises OSError when the file cannot be read (``NotARegularFile`` for a FIFO, socket or device).
    """
    return file_identity(path, index=index)[1]


def file_identity(path: str | os.PathLike[str], *, index: HashIndex | None = None) -> tuple[int, str]:
    """(size in bytes, hex SHA-256) of a plain file, from ``index`` while its stat is unchanged.

    Raises OSError like :func:`content_hash`.
    """
    index = index if index is not None else _memory_index
    st = os.stat(path)
    known = index.lookup(path, st)
    if known is not None:
        return st.st_size, known
    with open_regular(path) as handle:
        st = os.fstat(handle.fileno())
        digest = hashlib.file_digest(handle, HASH_NAME).hexdigest()  # streamed: big TIFFs exist
    index.remember(path, st, digest)
    return st.st_size, digest
