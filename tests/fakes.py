"""A tiny fake backbone for fast tests: same registry and extractor interface, no real network.

Its bottleneck is the image mean-pooled to 4x4 cells per colour channel (48 numbers), so a head trained
on it does learn colours and coarse shapes; its "ImageNet" head is a fixed random dense layer. It has a
real Keras form too (pooling + rescaling + dense), so export code paths work with it.

    from tests.fakes import fake_backbone          # the fixture: NumPy features, no TensorFlow
    def test_something(fake_backbone): ...         # fake_backbone is its BackboneSpec

A second fake (``fake-coarse``: 40x40 input, 2x2 cells, 12 numbers) differs in input size and features,
so the two make a combined backbone (``fake_pair``: the spec of "fake-tiny+fake-coarse").
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pytest

from imgclf_gui.core.backbones import BackboneSpec, register_backbone, unregister_backbone

if TYPE_CHECKING:
    import keras

FAKE_ID = "fake-tiny"
_SIZE = 32
_CELLS = 4
_DIM = _CELLS * _CELLS * 3

FAKE_SPEC = BackboneSpec(
    id=FAKE_ID,
    display_name="Fake tiny backbone (tests)",
    input_size=_SIZE,
    dim=_DIM,
    version="test-1",
    preprocessing="none",
    weights_source="made up in tests/fakes.py",
    offline=True,
    description="4x4 mean-pooled colours; for tests only.",
)


def _imagenet_weights() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1234)
    return rng.normal(0, 2.0, (_DIM, 1000)).astype(np.float32), np.zeros(1000, np.float32)


def _pooled(batch: np.ndarray, size: int, cells: int) -> np.ndarray:
    batch = np.asarray(batch, np.float32)
    n = batch.shape[0]
    step = size // cells
    pooled = batch.reshape(n, cells, step, cells, step, 3).mean(axis=(2, 4))
    return (pooled.reshape(n, cells * cells * 3) / 255.0 - 0.5).astype(np.float32)


def fake_features(batch: np.ndarray) -> np.ndarray:
    """(N, 32, 32, 3) 0..255 -> (N, 48): mean of each 8x8 cell per channel, scaled to -0.5..0.5."""
    return _pooled(batch, _SIZE, _CELLS)


def fake_probabilities(batch: np.ndarray) -> np.ndarray:
    """A deterministic softmax over 1000 classes, so ImageNet code paths have something to show.

    Row by row, as the real LiteRT networks behave: an image's scores never depend on its batch (one
    BLAS call for the whole batch picks other kernels for other batch sizes).
    """
    weights, bias = _imagenet_weights()
    features = fake_features(batch)
    logits = np.zeros((len(features), weights.shape[1]), np.float32)
    for i in range(len(features)):
        logits[i] = features[i] @ weights
    logits += bias
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def build_fake_keras() -> keras.Model:
    """The Keras form of the fake, computing exactly :func:`fake_features` / :func:`fake_probabilities`."""
    import keras
    from keras import layers

    inputs = keras.Input((_SIZE, _SIZE, 3), dtype="float32", name="image")
    x = layers.AveragePooling2D(_SIZE // _CELLS, name="cells")(inputs)
    x = layers.Flatten(name="flatten")(x)  # (H, W, C) order, like the NumPy reshape
    features = layers.Rescaling(1.0 / 255.0, offset=-0.5, name="bottleneck")(x)
    dense = layers.Dense(1000, activation="softmax", name="fc")
    probabilities = dense(features)
    dense.set_weights(list(_imagenet_weights()))
    return keras.Model(inputs, [features, probabilities], name="fake_tiny")


COARSE_ID = "fake-coarse"
_COARSE_SIZE, _COARSE_CELLS = 40, 2
COARSE_SPEC = BackboneSpec(
    id=COARSE_ID, display_name="Fake coarse backbone (tests)", input_size=_COARSE_SIZE,
    dim=_COARSE_CELLS * _COARSE_CELLS * 3, version="test-1", preprocessing="none",
    weights_source="made up in tests/fakes.py", offline=True, description="2x2 mean-pooled colours; tests only.",
    has_imagenet_head=False)


def coarse_features(batch: np.ndarray) -> np.ndarray:
    """(N, 40, 40, 3) 0..255 -> (N, 12): mean of each 20x20 cell per channel, scaled to -0.5..0.5."""
    return _pooled(batch, _COARSE_SIZE, _COARSE_CELLS)


def build_coarse_keras() -> keras.Model:
    """The Keras form of :func:`coarse_features` (no ImageNet head)."""
    import keras
    from keras import layers

    inputs = keras.Input((_COARSE_SIZE, _COARSE_SIZE, 3), dtype="float32", name="image")
    x = layers.AveragePooling2D(_COARSE_SIZE // _COARSE_CELLS, name="cells")(inputs)
    x = layers.Flatten(name="flatten")(x)
    features = layers.Rescaling(1.0 / 255.0, offset=-0.5, name="bottleneck")(x)
    return keras.Model(inputs, [features], name="fake_coarse")


def register_coarse_backbone(*, use_numpy: bool = True, version: str = "test-1") -> BackboneSpec:
    """Register the second fake (``version`` lets a test install "another version" of it)."""
    from dataclasses import replace

    spec = replace(COARSE_SPEC, version=version)
    register_backbone(spec, build_coarse_keras, numpy_features=coarse_features if use_numpy else None,
                      replace=True)
    return spec


def register_fake_backbone(*, use_numpy: bool = True, backbone_id: str = FAKE_ID) -> BackboneSpec:
    """Register the fake; ``use_numpy=False`` makes :func:`open_extractor` go through LiteRT like a
    real backbone (slower: TensorFlow import and conversion)."""
    from dataclasses import replace

    spec = replace(FAKE_SPEC, id=backbone_id)
    register_backbone(
        spec,
        build_fake_keras,
        numpy_features=fake_features if use_numpy else None,
        numpy_probabilities=fake_probabilities if use_numpy else None,
        replace=True,
    )
    return spec


@pytest.fixture
def fake_backbone() -> Iterator[BackboneSpec]:
    """The fake backbone, registered for one test (NumPy extractor: no TensorFlow needed)."""
    spec = register_fake_backbone()
    try:
        yield spec
    finally:
        unregister_backbone(spec.id)


@pytest.fixture
def fake_pair() -> Iterator[BackboneSpec]:
    """Both fakes registered, offered as the combination "fake-tiny+fake-coarse"; yields its spec."""
    from imgclf_gui.core.backbones import get_spec, register_combination, unregister_combination

    register_fake_backbone()
    register_coarse_backbone()
    combined = register_combination((FAKE_ID, COARSE_ID))
    try:
        yield get_spec(combined)
    finally:
        unregister_combination(combined)
        unregister_backbone(COARSE_ID)
        unregister_backbone(FAKE_ID)
