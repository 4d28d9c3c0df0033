"""Converted models: LiteRT agrees with the Keras reference, and a damaged cache is rebuilt, not trusted."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from imgclf_gui.core import backbones
from imgclf_gui.core.backbones._cache import is_verified
from imgclf_gui.core.backbones.extractor import tflite_path
from tests.fakes import fake_features, register_fake_backbone


def _pixels(spec: backbones.BackboneSpec, n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 255, (n, spec.input_size, spec.input_size, 3)).astype(np.float32)


@pytest.fixture
def litert_fake(tmp_path, monkeypatch):
    """The fake backbone forced through Keras -> LiteRT, with a cache of its own."""
    monkeypatch.setenv("IMGCLF_CACHE_DIR", str(tmp_path / "cache"))
    spec = register_fake_backbone(use_numpy=False, backbone_id="fake-litert")
    yield spec
    backbones.unregister_backbone(spec.id)


def _flip_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(b ^ 0xFF for b in data[middle:middle + 64])
    path.write_bytes(bytes(data))


@pytest.mark.slow  # imports TensorFlow and converts
def test_litert_extractor_matches_the_numpy_definition_at_any_batch_size(litert_fake):
    extractor = backbones.open_extractor(litert_fake.id)
    for n in (3, 1, 3, 0):  # batch size changes both ways, and an empty batch
        batch = _pixels(litert_fake, n, seed=n)
        feats = extractor.features(batch.astype(np.uint8))
        assert feats.shape == (n, litert_fake.dim)
        np.testing.assert_allclose(feats, fake_features(batch.astype(np.uint8)), atol=1e-5)
    probs = extractor.imagenet_probabilities(_pixels(litert_fake, 2))
    assert probs.shape == (2, 1000)
    with pytest.raises(ValueError, match="expects"):
        extractor.features(np.zeros((1, 8, 8, 3), np.float32))


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["flip", "truncate", "checksum"])
def test_a_damaged_converted_model_is_rebuilt(litert_fake, damage):
    backbones.open_extractor(litert_fake.id).features(_pixels(litert_fake, 1))
    path = tflite_path(litert_fake)
    good = path.read_bytes()
    if damage == "flip":
        _flip_bytes(path)
    elif damage == "truncate":
        path.write_bytes(good[: len(good) // 3])
    else:
        path.with_name(path.name + ".sha256").write_text("0" * 64 + "  model.tflite\n")
    assert not is_verified(path)

    batch = _pixels(litert_fake, 2)
    features = backbones.open_extractor(litert_fake.id).features(batch)
    assert is_verified(path)
    np.testing.assert_allclose(features, fake_features(batch), atol=1e-5)


@pytest.mark.slow
def test_efficientnet_keras_weights_cache_is_verified_and_rebuilt(tmp_path, monkeypatch):
    from imgclf_gui.core.backbones import efficientnet_lite

    monkeypatch.setenv("IMGCLF_CACHE_DIR", str(tmp_path / "cache"))
    reference = efficientnet_lite.build()  # converts from the .pth and caches
    cached = tmp_path / "cache" / "backbones" / efficientnet_lite.SPEC.cache_key / "efficientnet-lite0.weights.h5"
    assert is_verified(cached)
    _flip_bytes(cached)
    rebuilt = efficientnet_lite.build()
    assert is_verified(cached)
    batch = _pixels(efficientnet_lite.SPEC, 2)
    np.testing.assert_allclose(rebuilt.predict_on_batch(batch)[0], reference.predict_on_batch(batch)[0], atol=1e-5)


@pytest.mark.slow
def test_rebuilt_efficientnet_lite0_has_its_published_size():
    model = backbones.load_keras_full("efficientnet-lite0")
    assert abs(model.count_params() - 4.69e6) < 0.01e6  # 4.65 M trainable + BatchNorm statistics
    assert backbones.load_keras_backbone("efficientnet-lite0").output.shape[-1] == 1280


@pytest.mark.slow
@pytest.mark.parametrize("backbone_id", ["efficientnet-lite0", "squeezenet-1.1"])
def test_litert_features_equal_the_keras_reference(backbone_id):
    spec = backbones.get_spec(backbone_id)
    batch = _pixels(spec, 4, seed=7)
    extractor = backbones.open_extractor(backbone_id)
    keras_features = backbones.load_keras_backbone(backbone_id).predict_on_batch(batch)
    np.testing.assert_allclose(extractor.features(batch), keras_features, atol=1e-4)
    keras_probs = backbones.load_keras_imagenet(backbone_id).predict_on_batch(batch)
    np.testing.assert_allclose(extractor.imagenet_probabilities(batch), keras_probs, atol=1e-4)
