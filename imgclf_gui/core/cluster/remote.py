"""What runs on the Dask workers, and what they must agree on with this computer. No Dask import here.

The client, the one writer, sends chunks of absolute image paths. A worker runs them through the very
functions one process uses: :func:`~imgclf_gui.core.features.extraction.extract_features` with a cache
in memory (:class:`WorkerCaches`: nothing is written on a worker) and
:func:`~imgclf_gui.core.models.predict.score_files`; it sends back vectors (:class:`ChunkVectors`) or
result rows. Each worker process opens its backbone (or model) once and keeps it, limits its thread pools
to the threads Dask gave it, and checks before its first task that it runs the same imgclf, decoder and
backbone (and sees the same model) as the client (:class:`Expected`).

Entry points (called by Dask): :func:`probe`, :func:`extract_chunk`, :func:`score_chunk`.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imgclf_gui.core.features.cache import UnreadableMemory, decoder_identity
from imgclf_gui.core.features.store import Key
from imgclf_gui.core.support.file_hash import HashIndex
from imgclf_gui.core.support.notes import Note


class ClusterError(Exception):
    """The cluster cannot do the work; the message is one sentence saying why and what to do."""


class WorkerProblem(ClusterError):
    """A worker that cannot work as this computer would: another imgclf, decoder, backbone or model."""


def model_fingerprint(bundle: Any) -> str:
    """SHA-256 of what decides a model's scores: classes, backbone, input, crop and the head's weights."""
    digest = hashlib.sha256(json.dumps([bundle.class_names, bundle.backbone_id, bundle.backbone_version,
                                        int(bundle.input_size), bundle.crop]).encode("utf-8"))
    for name, array in sorted(bundle.head.arrays().items()):
        values = np.ascontiguousarray(array)
        digest.update(f"{name}|{values.dtype.str}|{values.shape}".encode())
        digest.update(values.tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Expected:
    """What a worker must match for its vectors and scores to be the ones this computer would compute."""

    imgclf: str
    decoder: str  #: Pillow and pipeline versions (``features.cache.decoder_identity``)
    augment: int  #: ``AUGMENT_VERSION``: the augmented variants' pictures
    backbone_id: str
    backbone_version: str
    model: str = ""  #: :func:`model_fingerprint` when classifying, "" when extracting

    @classmethod
    def here(cls, backbone_id: str, bundle: Any = None) -> Expected:
        """This process's identity for ``backbone_id`` (and ``bundle``). Raises KeyError (unknown backbone)."""
        from imgclf_gui import __version__
        from imgclf_gui.core.backbones import get_spec
        from imgclf_gui.core.images.augment import AUGMENT_VERSION

        spec = get_spec(backbone_id)
        return cls(__version__, decoder_identity(), AUGMENT_VERSION, spec.id, spec.version,
                   model_fingerprint(bundle) if bundle is not None else "")

    def differences(self, worker: Expected) -> list[str]:
        """What ``worker`` runs that differs from this (the client's) identity, in words."""
        said = []
        if worker.imgclf != self.imgclf:
            said.append(f"runs imgclf {worker.imgclf} where this computer runs {self.imgclf}")
        if worker.backbone_version != self.backbone_version:
            said.append(f"has version {worker.backbone_version} of the backbone {self.backbone_id}, "
                        f"this computer version {self.backbone_version}")
        if worker.decoder != self.decoder or worker.augment != self.augment:
            said.append(f"decodes images with {worker.decoder} (augmentation {worker.augment}) where this "
                        f"computer uses {self.decoder} (augmentation {self.augment})")
        return said


def _mismatch_problem(said: list[str], expected: Expected) -> WorkerProblem:
    return WorkerProblem("; ".join(said) + f": install the same imgclf on every node (pip install "
                         f"'imgclf[cluster]=={expected.imgclf}' and the same Pillow), so that its vectors and "
                         "scores are the ones this computer would compute.")


# ---------------------------------------------------------------------------------- per-process state
_LOCK = threading.RLock()
_settled = False
_checked: set[Expected] = set()
_extractors: dict[str, Any] = {}
_predictors: dict[Any, tuple[Any, str]] = {}  # ModelSource -> (Predictor, fingerprint): the latest only


def _settle(worker: Any = None) -> None:
    """Once per process: use only the threads Dask gave this worker (its share of the node's cores)."""
    global _settled
    with _LOCK:
        if _settled:
            return
        if worker is None:
            try:
                from distributed import get_worker

                worker = get_worker()
            except (ImportError, ValueError):  # called outside a Dask worker (tests): keep every core
                worker = None
        state = getattr(worker, "state", worker)  # Dask keeps a worker's thread count in its state
        threads = getattr(state, "nthreads", None)
        if threads:
            from imgclf_gui.core.support.cpus import limit_cpus

            limit_cpus(int(threads))
        _settled = True


def _check(expected: Expected) -> None:
    """Raise :class:`WorkerProblem` unless this process computes what the client would."""
    with _LOCK:
        if expected in _checked:
            return
        try:
            mine = Expected.here(expected.backbone_id)
        except KeyError:
            raise WorkerProblem(f"does not know the backbone {expected.backbone_id!r}: install the same imgclf "
                                f"(pip install 'imgclf[cluster]=={expected.imgclf}') on every node.") from None
        said = expected.differences(mine)
        if said:
            raise _mismatch_problem(said, expected)
        _checked.add(expected)


def _extractor(backbone_id: str) -> Any:
    """This process's extractor of ``backbone_id``, opened on first use and kept (its runner serialises calls)."""
    from imgclf_gui.core.backbones import BackboneUnavailable, open_extractor

    with _LOCK:
        extractor = _extractors.get(backbone_id)
        if extractor is None:
            try:
                extractor = _extractors[backbone_id] = open_extractor(backbone_id)
            except BackboneUnavailable as exc:
                raise WorkerProblem(f"cannot open the backbone {backbone_id}: {exc}") from None
        return extractor


def _predictor(source: Any, expected: Expected) -> Any:
    """This process's predictor for ``source``, loaded once; loaded again if the model's files changed."""
    from imgclf_gui.core.models.predict import ModelLoadError, open_predictor

    with _LOCK:
        held = _predictors.get(source)
        if held is None or held[1] != expected.model:
            _predictors.clear()  # one model at a time: a long-lived cluster serves many runs
            try:
                predictor = open_predictor(source)
            except ModelLoadError as exc:
                raise WorkerProblem(f"cannot load the model at {source.path}: {exc}") from None
            fingerprint = model_fingerprint(predictor.bundle) if predictor.bundle is not None else ""
            held = _predictors[source] = (predictor, fingerprint)
        if held[1] != expected.model:
            raise WorkerProblem(f"sees another model at {source.path} than this computer (its classes or weights "
                                "differ): every node must see the same files.")
        return held[0]


# ------------------------------------------------------------------------------------------ probe
@dataclass(frozen=True)
class ProbeReply:
    host: str
    problem: str | None  #: what differs, or why the backbone / model cannot be opened
    missing: list[str] = field(default_factory=list)  #: sampled paths this worker cannot read


def probe(expected: Expected, paths: list[str], source: Any = None, dask_worker: Any = None) -> ProbeReply:
    """Run on every worker before the work (``Client.run``): check it, and open its backbone or model.

    Opening here, on the worker's main thread, also keeps LiteRT's start-up line out of the terminal.
    A backbone that still needs converting (10-30 s) is left to the first task, so the worker stays
    responsive to its scheduler meanwhile.
    """
    from imgclf_gui.core.backbones import needs_preparation

    _settle(dask_worker)
    missing = [p for p in paths if not os.access(p, os.R_OK)]
    problem: str | None = None
    try:
        _check(expected)
        if source is not None and source.path is not None and not os.path.isdir(source.path):
            problem = (f"cannot see the model folder {source.path}: every node needs the same shared file "
                       "system mounted at the same place as this computer.")
        elif not missing and not needs_preparation(expected.backbone_id):
            if source is None:
                _warm(_extractor(expected.backbone_id))
            else:
                predictor = _predictor(source, expected)
                predictor.score([np.zeros((8, i.size, i.size, 3), np.uint8) for i in predictor.inputs])
    except WorkerProblem as exc:
        problem = str(exc)
    return ProbeReply(socket.gethostname(), problem, missing)


def _warm(extractor: Any) -> None:
    size = extractor.spec.input_size
    for n in (8, 1):  # the runner's two fixed batch shapes
        extractor.features(np.zeros((n, size, size, 3), np.float32))


# ----------------------------------------------------------------------------------- extraction
class WorkerCaches:
    """An extraction's caches on a worker: nothing cached, nothing written; what the project's cache would
    have received is kept for the client, which alone writes it."""

    def __init__(self) -> None:
        self.index = HashIndex(None)
        self.unreadable = _LearningMemory()
        self.warnings: list[Note] = []
        self.records: list[tuple[Key, np.ndarray]] = []

    @property
    def cache_file(self) -> None:
        return None

    def has(self, key: Key) -> bool:
        return False

    def get(self, key: Key) -> np.ndarray | None:
        return None

    def add(self, items: list[tuple[Key, np.ndarray]]) -> None:
        self.records.extend(items)

    def close(self) -> None:
        pass


class _LearningMemory(UnreadableMemory):
    """An empty memory of undecodable contents that keeps what it learns, for the client to remember."""

    def __init__(self) -> None:
        super().__init__(None, decoder_identity())
        self.learned: dict[str, str] = {}

    def remember(self, digest: str, reason: str) -> None:
        super().remember(digest, reason)
        self.learned[digest] = reason


@dataclass
class ChunkVectors:
    """A worker's answer for one chunk of images, aligned with the chunk's paths."""

    hashes: list[str | None]  #: content hash per image (None when the file could not be read)
    failed: dict[int, str]  #: position in the chunk -> why it could not be read
    learned_unreadable: dict[str, str]  #: content hash -> reason, for the project's memory of such files
    signatures: list[tuple[int, int, int] | None]  #: (size, mtime_ns, inode) the hash was read at, if indexable
    keys: list[Key]  #: vectors computed, as the project's cache would have received them
    vectors: np.ndarray  #: float32 (len(keys), dim)

    @classmethod
    def lost(cls, reason: str, dim: int) -> ChunkVectors:
        """The answer for one image whose every attempt ended with its worker dying."""
        return cls([None], {0: reason}, {}, [None], [], np.zeros((0, dim), np.float32))


def extract_chunk(expected: Expected, variants: int, crop: str, flips: bool, paths: list[str]) -> ChunkVectors:
    """Bottlenecks of ``paths`` (absolute), exactly as ``extract_features`` computes them in one process."""
    from imgclf_gui.core.backbones import get_spec
    from imgclf_gui.core.features.extraction import extract_features

    _settle()
    _check(expected)
    caches = WorkerCaches()
    result = extract_features(paths, expected.backbone_id, None, variants=variants, flips=flips, crop=crop,
                              caches=caches,
                              extractor=_extractor(expected.backbone_id))
    position = {path: i for i, path in enumerate(paths)}
    failed = {position[str(path)]: reason for path, reason in result.failed.items()}
    signatures: list[tuple[int, int, int] | None] = []
    for path in paths:
        entry = caches.index.get(os.path.abspath(path))  # indexed unless modified in the last seconds
        signatures.append(tuple(entry[:3]) if entry is not None else None)  # type: ignore[arg-type]
    keys = [key for key, _ in caches.records]
    dim = get_spec(expected.backbone_id).dim
    vectors = (np.stack([v for _, v in caches.records]).astype(np.float32, copy=False) if keys
               else np.zeros((0, dim), np.float32))
    return ChunkVectors(list(result.hashes), failed, dict(caches.unreadable.learned), signatures, keys, vectors)


# ---------------------------------------------------------------------------------- classification
def score_chunk(expected: Expected, source: Any, paths: list[str]) -> list[Any]:
    """``score_files`` on ``paths`` (absolute) with this process's predictor for ``source``."""
    from imgclf_gui.core.models.predict import score_files

    _settle()
    _check(expected)
    return score_files(_predictor(source, expected), paths)


__all__ = ["ClusterError", "WorkerProblem", "Expected", "ProbeReply", "ChunkVectors", "WorkerCaches",
           "model_fingerprint", "probe", "extract_chunk", "score_chunk"]
