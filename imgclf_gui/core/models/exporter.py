"""Standalone exports of a trained model, each checked against the app's own predictions.

The exported network is backbone (preprocessing inside) -> standardisation layer -> the head's dense
layers -> softmax. Input: float32 (N, S, S, 3), RGB, 0..255, already resized to S x S the way imgclf does
(README.txt beside the export says how); output: class probabilities in the order of labels.txt.

Every export is loaded back from disk (Keras in safe mode, SavedModel, TFLite through LiteRT) and run on
the model's validation images; if any probability differs from the app's own scores for them
(:func:`self_test_reference`, through ``predict.py`` like every other caller) by more than ``TOLERANCE``,
the export is deleted and ``ExportError`` raised, so a user never ships a model that disagrees with the app.
Another format (ONNX, int8) adds its writer and runner and is checked against the same reference.
"""
from __future__ import annotations

import errno
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

TOLERANCE = 1e-4
FORMATS = ("keras", "savedmodel", "tflite")
_DEFAULT_SUFFIX = {"keras": ".keras", "savedmodel": "", "tflite": ".tflite"}


class ExportError(Exception):
    """The export could not be written or disagreed with the app; nothing was left behind."""


@dataclass
class ExportResult:
    path: Path
    format: str
    labels_path: Path
    readme_path: Path
    max_abs_diff: float
    checked: int  # images the self-test ran
    tolerance: float = TOLERANCE
    #: "validation images" or "synthetic images" (when the validation images are no longer on disk)
    checked_on: str = "validation images"


def build_keras_model(bundle: Any) -> Any:
    """The whole classifier as one Keras model: image (N, S, S, 3) float32 0..255 -> probabilities."""
    import keras

    from imgclf_gui.core.backbones import load_keras_backbone

    backbone = load_keras_backbone(bundle.backbone_id)
    size = bundle.input_size
    inputs = keras.Input((size, size, 3), dtype="float32", name="image")
    x = backbone(inputs)
    head = bundle.head
    # Normalization divides by max(sqrt(variance), epsilon); std is floored well above epsilon in training.
    x = keras.layers.Normalization(mean=head.mean, variance=head.std.astype(np.float64) ** 2,
                                   name="standardize")(x)
    for i, (w, b) in enumerate(head.layers):
        last = i == len(head.layers) - 1
        dense = keras.layers.Dense(w.shape[1], activation="softmax" if last else "relu",
                                   name="probabilities" if last else f"hidden{i}")
        x = dense(x)
        dense.set_weights([w, b])
    return keras.Model(inputs, x, name="imgclf_classifier")


def export_paths(format: str, out: str | os.PathLike[str]) -> tuple[Path, Path, Path]:
    """(export, labels file, README) for ``format`` at ``out`` (a suffix is added when missing);
    ``ExportError`` for an unknown format or a Keras file not ending in ``.keras``."""
    if format not in FORMATS:
        raise ExportError(f"unknown export format {format!r}; choose one of {', '.join(FORMATS)}")
    out = Path(out)
    if format != "savedmodel" and not out.suffix:
        out = out.with_suffix(_DEFAULT_SUFFIX[format])
    if format == "keras" and out.suffix != ".keras":
        raise ExportError("a Keras export must end in .keras")
    if format == "savedmodel":
        return out, out / "labels.txt", out / "README.txt"
    base = out.with_suffix("")
    return out, base.parent / f"{base.name}.labels.txt", base.parent / f"{base.name}.README.txt"


def check_export_target(bundle: Any, format: str, out: str | os.PathLike[str]) -> Path:
    """Before the work: ``out`` can take this export (``OutputError``: a folder where a file goes, a folder
    that is not a SavedModel, no permission, too little room). Returns the export's path."""
    from imgclf_gui.core.support.output_paths import check_output_file, check_output_folder

    out, labels, readme = export_paths(format, out)
    need = _estimated_bytes(bundle)
    if format == "savedmodel":
        def problem(folder: Path) -> str | None:
            if (folder / "saved_model.pb").is_file() or next(folder.iterdir(), None) is None:
                return None  # an earlier export of ours, or an empty folder: replaced
            return "exists and is not a SavedModel export"
        return check_output_folder(out, f"the {format} export", need_bytes=need, problem=problem, replaced=True)
    check_output_file(out, f"the {format} export", need_bytes=need)
    for beside in (labels, readme):
        check_output_file(beside, f"the {format} export's {beside.name}")
    return out


def _estimated_bytes(bundle: Any) -> int:
    """The export holds the backbone's weights: about the size of its converted model, when it is cached."""
    from imgclf_gui.core.backbones._cache import backbone_cache_dir

    try:
        converted = backbone_cache_dir(bundle.spec) / "features.tflite"
        size = converted.stat().st_size if converted.is_file() else 0
    except (OSError, KeyError):
        size = 0
    return int(size * 1.2) + 4 * sum(w.size + b.size for w, b in bundle.head.layers)


def export_bundle(bundle: Any, format: str, out: str | os.PathLike[str], *, max_images: int = 32,
                  tolerance: float = TOLERANCE, source: str = "") -> ExportResult:
    """Write ``bundle`` as ``format`` to ``out`` with labels.txt and README.txt beside it, and self-test it.

    ``source`` names the model in the README (``runs.run_title``: "“baseline”, run of 2026-11-29 03:47 in
    project «flowers», accuracy 93.1%"), so whoever receives the file can tell which training made it.

    The target is checked first (:func:`check_export_target`); a failed write (full disk, permission) is
    an ``OutputError`` sentence, and nothing of the export is left behind.
    """
    from imgclf_gui.core.support.output_paths import writing

    out = check_export_target(bundle, format, out)
    _, labels, readme = export_paths(format, out)
    reference = self_test_reference(bundle, max_images)
    images, expected = reference.images, reference.probabilities

    model = build_keras_model(bundle)
    written: list[Path] = []
    with writing(out, f"the {format} export", cleanup=lambda: _remove(written)):
        out.parent.mkdir(parents=True, exist_ok=True)
        diff = _write_and_check(model, format, out, images, expected, tolerance)
        written.append(out)
        from imgclf_gui.core.support.atomic import atomic_write_text

        atomic_write_text(labels, "".join(n + "\n" for n in bundle.class_names))
        written.append(labels)
        atomic_write_text(readme, _readme(bundle, format, out, diff, len(images), reference.checked_on, source))
    return ExportResult(out, format, labels, readme, diff, len(images), tolerance, reference.checked_on)


def _remove(paths: list[Path]) -> None:
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _write_and_check(model: Any, format: str, out: Path, images: np.ndarray, expected: np.ndarray,
                     tolerance: float) -> float:
    # Written beside the target under a temporary name, renamed only after the self-test passes.
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        tmp = tmp_dir / out.name
        if format == "keras":
            model.save(tmp)
            got = _run_keras(tmp, images)
        elif format == "savedmodel":
            model.export(str(tmp), verbose=False)
            got = _run_savedmodel(tmp, images)
        else:
            tmp.write_bytes(_to_tflite(model))
            got = _run_tflite(tmp, images)
        diff = float(np.max(np.abs(got - expected))) if len(images) else 0.0
        if not np.isfinite(diff) or diff > tolerance:
            raise ExportError(f"the {format} export disagrees with imgclf by {diff:.2e} (limit {tolerance:g}); "
                              "it was deleted. Please report this.")
        if out.exists():
            if out.is_dir():
                shutil.rmtree(out)
            else:
                out.unlink()
        os.replace(tmp, out)
    except Exception as exc:
        if not isinstance(exc, OSError | ExportError) and _disk_full(out.parent):
            # TensorFlow reports a full disk in its own exception types; say it as a full disk
            raise OSError(errno.ENOSPC, "No space left on device") from exc
        raise
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return diff


def _disk_full(folder: Path) -> bool:
    try:
        disk = os.statvfs(folder)
    except (OSError, AttributeError):
        return False
    return disk.f_bavail * disk.f_frsize < (1 << 20)


@dataclass
class SelfTestReference:
    """What every export is checked against: images as the network sees them, and the app's own scores."""

    images: np.ndarray  #: float32 (N, S, S, 3), RGB 0..255: the export's input
    probabilities: np.ndarray  #: float32 (N, classes): what imgclf itself says for them
    paths: list[Path]  #: the validation images used (empty for synthetic images)
    checked_on: str  #: "validation images" or "synthetic images"


def self_test_reference(bundle: Any, max_images: int = 32) -> SelfTestReference:
    """Up to ``max_images`` of the model's validation images, decoded and scored by the app's one path
    (``predict.decode_file`` then ``Predictor.score_decoded``, as ``imgclf classify`` and the Classify tab
    do); seeded noise if fewer than two of them can still be read."""
    from imgclf_gui.core.images.decode import ImageError
    from imgclf_gui.core.models.predict import bundle_predictor, decode_file

    predictor = bundle_predictor(bundle)
    decoded, used = [], []
    for p in [Path(p) for p in bundle.validation_paths if Path(p).is_file()][:max_images]:
        try:
            decoded.append(decode_file(predictor, p))
        except ImageError:
            continue
        used.append(p)
    if len(decoded) >= 2:
        images = np.stack([d.inputs[0] for d in decoded])
        return SelfTestReference(images.astype(np.float32), predictor.score_decoded(decoded), used,
                                 "validation images")
    rng = np.random.default_rng(0)
    s = bundle.input_size
    images = rng.integers(0, 256, (8, s, s, 3)).astype(np.uint8)
    return SelfTestReference(images.astype(np.float32), predictor.score([images]), [], "synthetic images")


def _run_keras(path: Path, images: np.ndarray) -> np.ndarray:
    import keras

    model = keras.models.load_model(path, safe_mode=True, compile=False)
    return np.asarray(model.predict(images, verbose=0, batch_size=16), np.float32)


def _run_savedmodel(path: Path, images: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    return np.concatenate([np.asarray(loaded.serve(tf.constant(images[i:i + 16])), np.float32)
                           for i in range(0, len(images), 16)])


def _to_tflite(model: Any) -> bytes:
    import keras
    import tensorflow as tf

    # float32 throughout, no quantisation: quantising would break the 1e-4 promise.
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    # On its way the converter saves a temporary SavedModel, and Keras prints its signature on stdout: one
    # "TensorSpec" line per variable, ~250 lines in the user's terminal. With Keras's interactive logging off
    # that listing goes to absl's INFO log, which is silent; a failure still raises. Keras keeps this switch
    # per thread, so the GUI's other threads and their output are untouched.
    was_interactive = keras.config.is_interactive_logging_enabled()
    keras.config.disable_interactive_logging()
    try:
        return converter.convert()
    finally:
        if was_interactive:
            keras.config.enable_interactive_logging()


def _run_tflite(path: Path, images: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path))
    inp = interp.get_input_details()[0]
    outp = interp.get_output_details()[0]
    interp.resize_tensor_input(inp["index"], list(images.shape))
    interp.allocate_tensors()
    interp.set_tensor(inp["index"], images.astype(np.float32))
    interp.invoke()
    return np.asarray(interp.get_tensor(outp["index"]), np.float32)


def _readme(bundle: Any, format: str, out: Path, diff: float, n: int, checked_on: str, source: str = "") -> str:
    s = bundle.input_size
    crop = ("the whole image resized to a square (aspect ratio not kept)" if bundle.crop == "squash"
            else "the centre square of the image, resized")
    usage = {
        "keras": f"model = keras.models.load_model('{out.name}')\nprobs = model.predict(images)",
        "savedmodel": f"model = tf.saved_model.load('{out.name}')\nprobs = model.serve(tf.constant(images))",
        "tflite": (f"interp = ai_edge_litert.interpreter.Interpreter(model_path='{out.name}')\n"
                   "(resize the input tensor to your batch, allocate_tensors, set_tensor, invoke, get_tensor)"),
    }[format]
    # Which training made this file: the run's name, date and accuracy as the app shows them.
    made = f"Model: {source}.\n" if source else (f"Trained: {bundle.created}.\n" if bundle.created else "")
    return f"imgclf model export ({format})\n\n" + made + (
        f"Classes ({len(bundle.class_names)}), in output order: see the labels file.\n"
        f"Backbone: {bundle.backbone_id} version {bundle.backbone_version}; preprocessing is inside the model.\n\n"
        "INPUT  float32 array (N, {s}, {s}, 3): RGB, values 0..255 (not scaled), one image per row.\n"
        f"       Each image is {crop}, to {s}x{s} pixels with Pillow's BILINEAR filter after EXIF rotation,\n"
        "       exactly as imgclf does. Another resize (other filter, crop or colour order) changes the\n"
        "       predictions a little: resize the same way to get imgclf's answers.\n"
        "OUTPUT float32 array (N, classes): probabilities, summing to 1.\n\n"
        f"{usage}\n\n"
        f"Self-test: on {n} {checked_on}, the largest difference from imgclf's own probabilities was {diff:.2e}.\n"
    ).replace("{s}", str(s))
