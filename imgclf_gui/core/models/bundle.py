"""A trained model on disk: a folder a person can read, loadable without pickle or TensorFlow.

Layout of ``NAME.imgclf-model/``::

    model.json   schema, class names in order, backbone id + version, input size, crop policy,
                 preprocessing, training config, metrics, creation time, validation image paths; for a
                 combined backbone each of its networks (``backbones``), and whether scores are averaged
                 with the mirror image's (``flips``)
    head.npz     standardisation (mean, std) and dense layers; loaded with allow_pickle=False
    trained_on.txt  content hashes of the training images, one a line, so ``imgclf evaluate`` never
                 scores the model on an image it was trained on

Saving writes a temporary sibling folder, then renames it over the target, so a crash never leaves a
half-written model. Loading refuses a model whose backbone version (any of its networks') differs from
the installed one: its head would be fed features it was not trained on and answer confidently wrong.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from imgclf_gui.core.models.bundle_files import (
    JSON_NAME,
    SCHEMA_VERSION,
    TRAINED_ON_NAME,
    WEIGHTS_NAME,
    BundleError,
    read_model_files,
)
from imgclf_gui.core.training.head import HeadModel

if TYPE_CHECKING:
    from imgclf_gui.core.training.trainer import TrainResult

__all__ = ["ModelBundle", "BundleError", "SCHEMA_VERSION"]


@dataclass
class ModelBundle:
    """A trained head plus everything needed to feed it the same features it was trained on."""

    head: HeadModel
    class_names: list[str]
    backbone_id: str
    backbone_version: str
    input_size: int
    crop: str
    preprocessing: str
    config: Any  # TrainConfig
    metrics: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    #: validation images of the training run: the export self-test compares predictions on them
    validation_paths: list[str] = field(default_factory=list)
    #: content hashes of the images the head was trained on (augmented variants included by origin)
    train_hashes: list[str] = field(default_factory=list)
    path: Path | None = None  # where it was loaded from / saved to
    #: each image is scored as the mean of its scores and its mirror image's (chosen by the folds)
    flip_averaging: bool = False

    @classmethod
    def create(cls, *, head: HeadModel, class_names: Sequence[str], spec: Any, config: Any,
               metrics: dict[str, Any] | None = None, validation_paths: Sequence[str] = (),
               train_hashes: Sequence[str] = (), flip_averaging: bool = False) -> ModelBundle:
        """A new bundle for ``head`` trained on features of backbone ``spec`` (a ``BackboneSpec``, combined
        or not); ``flip_averaging``: score each image with its mirror image too (see ``predict_features``)."""
        if head.num_classes != len(class_names):
            raise ValueError("the head and the class names disagree on the number of classes")
        return cls(head=head, class_names=list(class_names), backbone_id=spec.id, backbone_version=spec.version,
                   input_size=int(spec.input_size), crop=config.crop,
                   preprocessing=spec.preprocessing, config=config, metrics=dict(metrics or {}),
                   created=datetime.now(UTC).isoformat(timespec="seconds"),
                   validation_paths=list(validation_paths), train_hashes=sorted(set(train_hashes)),
                   flip_averaging=flip_averaging)

    @classmethod
    def from_training(cls, result: TrainResult) -> ModelBundle:
        """The model a ``train(...)`` run made; raises ``ValueError`` when it stopped before any epoch ended."""
        if result.head is None:
            raise ValueError("training stopped before the first epoch ended: there is no model")
        return cls.create(head=result.head, class_names=result.class_names, spec=result.spec,
                          config=result.config, metrics=result.metrics, validation_paths=result.validation_paths,
                          train_hashes=result.train_hashes, flip_averaging=result.uses_flips)

    # ----------------------------------------------------------------------------------- disk
    def to_json_dict(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if "+" in self.backbone_id:  # a combined backbone: each network, as installed (load checks them all)
            from imgclf_gui.core.backbones import feature_parts

            extra["backbones"] = [{"id": p.id, "version": p.version, "input_size": p.input_size,
                                   "preprocessing": p.preprocessing, "dim": p.dim} for p in feature_parts(self.spec)]
        if self.flip_averaging:
            extra["flips"] = {"average": True}
        return {
            # format 1 whenever it holds the model, so older imgclf versions still open it
            "schema": SCHEMA_VERSION if extra else 1,
            **extra,
            "format": "imgclf-model",
            "class_names": self.class_names,
            "backbone": {"id": self.backbone_id, "version": self.backbone_version,
                         "input_size": self.input_size, "preprocessing": self.preprocessing},
            "input": {"size": self.input_size, "crop": self.crop, "resize": "Pillow BILINEAR",
                      "color": "RGB", "range": "0..255"},
            "head": {"hidden_units": self.head.hidden_units, "dim": int(self.head.mean.shape[0]),
                     "standardize": True},
            "config": self.config.to_dict() if hasattr(self.config, "to_dict") else dict(self.config),
            "metrics": self.metrics,
            "created": self.created,
            "validation_paths": self.validation_paths,
        }

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write the bundle to ``folder`` atomically (replacing an existing model there)."""
        folder = Path(folder)
        problem = replaceable_problem(folder)
        if problem:
            raise BundleError(f"{folder} {problem}; choose another name.")
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
        try:
            buf = io.BytesIO()
            # little-endian float32 in C order: the only arrays bundle_files.py reads back
            np.savez(buf, **{k: np.ascontiguousarray(v, "<f4") for k, v in self.head.arrays().items()})
            _write_synced(tmp / WEIGHTS_NAME, buf.getvalue())
            _write_synced(tmp / TRAINED_ON_NAME, "".join(h + "\n" for h in self.train_hashes).encode("ascii"))
            text = json.dumps(self.to_json_dict(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
            try:
                encoded = text.encode("utf-8")
            except UnicodeEncodeError:  # a class folder whose name is not valid UTF-8: JSON escapes keep it
                encoded = (json.dumps(self.to_json_dict(), indent=2, sort_keys=True) + "\n").encode("ascii")
            _write_synced(tmp / JSON_NAME, encoded)
            if folder.exists():
                old = folder.with_name(f".{folder.name}.old-{os.getpid()}-{time.time_ns()}")
                os.replace(folder, old)
                os.replace(tmp, folder)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self.path = folder
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike[str], *, check_backbone: bool = True) -> ModelBundle:
        """Read a bundle as untrusted input (``bundle_files.py`` says what is checked); raises ``BundleError``
        (one sentence) for anything wrong with it and, with ``check_backbone``, unless its backbone is
        installed in the same version. The input size and preprocessing come from the installed backbone's
        spec, never from the file."""
        from imgclf_gui.core.training.config import TrainConfig

        folder = Path(folder)
        files = read_model_files(folder, require_backbone=check_backbone)
        data, backbone = files.json, files.json["backbone"]
        head = HeadModel.from_arrays(files.arrays)
        return cls(head=head, class_names=list(data["class_names"]), backbone_id=backbone["id"],
                   backbone_version=backbone["version"], input_size=files.input_size, crop=data["input"]["crop"],
                   preprocessing=files.preprocessing, config=TrainConfig.from_dict(data.get("config", {})),
                   metrics=data.get("metrics", {}), created=data.get("created", ""),
                   validation_paths=list(data.get("validation_paths", [])), train_hashes=files.train_hashes,
                   path=folder, flip_averaging=files.flip_averaging)

    # ----------------------------------------------------------------------------------- predict
    @property
    def spec(self) -> Any:
        """The installed ``BackboneSpec`` of this bundle's backbone."""
        from imgclf_gui.core.backbones import get_spec

        return get_spec(self.backbone_id)

    def predict_features(self, features: np.ndarray, flipped: np.ndarray | None = None) -> np.ndarray:
        """Class probabilities (N, classes) for features (N, dim) of this bundle's backbone (for a combined
        one, ``backbones.combine_features`` of its networks'). A model with ``flip_averaging`` needs the
        features of each image's mirror image too (``flipped``, same shape): its scores are the mean of both.

        Each row is scored on its own: BLAS picks other kernels for other batch sizes, and an image must
        get the same scores alone (the Classify tab) as in a batch (a folder, ``imgclf classify``).
        """
        scores = self.head_scores(features)
        if not self.flip_averaging:
            return scores
        if flipped is None:
            raise ValueError("this model averages each image with its mirror image: give both")
        return ((scores + self.head_scores(flipped)) * np.float32(0.5)).astype(np.float32)

    def head_scores(self, features: np.ndarray) -> np.ndarray:
        """The head's probabilities for these features alone, each row on its own: what
        :meth:`predict_features` gives a model without mirror images. For a quick ranking where the mirror
        images' bottlenecks are not at hand (inbox suggestions); classifying goes through ``predict.py``."""
        features = np.asarray(features, np.float32)
        if len(features) == 0:
            return np.zeros((0, len(self.class_names)), np.float32)
        return np.concatenate([self.head.predict_proba(features[i:i + 1]) for i in range(len(features))])

    def export(self, format: str, out: str | os.PathLike[str], **kwargs: Any) -> Any:
        """Write an export folder (``export_formats.FORMATS``), self-tested; see ``core/models/exporter.py``."""
        from imgclf_gui.core.models.exporter import export_bundle

        return export_bundle(self, format, out, **kwargs)


def estimate_model_bytes(dim: int, hidden_units: int, classes: int, images: int) -> int:
    """About how many bytes a saved model takes (generously): checked as free space before training."""
    widths = [dim, hidden_units, classes] if hidden_units else [dim, classes]
    weights = 4 * (2 * dim + sum(a * b + b for a, b in zip(widths, widths[1:])))
    # trained_on.txt holds a 65-byte line per image; model.json validation paths and the report's mistakes
    return weights + 65 * images + 300 * images + (256 << 10)


def replaceable_problem(folder: str | os.PathLike[str]) -> str | None:
    """Why a model cannot be saved as ``folder`` (it exists and is not an imgclf model), or None.

    Saving replaces an existing model, never anything else: checked before training, and again here.
    """
    folder = Path(folder)
    if not os.path.lexists(folder):
        return None
    if folder.is_symlink() or not folder.is_dir():
        return "exists and is not a model folder"
    with os.scandir(folder) as entries:
        if next(entries, None) is None:
            return None  # an empty folder made for the model
    if not (folder / JSON_NAME).is_file() or (folder / JSON_NAME).is_symlink():
        return "exists and is not an imgclf model"
    return None


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
