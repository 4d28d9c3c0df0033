"""Where everything of a project lives: the one module that names every path under ``.imgclf/``.

A project is a folder of class folders (the truth) plus the inbox ``unsorted/`` and imgclf's own hidden
``.imgclf/`` folder::

    PROJECT/
      <class>/ ...                  one folder per class, images inside
      unsorted/                     the inbox: images not yet given a class
      .imgclf/
        manifest.json               schema version, labelling keys
        journal.jsonl               every move, for undo / redo and crash recovery
        journal.reserve             room kept free so a failure can still be recorded on a full disk
        lock                        who is writing to the project now (pid, host, since, app)
        trash/<action>/             files an undo had to put aside
        trash/classes/<class>/      the emptied folder of a merged or deleted class (with any leftovers)
        quarantine/<class>/         unreadable files put aside by Check Data
        thumbs/                     thumbnail cache
        folds.json                  which cross-validation fold each image belongs to, and the test part
        split.json                  the train / validation / test split of older versions (read once, to migrate)
        training_settings.json      the Training tab's settings
        runs/<run-id>/              every training run: run.json + model/ + out_of_fold.npz
        active_model.json           which run the Classify tab and the CLI use
        reviewed.json               images the user kept although they looked mislabelled
        maps/<backbone>@<version>/<crop>.npz   the map of the dataset: each image's 2-D place, by content hash
        -- the bottleneck cache; read-only projects keep these in the user cache instead --
        features/<backbone>@<version>/<crop>.features
        hash-index.json             (path, size, mtime) -> content hash
        unreadable.json             contents known not to decode

Everything else asks this module for a path; no other module spells a name under ``.imgclf/``.
"""
from __future__ import annotations

import os
from pathlib import Path

STATE_DIR_NAME = ".imgclf"
INBOX_NAME = "unsorted"

MANIFEST = "manifest.json"
JOURNAL = "journal.jsonl"
JOURNAL_RESERVE = "journal.reserve"
LOCK = "lock"
TRASH = "trash"
DELETED_CLASSES = "classes"  # inside TRASH
QUARANTINE = "quarantine"
THUMBS = "thumbs"
SPLIT = "split.json"
FOLDS = "folds.json"
TRAINING_SETTINGS = "training_settings.json"
RUNS = "runs"
OUT_OF_FOLD = "out_of_fold.npz"  # inside a run folder
ACTIVE_MODEL = "active_model.json"
REVIEWED = "reviewed.json"
MAPS = "maps"
# inside a cache folder (the project's .imgclf/, or its stand-in in the user cache)
FEATURES = "features"
HASH_INDEX = "hash-index.json"
UNREADABLE = "unreadable.json"

PathLike = str | os.PathLike[str]


def state_dir(root: PathLike) -> Path:
    """``PROJECT/.imgclf``."""
    return Path(root) / STATE_DIR_NAME


def inbox_dir(root: PathLike) -> Path:
    """``PROJECT/unsorted``: the inbox."""
    return Path(root) / INBOX_NAME


def manifest_file(root: PathLike) -> Path:
    return state_dir(root) / MANIFEST


def journal_file(root: PathLike) -> Path:
    return state_dir(root) / JOURNAL


def lock_file(root: PathLike) -> Path:
    return state_dir(root) / LOCK


def trash_dir(root: PathLike) -> Path:
    return state_dir(root) / TRASH


def deleted_classes_dir(root: PathLike) -> Path:
    """Where emptied class folders are set aside (``PROJECT/.imgclf/trash/classes/``)."""
    return trash_dir(root) / DELETED_CLASSES


def quarantine_dir(root: PathLike) -> Path:
    """Where unreadable files are put aside (``PROJECT/.imgclf/quarantine/<class>/``)."""
    return state_dir(root) / QUARANTINE


def thumbs_dir(root: PathLike) -> Path:
    return state_dir(root) / THUMBS


def split_file(root: PathLike) -> Path:
    """The split memory of versions before cross-validation; only read, to migrate it to ``folds_file``."""
    return state_dir(root) / SPLIT


def folds_file(root: PathLike) -> Path:
    """Fold memory: which fold each image (by content hash) is held out in, and the optional test part."""
    return state_dir(root) / FOLDS


def training_settings_file(root: PathLike) -> Path:
    return state_dir(root) / TRAINING_SETTINGS


def runs_dir(root: PathLike) -> Path:
    return state_dir(root) / RUNS


def out_of_fold_file(run_folder: PathLike) -> Path:
    """``runs/<run-id>/out_of_fold.npz``: each image's honest held-out prediction from that run."""
    return Path(run_folder) / OUT_OF_FOLD


def active_model_file(root: PathLike) -> Path:
    return state_dir(root) / ACTIVE_MODEL


def reviewed_file(root: PathLike) -> Path:
    return state_dir(root) / REVIEWED


def map_file(root: PathLike, backbone_key: str, crop: str) -> Path:
    """``maps/<backbone key>/<crop>.npz``: the dataset map's layout of one backbone's bottlenecks
    (``backbone_key`` is a ``BackboneSpec.cache_key``, made safe for a file name here)."""
    safe = "".join(c if c.isalnum() or c in "-_.@" else "_" for c in backbone_key)
    return state_dir(root) / MAPS / safe / f"{crop}.npz"


# -- the bottleneck cache: relative to a cache folder, which is the project's .imgclf/ or a stand-in
def features_dir(cache_folder: PathLike) -> Path:
    return Path(cache_folder) / FEATURES


def hash_index_file(cache_folder: PathLike) -> Path:
    return Path(cache_folder) / HASH_INDEX


def unreadable_file(cache_folder: PathLike) -> Path:
    return Path(cache_folder) / UNREADABLE
