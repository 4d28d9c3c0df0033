"""Each image's honest prediction from one training run, kept with the run so it can be shown again.

Entry points: ``OutOfFold`` (``.save(file)``, ``OutOfFold.load(file)``, ``.cell(true, predicted)``,
``.absolute_paths(root)``) and ``OutOfFoldError``.

A cross-validated run predicts every labelled image with a model that never saw it (its fold's model; the
final model for the test part). Those predictions are what the report, the confusion matrix cells and the
"possibly mislabelled" list are made of, so the run keeps them (``runs/<run-id>/out_of_fold.npz``, see
``core/project/layout.py``) and the app and ``imgclf check`` can show them again without retraining.

The file is a compressed ``.npz`` read with ``allow_pickle=False`` (no pickle for anything a user can hand
us): probabilities as float32, exactly as training computed them (so the list read back is the list training
showed; 20,000 images x 10 classes is under 1 MB), class indices, folds, content hashes as raw 32-byte
digests, and the paths relative to the project root joined by NUL characters (the one character no file
name can hold), so the project folder can be moved or renamed.
"""
from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

__all__ = ["OutOfFold", "OutOfFoldError", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1
_SEP = "\0"


class OutOfFoldError(Exception):
    """A saved out-of-fold file that cannot be used (damaged, or from a newer version)."""


def _join(texts: Sequence[str]) -> np.ndarray:
    return np.frombuffer(_SEP.join(texts).encode("utf-8"), np.uint8)


def _split(array: np.ndarray, count: int) -> list[str]:
    if count == 0:
        return []
    texts = bytes(np.asarray(array, np.uint8)).decode("utf-8").split(_SEP)
    if len(texts) != count:
        raise ValueError(f"{len(texts)} names for {count} rows")
    return texts


@dataclass
class OutOfFold:
    """Aligned per-image arrays: where the image is, which class it was filed under, and its prediction.

    ``paths`` are relative to the project root with "/" separators; ``labels[i]`` indexes ``class_names``
    (the image's folder when the run trained); ``probabilities`` (N, classes) float32 with NaN rows where the
    run made no honest prediction (a cancelled run); ``folds[i]`` the 0-based fold that held image ``i``
    out, or -1 for the test part; ``hashes[i]`` its content hash (None when it had none).
    """

    class_names: list[str]
    paths: list[str]
    labels: np.ndarray
    probabilities: np.ndarray
    folds: np.ndarray
    hashes: list[str | None]

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels, np.int64)
        self.probabilities = np.asarray(self.probabilities, np.float32)
        self.folds = np.asarray(self.folds, np.int64)
        n, k = len(self.paths), len(self.class_names)
        if (self.labels.shape != (n,) or self.folds.shape != (n,) or len(self.hashes) != n
                or self.probabilities.shape != (n, k)):
            raise ValueError("paths, labels, probabilities, folds and hashes must describe the same images")
        if n and (self.labels.min() < 0 or self.labels.max() >= k):
            raise ValueError("a label outside the class names")

    @classmethod
    def from_paths(cls, root: str | os.PathLike[str], paths: Sequence[str | os.PathLike[str]], *,
                   class_names: Sequence[str], labels: np.ndarray, probabilities: np.ndarray,
                   folds: np.ndarray, hashes: Sequence[str | None]) -> OutOfFold:
        """The same, with absolute ``paths`` inside ``root`` made relative to it."""
        base = Path(root).resolve()
        rel = []
        for p in paths:
            path = Path(p)
            try:
                rel.append(PurePosixPath(path.resolve().relative_to(base)).as_posix())
            except ValueError:
                rel.append(path.as_posix())  # outside the project (not expected): kept as it is
        return cls(list(class_names), rel, labels, probabilities, folds, list(hashes))

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def predicted(self) -> np.ndarray:
        """(N,) bool: which images have an honest prediction."""
        return ~np.isnan(self.probabilities).any(axis=1)

    def absolute_paths(self, root: str | os.PathLike[str]) -> list[Path]:
        return [Path(root, *PurePosixPath(p).parts) for p in self.paths]

    def cell(self, true_index: int, predicted_index: int) -> np.ndarray:
        """Indices of the images of one confusion-matrix cell (diagonal cells too), worst first: lowest
        probability of their own class first."""
        ok = self.predicted
        predicted = np.where(ok, np.nan_to_num(self.probabilities).argmax(axis=1), -1)
        idx = np.flatnonzero(ok & (self.labels == true_index) & (predicted == predicted_index))
        own = self.probabilities[idx, true_index]
        return idx[np.lexsort((idx, own))]

    # ---------------------------------------------------------------------------------------- disk
    def save(self, file: str | os.PathLike[str]) -> None:
        """Write atomically (``core/support/safe_files.py``); raises ``OSError``."""
        from imgclf_gui.core.support.safe_files import atomic_write_bytes

        digests = np.zeros((len(self), 32), np.uint8)
        for i, h in enumerate(self.hashes):
            if h:
                digests[i] = np.frombuffer(bytes.fromhex(h), np.uint8)
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer, schema=np.array(SCHEMA_VERSION), class_names=_join(self.class_names),
            paths=_join(self.paths), labels=self.labels.astype(np.int32),
            probabilities=self.probabilities.astype(np.float32), folds=self.folds.astype(np.int8),
            hashes=digests, has_hash=np.array([bool(h) for h in self.hashes], bool))
        atomic_write_bytes(file, buffer.getvalue())

    @classmethod
    def load(cls, file: str | os.PathLike[str]) -> OutOfFold:
        """Read a saved file; raises ``FileNotFoundError`` when there is none and ``OutOfFoldError`` when it
        is damaged or newer than this version understands."""
        try:
            with np.load(file, allow_pickle=False) as npz:
                schema = int(npz["schema"])
                if schema > SCHEMA_VERSION:
                    raise OutOfFoldError(f"{file} was written by a newer imgclf (format {schema}).")
                labels = npz["labels"]
                class_names = _split(npz["class_names"], int(npz["probabilities"].shape[1]))
                digests, has_hash = npz["hashes"], npz["has_hash"]
                hashes = [bytes(d).hex() if ok else None for d, ok in zip(digests, has_hash)]
                return cls(class_names, _split(npz["paths"], len(labels)), labels,
                           npz["probabilities"].astype(np.float32), npz["folds"], hashes)
        except FileNotFoundError:
            raise
        except OutOfFoldError:
            raise
        except (OSError, ValueError, KeyError, IndexError, UnicodeDecodeError, EOFError, zipfile.BadZipFile) as exc:
            raise OutOfFoldError(f"{file} cannot be read ({exc}).") from None
