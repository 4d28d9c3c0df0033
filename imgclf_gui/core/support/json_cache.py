"""A thread-safe dict persisted as one JSON file that is only ever a cache, never the truth.

File shape: ``{"format": F, "version": V, ...header, "entries": {key: value}, "checksum": sha256}``; the
checksum covers everything else (canonical JSON). A file whose checksum does not match, or that is not
JSON, not an object, of another format, or holds an entry of the wrong shape is *damage, never data*:
it is set aside as ``NAME.damaged`` (:mod:`core.support.damaged`), the cache starts empty and
:attr:`JsonCache.damage` says so (a ``Note``). A file of an older version or made for another header
(another decoder, another hash) is simply outdated: it loads as empty and is replaced at the next save.
Saving is atomic (``core/support/atomic.py``) and skipped when nothing changed. Used by the
content-hash index and the memory of undecodable files.
"""
from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from imgclf_gui.core.support.atomic import atomic_write_bytes
from imgclf_gui.core.support.damaged import DamagedFile, read_json, set_aside
from imgclf_gui.core.support.notes import Note


def _canonical(body: dict[str, Any]) -> bytes:
    # ensure_ascii: file names that are not valid UTF-8 (kept by Python as lone surrogates) survive.
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


class JsonCache:
    def __init__(self, file: Path | None, *, format: str, version: int, header: dict[str, Any] | None = None,
                 valid: Callable[[str, Any], bool] = lambda key, value: True,
                 what: str = "a cache file", consequence: str = "it will be made again") -> None:
        self.file = file
        self._format = format
        self._version = version
        self._header = dict(header or {})
        self._entries: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._dirty = False
        #: What was set aside when the file was damaged (a ``Note``; ``str()`` is the sentence), else None.
        self.damage: Note | None = None
        if file is not None:
            problem = self._load(file, valid)
            if problem is not None:
                self._entries = {}
                self.damage = set_aside(file, what, problem, consequence, root=file.parent.parent)

    def _load(self, file: Path, valid: Callable[[str, Any], bool]) -> str | None:
        """Fill the entries from ``file``; the reason when the file is damaged, else None."""
        try:
            raw = read_json(file)
        except DamagedFile as exc:
            return str(exc)
        except OSError:
            return None  # missing or unreadable now: an empty cache, nothing to set aside
        if not isinstance(raw, dict):
            return "it is not a JSON object"
        if raw.get("format") != self._format:
            return "it is not a file of this kind"
        if raw.get("version") != self._version:
            return None  # another version of imgclf wrote it: outdated, replaced at the next save
        checksum = raw.pop("checksum", None)
        if not isinstance(checksum, str) or checksum != hashlib.sha256(_canonical(raw)).hexdigest():
            return "its checksum does not match its contents"
        if any(raw.get(name) != value for name, value in self._header.items()):
            return None  # made for another decoder or hash: outdated
        entries = raw.get("entries")
        if not isinstance(entries, dict):
            return "it has no entries"
        if not all(isinstance(k, str) and valid(k, v) for k, v in entries.items()):
            return "it holds entries of the wrong shape"
        self._entries = entries
        return None

    def get(self, key: str) -> Any:
        with self._lock:
            return self._entries.get(key)

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            if self._entries.get(key) != value:
                self._entries[key] = value
                self._dirty = True

    def __len__(self) -> int:
        return len(self._entries)

    def save(self) -> None:
        """Write the file if anything changed (atomically). Raises OSError when it cannot be written."""
        with self._lock:
            if not self._dirty or self.file is None:
                return
            body = {"format": self._format, "version": self._version, **self._header,
                    "entries": dict(self._entries)}
            self._dirty = False
        data = _canonical(body)
        body["checksum"] = hashlib.sha256(data).hexdigest()
        try:
            atomic_write_bytes(self.file, _canonical(body) + b"\n")
        except OSError:
            with self._lock:
                self._dirty = True
            raise
