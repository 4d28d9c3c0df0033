"""The one path from an image file to class scores (no Qt), and what a score means to a user.

Every caller goes through it: ``imgclf classify``, ``imgclf evaluate``, ``imgclf imagenet``, the Classify
tab (one image and many) and the export self-test.

- :func:`open_predictor` loads a :class:`ModelSource` (a saved model, or a backbone's own ImageNet
  classes) into a :class:`Predictor`.
- :func:`score_files`: many files -> one :class:`ResultRow` each, aligned with the input, in batches;
  a file that cannot be read gets its one-sentence reason and never stops the others. Rows stream out
  through ``on_rows``; ``should_stop`` cancels between batches. A Dask worker will call it on its share
  (``score_files(open_predictor(source), chunk)``: a ``ModelSource`` and the rows pickle).
- :func:`classify_file` / :func:`classify_picture`: one image for display (the decoded picture and its
  scores), with the same decode and the same scores as :func:`score_files`.
- The "unsure" rule: :data:`UNSURE_BELOW`, :func:`is_unsure`, :func:`verdict`, :func:`describe`.

How a file becomes scores, each step in one place:

1. :func:`decode_file` decodes it ONCE, as training does (``load_rgb_for_sides``: a JPEG in draft mode,
   down to what the model's networks take), then makes what each network is fed (squash or centre crop
   to its size, Pillow BILINEAR). For each network that is exactly ``load_for_network``, the decode of
   its bottleneck cache. (A JPEG whose size falls between two networks' draft scales is decoded once per
   scale, so that each network sees what it saw in training.)
2. :meth:`Predictor.score_decoded` stacks the inputs of a batch, runs the network(s) and the head. An
   image gets the same scores alone, in a batch of 16 or in a folder's last batch: the LiteRT networks
   run fixed batch shapes, and a bundle's head scores each row on its own
   (``ModelBundle.predict_features``).

A model of a combined backbone has one :class:`NetworkInput` per network (``backbones.feature_parts``),
all made from the same decode, and :func:`bundle_predictor` joins their bottlenecks with
``backbones.combine_features``, the function training's extraction uses.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from imgclf_gui.core.support.notes import STAGE_PREPARING_BACKBONE, Note
from imgclf_gui.core.support.tasks_api import ProgressFn, StopFn, check_stop

#: the word for a verdict below the threshold, and the folder sort-into copies such images into
UNSURE = "unsure"
#: the default "unsure below" threshold (0..1): the Classify tab and ``imgclf classify --min-confidence``
UNSURE_BELOW = 0.5
#: images per network call; also how many rows the Classify tab's table receives at a time
BATCH_SIZE = 16
#: longest side of the picture kept for display after classifying one image
PREVIEW_SIDE = 720
#: ImageNet mode shows this many of its 1000 classes
IMAGENET_TOP = 5


# ------------------------------------------------------------------------------------ the unsure rule
def is_unsure(confidence: float, threshold: float = UNSURE_BELOW) -> bool:
    """THE "unsure" rule: a top score below ``threshold`` is a guess, not an answer."""
    return confidence < threshold


def verdict(scores: np.ndarray, class_names: Sequence[str], threshold: float = UNSURE_BELOW
            ) -> tuple[str, float, bool]:
    """(top class, its score, unsure) for one image's scores."""
    best = int(np.argmax(scores))
    confidence = float(scores[best])
    return class_names[best], confidence, is_unsure(confidence, threshold)


def percent(p: float) -> str:
    """``93%``; one decimal where rounding would claim a certainty the model does not have (99.7%, 0.3%)."""
    text = f"{p:.0%}"
    return f"{p:.1%}" if text in ("100%", "0%") and 0.0 < p < 1.0 else text


def describe(scores: np.ndarray, class_names: Sequence[str], threshold: float = UNSURE_BELOW) -> str:
    """The verdict in words: "cat (93% sure)" or "unsure: perhaps cat (41%)"."""
    name, confidence, unsure = verdict(scores, class_names, threshold)
    if unsure:
        return f"{UNSURE}: perhaps {name} ({percent(confidence)})"
    return f"{name} ({percent(confidence)} sure)"


def top_classes(scores: np.ndarray, class_names: Sequence[str], k: int = 3) -> str:
    """The ``k`` best classes as ``imgclf classify`` prints them: "cat 93.1%, dog 6.2%, fox 0.7%" (ties keep
    the class order). An export's ``predict.py`` prints the same, and its self-test compares the two."""
    order = np.argsort(-np.asarray(scores), kind="stable")[:max(1, k)]
    return ", ".join(f"{class_names[i]} {scores[i]:.1%}" for i in order)


# ------------------------------------------------------------------------------------------ models
class ModelLoadError(Exception):
    """A model that cannot be used (damaged bundle, missing backbone); the message says what to do."""


@dataclass(frozen=True)
class ModelSource:
    """Which model to classify with: a saved bundle folder, or a backbone's ImageNet classes."""

    kind: Literal["bundle", "imagenet"]
    path: Path | None = None  #: the bundle folder (kind "bundle")
    backbone_id: str | None = None  #: kind "imagenet"
    crop: str = "squash"  #: kind "imagenet" (a bundle uses the crop it was trained with)

    @classmethod
    def bundle(cls, path: str | os.PathLike[str]) -> ModelSource:
        return cls("bundle", path=Path(path))

    @classmethod
    def imagenet(cls, backbone_id: str | None = None, crop: str = "squash") -> ModelSource:
        from imgclf_gui.core.backbones import IMAGENET_BACKBONE

        return cls("imagenet", backbone_id=backbone_id or IMAGENET_BACKBONE, crop=crop)


@dataclass(frozen=True)
class NetworkInput:
    """What one backbone of a model is fed: a ``size`` x ``size`` RGB picture (uint8) made with ``crop``."""

    size: int
    crop: str = "squash"


#: (one uint8 (N, S, S, 3) batch per network input) -> float32 (N, classes) probabilities
ScoreFn = Callable[[Sequence[np.ndarray]], np.ndarray]


@dataclass(frozen=True)
class Decoded:
    """One image decoded once: the picture (kept for display only) and what each network is fed."""

    picture: np.ndarray | None  #: uint8 (H, W, 3) as decoded (a JPEG in draft mode), or None
    inputs: tuple[np.ndarray, ...]  #: one uint8 (S, S, 3) per :class:`NetworkInput` of the predictor


class Predictor:
    """A loaded model: class names, the inputs its networks take, and thread-safe scoring.

    The backbone extractor allows one call at a time, and the GUI may classify a single image while a
    batch runs, so calls are serialised with a lock.
    """

    def __init__(self, *, title: str, class_names: Sequence[str], inputs: Sequence[NetworkInput],
                 score_fn: ScoreFn, show_top: int | None = None, source: ModelSource | None = None,
                 bundle: Any = None) -> None:
        if not inputs:
            raise ValueError("a predictor needs at least one network input")
        self.title = title
        self.class_names = list(class_names)
        self.inputs = tuple(inputs)
        #: files are decoded to at least this side (draft mode): the largest network input
        self.decode_side = max(i.size for i in self.inputs)
        #: how many classes a view should show (None: all of them)
        self.show_top = show_top
        self.source = source
        #: the ``ModelBundle`` behind it (None in ImageNet mode)
        self.bundle = bundle
        self._score_fn = score_fn
        self._lock = threading.Lock()

    def score(self, batches: Sequence[np.ndarray]) -> np.ndarray:
        """float32 (N, classes) probabilities for N images: one uint8 (N, S, S, 3) batch per input."""
        if len(batches) != len(self.inputs):
            raise ValueError(f"{self.title} takes {len(self.inputs)} network input(s), got {len(batches)}")
        with self._lock:
            return np.asarray(self._score_fn(batches), np.float32)

    def score_decoded(self, decoded: Sequence[Decoded]) -> np.ndarray:
        """float32 (N, classes) for images decoded by :func:`decode_file` / :func:`network_inputs`."""
        if not decoded:
            return np.zeros((0, len(self.class_names)), np.float32)
        return self.score([np.stack([d.inputs[k] for d in decoded]) for k in range(len(self.inputs))])

    def warm_up(self) -> None:
        """Run one blank image through, so converting/loading the network happens now, not on the first drop."""
        self.score([np.zeros((1, i.size, i.size, 3), np.uint8) for i in self.inputs])


def bundle_predictor(bundle: Any, source: ModelSource | None = None) -> Predictor:
    """A predictor for a loaded ``ModelBundle``: backbone bottleneck(s), then the bundle's head.

    Raises ``BackboneUnavailable`` (and ``KeyError`` for an unknown backbone).
    """
    from imgclf_gui.core import backbones
    from imgclf_gui.core.features.extraction import mirrored

    # Each network of the model is fed its own input, all made from the same decode; their bottlenecks
    # are joined as training joined them, in the order the head was trained on.
    parts = backbones.feature_parts(bundle.spec)
    extractors = [backbones.open_extractor(part.id) for part in parts]
    inputs = [NetworkInput(part.input_size, bundle.crop) for part in parts]

    def features(batches: Sequence[np.ndarray]) -> np.ndarray:
        return backbones.combine_features([extractor.features(batch) for extractor, batch in zip(extractors, batches)])

    def score(batches: Sequence[np.ndarray]) -> np.ndarray:
        # A model that chose flips also scores each image's mirror image: the network input flipped, as
        # training's cached mirror images were made (never a second decode).
        flipped = features([mirrored(batch) for batch in batches]) if bundle.flip_averaging else None
        return bundle.predict_features(features(batches), flipped)

    if bundle.path is None:
        title = "model"
    else:  # what a person recognises: a run's date and accuracy, a saved model's folder name
        from imgclf_gui.core.models.runs import model_title

        title = model_title(bundle.path)
    return Predictor(title=title, class_names=bundle.class_names, inputs=inputs, score_fn=score,
                     source=source, bundle=bundle)


def imagenet_predictor(backbone_id: str, crop: str = "squash", source: ModelSource | None = None) -> Predictor:
    """A predictor for a backbone's own 1000 ImageNet classes. Raises ``ModelLoadError``,
    ``BackboneUnavailable`` and ``KeyError`` (unknown backbone)."""
    from imgclf_gui.core import backbones

    spec = backbones.get_spec(backbone_id)
    if not spec.has_imagenet_head:
        raise ModelLoadError(f"{spec.display_name} has no ImageNet classifier.")
    extractor = backbones.open_extractor(spec.id)
    return Predictor(title=f"ImageNet classes of {spec.display_name}", class_names=backbones.imagenet_class_names(),
                     inputs=[NetworkInput(spec.input_size, crop)],
                     score_fn=lambda batches: extractor.imagenet_probabilities(batches[0]),
                     show_top=IMAGENET_TOP, source=source)


def open_predictor(source: ModelSource, *, on_stage: Callable[[Note], None] | None = None) -> Predictor:
    """Load ``source`` and its backbone, warmed up. Raises :class:`ModelLoadError` with a clear message.

    The first use of a backbone on this machine converts it (10-30 s); ``on_stage`` then gets a
    ``stage.preparing_backbone`` note first, so a caller can say why loading takes long.
    """
    from imgclf_gui.core import backbones
    from imgclf_gui.core.models.bundle import BundleError, ModelBundle

    def prepare(backbone_id: str, imagenet: bool) -> None:
        if backbones.needs_preparation(backbone_id, imagenet=imagenet):
            if on_stage is not None:
                on_stage(Note(STAGE_PREPARING_BACKBONE, {"backbone": backbones.get_spec(backbone_id).display_name}))
            backbones.prepare_backbone(backbone_id, imagenet=imagenet)

    try:
        if source.kind == "bundle":
            assert source.path is not None
            bundle = ModelBundle.load(source.path)
            prepare(bundle.backbone_id, False)
            predictor = bundle_predictor(bundle, source)
        else:
            backbone_id = source.backbone_id or backbones.IMAGENET_BACKBONE
            prepare(backbone_id, True)
            predictor = imagenet_predictor(backbone_id, source.crop, source)
        predictor.warm_up()
        return predictor
    except (BundleError, backbones.BackboneUnavailable) as exc:
        raise ModelLoadError(str(exc)) from None
    except KeyError:
        raise ModelLoadError(f"The backbone {source.backbone_id!r} is not known to this imgclf.") from None


# ------------------------------------------------------------------------------------------ decoding
def network_inputs(predictor: Predictor, picture: np.ndarray) -> tuple[np.ndarray, ...]:
    """What each network of ``predictor`` is fed, made from one decoded picture (uint8 (H, W, 3))."""
    from imgclf_gui.core.images.decode import to_network_input

    return tuple(to_network_input(picture, i.size, i.crop) for i in predictor.inputs)


def decode_file(predictor: Predictor, path: str | os.PathLike[str], *, keep_picture: bool = False) -> Decoded:
    """Decode ``path`` once for ``predictor`` (draft mode: a 12-megapixel JPEG decodes at 1/8 scale), and
    make each network's input exactly as its bottleneck cache was made. The picture kept for display is
    the one decoded for the largest input.

    Raises ``ImageError`` (its ``.reason`` is one sentence) for anything that is not a readable image.
    """
    from imgclf_gui.core.images.decode import load_rgb_for_sides, to_network_input

    sides = [i.size for i in predictor.inputs]
    pictures = load_rgb_for_sides(path, sides)
    inputs = tuple(to_network_input(picture, i.size, i.crop) for picture, i in zip(pictures, predictor.inputs))
    return Decoded(pictures[sides.index(max(sides))] if keep_picture else None, inputs)


# ------------------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class ResultRow:
    """One classified file: its scores (aligned with the class names), or why it could not be read."""

    path: Path
    scores: np.ndarray | None
    error: str = ""

    @property
    def best(self) -> int:
        """Index of the top class (-1 for an unreadable file)."""
        return int(np.argmax(self.scores)) if self.scores is not None else -1

    @property
    def confidence(self) -> float:
        return float(self.scores[self.best]) if self.scores is not None else float("nan")


@dataclass(frozen=True)
class SingleResult:
    """One image classified for display: the decoded (shrunk) picture and every class score."""

    path: Path | None
    preview: np.ndarray  #: uint8 (H, W, 3), longest side at most PREVIEW_SIDE
    scores: np.ndarray
    size: tuple[int, int]  #: (width, height) of the decoded picture before shrinking


def score_files(predictor: Predictor, paths: Sequence[str | os.PathLike[str]], *, batch_size: int = BATCH_SIZE,
                on_rows: Callable[[list[ResultRow]], None] | None = None, on_progress: ProgressFn = None,
                should_stop: StopFn = None) -> list[ResultRow]:
    """Score image files in batches: one :class:`ResultRow` per path, in the order given.

    Each file is decoded once (:func:`decode_file`). A file that cannot be read gets a row with
    ``error`` set and never stops the others. ``on_rows`` gets each batch's rows as soon as they are
    scored; ``on_progress(done, total)`` follows each batch (``(0, total)`` first); ``should_stop``
    raises ``tasks_api.Cancelled`` between batches (the rows so far were delivered).
    """
    from imgclf_gui.core.images.decode import ImageError

    files = [Path(p) for p in paths]
    total = len(files)
    rows: list[ResultRow] = []
    if on_progress is not None:
        on_progress(0, total)
    for start in range(0, total, max(1, batch_size)):
        check_stop(should_stop)
        chunk = files[start:start + max(1, batch_size)]
        decoded: dict[int, Decoded] = {}
        errors: dict[int, str] = {}
        for i, path in enumerate(chunk):
            try:
                decoded[i] = decode_file(predictor, path)
            except ImageError as exc:
                errors[i] = exc.reason
        scored = dict(zip(decoded, predictor.score_decoded(list(decoded.values()))))
        batch = [ResultRow(path, scored.get(i), errors.get(i, "")) for i, path in enumerate(chunk)]
        rows.extend(batch)
        if on_rows is not None:
            on_rows(batch)
        if on_progress is not None:
            on_progress(start + len(chunk), total)
    return rows


def classify_file(predictor: Predictor, path: str | os.PathLike[str]) -> SingleResult:
    """Decode ``path`` once and score it for display: the same decode and scores as :func:`score_files`,
    and the picture shown is that decode. Raises ``ImageError``."""
    return _single(predictor, decode_file(predictor, path, keep_picture=True), Path(path))


def classify_picture(predictor: Predictor, picture: np.ndarray, path: Path | None = None) -> SingleResult:
    """Score a picture that is already decoded (a pasted image), for display."""
    return _single(predictor, Decoded(picture, network_inputs(predictor, picture)), path)


def _single(predictor: Predictor, decoded: Decoded, path: Path | None) -> SingleResult:
    from PIL import Image

    scores = predictor.score_decoded([decoded])[0]
    picture = decoded.picture
    assert picture is not None
    h, w = picture.shape[:2]
    preview = picture
    if max(h, w) > PREVIEW_SIDE:
        image = Image.fromarray(picture)
        image.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE), Image.Resampling.BILINEAR)
        preview = np.asarray(image)
    return SingleResult(path, np.ascontiguousarray(preview), scores, (w, h))


def find_images(paths: Iterable[str | os.PathLike[str]], *, should_stop: StopFn = None) -> list[Path]:
    """Files to classify: folders are searched below (image extensions only); files are kept as given,
    so a dropped non-image gets a row that says why it cannot be read."""
    from imgclf_gui.core.project.scan import list_images

    found: list[Path] = []
    for p in map(Path, paths):
        check_stop(should_stop)
        if p.is_dir():
            skipped: list = []
            found.extend(list_images(p, recursive=True, skipped=skipped))
            # Links that loop or dangle, FIFOs...: each gets a row that says why it cannot be read.
            found.extend(s.path for s in skipped)
        else:
            found.append(p)
    return found


__all__ = [
    "UNSURE", "UNSURE_BELOW", "BATCH_SIZE", "is_unsure", "verdict", "describe", "percent", "top_classes",
    "ModelLoadError", "ModelSource", "NetworkInput", "Decoded", "Predictor", "bundle_predictor",
    "imagenet_predictor", "open_predictor", "network_inputs", "decode_file", "ResultRow", "SingleResult",
    "score_files", "classify_file", "classify_picture", "find_images",
]
