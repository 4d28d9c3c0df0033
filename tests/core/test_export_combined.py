"""Exports of a model of two networks (and of one that averages flips) hold everything and still agree with
the app within 1e-4: one input per network, each fed what imgclf feeds it."""
from __future__ import annotations

import numpy as np
import pytest

from imgclf_gui.core.backbones import combine_features, feature_parts
from imgclf_gui.core.images.decode import load_for_network
from imgclf_gui.core.models.bundle import ModelBundle
from imgclf_gui.core.training.config import TrainConfig
from imgclf_gui.core.training.head import HeadOptions, train_head
from tests.conftest import write_image


def _bundle(spec, tmp_path, *, flips=False, size=(40, 30), per_class=6):
    from imgclf_gui.core.backbones import open_extractor

    colours = [(220, 40, 40), (40, 200, 40), (40, 40, 220)]
    paths, labels = [], []
    for c, colour in enumerate(colours):
        for i in range(per_class):
            paths.append(write_image(tmp_path / "imgs" / f"{c}_{i}.jpg", size=size, color=colour, seed=i + 10 * c))
            labels.append(c)
    x = combine_features([open_extractor(p.id).features(np.stack([load_for_network(f, p.input_size) for f in paths]))
                          for p in feature_parts(spec)])
    y = np.array(labels)
    res = train_head(x, y, x, y, HeadOptions(epochs=20, learning_rate=0.01))
    return ModelBundle.create(head=res.head, class_names=["red", "green", "blue"], spec=spec,
                              config=TrainConfig(backbone=spec.id), validation_paths=[str(p) for p in paths],
                              flip_averaging=flips)


@pytest.mark.slow
@pytest.mark.parametrize("fmt,flips", [("keras", True), ("savedmodel", False), ("tflite", True), ("onnx", True),
                                       ("tflite-int8", True)])
def test_a_two_network_export_agrees_with_the_app(tmp_path, fake_pair, fmt, flips):
    bundle = _bundle(fake_pair, tmp_path, flips=flips, size=(100, 70), per_class=8)  # JPEGs: two draft scales
    result = bundle.export(fmt, tmp_path / "out", calibration=tmp_path / "imgs" if fmt == "tflite-int8" else None)
    if fmt == "tflite-int8":  # calibrated on 12, compared on the other 12 (and its predict.py on the 24)
        assert result.int8.agreement >= 0.99 and (result.checked, result.int8.representative) == (12, 12)
    else:
        assert result.checked == 24 and result.checked_on == "validation images" and result.max_abs_diff <= 1e-4
    readme = result.readme_path.read_text()
    assert "image1_32 float32 (N, 32, 32, 3), image2_40 float32 (N, 40, 40, 3)" in readme
    assert ("mirror image" in readme) == flips
    assert "printed the same top 3 as" in result.example_check  # predict.py fed both inputs as imgclf does


@pytest.mark.slow
def test_a_real_pair_exports_both_networks_and_self_tests(tmp_path):
    from imgclf_gui.core.backbones import availability, get_spec

    spec = get_spec("efficientnet-lite0+efficientnet-lite2")
    if not availability(spec.id)[0]:
        pytest.skip(availability(spec.id)[1])
    bundle = _bundle(spec, tmp_path, flips=True, size=(300, 200), per_class=2)
    result = bundle.export("tflite", tmp_path / "out" / "pair")
    assert result.checked == 6 and result.max_abs_diff <= 1e-4 and "printed the same top 3" in result.example_check
    assert "image1_224" in result.readme_path.read_text() and "image2_260" in result.readme_path.read_text()
