"""Fast inference: each backbone converted once to a LiteRT (``.tflite``) model run by XNNPACK.

The converted model has one output, the bottleneck and the ImageNet probabilities side by side
(``dim + 1000`` columns), so there is no guessing which output is which after conversion; computing the
1000-way head costs well under 1 % of the network, so features do not pay for it noticeably.
The Keras model stays the reference that tests compare against.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from imgclf_gui.core.backbones import BackboneSpec
from imgclf_gui.core.backbones._cache import backbone_cache_dir, is_verified, write_verified
from imgclf_gui.core.backbones._registry import (
    BackboneUnavailable,
    availability,
    entry,
    load_keras_full,
)

if TYPE_CHECKING:
    import keras

_TFLITE_FILE = "model.tflite"


class FeatureExtractor:
    """Bottlenecks and ImageNet probabilities for batches of (N, S, S, 3) RGB 0..255 images.

    Not thread-safe: one call at a time per extractor (open one per thread if needed).
    """

    def __init__(self, spec: BackboneSpec, interpreter: Any) -> None:
        self.spec = spec
        self._interpreter = interpreter
        self._input_index = interpreter.get_input_details()[0]["index"]
        self._output_index = interpreter.get_output_details()[0]["index"]
        self._batch = -1

    def _check_batch(self, batch: np.ndarray) -> np.ndarray:
        size = self.spec.input_size
        batch = np.asarray(batch)
        if batch.ndim != 4 or batch.shape[1:] != (size, size, 3):
            raise ValueError(f"{self.spec.display_name} expects (N, {size}, {size}, 3) images, got {batch.shape}")
        return np.ascontiguousarray(batch, dtype=np.float32)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        batch = self._check_batch(batch)
        n = batch.shape[0]
        if n == 0:
            return np.zeros((0, self._columns()), np.float32)
        if n != self._batch:
            # Re-planning the graph is costly, so only when the batch size really changes.
            self._interpreter.resize_tensor_input(self._input_index, list(batch.shape), strict=False)
            self._interpreter.allocate_tensors()
            self._batch = n
        self._interpreter.set_tensor(self._input_index, batch)
        self._interpreter.invoke()
        return np.array(self._interpreter.get_tensor(self._output_index), dtype=np.float32)

    def _columns(self) -> int:
        return self.spec.dim + (1000 if self.spec.has_imagenet_head else 0)

    def features(self, batch: np.ndarray) -> np.ndarray:
        """float32 (N, dim) bottlenecks."""
        return self._run(batch)[:, : self.spec.dim]

    def imagenet_probabilities(self, batch: np.ndarray) -> np.ndarray:
        """float32 (N, 1000) softmax over the ImageNet classes."""
        if not self.spec.has_imagenet_head:
            raise BackboneUnavailable(f"{self.spec.display_name} has no ImageNet classifier")
        return self._run(batch)[:, self.spec.dim:]


class NumpyFeatureExtractor(FeatureExtractor):
    """Same interface for test fakes registered with NumPy functions: no TensorFlow, no LiteRT."""

    def __init__(self, spec: BackboneSpec, features_fn: Any, probabilities_fn: Any) -> None:
        self.spec = spec
        self._features_fn = features_fn
        self._probabilities_fn = probabilities_fn

    def features(self, batch: np.ndarray) -> np.ndarray:
        return np.asarray(self._features_fn(self._check_batch(batch)), np.float32)

    def imagenet_probabilities(self, batch: np.ndarray) -> np.ndarray:
        if self._probabilities_fn is None:
            raise BackboneUnavailable(f"{self.spec.display_name} has no ImageNet classifier")
        return np.asarray(self._probabilities_fn(self._check_batch(batch)), np.float32)


def tflite_path(spec: BackboneSpec) -> Path:
    """Where the converted model of ``spec`` is cached (with ``.sha256`` beside it)."""
    return backbone_cache_dir(spec) / _TFLITE_FILE


def convert_to_tflite(model: "keras.Model") -> bytes:
    """float32 LiteRT flatbuffer of the full model, outputs joined into one (N, dim + 1000) tensor."""
    import contextlib
    import io

    import keras
    import tensorflow as tf

    outputs = model.outputs
    joined = outputs[0] if len(outputs) == 1 else keras.layers.Concatenate(name="joined")(outputs)
    single = keras.Model(model.inputs, joined)
    # from_keras_model freezes the weights into constants and keeps the batch size open; converting a
    # hand-made tf.function instead left resource variables that LiteRT cannot read (NaN outputs).
    converter = tf.lite.TFLiteConverter.from_keras_model(single)
    converter.optimizations = []  # float32 throughout: features must match the Keras reference
    # The converter prints its temporary SavedModel's signature on stdout; keep CLI output clean.
    with contextlib.redirect_stdout(io.StringIO()):
        return bytes(converter.convert())


def ensure_tflite(backbone_id: str, *, allow_download: bool = False) -> Path:
    """The verified cached ``.tflite`` of a backbone, converting (once) if missing or damaged."""
    spec = entry(backbone_id).spec
    path = tflite_path(spec)
    if not is_verified(path):
        model = load_keras_full(backbone_id, allow_download=allow_download)
        write_verified(path, convert_to_tflite(model))
    return path


def open_extractor(backbone_id: str, *, allow_download: bool = False,
                   num_threads: int | None = None) -> FeatureExtractor:
    """A ready extractor for ``backbone_id``; the first call converts and caches the model.

    Raises :class:`BackboneUnavailable` when the weights are not here (see :func:`availability`).
    """
    e = entry(backbone_id)
    if e.numpy_features is not None:
        return NumpyFeatureExtractor(e.spec, e.numpy_features, e.numpy_probabilities)
    ok, reason = availability(backbone_id)
    if not ok and not (allow_download and e.download is not None):
        raise BackboneUnavailable(reason)
    from ai_edge_litert.interpreter import Interpreter

    threads = num_threads or os.cpu_count() or 1
    path = ensure_tflite(backbone_id, allow_download=allow_download)
    try:
        # The default op resolver applies the XNNPACK delegate; every core helps on a batch.
        interpreter = Interpreter(model_path=str(path), num_threads=threads)
    except (ValueError, RuntimeError):
        # Verified bytes that still do not load (e.g. written by an incompatible LiteRT): convert again.
        path.unlink(missing_ok=True)
        path = ensure_tflite(backbone_id, allow_download=allow_download)
        interpreter = Interpreter(model_path=str(path), num_threads=threads)
    return FeatureExtractor(e.spec, interpreter)
