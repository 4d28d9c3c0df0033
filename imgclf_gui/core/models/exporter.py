"""Standalone exports of a trained model, each checked against the app's own predictions.

The exported network is backbone (preprocessing inside) -> standardisation layer -> the head's dense
layers -> softmax. Input: float32 (N, S, S, 3), RGB, 0..255, already resized to S x S the way imgclf does
(the README in the export folder says how); output: class probabilities in the order of labels.txt.
Every format is made from the one Keras model :func:`build_keras_model` builds (ONNX and int8 through the
float TFLite file made from it), so whatever that model holds reaches every format. A combined backbone's
export holds every network and takes one input per network (``image1_224``, ``image2_260``: the same picture
resized for each), L2-normalises and joins their bottlenecks as ``backbones.combine_features`` does. A model
that averages flips runs the head on the mirrored inputs too (``keras.ops.flip``, exact) and averages the two
softmaxes, as ``ModelBundle.predict_features`` does.

An export is a folder (``export_formats.py``: the model, labels.txt, README.txt, predict.py), written
under a temporary name beside the target and renamed into place only when its self-test passed:

- keras / savedmodel / tflite: loaded back (Keras in safe mode, SavedModel, LiteRT) and run on the model's
  validation images; every probability within ``TOLERANCE`` of the app's (:func:`self_test_reference`,
  through ``predict.py`` like every other caller);
- onnx (``export_onnx.py``): the float TFLite file, checked as above, converted with tf2onnx and run by ONNX
  Runtime in another process, within ``TOLERANCE`` too;
- tflite-int8 (``export_int8.py``): the checked float file's network quantised on training images, then the
  top class the app's on at least 99% of held-out images, with size and speed against the float file;
- and every folder's predict.py run in a fresh Python on the self-test images (``export_example.py``), its
  printout compared with the app's.

A failed check deletes the export and raises ``ExportError`` saying why.
"""
from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imgclf_gui.core.models.export_formats import FORMATS, ExportLayout, check_export_target, export_format
from imgclf_gui.core.models.export_reference import SelfTestReference, example_images, self_test_reference

TOLERANCE = 1e-4
__all__ = ["TOLERANCE", "FORMATS", "ExportError", "ExportResult", "build_keras_model", "export_bundle",
           "check_export_target", "self_test_reference", "SelfTestReference"]


class ExportError(Exception):
    """The export could not be made or disagreed with the app; nothing was left behind."""


@dataclass
class ExportResult:
    path: Path  #: the export folder
    format: str
    model_path: Path
    labels_path: Path
    readme_path: Path
    example_path: Path
    max_abs_diff: float
    checked: int  # images the self-test ran
    tolerance: float = TOLERANCE
    #: "validation images", "synthetic images" (the validation images are no longer on disk), or for int8
    #: "held-out training images"
    checked_on: str = "validation images"
    #: what running predict.py showed, or why it was not run
    example_check: str = ""
    int8: Any = None  #: ``export_int8.Int8Report`` for a tflite-int8 export
    checks: list[str] = field(default_factory=list)  #: the self-test in sentences (README, CLI, app)

    def summary(self) -> list[str]:
        """What was written and how it was checked, in sentences (the command line prints them, the app shows
        them): an export that exists passed its self-test (a failed one is deleted)."""
        files = ", ".join(p.name for p in (self.model_path, self.labels_path, self.readme_path, self.example_path))
        return [f"Wrote the {export_format(self.format).title} export to {self.path} ({files}).",
                *(f"Self-test: {line}" if i == 0 else line for i, line in enumerate(self.checks)),
                self.example_check]


def build_keras_model(bundle: Any) -> Any:
    """The whole classifier as one Keras model: image(s) (N, S, S, 3) float32 0..255 -> probabilities.

    One input per network of the bundle's backbone (``export_formats.model_inputs``), in part order."""
    import keras

    from imgclf_gui.core.backbones import feature_parts, load_keras_backbone
    from imgclf_gui.core.models.export_formats import model_inputs

    parts = feature_parts(bundle.spec)
    inputs = [keras.Input((p.input_size, p.input_size, 3), dtype="float32", name=name)
              for p, (name, _) in zip(parts, model_inputs(bundle))]
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


def export_bundle(bundle: Any, format: str, out: str | os.PathLike[str], *, max_images: int = 32,
                  tolerance: float = TOLERANCE, source: str = "",
                  calibration: str | os.PathLike[str] | None = None) -> ExportResult:
    """Write ``bundle`` as ``format`` into the export folder ``out`` and self-test it (module docstring).

    ``source`` names the model in the README (default: ``runs.model_title`` of its folder). ``calibration``:
    a folder of images for an int8 export of a model whose project is not on this computer. The target is
    checked first; a failed write (full disk, permission) is an ``OutputError`` sentence, a failed check an
    ``ExportError``, and nothing of the export is left behind either way.
    """
    from imgclf_gui.core.models.export_formats import format_availability, model_inputs
    from imgclf_gui.core.models.predict import bundle_predictor
    from imgclf_gui.core.support.output_paths import writing

    try:
        fmt = export_format(format)
    except ValueError as exc:
        raise ExportError(str(exc)) from None
    usable, why = format_availability(format)
    if not usable:
        raise ExportError(why)
    layout = check_export_target(bundle, format, out)
    predictor = bundle_predictor(bundle)
    reference = self_test_reference(bundle, max_images, predictor=predictor)
    model = build_keras_model(bundle)
    if not source and bundle.path is not None:
        from imgclf_gui.core.models.runs import model_title

        source = model_title(bundle.path)
    parent = layout.folder.parent
    with writing(layout.folder, f"the {fmt.title} export", atomic=True):  # removes its temporary folders
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{layout.folder.name}.", suffix=".tmp", dir=parent))
        work = Path(tempfile.mkdtemp(prefix=f".{layout.folder.name}.", suffix=".work", dir=parent))
        try:
            staged = layout.inside(staging)
            # LiteRT's and the int8 calibrator's native lines on stderr say nothing to a user (main thread only)
            from imgclf_gui.core.backbones.extractor import _without_native_line

            with _without_native_line(b"Created TensorFlow Lite XNNPACK delegate"), \
                    _without_native_line(b"fully_quantize: "):
                result = _write_model(bundle, model, format, staged, work, reference, tolerance, predictor,
                                      calibration)
            _write_beside(bundle, fmt, staged, result, source, model_inputs(bundle))
            _replace_folder(staging, layout.folder)
        except Exception as exc:
            if not isinstance(exc, OSError | ExportError) and _disk_full(parent):
                # TensorFlow reports a full disk in its own exception types; say it as a full disk
                raise OSError(errno.ENOSPC, "No space left on device") from exc
            raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            shutil.rmtree(work, ignore_errors=True)
    final = layout
    result.path, result.model_path, result.labels_path = final.folder, final.model, final.labels
    result.readme_path, result.example_path = final.readme, final.example
    return result


def _write_model(bundle: Any, model: Any, format: str, staged: ExportLayout, work: Path,
                 reference: SelfTestReference, tolerance: float, predictor: Any,
                 calibration: str | os.PathLike[str] | None) -> ExportResult:
    """Write the model file into ``staged`` and check it; ``ExportError`` when it disagrees."""
    from imgclf_gui.core.models.export_formats import model_inputs

    names = [name for name, _ in model_inputs(bundle)]
    inputs, expected = reference.inputs, reference.probabilities
    target = staged.model
    int8 = None
    if format == "keras":
        model.save(target)
        got = _run_keras(target, inputs)
    elif format == "savedmodel":
        model.export(str(target), verbose=False)
        got = _run_savedmodel(target, inputs)
    else:
        float_file = target if format == "tflite" else work / "float.tflite"
        float_file.write_bytes(_to_tflite(model))
        got = _run_tflite(float_file, inputs, names)
        if format != "tflite":  # the file ONNX and int8 are made from must agree first
            _check_diff(got, expected, tolerance, "the float TensorFlow Lite model it is made from")
        if format == "onnx":
            from imgclf_gui.core.models.export_onnx import OnnxError, run_onnx, tflite_to_onnx

            try:
                tflite_to_onnx(float_file, target, names)
                got = run_onnx(target, inputs, names)
            except OnnxError as exc:
                raise ExportError(f"The ONNX export failed: {exc}.") from None
        elif format == "tflite-int8":
            from imgclf_gui.core.models.export_int8 import CalibrationError, Int8Disagrees, write_int8

            try:
                int8 = write_int8(bundle, model, float_file, target, names, predictor, calibration,
                                  convert=_convert_quietly, run=_run_tflite)
            except (CalibrationError, Int8Disagrees) as exc:
                raise ExportError(str(exc)) from None
    result = ExportResult(staged.folder, format, staged.model, staged.labels, staged.readme, staged.example,
                          0.0, len(expected), tolerance, reference.checked_on)
    if int8 is None:
        result.max_abs_diff = _check_diff(got, expected, tolerance, f"the {export_format(format).title} export")
        result.checks = [f"On {result.checked} {result.checked_on}, the largest difference from imgclf's own "
                         f"probabilities was {result.max_abs_diff:.2e} (limit {tolerance:g})."]
    else:
        result.int8, result.max_abs_diff, result.checked = int8, int8.max_abs_diff, int8.compared
        result.checked_on = "held-out training images"
        result.checks = [f"{line[0].upper()}{line[1:]}." for line in int8.describe()]
    result.example_check = _check_example(format, staged, work, reference, predictor, tolerance, names, result)
    return result


def _check_diff(got: np.ndarray, expected: np.ndarray, tolerance: float, what: str) -> float:
    diff = float(np.max(np.abs(got - expected))) if len(expected) else 0.0
    if not np.isfinite(diff) or diff > tolerance:
        raise ExportError(f"{what[0].upper()}{what[1:]} disagrees with imgclf by {diff:.2e} (limit {tolerance:g}); "
                          "the export was deleted. Please report this.")
    return diff


def _check_example(format: str, staged: ExportLayout, work: Path, reference: SelfTestReference, predictor: Any,
                   tolerance: float, names: list[str], result: ExportResult) -> str:
    """Write predict.py, run it on the self-test images in a fresh Python and compare its printout with the
    app's (for int8: with the int8 file's own scores, which differ from the app's a little by design)."""
    from imgclf_gui.core.models.export_example import (
        ExampleError,
        can_run_examples,
        compare_printout,
        example_text,
        run_example,
    )
    from imgclf_gui.core.models.export_formats import model_inputs

    fmt = export_format(format)
    from imgclf_gui.core.support.output_paths import ESCAPE

    # a class folder's name that is not UTF-8 is written as \xNN, as imgclf classify prints it
    staged.labels.write_bytes("".join(n + "\n" for n in predictor.class_names).encode("utf-8", ESCAPE))
    staged.example.write_text(example_text(format, model_name=fmt.model_name, inputs=model_inputs(predictor.bundle),
                                           crop=predictor.bundle.crop, runtime=fmt.runtime), encoding="utf-8")
    runnable, why = can_run_examples()
    if not runnable:
        return f"{staged.example.name} was not run: {why}."
    paths, inputs, expected = example_images(reference, predictor, work)
    if format == "tflite-int8":
        expected = _run_tflite(staged.model, inputs, names)
    try:
        lines = run_example(format, staged.example, paths)
    except ExampleError as exc:
        raise ExportError(f"The export's {staged.example.name} does not work: {exc}; the export was deleted. "
                          "Please report this.") from None
    problem = compare_printout(lines, paths, expected, predictor.class_names, tolerance)
    if problem:
        raise ExportError(f"The export's {staged.example.name} disagrees with imgclf: {problem}; the export was "
                          "deleted. Please report this.")
    only = fmt.runtime.split(" (")[0]
    return (f"{staged.example.name} (needs only {only}, numpy and Pillow) printed the same top 3 as "
            f"{'the int8 model run by imgclf' if format == 'tflite-int8' else 'imgclf classify'} "
            f"for {len(paths)} {result.checked_on if format != 'tflite-int8' else 'validation images'}.")


def _write_beside(bundle: Any, fmt: Any, staged: ExportLayout, result: ExportResult, source: str,
                  inputs: list[tuple[str, int]]) -> None:
    from imgclf_gui.core.models.export_readme import readme_text

    checks = [*result.checks, result.example_check]
    staged.readme.write_text(readme_text(bundle, fmt, source=source, inputs=inputs, checks=checks), encoding="utf-8")


def _replace_folder(staging: Path, target: Path) -> None:
    """Rename the finished export into place; an earlier export there goes only once the new one is in."""
    if os.path.lexists(target):
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
        os.replace(target, old / target.name)
        os.replace(staging, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, target)


def _disk_full(folder: Path) -> bool:
    try:
        disk = os.statvfs(folder)
    except (OSError, AttributeError):
        return False
    return disk.f_bavail * disk.f_frsize < (1 << 20)


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
    import tensorflow as tf

    # float32 throughout, no quantisation: quantising would break the 1e-4 promise.
    return _convert_quietly(tf.lite.TFLiteConverter.from_keras_model(model))


def _convert_quietly(converter: Any) -> bytes:
    import keras

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


def _run_tflite(path: Path, images: Sequence[np.ndarray], names: Sequence[str]) -> np.ndarray:
    """float32 (N, classes) from the TFLite file ``path`` for ``images`` (one (N, S, S, 3) array per input,
    uint8 or float32), in chunks so a few hundred images never become one huge float32 batch."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path))
    details = interp.get_input_details()
    # The converter names inputs after the model's ("serving_default_image2_260:0") in an order of its own
    ordered = [next(d for d in details if name in d["name"]) for name in names] if len(names) > 1 else details
    n, chunk, rows = len(images[0]), 32, []
    for start in range(0, n, chunk):
        part = [np.asarray(x[start:start + chunk], np.float32) for x in images]
        for d, x in zip(ordered, part):
            interp.resize_tensor_input(d["index"], list(x.shape))
        interp.allocate_tensors()
        for d, x in zip(ordered, part):
            interp.set_tensor(d["index"], x)
        interp.invoke()
        rows.append(np.array(interp.get_tensor(interp.get_output_details()[0]["index"]), np.float32))
    return np.concatenate(rows) if rows else np.zeros((0, 0), np.float32)
