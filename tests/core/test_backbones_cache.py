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
    lite0 = efficientnet_lite.VARIANTS["efficientnet-lite0"]
    reference = efficientnet_lite.build(lite0)  # converts from the .pth and caches
    cached = tmp_path / "cache" / "backbones" / lite0.spec.cache_key / "efficientnet-lite0.weights.h5"
    assert is_verified(cached)
    _flip_bytes(cached)
    rebuilt = efficientnet_lite.build(lite0)
    assert is_verified(cached)
    batch = _pixels(lite0.spec, 2)
    np.testing.assert_allclose(rebuilt.predict_on_batch(batch)[0], reference.predict_on_batch(batch)[0], atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize(("backbone_id", "millions"), [("efficientnet-lite0", 4.69), ("efficientnet-lite1", 5.47),
                                                       ("efficientnet-lite2", 6.15)])
def test_rebuilt_efficientnet_lite_has_its_published_size(backbone_id, millions):
    model = backbones.load_keras_full(backbone_id)
    # trainable weights + BatchNorm statistics (Lite0: 4.65 M + 0.04 M)
    assert abs(model.count_params() - millions * 1e6) < 0.01e6
    assert backbones.load_keras_backbone(backbone_id).output.shape[-1] == 1280


# Lite0's LiteRT bottleneck of scikit-image's chelsea (squashed to 224), recorded with the Lite0-only
# builder before Lite1/Lite2 joined it: its eight largest entries, their sum and the vector's length.
_LITE0_CHELSEA_TOP = {287: 3.927547, 112: 3.900929, 254: 3.185548, 301: 2.852319, 599: 2.622626,
                      809: 2.438465, 1156: 2.356951, 549: 2.237929}
_LITE0_CHELSEA_SUM, _LITE0_CHELSEA_NORM = 178.999756, 14.623669


@pytest.mark.slow
def test_lite0_bottlenecks_are_those_every_user_has_cached():
    """Same cache key must mean same numbers, or cached and new bottlenecks would mix silently."""
    from skimage import data

    from imgclf_gui.core.images.decode import to_network_input

    features = backbones.open_extractor("efficientnet-lite0").features(to_network_input(data.chelsea(), 224)[None])[0]
    np.testing.assert_allclose([features[i] for i in _LITE0_CHELSEA_TOP], list(_LITE0_CHELSEA_TOP.values()),
                               atol=1e-4)
    assert sorted(_LITE0_CHELSEA_TOP) == sorted(np.argsort(-features)[:8].tolist())
    assert float(features.sum()) == pytest.approx(_LITE0_CHELSEA_SUM, abs=1e-3)
    assert float(np.linalg.norm(features)) == pytest.approx(_LITE0_CHELSEA_NORM, abs=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("backbone_id", ["efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2",
                                         "squeezenet-1.1"])
def test_litert_features_equal_the_keras_reference(backbone_id):
    spec = backbones.get_spec(backbone_id)
    batch = _pixels(spec, 4, seed=7)
    extractor = backbones.open_extractor(backbone_id)
    keras_features = backbones.load_keras_backbone(backbone_id).predict_on_batch(batch)
    np.testing.assert_allclose(extractor.features(batch), keras_features, atol=1e-4)
    keras_probs = backbones.load_keras_imagenet(backbone_id).predict_on_batch(batch)
    np.testing.assert_allclose(extractor.imagenet_probabilities(batch), keras_probs, atol=1e-4)
