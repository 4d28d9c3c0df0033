"""The on-disk bottleneck cache: one append-only file of fixed-size, checksummed records.

Layout (little-endian)::

    header   128 bytes: magic, format version, header size, dim, record size,
             SHA-256 of the identity (backbone cache key, crop policy, pipeline version...), CRC32
    record   32-byte content digest | u16 variant | u16 augmentation version | dim x float32 | CRC32

Why this shape: 20,000 photos are 20,000 records in one file instead of 20,000 files (fast to open,
kind to file systems and backups). Records are only ever appended, so a crash can at worst leave a
torn last record, which is detected by its size or checksum and cut off by the next writer. Readers
take no lock and simply ignore what does not check out, so a file is readable while another process
appends to it. Writers take an advisory lock (a ``.lock`` file beside it) for each append. A damaged
file is never trusted: bad records are dropped (and recomputed by the caller), a bad header means the
whole file is started afresh.
"""
from __future__ import annotations

import hashlib
import os
import struct
import tempfile
import threading
import zlib
from pathlib import Path

import numpy as np

from imgclf_gui.core.support.notes import CACHE_IGNORED, CACHE_RECORDS_DROPPED, CACHE_RESTARTED, CACHE_TAIL_CUT, Note

MAGIC = b"IMGCLFFV"
FORMAT_VERSION = 1
HEADER_SIZE = 128
_HEADER = struct.Struct("<8sIIII32s")  # magic, format, header size, dim, record size, identity digest
_PREFIX = struct.Struct("<32sHH")  # content digest, variant, augmentation version
_CRC = struct.Struct("<I")
_SCAN_CHUNK_BYTES = 4 << 20

Key = tuple[bytes, int]  # (32-byte content digest, variant); variant 0 is the image itself


def record_size(dim: int) -> int:
    return _PREFIX.size + 4 * dim + _CRC.size


def _identity_digest(identity: str) -> bytes:
    return hashlib.sha256(identity.encode("utf-8")).digest()


def _header_bytes(dim: int, identity: str) -> bytes:
    head = _HEADER.pack(MAGIC, FORMAT_VERSION, HEADER_SIZE, dim, record_size(dim), _identity_digest(identity))
    head = head.ljust(HEADER_SIZE - _CRC.size, b"\0")
    return head + _CRC.pack(zlib.crc32(head))


class _FileLock:
    """Exclusive advisory lock on a small side file, between processes and between threads."""

    _thread_locks: dict[str, threading.Lock] = {}
    _guard = threading.Lock()

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        with self._guard:
            self._thread_lock = self._thread_locks.setdefault(os.path.abspath(path), threading.Lock())

    def __enter__(self) -> None:
        self._thread_lock.acquire()
        try:
            if os.name == "nt":
                import msvcrt

                os.lseek(self._fd, 0, os.SEEK_SET)
                msvcrt.locking(self._fd, msvcrt.LK_LOCK, 1)
            else:
                import fcntl

                fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise

    def __exit__(self, *exc_info: object) -> None:
        try:
            if os.name == "nt":
                import msvcrt

                os.lseek(self._fd, 0, os.SEEK_SET)
                msvcrt.locking(self._fd, msvcrt.LK_UNLCK, 1)
            else:
                import fcntl

                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def close(self) -> None:
        os.close(self._fd)


class FeatureStore:
    """Bottleneck vectors by (content digest, variant) in one record file. Thread-safe.

    Open with :meth:`open`; ``notes`` (``core/support/notes.Note``) then say what had to be repaired.
    """

    def __init__(self, path: Path, dim: int, identity: str, augment_version: int, writable: bool) -> None:
        self.path = path
        self.dim = dim
        self.identity = identity
        self.augment_version = augment_version
        self.writable = writable
        self.notes: list[Note] = []
        self._record = record_size(dim)
        self._dtype = np.dtype("<f4")
        self._index: dict[Key, int] = {}
        self._lock = threading.RLock()
        self._file = None  # type: ignore[var-annotated]
        self._flock: _FileLock | None = None
        self._end = HEADER_SIZE
        self._wrote = False

    # -------------------------------------------------------------------------------------- opening
    @classmethod
    def open(
        cls, path: Path, *, dim: int, identity: str, augment_version: int = 0, writable: bool = True
    ) -> FeatureStore:
        """Open (creating, verifying and repairing as needed) the cache file at ``path``.

        Raises OSError when ``writable`` and the folder or file cannot be written (read-only folder,
        full disk), or when a read-only store has no file to read.
        """
        store = cls(Path(path), dim, identity, augment_version, writable)
        if writable:
            store.path.parent.mkdir(parents=True, exist_ok=True)
            store._flock = _FileLock(store.path.with_suffix(".lock"))
            try:
                with store._flock:
                    store._open_for_writing()
            except BaseException:
                store.close()
                raise
        else:
            store._file = open(store.path, "rb")
            if not store._header_ok():
                store.notes.append(Note(CACHE_IGNORED, {"path": str(store.path)}))
                store._end = HEADER_SIZE
            else:
                store._scan(os.fstat(store._file.fileno()).st_size, repair=False)
        return store

    def _open_for_writing(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        self._file = os.fdopen(fd, "r+b")
        size = os.fstat(fd).st_size
        if size == 0:
            self._file.write(_header_bytes(self.dim, self.identity))
            self._file.flush()
            self._end = HEADER_SIZE
            return
        if not self._header_ok():
            self.notes.append(Note(CACHE_RESTARTED))
            self._replace_with([])
            return
        self._scan(size, repair=True)

    def _header_ok(self) -> bool:
        assert self._file is not None
        self._file.seek(0)
        head = self._file.read(HEADER_SIZE)
        if len(head) != HEADER_SIZE or zlib.crc32(head[:-_CRC.size]) != _CRC.unpack(head[-_CRC.size:])[0]:
            return False
        magic, fmt, header_size, dim, rec, ident = _HEADER.unpack_from(head)
        return (magic, fmt, header_size, dim, rec, ident) == (
            MAGIC, FORMAT_VERSION, HEADER_SIZE, self.dim, self._record, _identity_digest(self.identity)
        )

    def _scan(self, size: int, *, repair: bool, start: int = HEADER_SIZE) -> None:
        """Index the complete, checksum-valid records between ``start`` and ``size``."""
        assert self._file is not None
        rec = self._record
        count = (size - start) // rec
        bad: list[int] = []
        per_chunk = max(1, _SCAN_CHUNK_BYTES // rec)
        first_number = (start - HEADER_SIZE) // rec
        self._file.seek(start)
        done = 0
        while done < count:
            n = min(per_chunk, count - done)
            chunk = self._file.read(n * rec)
            view = memoryview(chunk)
            for i in range(len(chunk) // rec):
                record = view[i * rec:(i + 1) * rec]
                number = first_number + done + i
                if zlib.crc32(record[:-_CRC.size]) != _CRC.unpack(record[-_CRC.size:])[0]:
                    bad.append(number)
                    continue
                digest, variant, augv = _PREFIX.unpack_from(record)
                if variant == 0 or augv == self.augment_version:  # stale augmentations are ignored
                    self._index[(bytes(digest), variant)] = number
            done += n
        self._end = start + count * rec
        torn = size - self._end
        if not repair:
            return
        if bad:
            self.notes.append(Note(CACHE_RECORDS_DROPPED, {"count": len(bad)}))
            keep = sorted(set(self._index.values()))
            self._replace_with(keep)
        elif torn:
            # Only a writer holding the lock gets here, so this tail is a crashed write, not one in progress.
            self._file.truncate(self._end)
            self._file.flush()
            self.notes.append(Note(CACHE_TAIL_CUT))

    def _replace_with(self, numbers: list[int]) -> None:
        """Atomically rewrite the file with only the given (valid) records, then reopen it."""
        assert self._file is not None
        rec = self._record
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        new_index: dict[Key, int] = {}
        by_number = {number: key for key, number in self._index.items()}
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(_header_bytes(self.dim, self.identity))
                for new_number, number in enumerate(numbers):
                    self._file.seek(HEADER_SIZE + number * rec)
                    out.write(self._file.read(rec))
                    new_index[by_number[number]] = new_number
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        self._file.close()
        self._file = open(self.path, "r+b")
        self._index = new_index
        self._end = HEADER_SIZE + len(numbers) * rec

    # ---------------------------------------------------------------------------------------- reading
    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, key: Key) -> bool:
        return key in self._index

    def get(self, key: Key) -> np.ndarray | None:
        """The cached vector (float32, dim), or None when absent or when it no longer checks out."""
        number = self._index.get(key)
        if number is None:
            return None
        rec = self._record
        with self._lock:
            assert self._file is not None
            self._file.seek(HEADER_SIZE + number * rec)
            record = self._file.read(rec)
        # Checked again on every read: the cache is never trusted, even after the scan at open.
        if len(record) != rec or zlib.crc32(record[:-_CRC.size]) != _CRC.unpack(record[-_CRC.size:])[0]:
            self._index.pop(key, None)
            return None
        digest, variant, _ = _PREFIX.unpack_from(record)
        if (bytes(digest), variant) != key:
            self._index.pop(key, None)
            return None
        return np.frombuffer(record, self._dtype, self.dim, _PREFIX.size).astype(np.float32)

    # ---------------------------------------------------------------------------------------- writing
    def append(self, items: list[tuple[Key, np.ndarray]]) -> None:
        """Add vectors (keys already present are skipped). Raises OSError (e.g. disk full); then the
        file is left as it was before the call."""
        if not self.writable:
            raise PermissionError("the feature cache is read-only")
        rec = self._record
        parts: list[bytes] = []
        keys: list[Key] = []
        seen: set[Key] = set()
        for key, vector in items:
            if key in self._index or key in seen:
                continue
            digest, variant = key
            vec = np.ascontiguousarray(vector, dtype="<f4").reshape(self.dim)
            augv = self.augment_version if variant else 0
            body = _PREFIX.pack(digest, variant, augv) + vec.tobytes()
            parts.append(body + _CRC.pack(zlib.crc32(body)))
            keys.append(key)
            seen.add(key)
        if not parts:
            return
        assert self._flock is not None
        with self._lock, self._flock:
            assert self._file is not None
            self._catch_up()
            data = b"".join(parts)
            start = self._end
            try:
                self._file.seek(start)
                self._file.write(data)
                self._file.flush()
            except OSError:
                try:  # leave no partial record behind (the next open would cut it off anyway)
                    self._file.truncate(start)
                except OSError:
                    pass
                raise
            for i, key in enumerate(keys):
                self._index.setdefault(key, (start - HEADER_SIZE) // rec + i)
            self._end = start + len(data)
            self._wrote = True

    def _catch_up(self) -> None:
        """Under the write lock: take in what other processes appended, cut off a crashed tail."""
        assert self._file is not None
        try:
            replaced = os.stat(self.path).st_ino != os.fstat(self._file.fileno()).st_ino
        except FileNotFoundError:
            replaced = True
        if replaced:  # another process rebuilt (or someone deleted) the file: start from its copy
            self._file.close()
            self._index.clear()
            self._open_for_writing()
            return
        size = os.fstat(self._file.fileno()).st_size
        if size < self._end:  # truncated behind our back: re-verify everything
            self._index.clear()
            self._scan(size, repair=True)
        elif size > self._end:
            self._scan(size, repair=True, start=self._end)

    def close(self) -> None:
        """Flush to disk and release the file. Safe to call twice."""
        with self._lock:
            if self._file is not None:
                try:
                    if self._wrote:
                        self._file.flush()
                        os.fsync(self._file.fileno())
                except OSError:
                    pass
                self._file.close()
                self._file = None
            if self._flock is not None:
                self._flock.close()
                self._flock = None
