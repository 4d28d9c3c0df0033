"""int8 TensorFlow Lite export: full-integer quantisation calibrated on the model's own training images.

Every operation inside runs on 8-bit integers (the converter may not fall back to float: TFLITE_BUILTINS_INT8
only); the input and output stay float32, so the file takes the same images as the float one and gives
probabilities, and the same predict.py runs both.

- :func:`calibration_set`: the representative images (the converter measures each layer's range on them)
  and a held-out sample the self-test compares on, drawn alternately from the same list, class by class:
  * the model's project, when it is on this computer: a run's model lies in it, a saved model names its
    self-test images, which lie in it; its class folders' images whose content hash is among those the
    model was trained on (``trained_on.txt``), found through the project's hash index (no re-reading);
  * otherwise (a model folder sent without its project) a folder of images like the training images,
    given by the user (``imgclf export --calibration DIR``); without one the export says so and stops.
- :func:`write_int8`: the whole of it; :func:`quantize`: the converter with the representative set.
- :func:`compare_int8`: top-1 agreement with the app on the held-out images (at least
  :data:`MIN_AGREEMENT`), mean and largest absolute probability difference, and size and CPU time per
  image against the float file, both run by LiteRT on one thread.
"""
from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: top-1 agreement with the app the int8 file must reach on the held-out images
MIN_AGREEMENT = 0.99
#: images the converter calibrates on; ranges settle after a few hundred (TensorFlow's guide: ~100-500)
MAX_REPRESENTATIVE = 200
#: held-out images the agreement is measured on
MAX_HELD_OUT = 300
#: fewer images than this cannot calibrate and check a model
MIN_IMAGES = 20
#: images timed for the speed figures (each run alone, one thread)
TIMED_IMAGES = 24


class CalibrationError(Exception):
    """No images to calibrate on: one sentence saying what to give."""


class Int8Disagrees(Exception):
    """The int8 file's top class is not the app's often enough: one sentence with the figures."""


@dataclass(frozen=True)
class CalibrationSet:
    representative: list[Path]
    held_out: list[Path]
    source: str  #: where they came from, in words ("14 of the training images of project «shapes»")


@dataclass(frozen=True)
class Int8Report:
    """What the int8 self-test measured."""

    agreement: float  #: share of held-out images whose top class is the app's
    agreeing: int
    compared: int
    mean_abs_diff: float
    max_abs_diff: float
    representative: int  #: images calibrated on
    source: str
    int8_bytes: int
    float_bytes: int
    int8_ms: float  #: CPU ms per image, one thread
    float_ms: float

    def describe(self) -> list[str]:
        """The figures in words (the README, the command line and the app's note)."""
        return [
            f"top class the same as imgclf's on {self.agreeing} of {self.compared} held-out images "
            f"({self.agreement:.1%}; at least {MIN_AGREEMENT:.0%} required); mean probability difference "
            f"{self.mean_abs_diff:.4f}, largest {self.max_abs_diff:.3f}",
            f"size and speed: {_mb(self.int8_bytes)} against {_mb(self.float_bytes)} for float32 "
            f"({self.float_bytes / max(self.int8_bytes, 1):.1f}x smaller); {self.int8_ms:.1f} against "
            f"{self.float_ms:.1f} CPU ms per image on one thread ({self.float_ms / max(self.int8_ms, 1e-9):.1f}x)",
            f"calibrated on {self.source}",
        ]


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.1f} kB"


# ------------------------------------------------------------------------------ finding the images
def project_of(bundle: Any) -> Path | None:
    """The project folder a model belongs to, when it is on this computer (else None)."""
    from imgclf_gui.core.project import layout

    if bundle.path is not None:
        folder = Path(bundle.path).resolve()
        if len(folder.parents) >= 4 and layout.runs_dir(folder.parents[3]) == folder.parent.parent:
            return folder.parents[3]
    for name in bundle.validation_paths:  # a saved model: its self-test images lie in class folders
        path = Path(name)
        if path.is_file() and len(path.parents) >= 2 and layout.state_dir(path.parents[1]).is_dir():
            return path.parents[1]
    return None


def calibration_set(bundle: Any, folder: str | os.PathLike[str] | None = None) -> CalibrationSet:
    """The representative and held-out images for ``bundle`` (see the module's docstring); raises
    :class:`CalibrationError` when there are not enough."""
    if folder is not None:
        from imgclf_gui.core.models.predict import find_images

        found = [p for p in find_images([folder]) if p.is_file()]
        groups: dict[str, list[Path]] = {}
        for path in sorted(found):
            groups.setdefault(str(path.parent), []).append(path)
        source = f"images in {folder}"
    else:
        root = project_of(bundle)
        if root is None:
            raise CalibrationError(
                "An int8 export calibrates on the model's training images, and this model's project is not on "
                "this computer; give a folder of images like those it was trained on (imgclf export "
                f"--calibration DIR, at least {MIN_IMAGES} images).")
        groups = _training_images(root, set(bundle.train_hashes))
        found = [p for members in groups.values() for p in members]
        source = f"training images of project «{root.name}», found by content hash"
    ordered = _interleaved(groups)
    if len(ordered) < MIN_IMAGES:
        where = source if folder is not None else f"the project {source.split('«')[1].split('»')[0]}"
        raise CalibrationError(f"An int8 export needs at least {MIN_IMAGES} images to calibrate on and check, "
                               f"and {where} holds {len(ordered)}; give a folder of more images like the "
                               "training images (imgclf export --calibration DIR).")
    representative = ordered[0::2][:MAX_REPRESENTATIVE]
    held_out = ordered[1::2][:MAX_HELD_OUT]
    return CalibrationSet(representative, held_out, f"{len(representative)} {source}")


def _training_images(root: Path, hashes: set[str]) -> dict[str, list[Path]]:
    """The project's class images whose content is among ``hashes``, by class, each class in hash order."""
    from imgclf_gui.core.features.cache import hash_index_path
    from imgclf_gui.core.project.scan import scan_samples
    from imgclf_gui.core.support.file_hash import HashIndex, content_hash

    index = HashIndex(hash_index_path(root), root)
    by_class: dict[str, list[tuple[str, Path]]] = {}
    for sample in scan_samples(root):
        try:
            digest = content_hash(sample.path, index=index)
        except OSError:
            continue
        if digest in hashes:
            by_class.setdefault(sample.label, []).append((digest, sample.path))
    return {label: [p for _, p in sorted(members)] for label, members in sorted(by_class.items())}


def _interleaved(groups: dict[str, list[Path]]) -> list[Path]:
    """One image of each group in turn, so both halves hold every class alike."""
    queues = [list(members) for members in groups.values() if members]
    out: list[Path] = []
    while any(queues):
        for queue in queues:
            if queue:
                out.append(queue.pop(0))
    return out


# ------------------------------------------------------------------------------ converting and checking
RunFn = Callable[[Path, Sequence[np.ndarray], Sequence[str]], np.ndarray]


def write_int8(bundle: Any, model: Any, float_file: Path, target: Path, names: Sequence[str], predictor: Any,
               calibration: str | os.PathLike[str] | None, *, convert: Callable[[Any], bytes], run: RunFn
               ) -> Int8Report:
    """Quantise the Keras ``model`` (whose float TFLite file ``float_file`` was checked against the app) into
    ``target``, calibrated and checked on :func:`calibration_set`'s images decoded by ``predictor`` as the app
    decodes them; ``run(file, inputs, names)`` runs a TFLite file. Raises :class:`CalibrationError` and
    :class:`Int8Disagrees`."""
    from imgclf_gui.core.images.decode import ImageError
    from imgclf_gui.core.models.predict import decode_file

    chosen = calibration_set(bundle, calibration)

    def decoded(paths: list[Path]) -> list[Any]:
        out = []
        for path in paths:
            try:
                out.append(decode_file(predictor, path))
            except ImageError:
                continue  # an image damaged since training: the others suffice
        return out

    representative, held_out = decoded(chosen.representative), decoded(chosen.held_out)
    target.write_bytes(quantize(model, [d.inputs for d in representative], names, convert))
    inputs = tuple(np.stack([d.inputs[k] for d in held_out]) for k in range(len(names)))  # uint8: 1/4 the memory
    report = compare_int8(target, float_file, inputs, names, predictor.score_decoded(held_out), chosen, run)
    if report.agreement < MIN_AGREEMENT:
        raise Int8Disagrees(f"The int8 export's top class agreed with imgclf's on only {report.agreeing} of "
                            f"{report.compared} held-out images ({report.agreement:.1%}, at least "
                            f"{MIN_AGREEMENT:.0%} required); it was deleted. The float tflite export keeps "
                            "imgclf's answers.")
    return report


def quantize(model: Any, representative: Sequence[tuple[np.ndarray, ...]], names: Sequence[str],
             convert: Callable[[Any], bytes]) -> bytes:
    """The int8 TFLite file of the Keras ``model``, calibrated on ``representative`` (one tuple of network
    inputs, uint8 or float32 (S, S, 3), per image, in the order of the input ``names``); ``convert(converter)``
    runs the converter quietly."""
    import tensorflow as tf

    def examples():  # one image at a time; by input name: the converter orders a model's inputs its own way
        for inputs in representative:
            yield {name: np.asarray(x, np.float32)[None] for name, x in zip(names, inputs)}

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = examples
    # Integer kernels only: a layer that cannot be quantised fails the export instead of silently staying float.
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    with warnings.catch_warnings():
        # The float32 input has no range of its own to quantise with (the calibration measures it): harmless.
        warnings.filterwarnings("ignore", "Statistics for quantized inputs were expected", UserWarning)
        # calibration runs TensorFlow's own TFLite interpreter, which warns that it is deprecated: not ours to use
        warnings.filterwarnings("ignore", ".*tf.lite.Interpreter is deprecated", UserWarning)
        return convert(converter)


def compare_int8(int8_file: Path, float_file: Path, inputs: Sequence[np.ndarray], names: Sequence[str],
                 expected: np.ndarray, calibration: CalibrationSet, run: RunFn) -> Int8Report:
    """Agreement of ``int8_file`` with the app's ``expected`` probabilities on the held-out ``inputs`` (one
    float32 (N, S, S, 3) array per model input), and its size and speed against ``float_file``."""
    got = run(int8_file, inputs, names)
    same = int(np.sum(np.argmax(got, axis=1) == np.argmax(expected, axis=1)))
    diff = np.abs(got.astype(np.float64) - expected)
    n = len(expected)
    return Int8Report(
        agreement=same / n if n else 0.0, agreeing=same, compared=n, mean_abs_diff=float(diff.mean()) if n else 0.0,
        max_abs_diff=float(diff.max()) if n else 0.0, representative=len(calibration.representative),
        source=calibration.source, int8_bytes=int8_file.stat().st_size, float_bytes=float_file.stat().st_size,
        int8_ms=cpu_ms_per_image(int8_file, inputs, names), float_ms=cpu_ms_per_image(float_file, inputs, names))


def cpu_ms_per_image(model: Path, inputs: Sequence[np.ndarray], names: Sequence[str]) -> float:
    """CPU milliseconds LiteRT spends on one image with one thread (the calling thread's CPU time: waiting
    for a busy core does not count), over up to :data:`TIMED_IMAGES` images after a warm-up."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(model), num_threads=1)
    details = interpreter.get_input_details()
    if len(details) > 1:  # the converter orders inputs its own way; their names hold ours
        details = [next(d for d in details if name in d["name"]) for name in names]
    for d, x in zip(details, inputs):
        interpreter.resize_tensor_input(d["index"], [1, *x.shape[1:]])
    interpreter.allocate_tensors()
    count = min(len(inputs[0]), TIMED_IMAGES)

    def one(i: int) -> None:
        for d, x in zip(details, inputs):
            interpreter.set_tensor(d["index"], np.asarray(x[i:i + 1], np.float32))
        interpreter.invoke()

    one(0)
    start = time.thread_time()
    for i in range(count):
        one(i)
    return (time.thread_time() - start) * 1000.0 / max(count, 1)
