"""Disks for output tests: a small tmpfs (root only, where mounting is allowed), read-only or full, and a
full disk simulated by making the write calls fail with ENOSPC (anywhere)."""
from __future__ import annotations

import errno
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def tmpfs(mount_point: Path, size: str = "4m") -> Iterator[Path]:
    """A fresh tmpfs of ``size`` at ``mount_point``; skips the test where it cannot be mounted."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount_point.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def remount_read_only(mount_point: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(mount_point)], check=True, capture_output=True)


def fill(folder: Path) -> None:
    """Write zeros into ``folder`` until its disk is full."""
    with open(folder / ".filler", "wb", buffering=0) as handle:
        try:
            while handle.write(b"\0" * 65536):
                pass
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def simulate_full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on every way imgclf writes an output fails as a full disk would: after writing part of it."""
    from PIL import Image

    def no_space(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def half_copy(source, target, *_args, **_kwargs):
        target.write(source.read(100))
        no_space()

    def half_image(image, fp, *args, **kwargs):
        with open(fp, "wb") as handle:
            handle.write(b"\xff\xd8\xff partial")
        no_space()

    monkeypatch.setattr(os, "fsync", no_space)
    monkeypatch.setattr(shutil, "copyfileobj", half_copy)
    monkeypatch.setattr(Image.Image, "save", half_image)


def tree(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` (caches left out) with its SHA-256: what 'untouched' is checked against."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and ".imgclf" not in path.relative_to(folder).parts[:1]:
            found[path.relative_to(folder).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found
