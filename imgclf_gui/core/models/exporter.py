"""Standalone exports of a trained model, each checked against the app's own predictions.

The exported network is backbone (preprocessing inside) -> standardisation layer -> the head's dense
layers -> softmax. Input: float32 (N, S, S, 3), RGB, 0..255, already resized to S x S the way imgclf does
(README.txt beside the export says how); output: class probabilities in the order of labels.txt.
A combined backbone's export holds every network and takes one input per network (``image1_224``,
``image2_260``: the same picture resized for each), L2-normalises and joins their bottlenecks as
``backbones.combine_features`` does. A model that averages flips runs the head on the mirrored inputs
too (``keras.ops.flip``, exact) and averages the two softmaxes, as ``ModelBundle.predict_features`` does.

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


def input_names(bundle: Any) -> list[str]:
    """The export's input names, one per network: ``image`` for one, ``image1_224``, ``image2_260`` ..."""
    from imgclf_gui.core.backbones import feature_parts

    parts = feature_parts(bundle.spec)
    return ["image"] if len(parts) == 1 else [f"image{k}_{p.input_size}" for k, p in enumerate(parts, 1)]


def build_keras_model(bundle: Any) -> Any:
    """The whole classifier as one Keras model: image(s) (N, S, S, 3) float32 0..255 -> probabilities.

    One input per network of the bundle's backbone (see :func:`input_names`), in part order."""
    import keras

    from imgclf_gui.core.backbones import feature_parts, load_keras_backbone

    parts = feature_parts(bundle.spec)
    inputs = [keras.Input((p.input_size, p.input_size, 3), dtype="float32", name=name)
              for p, name in zip(parts, input_names(bundle))]
    networks = [load_keras_backbone(p.id) for p in parts]
    unit = [keras.layers.UnitNormalization(axis=-1, name=f"l2_normalize{k}") for k in range(1, len(parts) + 1)]
    joined = keras.layers.Concatenate(name="features") if len(parts) > 1 else None
    head = bundle.head
    # Normalization divides by max(sqrt(variance), epsilon); std is floored well above epsilon in training.
    layers = [keras.layers.Normalization(mean=head.mean, variance=head.std.astype(np.float64) ** 2,
                                         name="standardize")]
    for i, (w, _b) in enumerate(head.layers):
        last = i == len(head.layers) - 1
        layers.append(keras.layers.Dense(w.shape[1], activation="softmax" if last else "relu",
                                         name="probabilities" if last else f"hidden{i}"))

    def classify(images: list[Any]) -> Any:
        features = [net(x) for net, x in zip(networks, images)]
        x = features[0] if joined is None else joined([u(f) for u, f in zip(unit, features)])
        for layer in layers:
            x = layer(x)
        return x

    probabilities = classify(inputs)
    for layer, (w, b) in zip(layers[1:], head.layers):
        layer.set_weights([w, b])
    if bundle.flip_averaging:
        mirrored = [keras.ops.flip(x, axis=2) for x in inputs]  # left-right, as ``extraction.mirrored``
        both = keras.layers.Add(name="sum_with_mirror")([probabilities, classify(mirrored)])
        probabilities = keras.layers.Rescaling(0.5, name="mean_with_mirror")(both)
    return keras.Model(inputs if len(inputs) > 1 else inputs[0], probabilities, name="imgclf_classifier")


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
    from imgclf_gui.core.backbones import feature_parts
    from imgclf_gui.core.backbones._cache import backbone_cache_dir

    size = 0
    try:
        for part in feature_parts(bundle.spec):
            converted = backbone_cache_dir(part) / "features.tflite"
            size += converted.stat().st_size if converted.is_file() else 0
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
    images, expected = reference.inputs, reference.probabilities

    model = build_keras_model(bundle)
    written: list[Path] = []
    with writing(out, f"the {format} export", cleanup=lambda: _remove(written)):
        out.parent.mkdir(parents=True, exist_ok=True)
        diff = _write_and_check(model, format, out, images, expected, tolerance, input_names(bundle))
        written.append(out)
        from imgclf_gui.core.support.atomic import atomic_write_text

        atomic_write_text(labels, "".join(n + "\n" for n in bundle.class_names))
        written.append(labels)
        atomic_write_text(readme, _readme(bundle, format, out, diff, len(expected), reference.checked_on, source))
    return ExportResult(out, format, labels, readme, diff, len(expected), tolerance, reference.checked_on)


def _remove(paths: list[Path]) -> None:
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _write_and_check(model: Any, format: str, out: Path, images: tuple[np.ndarray, ...], expected: np.ndarray,
                     tolerance: float, names: list[str]) -> float:
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
            got = _run_tflite(tmp, images, names)
        diff = float(np.max(np.abs(got - expected))) if len(expected) else 0.0
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
    """What every export is checked against: images as the networks see them, and the app's own scores."""

    #: float32 (N, S, S, 3) RGB 0..255 per network input of the model (one, or one per network of a
    #: combined backbone, in the order of ``input_names``): the export's inputs
    inputs: tuple[np.ndarray, ...]
    probabilities: np.ndarray  #: float32 (N, classes): what imgclf itself says for them
    paths: list[Path]  #: the validation images used (empty for synthetic images)
    checked_on: str  #: "validation images" or "synthetic images"

    @property
    def images(self) -> np.ndarray:
        """The first (for most models the only) input."""
        return self.inputs[0]


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
        inputs = tuple(np.stack([d.inputs[k] for d in decoded]).astype(np.float32)
                       for k in range(len(predictor.inputs)))
        return SelfTestReference(inputs, predictor.score_decoded(decoded), used, "validation images")
    # Noise pictures, each network's input made from the same one (as a decode would make them)
    from imgclf_gui.core.models.predict import network_inputs

    rng = np.random.default_rng(0)
    s = predictor.decode_side
    pictures = rng.integers(0, 256, (8, s, s, 3)).astype(np.uint8)
    batches = [np.stack(b) for b in zip(*(network_inputs(predictor, picture) for picture in pictures))]
    return SelfTestReference(tuple(b.astype(np.float32) for b in batches), predictor.score(batches), [],
                             "synthetic images")


def _run_keras(path: Path, images: tuple[np.ndarray, ...]) -> np.ndarray:
    import keras

    model = keras.models.load_model(path, safe_mode=True, compile=False)
    return np.asarray(model.predict(list(images) if len(images) > 1 else images[0], verbose=0, batch_size=16),
                      np.float32)


def _run_savedmodel(path: Path, images: tuple[np.ndarray, ...]) -> np.ndarray:
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))

    def run(start: int) -> np.ndarray:
        batch = [tf.constant(x[start:start + 16]) for x in images]
        return np.asarray(loaded.serve(batch if len(batch) > 1 else batch[0]), np.float32)

    return np.concatenate([run(i) for i in range(0, len(images[0]), 16)])


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


def _run_tflite(path: Path, images: tuple[np.ndarray, ...], names: list[str]) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path))
    details = interp.get_input_details()
    # The converter names inputs after the model's ("serving_default_image2_260:0") in an order of its own
    ordered = [next(d for d in details if name in d["name"]) for name in names] if len(names) > 1 else details
    for d, x in zip(ordered, images):
        interp.resize_tensor_input(d["index"], list(x.shape))
    interp.allocate_tensors()
    for d, x in zip(ordered, images):
        interp.set_tensor(d["index"], x.astype(np.float32))
    interp.invoke()
    return np.asarray(interp.get_tensor(interp.get_output_details()[0]["index"]), np.float32)


def _readme(bundle: Any, format: str, out: Path, diff: float, n: int, checked_on: str, source: str = "") -> str:
    from imgclf_gui.core.backbones import feature_parts

    sizes = [p.input_size for p in feature_parts(bundle.spec)]
    names = input_names(bundle)
    crop = ("the whole image resized to a square (aspect ratio not kept)" if bundle.crop == "squash"
            else "the centre square of the image, resized")
    if len(sizes) == 1:
        s = sizes[0]
        given = "images"
        inputs = (f"INPUT  float32 array (N, {s}, {s}, 3): RGB, values 0..255 (not scaled), one image per row.\n"
                  f"       Each image is {crop}, to {s}x{s} pixels with Pillow's BILINEAR filter after EXIF "
                  "rotation,\n")
    else:
        given = "[" + ", ".join(f"images_{s}" for s in sizes) + "]"
        inputs = ("INPUTS one per network, in this order: " + ", ".join(
            f"{name} float32 (N, {s}, {s}, 3)" for name, s in zip(names, sizes)) + ";\n"
                  "       the same images in each, RGB, values 0..255 (not scaled), one image per row.\n"
                  f"       Each image is {crop}, to each input's size with Pillow's BILINEAR filter after EXIF\n"
                  "       rotation (decode a large JPEG once, then resize it for each input),\n")
    usage = {
        "keras": f"model = keras.models.load_model('{out.name}')\nprobs = model.predict({given})",
        "savedmodel": f"model = tf.saved_model.load('{out.name}')\nprobs = model.serve({given})",
        "tflite": (f"interp = ai_edge_litert.interpreter.Interpreter(model_path='{out.name}')\n"
                   "(resize the input tensor(s) to your batch, allocate_tensors, set_tensor, invoke, get_tensor;\n"
                   " the input tensors are named after the inputs above)"),
    }[format]
    flips = ("The model scores each image and its mirror image (flipped left to right inside the model) and\n"
             "averages the two: the training folds found that more accurate on these classes.\n\n"
             if bundle.flip_averaging else "")
    # Which training made this file: the run's name, date and accuracy as the app shows them.
    made = f"Model: {source}.\n" if source else (f"Trained: {bundle.created}.\n" if bundle.created else "")
    return f"imgclf model export ({format})\n\n" + made + (
        f"Classes ({len(bundle.class_names)}), in output order: see the labels file.\n"
        f"Backbone: {bundle.backbone_id} version {bundle.backbone_version}; preprocessing is inside the model.\n\n"
        f"{inputs}"
        "       exactly as imgclf does. Another resize (other filter, crop or colour order) changes the\n"
        "       predictions a little: resize the same way to get imgclf's answers.\n"
        "OUTPUT float32 array (N, classes): probabilities, summing to 1.\n\n"
        f"{flips}{usage}\n\n"
        f"Self-test: on {n} {checked_on}, the largest difference from imgclf's own probabilities was {diff:.2e}.\n"
    )
