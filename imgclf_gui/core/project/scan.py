"""A project folder: one sub-folder per class, images inside. The folders are the truth.

This module scans a project. (Moves with undo are added by the Dataset-tab work.)
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from imgclf_gui.core.project.layout import INBOX_NAME

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
)


def is_hidden(name: str) -> bool:
    """Hidden files and folders (``.DS_Store``, ``._foo.jpg``, ``.imgclf``) are never images or classes."""
    return name.startswith(".") or name in {"Thumbs.db", "desktop.ini", "__MACOSX"}


def is_image_name(name: str) -> bool:
    return not is_hidden(name) and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


@dataclass(frozen=True)
class Sample:
    """One labelled image of a project."""

    path: Path
    label: str


def class_names(root: str | os.PathLike[str]) -> list[str]:
    """Class folders of a project in sorted order (hidden folders, ``.imgclf`` and the inbox excluded)."""
    root = Path(root)
    names = []
    with os.scandir(root) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False) and not is_hidden(entry.name) and entry.name != INBOX_NAME:
                names.append(entry.name)
    return sorted(names, key=lambda n: (n.casefold(), n))


def list_images(folder: str | os.PathLike[str], recursive: bool = False) -> list[Path]:
    """Image files in ``folder`` sorted by name (optionally below it too), hidden files skipped."""
    folder = Path(folder)
    found: list[Path] = []
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as entries:
                for entry in entries:
                    if is_hidden(entry.name):
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        if recursive:
                            stack.append(Path(entry.path))
                    elif entry.is_file() and is_image_name(entry.name):
                        found.append(Path(entry.path))
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
    return sorted(found, key=lambda p: str(p))


def scan_samples(root: str | os.PathLike[str]) -> list[Sample]:
    """Every labelled image of a project: images directly inside each class folder (and below it)."""
    root = Path(root)
    samples: list[Sample] = []
    for name in class_names(root):
        samples.extend(Sample(path, name) for path in list_images(root / name, recursive=True))
    return samples
