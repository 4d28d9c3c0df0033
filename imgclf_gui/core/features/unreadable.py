"""Which file contents could not be decoded, remembered by content hash in ``.imgclf/unreadable.json``.

A damaged photo stays damaged. Without this memory every training run would read it and try to decode
it again, the training summary would count it as "still to compute" for ever, and every data check
would decode it again too. Only failures that come from the bytes themselves are remembered (a
truncated or non-image file: :attr:`ImageError.lasting`), never ones that come from the moment
(permission denied, a vanished file, no memory left). The memory is tied to the decoder (Pillow's
version and the feature pipeline's): a newer Pillow that can read the file gets its chance. A file that
is repaired or replaced has new bytes, hence a new hash, and is tried afresh.

Like the hash index, this is a cache, never the truth: a missing file is an empty memory, and a damaged
one (its checksum does not match) is set aside and the memory starts empty.
"""
from __future__ import annotations

from pathlib import Path

from imgclf_gui.core.support.json_cache import JsonCache

__all__ = ["UnreadableMemory"]

_FORMAT = "imgclf-unreadable"
_VERSION = 2  # 2: with a checksum
_MAX_REASON = 500


class UnreadableMemory(JsonCache):
    """content hash -> reason, for the decoder named ``decoder``; thread-safe."""

    def __init__(self, file: Path | None, decoder: str) -> None:
        super().__init__(file, format=_FORMAT, version=_VERSION, header={"decoder": decoder},
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
