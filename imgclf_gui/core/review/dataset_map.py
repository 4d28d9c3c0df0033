"""The map of the dataset: every image with a cached bottleneck placed in 2-D, coloured by where it is filed.

Two steps, so a map is on screen at once and improves in the background:

1. :func:`open_map` (quick): the project's images, their content hashes (from the stat index: nothing is
   read) and cached bottlenecks (nothing is extracted), then a PCA layout; suspected mislabels of the active
   model. A saved map (``layout.map_file``, per backbone and crop, keyed by content hash) that already holds
   every image gives its layouts without reading a single vector, so reopening is instant.
2. :func:`finish_map` (background, cancellable, with progress): the neighbour-preserving t-SNE layout
   (:mod:`.map_layout`), or, when the saved map lacks only a few images, those images placed into it
   without moving the rest; then the map is saved.

Images without a cached bottleneck are listed in ``DatasetMap.missing`` (extracting them is the caller's
choice: ``core.features.extraction.extract_features``, then :func:`open_map` again places them).
Entry points: :func:`open_map`, :func:`finish_map`, :func:`map_backbone`.
"""
from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from imgclf_gui.core.project import layout
from imgclf_gui.core.review.map_layout import (
    Projection,
    fit_projection,
    neighbour_layout_available,
    place_points,
    refine_layout,
)
from imgclf_gui.core.support.tasks_api import ProgressFn, StopFn, check_stop

__all__ = ["DatasetMap", "open_map", "finish_map", "map_backbone", "PLACE_AT_MOST", "SEED"]

SEED = 0
#: New images are placed into a saved map while they are at most this share of the images it holds; more
#: than that and the map is made afresh (placing keeps the old picture, which no longer describes the data).
PLACE_AT_MOST = 0.25
_SCHEMA = 1
LayoutFn = Any  # Callable[[np.ndarray], None] | None


@dataclass
class DatasetMap:
    """One map: rows aligned with ``paths``."""

    root: Path
    backbone_id: str
    crop: str
    paths: list[Path]
    labels: list[str]  #: class name, or ``layout.INBOX_NAME`` for the inbox
    digests: list[str]  #: content hashes (hex)
    reduced: np.ndarray  #: float32 (N, k): PCA-reduced bottlenecks (what t-SNE lays out)
    projection: Projection
    refined: np.ndarray | None = None  #: float32 (N, 2) t-SNE layout; NaN rows: not placed yet
    missing: list[Path] = field(default_factory=list)  #: images with no cached bottleneck: not on the map
    unreadable: int = 0  #: images known not to decode: never on the map
    suspects: dict[Path, Any] = field(default_factory=dict)  #: path -> ``SuspectedMislabel``
    pending: str = ""  #: what :func:`finish_map` will do: "refine", "place" or "" (nothing)
    notes: list[str] = field(default_factory=list)  #: sentences for the user (a saved map set aside ...)

    @property
    def pca(self) -> np.ndarray:
        """(N, 2) float32: the quick layout."""
        return np.ascontiguousarray(self.reduced[:, :2])

    def placed(self) -> np.ndarray:
        """bool (N,): rows the t-SNE layout has."""
        if self.refined is None:
            return np.zeros(len(self.paths), bool)
        return np.isfinite(self.refined).all(axis=1)


def map_backbone(root: str | os.PathLike[str]) -> tuple[str, str]:
    """(backbone id, crop) the map uses: the active model's, else the Training tab's settings."""
    from imgclf_gui.core.models.runs import RunError, active_run_id, get_run
    from imgclf_gui.core.training.config import load_project_config

    settings: dict[str, Any] = {}
    run_id = active_run_id(root)
    if run_id is not None:
        try:
            settings = get_run(root, run_id).settings
        except RunError:  # gone since: the settings are used instead
            settings = {}
    if not isinstance(settings.get("backbone"), str):
        config = load_project_config(root)
        settings = {"backbone": config.backbone, "crop": config.crop}
    return settings["backbone"], str(settings.get("crop") or "squash")


@dataclass
class _Points:
    paths: list[Path]
    labels: list[str]
    digests: list[str]
    missing: list[Path]
    unreadable: int


def _gather(root: Path, store: Any, known: dict[Path, str], should_stop: StopFn) -> _Points:
    """The project's images with a cached bottleneck (by content hash from the stat index or ``known``; a
    file neither knows was never extracted, or changed since: it is missing)."""
    from imgclf_gui.core.features.cache import hash_index_path, unreadable_memory
    from imgclf_gui.core.project import scan
    from imgclf_gui.core.support.file_hash import HashIndex

    items = [(s.path, s.label) for s in scan.scan_samples(root)]
    items += [(p, layout.INBOX_NAME) for p in scan.list_images(layout.inbox_dir(root), recursive=True)]
    index = HashIndex(hash_index_path(root), root)
    memory = unreadable_memory(root)
    points = _Points([], [], [], [], 0)
    for i, (path, label) in enumerate(items):
        if i % 512 == 0:
            check_stop(should_stop)
        try:
            digest = index.lookup(path, os.stat(path)) or known.get(path)
        except OSError:
            continue  # gone since the scan
        if digest is not None and memory.reason(digest) is not None:
            points.unreadable += 1
        elif digest is not None and store is not None and (bytes.fromhex(digest), 0) in store:
            points.paths.append(path)
            points.labels.append(label)
            points.digests.append(digest)
        else:
            points.missing.append(path)
    return points


def _saved_map(file: Path, notes: list[str], root: Path) -> dict[str, np.ndarray] | None:
    """The saved map's arrays, checked; None when there is none. A damaged one is set aside (a note)."""
    from imgclf_gui.core.support.safe_files import DamagedFile, read_state_bytes, set_aside

    try:
        data = read_state_bytes(file)
    except FileNotFoundError:
        return None
    except OSError:
        return None  # unreadable just now: made again, and not saved over blindly (saving may fail too)
    except DamagedFile as exc:
        notes.append(str(set_aside(file, "the saved map of the dataset", str(exc), "it will be made again",
                                   root=root)))
        return None
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in ("schema", "digests", "reduced", "refined", "mean", "components")}
        problem = _problem(arrays)
    except (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile) as exc:  # not an npz of ours
        problem = f"it cannot be read ({type(exc).__name__})"
    if problem is None:
        return arrays
    notes.append(str(set_aside(file, "the saved map of the dataset", problem, "it will be made again", root=root)))
    return None


def _problem(a: dict[str, np.ndarray]) -> str | None:
    """What is wrong with a saved map's arrays, or None (shapes, types, finite numbers)."""
    if a["schema"].shape != () or int(a["schema"]) != _SCHEMA:
        return "it was written by another version"
    n = len(a["digests"])
    if a["digests"].dtype != np.uint8 or a["digests"].shape != (n, 32):
        return "its list of images has the wrong shape"
    if a["reduced"].dtype != np.float32 or a["reduced"].ndim != 2 or len(a["reduced"]) != n:
        return "its reduced vectors have the wrong shape"
    if a["refined"].dtype != np.float32 or a["refined"].shape not in ((n, 2), (0, 2)):
        return "its layout has the wrong shape"
    k, dim = a["components"].shape if a["components"].ndim == 2 else (-1, -1)
    if a["components"].dtype != np.float32 or k != a["reduced"].shape[1] or a["mean"].shape != (dim,):
        return "its projection has the wrong shape"
    if not all(np.isfinite(a[name]).all() for name in ("reduced", "mean", "components")):
        return "it holds numbers that are not finite"
    return None


def _save(dmap: DatasetMap) -> str | None:
    """Keep the map (one row per content), atomically; a sentence when it could not be saved."""
    from imgclf_gui.core.backbones import get_spec
    from imgclf_gui.core.support.safe_files import atomic_write_bytes

    rows = {d: i for i, d in enumerate(dmap.digests)}  # identical files share one row
    keep = np.fromiter(rows.values(), np.int64, len(rows))
    refined = dmap.refined[keep] if dmap.refined is not None else np.zeros((0, 2), np.float32)
    buffer = io.BytesIO()
    np.savez(buffer, schema=np.array(_SCHEMA), reduced=dmap.reduced[keep].astype(np.float32),
             digests=np.frombuffer(b"".join(bytes.fromhex(d) for d in rows), np.uint8).reshape(-1, 32),
             refined=refined.astype(np.float32), mean=dmap.projection.mean, components=dmap.projection.components)
    file = layout.map_file(dmap.root, get_spec(dmap.backbone_id).cache_key, dmap.crop)
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(file, buffer.getvalue())
    except OSError as exc:
        return f"The map could not be saved ({exc.strerror or exc}); it will be made again next time."
    return None


def _vectors(store: Any, digests: list[str]) -> np.ndarray:
    vectors = np.zeros((len(digests), store.dim), np.float32)
    for i, digest in enumerate(digests):
        vector = store.get((bytes.fromhex(digest), 0))
        if vector is not None:  # a record gone bad since the scan: the row stays zero, placed with the others
            vectors[i] = vector
    return vectors


def open_map(root: str | os.PathLike[str], *, backbone_id: str | None = None, crop: str | None = None,
             hashes: dict[Path, str] | None = None, should_stop: StopFn = None) -> DatasetMap:
    """The map as it can be shown at once (see the module docstring). ``hashes`` (path -> content hash) adds
    what the caller just learnt (an extraction's ``ExtractionResult.hashes``: files changed in the last
    seconds are not in the stat index yet). Raises ``KeyError`` for an unknown backbone and
    :class:`~imgclf_gui.core.support.tasks_api.Cancelled`; never for a damaged saved map."""
    from threadpoolctl import threadpool_limits

    from imgclf_gui.core.backbones import get_spec
    from imgclf_gui.core.features.cache import open_project_cache
    from imgclf_gui.core.review.mislabels import project_mislabels

    root = Path(root)
    if backbone_id is None or crop is None:
        backbone_id, crop = map_backbone(root)
    spec = get_spec(backbone_id)
    notes: list[str] = []
    try:
        store = open_project_cache(root, spec, crop)
    except OSError:
        store = None
    try:
        points = _gather(root, store, dict(hashes or {}), should_stop)
        saved = _saved_map(layout.map_file(root, spec.cache_key, crop), notes, root) if points.paths else None
        check_stop(should_stop)
        # One maths thread: on 2 busy cores OpenBLAS's second thread made the PCA ~3x slower (measured).
        with threadpool_limits(1):
            dmap = _layouts(root, backbone_id, crop, points, saved, store, should_stop)
    finally:
        if store is not None:
            store.close()
    dmap.notes = notes + dmap.notes
    scan = project_mislabels(root)
    dmap.suspects = {s.path: s for s in scan.suspects}
    return dmap


def _layouts(root: Path, backbone_id: str, crop: str, points: _Points, saved: dict[str, np.ndarray] | None,
             store: Any, should_stop: StopFn) -> DatasetMap:
    n = len(points.paths)
    base = dict(root=root, backbone_id=backbone_id, crop=crop, paths=points.paths, labels=points.labels,
                digests=points.digests, missing=points.missing, unreadable=points.unreadable)
    if n == 0:
        return DatasetMap(**base, reduced=np.zeros((0, 2), np.float32),
                          projection=Projection(np.zeros(0, np.float32), np.zeros((2, 0), np.float32)))
    if saved is not None:
        row_of = {bytes(d).hex(): i for i, d in enumerate(saved["digests"])}
        rows = np.array([row_of.get(d, -1) for d in points.digests], np.int64)
        known = rows >= 0
        new = int(np.count_nonzero(~known))
        if new <= PLACE_AT_MOST * len(row_of):
            projection = Projection(saved["mean"], saved["components"])
            reduced = np.zeros((n, saved["reduced"].shape[1]), np.float32)
            reduced[known] = saved["reduced"][rows[known]]
            if new:
                reduced[~known] = projection.apply(_vectors(store, [d for d, k in zip(points.digests, known) if not k]))
            refined = None
            if len(saved["refined"]):
                refined = np.full((n, 2), np.nan, np.float32)
                refined[known] = saved["refined"][rows[known]]
            pending = "refine" if refined is None else "place" if new else ""
            dmap = DatasetMap(**base, reduced=reduced, projection=projection, refined=refined, pending=pending)
            if new:
                note = _save(dmap)  # the new images' PCA places are kept even if placing them is stopped
                dmap.notes += [note] if note else []
            return dmap
    vectors = _vectors(store, points.digests)
    check_stop(should_stop)
    projection = fit_projection(vectors, seed=SEED)
    dmap = DatasetMap(**base, reduced=projection.apply(vectors), projection=projection, pending="refine")
    note = _save(dmap)
    dmap.notes += [note] if note else []
    return dmap


def finish_map(dmap: DatasetMap, *, on_progress: ProgressFn = None, should_stop: StopFn = None,
               on_layout: LayoutFn = None) -> DatasetMap:
    """The map with its t-SNE layout (``dmap.pending``: "refine" lays out every image, "place" adds the new
    ones to the saved layout), saved for next time. ``on_layout(layout)`` gets (N, 2) layouts while it forms
    (refine only). Returns ``dmap`` unchanged when nothing is pending or openTSNE is not installed
    (``neighbour_layout_available``). Raises :class:`Cancelled`; the saved map is then left as it was."""
    if not dmap.pending or not neighbour_layout_available()[0]:
        return dmap
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        if dmap.pending == "place" and dmap.refined is not None:
            placed = dmap.placed()
            refined = dmap.refined.copy()
            refined[~placed] = place_points(dmap.reduced[placed], dmap.refined[placed], dmap.reduced[~placed],
                                            seed=SEED, on_progress=on_progress, should_stop=should_stop)
        else:
            refined = refine_layout(dmap.reduced, seed=SEED, on_progress=on_progress, should_stop=should_stop,
                                    on_layout=on_layout)
    done = replace(dmap, refined=refined, pending="", notes=list(dmap.notes))
    note = _save(done)
    done.notes += [note] if note else []
    return done
