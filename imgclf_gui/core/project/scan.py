"""A project folder: one sub-folder per class, images inside. The folders are the truth.

This module scans a project (and any folder of images). Entries that cannot be used are never fatal:
symbolic-link loops, dangling links, links to folders (not followed, so a loop cannot trap a scan),
FIFOs, sockets and devices with an image's name, names that are not valid UTF-8 text, paths the system
refuses (too long) and folders that cannot be read are *skipped with a reason* (:class:`Skipped`), which
the scanners hand back (``skipped=`` lists, :func:`scan_project`) for extract, train, classify, evaluate
and Check Data to report. Nothing here ever opens a file.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from imgclf_gui.core.project.layout import INBOX_NAME
from imgclf_gui.core.support.safe_files import kind_of

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


@dataclass(frozen=True)
class Skipped:
    """A directory entry that looked like an image (or a folder of them) but cannot be used."""

    path: Path
    reason: str  #: a few words for the user: "it is a link that leads back to itself (a loop)"


@dataclass
class Scan:
    """Every labelled image of a project, and what was skipped on the way (with reasons)."""

    samples: list[Sample]
    skipped: list[Skipped] = field(default_factory=list)


def describe_os_error(path: str | os.PathLike[str], exc: OSError) -> str:
    """Why a path could not be looked at, for a user (links, loops, over-long paths, permissions)."""
    import errno

    if exc.errno == errno.ELOOP:
        return "it is a link that leads back to itself (a loop)"
    if exc.errno == errno.ENAMETOOLONG:
        return "the path is too long for the system"
    if isinstance(exc, FileNotFoundError):
        return "it is a link whose target is missing" if os.path.islink(path) else "it no longer exists"
    if isinstance(exc, PermissionError):
        return "permission denied: it cannot be read"
    return f"it cannot be read ({exc.strerror or exc})"


def printable(path: str | os.PathLike[str]) -> str:
    """``path`` as text any terminal, CSV or JSON writer accepts: bytes of a name that are not valid
    UTF-8 are shown as ``\\xff`` escapes (printing the name itself would fail)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _undecodable(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # bytes kept by Python as lone surrogates: not text anything else can show
        return True
    return False


_NOT_TEXT = "its name is not valid UTF-8 text (rename it to use it)"


def class_names(root: str | os.PathLike[str], skipped: list[Skipped] | None = None) -> list[str]:
    """Class folders of a project in sorted order (hidden folders, ``.imgclf`` and the inbox excluded).

    A link to a folder is not a class (it is reported in ``skipped``), nor is a folder whose name is not
    valid text. Raises OSError only when ``root`` itself cannot be read."""
    root = Path(root)
    names = []
    with os.scandir(root) as entries:
        for entry in entries:
            if is_hidden(entry.name) or entry.name == INBOX_NAME:
                continue
            if entry.is_dir(follow_symlinks=False):
                if _undecodable(entry.name):
                    _add(skipped, entry.path, _NOT_TEXT)
                else:
                    names.append(entry.name)
            elif entry.is_symlink() and _link_target_is_dir(entry.path):
                _add(skipped, entry.path, "it is a link to a folder; links to folders are not followed")
    return sorted(names, key=lambda n: (n.casefold(), n))


def list_images(folder: str | os.PathLike[str], recursive: bool = False,
                skipped: list[Skipped] | None = None) -> list[Path]:
    """Image files in ``folder`` sorted by name (optionally below it too), hidden files skipped.

    Links to image files are followed; links to folders are not. What cannot be used is left out and,
    when it looks like an image (or is a folder), added to ``skipped`` with the reason."""
    folder = Path(folder)
    found: list[Path] = []
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as entries:
                for entry in entries:
                    if not is_hidden(entry.name):
                        _classify(entry, recursive, found, stack, skipped)
        except (FileNotFoundError, NotADirectoryError):
            continue  # gone meanwhile, or a file was given: nothing to list
        except OSError as exc:  # permission, a path too long, a loop in the folder's own path
            _add(skipped, current, describe_os_error(current, exc))
    return sorted(found, key=lambda p: str(p))


def _classify(entry: os.DirEntry[str], recursive: bool, found: list[Path], stack: list[Path],
              skipped: list[Skipped] | None) -> None:
    path = Path(entry.path)
    try:
        if entry.is_dir(follow_symlinks=False):
            if recursive:
                if _undecodable(entry.name):
                    _add(skipped, path, _NOT_TEXT)
                else:
                    stack.append(path)
            return
        if entry.is_symlink() and _link_target_is_dir(entry.path):
            if recursive:
                _add(skipped, path, "it is a link to a folder; links to folders are not followed")
            return
    except OSError:
        pass  # judged below, with the reason
    if not is_image_name(entry.name):
        return
    if _undecodable(entry.name):
        _add(skipped, path, _NOT_TEXT)
        return
    try:
        st = entry.stat()  # follows a link: its target must be a plain file
    except OSError as exc:
        _add(skipped, path, describe_os_error(path, exc))
        return
    if stat.S_ISREG(st.st_mode):
        found.append(path)
    else:
        _add(skipped, path, f"it is {kind_of(st.st_mode)}, not an image file")


def _link_target_is_dir(path: str) -> bool:
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def _add(skipped: list[Skipped] | None, path: str | os.PathLike[str], reason: str) -> None:
    if skipped is not None:
        skipped.append(Skipped(Path(path), reason))


def scan_samples(root: str | os.PathLike[str], skipped: list[Skipped] | None = None) -> list[Sample]:
    """Every labelled image of a project: images directly inside each class folder (and below it).
    Entries that cannot be used go to ``skipped`` with their reason."""
    root = Path(root)
    samples: list[Sample] = []
    for name in class_names(root, skipped):
        samples.extend(Sample(path, name) for path in list_images(root / name, recursive=True, skipped=skipped))
    return samples


def scan_project(root: str | os.PathLike[str]) -> Scan:
    """:func:`scan_samples` with the skipped entries returned beside the samples."""
    skipped: list[Skipped] = []
    return Scan(scan_samples(root, skipped), skipped)
