"""Classifying images with a trained model or the backbone's own ImageNet classes (no Qt).

Shared by the Classify tab and ``imgclf classify``: open a model (:func:`open_predictor`), score one
image (:func:`classify_file`) or many in batches (:func:`classify_files`), write the results as CSV
(:func:`write_csv`) and copy images into class folders (:func:`sort_into`). Originals are never moved or
deleted; a copy never overwrites a file.
"""
from __future__ import annotations

import csv
import io
import os
import shutil
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from imgclf_gui.core.support.tasks_api import ProgressFn, StopFn, check_stop

UNSURE = "unsure"
#: longest side of the picture kept for display after classifying one image
PREVIEW_SIDE = 720
#: ImageNet mode shows this many of its 1000 classes
IMAGENET_TOP = 5


class ModelLoadError(Exception):
    """A model that cannot be used (damaged bundle, missing backbone); the message says what to do."""


@dataclass(frozen=True)
class ModelSource:
    """Which model to classify with: a saved bundle folder, or a backbone's ImageNet classes."""

    kind: Literal["bundle", "imagenet"]
    path: Path | None = None  #: the bundle folder (kind "bundle")
    backbone_id: str | None = None  #: kind "imagenet"

    @classmethod
    def bundle(cls, path: str | os.PathLike[str]) -> ModelSource:
        return cls("bundle", path=Path(path))

    @classmethod
    def imagenet(cls, backbone_id: str | None = None) -> ModelSource:
        from imgclf_gui.core.backbones import DEFAULT_BACKBONE

        return cls("imagenet", backbone_id=backbone_id or DEFAULT_BACKBONE)


class Predictor:
    """A loaded model: class names, input geometry and a thread-safe ``scores(batch)``.

    The backbone extractor allows one call at a time, and the GUI may classify a single image while a
    batch runs, so calls are serialised with a lock.
    """

    def __init__(self, *, title: str, class_names: Sequence[str], input_size: int, crop: str,
                 score_fn: Callable[[np.ndarray], np.ndarray], show_top: int | None,
                 source: ModelSource) -> None:
        self.title = title
        self.class_names = list(class_names)
        self.input_size = int(input_size)
        self.crop = crop
        #: how many classes a view should show (None: all of them)
        self.show_top = show_top
        self.source = source
        self._score_fn = score_fn
        self._lock = threading.Lock()

    def scores(self, batch: np.ndarray) -> np.ndarray:
        """float32 (N, classes) probabilities for uint8 (N, S, S, 3) network inputs."""
        with self._lock:
            return np.asarray(self._score_fn(batch), np.float32)

    def warm_up(self) -> None:
        """Run one blank image through, so converting/loading the network happens now, not on the first drop."""
        self.scores(np.zeros((1, self.input_size, self.input_size, 3), np.uint8))


def open_predictor(source: ModelSource) -> Predictor:
    """Load ``source`` and its backbone, warmed up. Raises :class:`ModelLoadError` with a clear message."""
    from imgclf_gui.core import backbones
    from imgclf_gui.core.models.bundle import BundleError, ModelBundle

    try:
        if source.kind == "bundle":
            assert source.path is not None
            bundle = ModelBundle.load(source.path)
            extractor = backbones.open_extractor(bundle.backbone_id)
            title = source.path.name.removesuffix(".imgclf-model") or str(source.path)
            if title == "model":  # a training run's folder: .imgclf/runs/<run-id>/model
                title = f"run {source.path.parent.name}"
            predictor = Predictor(
                title=title,
                class_names=bundle.class_names, input_size=bundle.input_size, crop=bundle.crop,
                score_fn=lambda batch: bundle.predict_features(extractor.features(batch)),
                show_top=None, source=source)
        else:
            spec = backbones.get_spec(source.backbone_id or backbones.DEFAULT_BACKBONE)
            if not spec.has_imagenet_head:
                raise ModelLoadError(f"{spec.display_name} has no ImageNet classifier.")
            extractor = backbones.open_extractor(spec.id)
            predictor = Predictor(
                title=f"ImageNet classes of {spec.display_name}", class_names=backbones.imagenet_class_names(),
                input_size=spec.input_size, crop="squash", score_fn=extractor.imagenet_probabilities,
                show_top=IMAGENET_TOP, source=source)
        predictor.warm_up()
        return predictor
    except (BundleError, backbones.BackboneUnavailable) as exc:
        raise ModelLoadError(str(exc)) from None
    except KeyError:
        raise ModelLoadError(f"The backbone {source.backbone_id!r} is not known to this imgclf.") from None


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


def verdict(scores: np.ndarray, class_names: Sequence[str], threshold: float) -> tuple[str, float, bool]:
    """(top class, its score, unsure) where ``unsure`` means the score is below ``threshold``."""
    best = int(np.argmax(scores))
    confidence = float(scores[best])
    return class_names[best], confidence, confidence < threshold


def percent(p: float) -> str:
    """``93%``; one decimal where rounding would claim a certainty the model does not have (99.7%, 0.3%)."""
    text = f"{p:.0%}"
    return f"{p:.1%}" if text in ("100%", "0%") and 0.0 < p < 1.0 else text


def describe(scores: np.ndarray, class_names: Sequence[str], threshold: float) -> str:
    """The verdict in words: "cat (93% sure)" or "unsure: perhaps cat (41%)"."""
    name, confidence, unsure = verdict(scores, class_names, threshold)
    if unsure:
        return f"unsure: perhaps {name} ({percent(confidence)})"
    return f"{name} ({percent(confidence)} sure)"


@dataclass(frozen=True)
class SingleResult:
    """One image classified for display: the decoded (shrunk) picture and every class score."""

    path: Path | None
    preview: np.ndarray  #: uint8 (H, W, 3), longest side at most PREVIEW_SIDE
    scores: np.ndarray
    size: tuple[int, int]  #: (width, height) of the decoded picture before shrinking


def classify_rgb(predictor: Predictor, rgb: np.ndarray, path: Path | None = None) -> SingleResult:
    """Classify an already-decoded picture (a pasted image, or the decode of :func:`classify_file`)."""
    from PIL import Image

    from imgclf_gui.core.images.decode import to_network_input

    scores = predictor.scores(to_network_input(rgb, predictor.input_size, predictor.crop)[None])[0]
    h, w = rgb.shape[:2]
    preview = rgb
    if max(h, w) > PREVIEW_SIDE:
        image = Image.fromarray(rgb)
        image.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE), Image.Resampling.BILINEAR)
        preview = np.asarray(image)
    return SingleResult(path, np.ascontiguousarray(preview), scores, (w, h))


def classify_file(predictor: Predictor, path: str | os.PathLike[str]) -> SingleResult:
    """Decode ``path`` once (draft mode: a 12-megapixel JPEG decodes at 1/8 scale) and classify it.

    The decode is the same as training's (``load_for_network`` = draft to the input size, then resize),
    so the scores equal those of a batch run; the picture shown is that decode. Raises ``ImageError``.
    """
    from imgclf_gui.core.images.decode import load_rgb

    rgb = load_rgb(path, max_side=predictor.input_size)
    return classify_rgb(predictor, rgb, Path(path))


def find_images(paths: Iterable[str | os.PathLike[str]], *, should_stop: StopFn = None) -> list[Path]:
    """Files to classify: folders are searched below (image extensions only); files are kept as given,
    so a dropped non-image gets a row that says why it cannot be read."""
    from imgclf_gui.core.project.scan import list_images

    found: list[Path] = []
    for p in map(Path, paths):
        check_stop(should_stop)
        if p.is_dir():
            found.extend(list_images(p, recursive=True))
        else:
            found.append(p)
    return found


def classify_files(predictor: Predictor, paths: Sequence[str | os.PathLike[str]], *, batch_size: int = 16,
                   on_rows: Callable[[list[ResultRow]], None] | None = None, on_progress: ProgressFn = None,
                   should_stop: StopFn = None) -> list[ResultRow]:
    """Classify files in batches; ``on_rows`` gets each batch's rows as soon as they are scored.

    A file that cannot be read gets a row with ``error`` set and never stops the others.
    ``should_stop`` raises ``tasks_api.Cancelled`` between batches (rows so far were delivered).
    """
    from imgclf_gui.core.images.decode import ImageError, load_for_network

    rows: list[ResultRow] = []
    total = len(paths)
    size = predictor.input_size
    for start in range(0, total, batch_size):
        check_stop(should_stop)
        chunk = [Path(p) for p in paths[start:start + batch_size]]
        inputs, ok, errors = [], [], {}
        for i, p in enumerate(chunk):
            try:
                inputs.append(load_for_network(p, size, predictor.crop))
                ok.append(i)
            except ImageError as exc:
                errors[i] = exc.reason
        scores = predictor.scores(np.stack(inputs)) if inputs else np.zeros((0, len(predictor.class_names)))
        by_index = dict(zip(ok, scores))
        batch = [ResultRow(p, by_index.get(i), errors.get(i, "")) for i, p in enumerate(chunk)]
        rows.extend(batch)
        if on_rows is not None:
            on_rows(batch)
        if on_progress is not None:
            on_progress(min(start + batch_size, total), total)
    return rows


# ------------------------------------------------------------------------------------------ output
def write_csv(path: str | os.PathLike[str], rows: Iterable[ResultRow], class_names: Sequence[str], *,
              error_column: bool = False) -> int:
    """Write ``path,label,confidence,<every class score>`` (atomically); returns the rows written.

    Without ``error_column`` unreadable files are left out (the command's format); with it they are
    written with empty scores and their reason in a last ``error`` column (the tab's table, as shown).
    """
    from imgclf_gui.core.support.atomic import atomic_write_text

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["path", "label", "confidence", *class_names] + (["error"] if error_column else []))
    count = 0
    for row in rows:
        if row.scores is None:
            if error_column:
                writer.writerow([str(row.path), "", "", *([""] * len(class_names)), row.error])
                count += 1
            continue
        best = row.best
        line = [str(row.path), class_names[best], f"{row.scores[best]:.6f}", *(f"{v:.6f}" for v in row.scores)]
        writer.writerow(line + ([""] if error_column else []))
        count += 1
    atomic_write_text(path, buf.getvalue())
    return count


def safe_folder_name(name: str) -> str:
    """A class name usable as a folder name (ImageNet names may hold '/')."""
    cleaned = name.replace(os.sep, "-").replace("/", "-").strip().strip(".")
    return cleaned or "unnamed"


def sort_into(rows: Sequence[ResultRow], target: str | os.PathLike[str], class_names: Sequence[str],
              threshold: float = 0.0, *, on_progress: ProgressFn = None, should_stop: StopFn = None
              ) -> dict[str, int]:
    """Copy each readable image into ``target/<predicted class>/`` (``target/unsure/`` below ``threshold``).

    Originals are never moved or deleted; a name already taken gets `` (2)`` etc. Returns copies per
    folder. ``should_stop`` raises ``Cancelled`` between files (copies so far stay).
    """
    target = Path(target)
    counts: dict[str, int] = {}
    readable = [r for r in rows if r.scores is not None]
    for done, row in enumerate(readable, 1):
        check_stop(should_stop)
        name, _, unsure = verdict(row.scores, class_names, threshold)  # type: ignore[arg-type]
        folder = UNSURE if unsure else safe_folder_name(name)
        copy_no_overwrite(row.path, target / folder)
        counts[folder] = counts.get(folder, 0) + 1
        if on_progress is not None:
            on_progress(done, len(readable))
    return counts


def copy_no_overwrite(src: Path, folder: Path) -> Path:
    """Copy ``src`` into ``folder`` under its name, or ``name (2).ext`` etc. if taken; never overwrites."""
    folder.mkdir(parents=True, exist_ok=True)
    stem, suffix = src.stem, src.suffix
    n = 1
    while True:
        dest = folder / (src.name if n == 1 else f"{stem} ({n}){suffix}")
        try:
            # O_EXCL: the name is ours even if another process copies into the same folder right now
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            n += 1
            continue
        try:
            with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
                shutil.copyfileobj(inp, out)
            shutil.copystat(src, dest)
        except BaseException:
            dest.unlink(missing_ok=True)
            raise
        return dest


__all__: list[Any] = [
    "UNSURE", "ModelLoadError", "ModelSource", "Predictor", "open_predictor", "ResultRow", "SingleResult",
    "verdict", "describe", "percent", "classify_rgb", "classify_file", "find_images", "classify_files", "write_csv",
    "sort_into", "copy_no_overwrite", "safe_folder_name",
]
