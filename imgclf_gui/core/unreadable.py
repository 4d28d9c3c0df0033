"""Which file contents could not be decoded, remembered by content hash in ``.imgclf/unreadable.json``.

A damaged photo stays damaged. Without this memory every training run would read it and try to decode
it again, the training summary would count it as "still to compute" for ever, and every data check
would decode it again too. Only failures that come from the bytes themselves are remembered (a
truncated or non-image file: :attr:`ImageError.lasting`), never ones that come from the moment
(permission denied, a vanished file, no memory left). The memory is tied to the decoder (Pillow's
version and the feature pipeline's): a newer Pillow that can read the file gets its chance. A file that
is repaired or replaced has new bytes, hence a new hash, and is tried afresh.

Like the hash index, this is a cache, never the truth: a missing or damaged file is an empty memory.
"""
from __future__ import annotations

import json
import threading
from pathlib import Path

from imgclf_gui.core.atomic import atomic_write_json

__all__ = ["FILE_NAME", "UnreadableMemory"]

FILE_NAME = "unreadable.json"
_FORMAT = "imgclf-unreadable"
_VERSION = 1
_MAX_REASON = 500


class UnreadableMemory:
    """content hash -> reason, for the decoder named ``decoder``; thread-safe."""

    def __init__(self, file: Path | None, decoder: str) -> None:
        self.file = file
        self.decoder = decoder
        self._entries: dict[str, str] = {}
        self._lock = threading.Lock()
        self._dirty = False
        if file is not None:
            self._load(file)

    def _load(self, file: Path) -> None:
        try:
            raw = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            return
        if (not isinstance(raw, dict) or raw.get("format") != _FORMAT or raw.get("version") != _VERSION
                or raw.get("decoder") != self.decoder or not isinstance(raw.get("entries"), dict)):
            return  # another decoder (or a damaged file): everything gets its chance again
        for digest, reason in raw["entries"].items():
            if _is_digest(digest) and isinstance(reason, str) and reason:
                self._entries[digest] = reason[:_MAX_REASON]

    def reason(self, digest: str | None) -> str | None:
        """Why the content with this hash could not be decoded, or None when it is not known to fail."""
        if digest is None:
            return None
        with self._lock:
            return self._entries.get(digest)

    def remember(self, digest: str, reason: str) -> None:
        if not _is_digest(digest):
            return
        reason = reason[:_MAX_REASON]
        with self._lock:
            if self._entries.get(digest) != reason:
                self._entries[digest] = reason
                self._dirty = True

    def __len__(self) -> int:
        return len(self._entries)

    def save(self) -> None:
        """Write the memory if it changed (atomically). Raises OSError when it cannot be written."""
        with self._lock:
            if not self._dirty or self.file is None:
                return
            payload = {"format": _FORMAT, "version": _VERSION, "decoder": self.decoder,
                       "entries": dict(self._entries)}
            self._dirty = False
        try:
            atomic_write_json(self.file, payload)
        except OSError:
            with self._lock:
                self._dirty = True
            raise


def _is_digest(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
