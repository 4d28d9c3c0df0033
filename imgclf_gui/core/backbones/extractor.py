"""Fast inference: each backbone converted once to LiteRT (``.tflite``) models run by XNNPACK.

Two converted models per backbone, each made on first need and cached with a checksum:

- ``features.tflite``: the bottleneck only. Extraction speed is what users wait for, and some ImageNet
  heads are not cheap (SqueezeNet's conv10 runs on a 14x14 map: about a third of its work).
- ``imagenet.tflite``: bottleneck and ImageNet probabilities side by side in one (N, dim + 1000)
  output, so there is no guessing which output is which after conversion.

The Keras model stays the reference that tests compare against.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from imgclf_gui.core.backbones._cache import backbone_cache_dir, is_verified, write_verified
from imgclf_gui.core.backbones._registry import (
    BackboneUnavailable,
    availability,
    entry,
    get_spec,
    load_keras_full,
)
from imgclf_gui.core.backbones.spec import BackboneSpec
from imgclf_gui.core.support.cpus import cpu_budget

if TYPE_CHECKING:
    import keras

FEATURES = "features"
IMAGENET = "imagenet"


class _Runner:
    """One converted model, run by LiteRT interpreters of fixed batch sizes (1 and ``BATCH``).

    ``allocate_tensors`` is where XNNPACK packs the weights: about 120 ms for EfficientNet-Lite0, during
    which LiteRT holds Python's GIL and so freezes the window. Resizing the batch dimension for every
    odd-sized batch (the last one of a folder, one dropped image after a folder) paid that again each
    time; fixed sizes pay it once per interpreter per process. Thread-safe: calls are serialised.
    """

    BATCH = 8

    def __init__(self, path: Path, num_threads: int) -> None:
        self._path = path
        self._threads = num_threads
        self._interpreters: dict[int, tuple[Any, int, int]] = {}
        self._lock = threading.Lock()
        self.columns = 0  # known once the first interpreter is built

    def _interpreter(self, size: int) -> tuple[Any, int, int]:
        if size not in self._interpreters:
            from ai_edge_litert.interpreter import Interpreter

            with _without_native_line(b"Created TensorFlow Lite XNNPACK delegate"):
                # The default op resolver applies the XNNPACK delegate; every core helps on one image too.
                interpreter = Interpreter(model_path=str(self._path), num_threads=self._threads)
                details = interpreter.get_input_details()[0]
                shape = [size, *details["shape"][1:]]
                interpreter.resize_tensor_input(details["index"], shape, strict=False)
                interpreter.allocate_tensors()
            output = interpreter.get_output_details()[0]
            self.columns = int(output["shape"][-1])
            self._interpreters[size] = (interpreter, details["index"], output["index"])
        return self._interpreters[size]

    def _run(self, size: int, batch: np.ndarray) -> np.ndarray:
        interpreter, inp, out = self._interpreter(size)
        interpreter.set_tensor(inp, batch)
        interpreter.invoke()
        return np.array(interpreter.get_tensor(out), dtype=np.float32)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        n = batch.shape[0]
        rows: list[np.ndarray] = []
        with self._lock:
            start = 0
            while n - start >= self.BATCH:
                rows.append(self._run(self.BATCH, batch[start:start + self.BATCH]))
                start += self.BATCH
            rest = n - start
            if rest * 2 >= self.BATCH:  # pad: one batch run beats many single ones
                padded = np.zeros((self.BATCH, *batch.shape[1:]), np.float32)
                padded[:rest] = batch[start:]
                rows.append(self._run(self.BATCH, padded)[:rest])
            else:
                rows.extend(self._run(1, batch[i:i + 1]) for i in range(start, n))
        if not rows:
            with self._lock:
                self._interpreter(1)
            return np.zeros((0, self.columns), np.float32)
        return np.concatenate(rows)


@contextlib.contextmanager
def _without_native_line(noise: bytes) -> Iterator[None]:
    """Hide one line LiteRT's C++ logger writes to stderr (it ignores TF_CPP_MIN_LOG_LEVEL); every other
    line written meanwhile still reaches stderr, after the block.

    Only on the main thread (the command line's case): fd 2 belongs to the whole process, and two worker
    threads swapping it at once could leave it pointing at a closed file. In the app nobody reads stderr.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable stderr (e.g. a windowed app): nothing to tidy
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [line for line in capture.read().splitlines(keepends=True) if noise not in line]
            if kept:
                os.write(2, b"".join(kept))


#: runners shared by every extractor of this process, keyed by the verified file they were loaded from
_RUNNERS: dict[tuple[str, int, int, int], _Runner] = {}
_RUNNERS_LOCK = threading.Lock()


def _shared_runner(path: Path, num_threads: int) -> _Runner:
    """A runner for ``path``, reused while the file is unchanged: interpreters are costly to build."""
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size, num_threads)
    with _RUNNERS_LOCK:
        runner = _RUNNERS.get(key)
        if runner is None:
            # A re-converted file replaces its old interpreters rather than keeping them alive too.
            for stale in [k for k in _RUNNERS if k[0] == key[0] and k[3] == num_threads]:
                del _RUNNERS[stale]
            runner = _RUNNERS[key] = _Runner(path, num_threads)
        return runner


class FeatureExtractor:
    """Bottlenecks and ImageNet probabilities for batches of (N, S, S, 3) RGB 0..255 images.

    ``batch`` may be uint8 or float32. Not thread-safe: one call at a time per extractor.
    """

    def __init__(self, spec: BackboneSpec, open_runner: Callable[[str], Callable[[np.ndarray], np.ndarray]]) -> None:
        self.spec = spec
        self._open_runner = open_runner
        self._runners: dict[str, Callable[[np.ndarray], np.ndarray]] = {}

    def _runner(self, kind: str) -> Callable[[np.ndarray], np.ndarray]:
        if kind not in self._runners:  # verified (checksum) once per extractor, loaded once per process
            self._runners[kind] = self._open_runner(kind)
        return self._runners[kind]

    def _check_batch(self, batch: np.ndarray) -> np.ndarray:
        size = self.spec.input_size
        batch = np.asarray(batch)
        if batch.ndim != 4 or batch.shape[1:] != (size, size, 3):
            raise ValueError(f"{self.spec.display_name} expects (N, {size}, {size}, 3) images, got {batch.shape}")
        return np.ascontiguousarray(batch, dtype=np.float32)

    def features(self, batch: np.ndarray) -> np.ndarray:
        """float32 (N, dim) bottlenecks."""
        return self._runner(FEATURES)(self._check_batch(batch))

    def imagenet_probabilities(self, batch: np.ndarray) -> np.ndarray:
        """float32 (N, 1000) softmax over the ImageNet classes."""
        if not self.spec.has_imagenet_head:
            raise BackboneUnavailable(f"{self.spec.display_name} has no ImageNet classifier")
        return self._runner(IMAGENET)(self._check_batch(batch))[:, self.spec.dim:]


class NumpyFeatureExtractor(FeatureExtractor):
    """Same interface for test fakes registered with NumPy functions: no TensorFlow, no LiteRT."""

    def __init__(self, spec: BackboneSpec, features_fn: Any, probabilities_fn: Any) -> None:
        super().__init__(spec, self._numpy_runner)
        self._features_fn = features_fn
        self._probabilities_fn = probabilities_fn

    def _numpy_runner(self, kind: str) -> Callable[[np.ndarray], np.ndarray]:
        if kind == FEATURES:
            return lambda batch: np.asarray(self._features_fn(batch), np.float32)
        if self._probabilities_fn is None:
            raise BackboneUnavailable(f"{self.spec.display_name} has no ImageNet classifier")
        return lambda batch: np.concatenate(
            [np.zeros((len(batch), self.spec.dim), np.float32), np.asarray(self._probabilities_fn(batch), np.float32)],
            axis=1)


def tflite_path(spec: BackboneSpec, kind: str = FEATURES) -> Path:
    """Where a converted model of ``spec`` is cached (with ``.sha256`` beside it)."""
    return backbone_cache_dir(spec) / f"{kind}.tflite"


def convert_to_tflite(model: keras.Model, kind: str = FEATURES) -> bytes:
    """float32 LiteRT flatbuffer: the bottleneck, or bottleneck and probabilities joined (``imagenet``)."""

    import keras
    import tensorflow as tf

    if kind == FEATURES or len(model.outputs) == 1:
        single = keras.Model(model.inputs, model.outputs[0])
    else:
        single = keras.Model(model.inputs, keras.layers.Concatenate(name="joined")(model.outputs))
    # from_keras_model freezes the weights into constants and keeps the batch size open; converting a
    # hand-made tf.function instead left resource variables that LiteRT cannot read (NaN outputs).
    converter = tf.lite.TFLiteConverter.from_keras_model(single)
    converter.optimizations = []  # float32 throughout: features must match the Keras reference
    return convert_quietly(converter)


def convert_quietly(converter: Any) -> bytes:
    """Run a ``TFLiteConverter`` without its ~250-line signature listing on stdout.

    On its way the converter saves a temporary SavedModel, and Keras prints its signature: one "TensorSpec"
    line per variable. With Keras's interactive logging off that listing goes to absl's INFO log, which is
    silent; a failure still raises. Keras keeps the switch per thread, so no other thread's output is touched
    (redirecting ``sys.stdout`` would swallow every thread's prints meanwhile).
    """
    import keras

    was_interactive = keras.config.is_interactive_logging_enabled()
    keras.config.disable_interactive_logging()
    try:
        return bytes(converter.convert())
    finally:
        if was_interactive:
            keras.config.enable_interactive_logging()


def ensure_tflite(backbone_id: str, kind: str = FEATURES, *, allow_download: bool = False) -> Path:
    """The verified cached ``.tflite`` of a backbone, converting (once) if missing or damaged."""
    spec = entry(backbone_id).spec
    path = tflite_path(spec, kind)
    if not is_verified(path):
        model = load_keras_full(backbone_id, allow_download=allow_download)
        write_verified(path, convert_to_tflite(model, kind))
    return path


def needs_preparation(backbone_id: str, *, imagenet: bool = False) -> bool:
    """True when extracting with this backbone (``imagenet``: scoring its ImageNet classes, a model of
    its own) would first convert it (once per machine, 10-30 s).

    Callers announce that as its own step ("Preparing ... (first use only)") and call
    :func:`prepare_backbone`, so the wait is never mistaken for slow extraction. A combined backbone
    needs it when any of its parts does.
    """
    parts = get_spec(backbone_id).parts
    if parts:
        return any(needs_preparation(part, imagenet=imagenet) for part in parts)
    e = entry(backbone_id)
    return e.numpy_features is None and not is_verified(tflite_path(e.spec, IMAGENET if imagenet else FEATURES))


def prepare_backbone(backbone_id: str, *, allow_download: bool = False, imagenet: bool = False) -> None:
    """Convert the backbone's feature model (``imagenet``: its ImageNet model) now; nothing to do when it
    is already cached and intact.

    Raises :class:`BackboneUnavailable` when its weights are not here. A combined backbone prepares
    each of its parts.
    """
    parts = get_spec(backbone_id).parts
    if parts:
        for part in parts:
            prepare_backbone(part, allow_download=allow_download, imagenet=imagenet)
        return
    e = entry(backbone_id)
    if e.numpy_features is not None:
        return
    ok, reason = availability(backbone_id)
    if not ok and not (allow_download and e.download is not None):
        raise BackboneUnavailable(reason)
    ensure_tflite(backbone_id, IMAGENET if imagenet else FEATURES, allow_download=allow_download)


def open_extractor(backbone_id: str, *, allow_download: bool = False,
                   num_threads: int | None = None) -> FeatureExtractor:
    """An extractor for ``backbone_id``.

    Raises :class:`BackboneUnavailable` when the weights are not here (see :func:`availability`).
    Each converted model is loaded (converted and cached the very first time, about 10 s) on the first
    call that needs it: ``features`` or ``imagenet_probabilities``.
    """
    e = entry(backbone_id)
    if e.numpy_features is not None:
        return NumpyFeatureExtractor(e.spec, e.numpy_features, e.numpy_probabilities)
    ok, reason = availability(backbone_id)
    if not ok and not (allow_download and e.download is not None):
        raise BackboneUnavailable(reason)
    threads = num_threads or cpu_budget()

    def open_runner(kind: str) -> _Runner:
        path = ensure_tflite(backbone_id, kind, allow_download=allow_download)
        try:
            return _shared_runner(path, threads)
        except (ValueError, RuntimeError):
            # Verified bytes that still do not load (e.g. from an incompatible LiteRT): convert again.
            path.unlink(missing_ok=True)
            return _shared_runner(ensure_tflite(backbone_id, kind, allow_download=allow_download), threads)

    return FeatureExtractor(e.spec, open_runner)
