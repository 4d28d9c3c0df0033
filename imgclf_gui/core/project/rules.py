"""The rules of a project's classes, without Qt: names, labelling keys, and the file operations that
sending, importing, merging, deleting and quarantining plan (the GUI's ``ProjectModel`` runs the plans
through the journal, so each is undoable).

Entry points: :func:`scan_classes` (classes with counts and keys), :func:`check_class_name`,
:func:`assign_keys` / :func:`with_key` (labelling keys), :func:`plan_send` (:func:`plan_send_many`),
:func:`importable_files`, :func:`import_refusal`, :func:`plan_merge`, :func:`plan_delete_class`,
:func:`plan_quarantine`, :func:`loose_images` (photos lying in the project folder itself, outside any
class), :func:`class_of` (the class a file lives in), :func:`count_words` ("1 image", "3 images": the
one wording of counts in labels and messages).

Labelling keys: a key, once given, stays with its class. A class without one gets the first free digit
(1..9, classes in alphabetical order) and keeps it when classes are added, renamed or deleted. The keys
live in the manifest's ``class_keys``, which also remembers the keys of classes that are gone (so undoing
a delete gives the class its key back) until a new class needs the digit. ``0`` (:data:`INBOX_KEY`) always
sends images back to the inbox; no class can have it.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from imgclf_gui.core.project import layout
from imgclf_gui.core.project.manifest import ProjectError
from imgclf_gui.core.project.moves import Op, plan_moves, unique_path
from imgclf_gui.core.project.scan import class_names, is_hidden, is_image_name, list_images

INBOX = layout.INBOX_NAME
KEY_DIGITS = "123456789"  # given out in this order
INBOX_KEY = "0"  # next to the class digits on every keyboard; never a class's key
FORBIDDEN_IN_NAMES = '/\\:*?"<>|'
REMEMBER_GONE = 50  # keys of vanished classes kept at most (the newest)

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class ClassInfo:
    """One class as the views show it."""

    name: str
    count: int
    key: str  # the labelling key that sends images here ("" when none is left)


@dataclass(frozen=True)
class ClassScan:
    """What :func:`scan_classes` found; ``keys`` is the manifest's new ``class_keys``."""

    classes: list[ClassInfo]
    inbox_count: int
    keys: dict[str, str]


def class_dir(root: PathLike, name: str) -> Path:
    """The folder of a class, or of the inbox for ``INBOX``."""
    return layout.inbox_dir(root) if name == INBOX else Path(root) / name


# -- words ----------------------------------------------------------------------------------------
def count_words(count: int, noun: str, plural: str | None = None) -> str:
    """``1 image``, ``0 images``, ``3 images`` (``plural`` when adding an "s" is wrong)."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


_PAST = {"send": "Sent", "accept": "Accepted", "copy": "Copied", "import": "Imported", "create": "Created",
         "rename": "Renamed", "merge": "Merged", "delete": "Deleted", "quarantine": "Quarantined"}


def done_sentence(kind: str, label: str) -> str:
    """"Sent cat1.png to dog" for an action labelled "send cat1.png to dog"; "Undid: send ..." for its undo
    (``kind`` "undo"), "Redid: ..." for a redo. The status bar's words after every action."""
    if kind in ("undo", "redo"):
        return f"{'Undid' if kind == 'undo' else 'Redid'}: {label}"
    verb, _, rest = label.partition(" ")
    return f"{_PAST[verb]} {rest}" if verb in _PAST else f"Done: {label}"


# -- names ----------------------------------------------------------------------------------------
def check_class_name(root: PathLike | None, name: str) -> str:
    """``name`` stripped, if it can be a new class of the project at ``root``; else ``ProjectError``."""
    name = name.strip()
    if not name or is_hidden(name) or name == INBOX or any(c in name for c in FORBIDDEN_IN_NAMES):
        raise ProjectError(f"“{name}” cannot be a class name (no slashes, no leading dot, not “{INBOX}”).")
    if root is not None and (Path(root) / name).exists():
        raise ProjectError(f"A class or folder called “{name}” already exists.")
    return name


# -- labelling keys -------------------------------------------------------------------------------
def _valid_key(key: object) -> bool:
    return isinstance(key, str) and len(key) == 1 and key.isalnum() and key == key.lower() and key != INBOX_KEY


def assign_keys(names: list[str], stored: dict[str, str], previous: Iterable[str] | None = None) -> dict[str, str]:
    """The manifest's new ``class_keys`` for the classes ``names`` (alphabetical) given the ``stored`` one.

    A class keeps its stored key. When exactly one class with a key vanished since ``previous`` (the
    names of the last scan) and exactly one class without a key appeared, it is the same class renamed
    (in the app, by undo, or in a file manager) and the key follows it. Every other class without a key
    gets the first digit that no class holds and no vanished class remembers; when none is left, the
    first digit no present class holds (the vanished class forgets it); after that, none.
    """
    present = set(names)
    stored = {n: k for n, k in stored.items() if isinstance(n, str) and _valid_key(k)}  # untrusted file
    keys: dict[str, str] = {}
    held: set[str] = set()
    for name in names:
        key = stored.get(name)
        if key is not None and key not in held:
            keys[name] = key
            held.add(key)
    gone = {n: k for n, k in stored.items() if n not in present and k not in held}
    unkeyed = [n for n in names if n not in keys]
    if previous is not None:
        vanished = [n for n in previous if n not in present and n in gone]
        if len(vanished) == 1 and len(unkeyed) == 1:
            keys[unkeyed[0]] = gone.pop(vanished[0])
            held.add(keys[unkeyed[0]])
            unkeyed = []
    for name in unkeyed:
        remembered = set(gone.values())
        digit = next((d for d in KEY_DIGITS if d not in held and d not in remembered), None)
        if digit is None:
            digit = next((d for d in KEY_DIGITS if d not in held), None)
            gone = {n: k for n, k in gone.items() if k != digit}
        if digit is None:
            break  # more classes than keys: the rest are sent by dragging
        keys[name] = digit
        held.add(digit)
    kept_gone = list(gone.items())[-REMEMBER_GONE:]
    return {**dict(kept_gone), **keys}


def with_key(stored: dict[str, str], names: list[str], name: str, key: str) -> dict[str, str]:
    """``stored`` with ``key`` (one letter or digit) given to class ``name``; "" gives it a free digit.

    A key another class had is taken from it (that class then gets a free digit). Raises ``ProjectError``
    for anything but one letter or digit, or an unknown class."""
    key = key.strip().lower()
    if len(key) > 1 or (key and not key.isalnum()):
        raise ProjectError(f"A labelling key is one letter or digit, not “{key}”.")
    if key == INBOX_KEY:
        raise ProjectError(f"{INBOX_KEY} sends images back to the inbox; choose another key.")
    if name not in names:
        raise ProjectError(f"There is no class “{name}”.")
    keys = {n: k for n, k in stored.items() if k != key and n != name}
    if key:
        keys[name] = key
    return assign_keys(names, keys)


# -- scanning -------------------------------------------------------------------------------------
def loose_images(root: PathLike) -> list[Path]:
    """Images lying in the project folder itself: in no class and not in the inbox, so no view shows
    them and training ignores them (a folder of photos opened as a project has only these)."""
    return list_images(root, recursive=False)


def class_of(root: PathLike, path: PathLike) -> str | None:
    """The class (or ``INBOX``) whose folder holds ``path``, at any depth; None for a file anywhere else
    (outside the project, in the project folder itself, or in imgclf's own hidden folder)."""
    try:
        parts = Path(path).resolve().relative_to(Path(root).resolve()).parts
    except ValueError:
        return None
    if len(parts) < 2 or is_hidden(parts[0]):
        return None
    return parts[0]


def count_images(folder: PathLike) -> int:
    """Image files in ``folder`` and below (hidden ones skipped); cheaper than listing them."""
    count = 0
    stack = [Path(folder)]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    if is_hidden(entry.name):
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(Path(entry.path))
                    elif is_image_name(entry.name):
                        count += 1
        except OSError:
            continue
    return count


def scan_classes(root: PathLike, stored_keys: dict[str, str], previous: Iterable[str] | None = None) -> ClassScan:
    """The classes of the project at ``root`` (names and image counts) with their labelling keys
    (see :func:`assign_keys`; ``previous``: the class names of the last scan, None right after opening)."""
    root = Path(root)
    names = class_names(root) if root.is_dir() else []
    keys = assign_keys(names, stored_keys, previous)
    classes = [ClassInfo(name, count_images(root / name), keys.get(name, "")) for name in names]
    return ClassScan(classes, count_images(layout.inbox_dir(root)), keys)


# -- plans (each runs as one undoable journal action) ---------------------------------------------
def plan_send(root: PathLike, paths: list[Path], target: str) -> list[Op]:
    """Move images into class ``target`` (or ``INBOX``), renaming on clashes."""
    return plan_moves([Path(p) for p in paths], class_dir(root, target))


def plan_send_many(root: PathLike, plan: Mapping[str, Sequence[Path]]) -> list[Op]:
    """Move each class's images of ``plan`` (class -> images) into it: the ops of ONE action (accepting
    suggestions for many classes at once)."""
    return [op for name, paths in plan.items() for op in plan_send(root, list(paths), name)]


def importable_files(paths: Iterable[PathLike]) -> list[Path]:
    """The image files among ``paths``, folders searched below (hidden and non-image files skipped)."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(list_images(path, recursive=True))
        elif is_image_name(path.name):
            files.append(path)
    return files


def import_refusal(root: PathLike, paths: Iterable[PathLike]) -> str | None:
    """Why importing ``paths`` into the project at ``root`` must not happen (one sentence), or None.

    A folder that is or holds the project would bring every class's images in again (duplicates in the
    inbox, or all classes moved into one); a folder of the project is sorted by moving its images or by
    Merge, never by importing it into itself."""
    root = Path(root).resolve()
    for path in map(Path, paths):
        if not path.is_dir():
            continue
        folder = path.resolve()
        if root.is_relative_to(folder):
            return f"The folder “{path.name}” holds this project itself; import images from another folder."
        if folder.is_relative_to(root):
            return (f"“{path.name}” is already a folder of this project: select its images and send them to a "
                    "class, or use Merge to join two classes.")
    return None


def not_images(paths: Iterable[PathLike]) -> list[Path]:
    """The files among ``paths`` (not folders) that :func:`importable_files` leaves out, so the user can be
    told; inside a folder, non-image files are skipped without a word (a camera folder has many)."""
    return [p for p in map(Path, paths) if not p.is_dir() and not is_image_name(p.name)]


def deleted_class_dir(root: PathLike, name: str) -> Path:
    """Where the emptied folder of a merged or deleted class is set aside (a fresh name each time)."""
    return unique_path(layout.deleted_classes_dir(root) / name)


def _set_aside(root: PathLike, name: str) -> Op:
    # the folder keeps any non-image leftovers; nothing is ever unlinked
    return Op("move", class_dir(root, name), deleted_class_dir(root, name))


def plan_merge(root: PathLike, sources: list[str], target: str) -> list[Op]:
    """Move every image of ``sources`` into ``target``; the emptied folders are set aside."""
    ops: list[Op] = []
    reserved: set[Path] = set()
    for name in sources:
        if name == target:
            continue
        for op in plan_moves(list_images(class_dir(root, name), recursive=True), class_dir(root, target)):
            dst = unique_path(op.dst, reserved)
            reserved.add(dst)
            ops.append(Op("move", op.src, dst))
        ops.append(_set_aside(root, name))
    return ops


def plan_delete_class(root: PathLike, name: str) -> list[Op]:
    """Delete a class: its images go to the inbox, its emptied folder is set aside."""
    images = list_images(class_dir(root, name), recursive=True)
    return plan_moves(images, layout.inbox_dir(root)) + [_set_aside(root, name)]


def plan_quarantine(root: PathLike, paths: list[Path]) -> list[Op]:
    """Put files aside in ``.imgclf/quarantine/<class>/`` (files outside the project under ``other/``)."""
    root = Path(root)
    ops: list[Op] = []
    reserved: set[Path] = set()
    for path in map(Path, paths):
        rel = path.parent.relative_to(root) if path.is_relative_to(root) else Path("other")
        dst = unique_path(layout.quarantine_dir(root) / rel / path.name, reserved)
        reserved.add(dst)
        ops.append(Op("move", path, dst))
    return ops
