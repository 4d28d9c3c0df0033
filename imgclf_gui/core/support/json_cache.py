"""A thread-safe dict persisted as one JSON file that is only ever a cache, never the truth.

File shape: ``{"format": F, "version": V, ...header, "entries": {key: value}}``. A missing, damaged or
foreign file (other format, version or header) loads as empty; every entry is checked on load, so a
hand-edited file cannot feed callers a wrong type. Saving is atomic (``core/atomic.py``) and skipped
when nothing changed. Used by the content-hash index and the memory of undecodable files.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from imgclf_gui.core.support.atomic import atomic_write_json


class JsonCache:
    def __init__(self, file: Path | None, *, format: str, version: int, header: dict[str, Any] | None = None,
                 valid: Callable[[str, Any], bool] = lambda key, value: True) -> None:
        self.file = file
        self._format = format
        self._version = version
        self._header = dict(header or {})
        self._entries: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._dirty = False
        if file is not None:
            self._load(file, valid)

    def _load(self, file: Path, valid: Callable[[str, Any], bool]) -> None:
        try:
            raw = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            return
        if (not isinstance(raw, dict) or raw.get("format") != self._format or raw.get("version") != self._version
                or any(raw.get(name) != value for name, value in self._header.items())):
            return
        entries = raw.get("entries")
        if isinstance(entries, dict):
            self._entries = {k: v for k, v in entries.items() if isinstance(k, str) and valid(k, v)}

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
            payload = {"format": self._format, "version": self._version, **self._header,
                       "entries": dict(self._entries)}
            self._dirty = False
        try:
            atomic_write_json(self.file, payload)
        except OSError:
            with self._lock:
                self._dirty = True
            raise
