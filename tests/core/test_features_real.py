"""The real pretrained backbone through the whole pipeline equals the Keras reference (slow)."""
from __future__ import annotations

import numpy as np
import pytest

from imgclf_gui.core.features.extraction import extract_features
from imgclf_gui.core.images.decode import load_for_network


@pytest.mark.slow
def test_efficientnet_lite0_features_match_the_keras_reference(tmp_path):
    from PIL import Image
    from skimage import data

    from imgclf_gui.core.backbones import load_keras_backbone

    pictures = {"cat.jpg": data.chelsea(), "coffee.png": data.coffee(), "astronaut.webp": data.astronaut()}
    paths = []
    for name, array in pictures.items():
        path = tmp_path / "things" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(array).save(path)
        paths.append(path)
    result = extract_features(paths, "efficientnet-lite0", tmp_path, variants=1)
    assert result.ok.all() and result.features.shape == (3, 1280)

    inputs = np.stack([load_for_network(p, 224) for p in paths]).astype(np.float32)
    reference = np.asarray(load_keras_backbone("efficientnet-lite0").predict(inputs, verbose=0))
    np.testing.assert_allclose(result.features, reference, atol=1e-4)
    assert not np.allclose(result.augmented[:, 0], result.features, atol=1e-3)
    cached = extract_features(paths, "efficientnet-lite0", tmp_path, variants=1)
    assert cached.from_cache == 3
    np.testing.assert_array_equal(cached.features, result.features)
