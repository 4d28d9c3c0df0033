"""Content hashes of image files: moved to :mod:`imgclf_gui.core.support.file_hash` (the journal, in the
project layer, records and checks the same hashes); this name stays for the feature pipeline's callers."""
from __future__ import annotations

from imgclf_gui.core.support.file_hash import (
    HASH_NAME,
    HashIndex,
    Signature,
    content_hash,
    hash_bytes,
    read_and_hash,
    signature,
)

__all__ = ["HASH_NAME", "HashIndex", "Signature", "content_hash", "hash_bytes", "read_and_hash", "signature"]
