"""Converted models in the user cache, each with a SHA-256 beside it that is checked before use.

A file whose checksum is missing or wrong (a crash, a full disk, a user's editor) is treated as absent
and rebuilt, never trusted.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from imgclf_gui.core.backbones.spec import BackboneSpec
from imgclf_gui.core.support.paths import user_cache_dir
from imgclf_gui.core.support.safe_files import atomic_write_bytes, atomic_write_text


def backbone_cache_dir(spec: BackboneSpec) -> Path:
    """``<user cache>/backbones/<id>@<version>/``: a new version never reads an old conversion."""
    folder = user_cache_dir() / "backbones" / spec.cache_key
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _checksum_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def is_verified(path: Path) -> bool:
    """True when ``path`` exists and matches the checksum written beside it."""
    sums = _checksum_path(path)
    if not (path.is_file() and sums.is_file()):
        return False
    try:
        expected = sums.read_text("utf-8").split()[0]
    except (OSError, IndexError, UnicodeDecodeError):
        return False
    return _sha256(path) == expected


def write_verified(path: Path, data: bytes) -> None:
    """Write ``data`` atomically, then its checksum (a crash between the two leaves it unverified)."""
    _checksum_path(path).unlink(missing_ok=True)
    atomic_write_bytes(path, data)
    atomic_write_text(_checksum_path(path), f"{hashlib.sha256(data).hexdigest()}  {path.name}\n")


def seal_existing(tmp: Path, path: Path) -> None:
    """Move an already written ``tmp`` file (same folder) to ``path`` and write its checksum."""
    _checksum_path(path).unlink(missing_ok=True)
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    atomic_write_text(_checksum_path(path), f"{_sha256(path)}  {path.name}\n")
