"""The inbox of a project and its suggestions: which bottlenecks, where they come from, which model (no Qt).

The pieces the app runs as background tasks, and :func:`project_suggestions` that does everything at once
for ``imgclf suggest``:

- :func:`suggestion_features` (the backbone and crop suggestions use: the active run's, else the training
  settings'), :class:`VectorBank` (vectors by content hash, appended only, so a worker can read a snapshot
  while more arrive);
- :func:`gather_cached` (content hashes from the stat index and vectors from the cache: no image is
  decoded), :func:`extract_in_chunks` (the rest through the backbone, cached, a chunk at a time);
- :func:`labelled_rows` (the sorted images whose vectors are known), :func:`choose_model` (a quick model
  when there are enough sorted images, else the active run when it knows only current classes);
- :func:`accept_label` / :func:`accept_ops`: "Accept all at or above N%" as ONE journaled action.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imgclf_gui.core.review.suggestions import (
    MIN_CLASSES,
    MIN_PER_CLASS,
    Suggestions,
    SuggestionSource,
    can_train_quick,
    suggest,
    train_quick_model,
)
from imgclf_gui.core.support.tasks_api import ProgressFn, StopFn, check_stop

__all__ = ["FeatureChoice", "VectorBank", "Gathered", "Chunk", "RunModel", "InboxSuggestions", "SuggestError",
           "suggestion_features", "gather_cached", "extract_in_chunks", "labelled_rows", "choose_model",
           "project_suggestions", "accept_label", "accept_ops"]

FIRST_CHUNK, CHUNK = 64, 512  # the first suggestions show after 64 images, then every 512


class SuggestError(Exception):
    """No suggestion can be made (too few sorted images and no usable model): a sentence for the user."""


@dataclass(frozen=True)
class FeatureChoice:
    """The bottlenecks suggestions are made of."""

    backbone: str
    crop: str
    run_folder: Path | None  #: the active run's model folder when it decided


def suggestion_features(root: str | os.PathLike[str]) -> FeatureChoice:
    """The active run's backbone and crop (its training images are cached with them), else those of the
    project's training settings (what the next training will cache)."""
    from imgclf_gui.core.models.bundle import ModelBundle
    from imgclf_gui.core.models.bundle_files import BundleError
    from imgclf_gui.core.models.runs import active_model_path
    from imgclf_gui.core.training.config import load_project_config

    folder = active_model_path(root)
    if folder is not None:
        try:
            bundle = ModelBundle.load(folder)
            return FeatureChoice(bundle.backbone_id, bundle.crop, folder)
        except (BundleError, KeyError, ValueError, OSError):
            pass  # an unusable model decides nothing
    config = load_project_config(root)
    return FeatureChoice(config.backbone, config.crop, None)


class VectorBank:
    """Bottleneck vectors by content hash in one growing matrix. Rows are only appended (never changed),
    so :meth:`snapshot` can be read on a worker thread while the owner adds more."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._matrix = np.zeros((0, dim), np.float32)
        self._rows: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, digest: object) -> bool:
        return digest in self._rows

    def add(self, hashes: Sequence[str], vectors: np.ndarray) -> None:
        """Add vectors of contents not held yet."""
        first: dict[str, int] = {}
        for i, digest in enumerate(hashes):  # identical files in one batch are one content
            if digest not in self._rows:
                first.setdefault(digest, i)
        new = list(first.items())
        if not new:
            return
        n = len(self._rows)
        if n + len(new) > len(self._matrix):  # grow into a new buffer; snapshots keep the old one
            grown = np.zeros((max(2 * len(self._matrix), n + len(new), 256), self.dim), np.float32)
            grown[:n] = self._matrix[:n]
            self._matrix = grown
        for j, (digest, i) in enumerate(new):
            self._matrix[n + j] = vectors[i]
            self._rows[digest] = n + j

    def snapshot(self) -> tuple[np.ndarray, dict[str, int]]:
        """(matrix of the rows held now, hash -> row): safe to read while rows are added."""
        n = len(self._rows)
        return self._matrix[:n], dict(self._rows)


@dataclass
class Gathered:
    """What the caches already know about some images."""

    hash_of: dict[Path, str] = field(default_factory=dict)  #: content hash of each image the index knew
    hashes: list[str] = field(default_factory=list)  #: contents whose vectors were read ...
    vectors: np.ndarray | None = None  #: ... and those vectors (len(hashes), dim)
    missing: list[Path] = field(default_factory=list)  #: images to extract


def gather_cached(root: str | os.PathLike[str], choice: FeatureChoice, paths: Sequence[Path],
                  known: Mapping[Path, str], have: Iterable[str] = (), *, should_stop: StopFn = None) -> Gathered:
    """Hashes (from the stat index, never reading a file) and cached vectors of ``paths`` (what a head of
    ``choice.backbone`` sees, a combined backbone too); ``known`` hashes are not looked up again, vectors
    of ``have`` not read again. The others are ``missing``."""
    from imgclf_gui.core.features.cache import cached_features, hash_index_path
    from imgclf_gui.core.support.file_hash import HashIndex

    out = Gathered()
    held = set(have)
    index = HashIndex(hash_index_path(root), root)
    to_read: dict[str, list[Path]] = {}  # content -> its images whose vector is wanted
    for i, path in enumerate(paths):
        if i % 1024 == 0:
            check_stop(should_stop)
        digest = known.get(path)
        if digest is None:
            try:
                digest = index.lookup(path, os.stat(path))
            except OSError:
                digest = None
        if digest is None:
            out.missing.append(path)
            continue
        out.hash_of[path] = digest
        if digest not in held:
            to_read.setdefault(digest, []).append(path)
    if not to_read:
        return out
    digests = list(to_read)
    try:
        vectors = cached_features(root, choice.backbone, choice.crop, digests)
    except (KeyError, ValueError, OSError):
        vectors = None
    found = np.zeros(len(digests), bool) if vectors is None else vectors.any(axis=1)  # zero rows: not cached
    for digest, ok in zip(digests, found):
        if not ok:
            out.missing.extend(to_read[digest])
    if found.any():
        assert vectors is not None
        out.hashes = [d for d, ok in zip(digests, found) if ok]
        out.vectors = vectors[found]
    return out


@dataclass
class Chunk:
    """Bottlenecks of one chunk of images, as extracted (or read from the cache)."""

    paths: list[Path]  #: the images that now have a vector
    hashes: list[str]
    vectors: np.ndarray  #: (len(paths), dim)
    failed: dict[Path, str]  #: unreadable images and why
    done: int  #: images of the whole job handled so far
    total: int


def extract_in_chunks(root: str | os.PathLike[str], choice: FeatureChoice, paths: Sequence[Path],
                      on_chunk: Callable[[Chunk], None], *, on_progress: ProgressFn = None,
                      should_stop: StopFn = None) -> int:
    """Extract (and cache) the bottlenecks of ``paths`` a chunk at a time, handing each chunk to
    ``on_chunk`` as soon as it is done, so suggestions can appear long before a big inbox is through.
    Returns how many images failed. Raises ``Cancelled`` (what was computed stays cached),
    ``BackboneUnavailable``."""
    from imgclf_gui.core.features.extraction import extract_features

    total, done, failed, start = len(paths), 0, 0, 0
    if on_progress is not None:
        on_progress(0, total)
    while start < total:
        size = FIRST_CHUNK if start == 0 else CHUNK
        part = list(paths[start:start + size])

        def progress(n: int, _of: int, base: int = start) -> None:
            if on_progress is not None:
                on_progress(base + n, total)

        result = extract_features(part, choice.backbone, root, crop=choice.crop, on_progress=progress,
                                  should_stop=should_stop)
        start += len(part)
        done = start
        ok = [i for i in range(len(part)) if result.ok[i] and result.hashes[i] is not None]
        failed += len(result.failed)
        on_chunk(Chunk([part[i] for i in ok], [result.hashes[i] for i in ok],  # type: ignore[misc]
                       result.features[ok], dict(result.failed), done, total))
    return failed


def labelled_rows(root: str | os.PathLike[str], hash_of: Mapping[Path, str], rows: Mapping[str, int]
                  ) -> tuple[list[int], list[str], list[Path]]:
    """The project's sorted images as (bank rows, class names), and the sorted images not in the bank
    yet (``missing``). Scans the class folders: call it on a worker thread."""
    from imgclf_gui.core.project.scan import scan_samples

    picked, labels, missing = [], [], []
    for sample in scan_samples(root):
        row = rows.get(hash_of.get(sample.path, ""))
        if row is None:
            missing.append(sample.path)
        else:
            picked.append(row)
            labels.append(sample.label)
    return picked, labels, missing


@dataclass
class RunModel:
    """The active run's model as a suggestion engine (while no quick model can be trained)."""

    bundle: Any  #: ``ModelBundle``
    title: str

    @property
    def class_names(self) -> list[str]:
        return list(self.bundle.class_names)

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        # The inbox has its images' bottlenecks, not their mirror images': the head's own scores
        return self.bundle.head_scores(features)


def _run_model(root: str | os.PathLike[str], choice: FeatureChoice, classes: Iterable[str]) -> RunModel | None:
    """The active run when every class it knows is still a class of the project (a renamed class would
    be suggested under a name that no longer exists)."""
    if choice.run_folder is None:
        return None
    from imgclf_gui.core.models.bundle import ModelBundle
    from imgclf_gui.core.models.bundle_files import BundleError
    from imgclf_gui.core.models.runs import model_title

    try:
        bundle = ModelBundle.load(choice.run_folder)
    except (BundleError, KeyError, ValueError, OSError):
        return None
    if not set(bundle.class_names) <= set(classes) or (bundle.backbone_id, bundle.crop) != (choice.backbone,
                                                                                          choice.crop):
        return None
    return RunModel(bundle, model_title(choice.run_folder, root))


def choose_model(root: str | os.PathLike[str], choice: FeatureChoice, features: np.ndarray, labels: Sequence[str],
                 classes: Iterable[str], *, should_stop: StopFn = None) -> tuple[Any, SuggestionSource] | None:
    """A quick model of the sorted images ``features``/``labels`` when there are enough, else the active
    run (see :func:`_run_model`); None when neither can suggest."""
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    if can_train_quick(counts):
        model = train_quick_model(features, labels, should_stop=should_stop)
        return model, SuggestionSource("quick", len(labels), time.time())
    run = _run_model(root, choice, classes)
    if run is None:
        return None
    return run, SuggestionSource("run", 0, time.time(), run.title)


@dataclass
class InboxSuggestions:
    """Suggestions for a project's inbox (``imgclf suggest``)."""

    inbox: list[Path]  #: every inbox image, by name
    hash_of: dict[Path, str]
    suggestions: Suggestions
    failed: dict[Path, str]  #: inbox images that could not be read, and why


def project_suggestions(root: str | os.PathLike[str], *, on_stage: Callable[[str], None] | None = None,
                        on_progress: ProgressFn = None, should_stop: StopFn = None) -> InboxSuggestions:
    """Extract (cached) the bottlenecks of every sorted and inbox image, make the model as the app does
    and score the inbox. Raises :class:`SuggestError`, ``BackboneUnavailable``, ``Cancelled``."""
    from imgclf_gui.core.backbones import get_spec, needs_preparation, prepare_backbone
    from imgclf_gui.core.features.extraction import extract_features
    from imgclf_gui.core.project import layout
    from imgclf_gui.core.project.scan import class_names, list_images, scan_samples
    from imgclf_gui.core.support.notes import STAGE_PREPARING_BACKBONE, Note, describe

    root = Path(root)
    choice = suggestion_features(root)
    inbox = list_images(layout.inbox_dir(root), recursive=True)
    if not inbox:
        raise SuggestError(f"The inbox ({layout.inbox_dir(root)}) holds no images to suggest a class for.")
    samples = scan_samples(root)
    if needs_preparation(choice.backbone):
        if on_stage is not None:
            on_stage(describe(Note(STAGE_PREPARING_BACKBONE, {"backbone": get_spec(choice.backbone).display_name})))
        prepare_backbone(choice.backbone)
    if on_stage is not None:
        on_stage(f"Bottlenecks of {len(samples)} sorted and {len(inbox)} inbox images")
    paths = [s.path for s in samples] + inbox
    result = extract_features(paths, choice.backbone, root, crop=choice.crop, on_progress=on_progress,
                              should_stop=should_stop)
    n = len(samples)
    ok = [i for i in range(n) if result.ok[i]]
    picked = choose_model(root, choice, result.features[ok], [samples[i].label for i in ok], class_names(root),
                          should_stop=should_stop)
    if picked is None:
        raise SuggestError(f"Suggestions need at least {MIN_CLASSES} classes of {MIN_PER_CLASS} readable images "
                           "each, or a trained model of the project's classes.")
    model, source = picked
    rows = [i for i in range(n, len(paths)) if result.ok[i] and result.hashes[i] is not None]
    hashes: list[str] = [result.hashes[i] for i in rows]  # type: ignore[misc]
    suggestions = suggest(model, hashes, result.features[rows], source, should_stop=should_stop)
    hash_of = {paths[i]: h for i, h in zip(rows, hashes)}
    failed = {p: reason for p, reason in result.failed.items() if p in set(inbox)}
    return InboxSuggestions(inbox, hash_of, suggestions, failed)


def accept_label(plan: Mapping[str, Sequence[Path]], threshold: float) -> str:
    """The undo history's name of an accept: "accept 8 suggestions at or above 95% (circle 5, square 3)"."""
    total = sum(len(p) for p in plan.values())
    noun = "suggestion" if total == 1 else "suggestions"
    per_class = ", ".join(f"{name} {len(paths)}" for name, paths in plan.items())
    return f"accept {total} {noun} at or above {threshold * 100:g}% ({per_class})"


def accept_ops(root: str | os.PathLike[str], plan: Mapping[str, Sequence[Path]]) -> list:
    """The journal operations that move each class's images of ``plan`` into it (never overwriting)."""
    from imgclf_gui.core.project.rules import plan_send_many

    return plan_send_many(root, plan)
