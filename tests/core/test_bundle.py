"""A saved model loads back identical, refuses another backbone version, and holds no pickle."""
import json
import zipfile
from dataclasses import replace

import numpy as np
import pytest

from imgclf_gui.core.models.bundle import BundleError, ModelBundle
from imgclf_gui.core.training.config import TrainConfig
from imgclf_gui.core.training.head import HeadOptions, train_head

SPEC_ID = "test-bundle-fake"


@pytest.fixture
def fake_spec():
    from imgclf_gui.core.backbones import BackboneSpec, register_backbone, unregister_backbone

    spec = BackboneSpec(id=SPEC_ID, display_name="fake", input_size=8, dim=6, version="1", preprocessing="none",
                        weights_source="none", offline=True, has_imagenet_head=False)

    def features(batch):
        x = np.asarray(batch, np.float32) / 255.0
        return np.concatenate([x.mean(axis=(1, 2)), x.std(axis=(1, 2))], axis=1).astype(np.float32)

    register_backbone(spec, lambda: None, numpy_features=features, replace=True)
    yield spec
    unregister_backbone(SPEC_ID)


def _bundle(spec, hidden=0):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, spec.dim)).astype(np.float32) * 5
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0)
    res = train_head(x[:60], y[:60], x[60:], y[60:], HeadOptions(epochs=5, hidden_units=hidden))
    cfg = TrainConfig(backbone=spec.id, hidden_units=hidden)
    return ModelBundle.create(head=res.head, class_names=["a", "b", "c"], spec=spec, config=cfg,
                              metrics={"accuracy": 0.5}), x


@pytest.mark.parametrize("hidden", [0, 4])
def test_round_trip(tmp_path, fake_spec, hidden):
    bundle, x = _bundle(fake_spec, hidden)
    folder = bundle.save(tmp_path / "m.imgclf-model")
    again = ModelBundle.load(folder)
    assert again.class_names == ["a", "b", "c"] and again.config == bundle.config
    assert again.backbone_version == "1" and again.metrics == {"accuracy": 0.5}
    assert np.array_equal(again.predict_features(x), bundle.predict_features(x))
    data = json.loads((folder / "model.json").read_text())
    assert data["backbone"]["id"] == SPEC_ID and data["input"]["crop"] == "squash" and data["created"]
    # saving again over it replaces it atomically, leaving no temporary folders behind
    bundle.save(folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.imgclf-model"]


def test_no_pickle_inside(tmp_path, fake_spec):
    bundle, _ = _bundle(fake_spec)
    folder = bundle.save(tmp_path / "m")
    with zipfile.ZipFile(folder / "head.npz") as z:
        for name in z.namelist():
            header = z.read(name)[:128]
            assert b"'descr': '<f4'" in header  # plain float32 arrays, never object arrays


def test_refuses_other_backbone_version(tmp_path, fake_spec):
    from imgclf_gui.core.backbones import register_backbone

    bundle, _ = _bundle(fake_spec)
    folder = bundle.save(tmp_path / "m")
    register_backbone(replace(fake_spec, version="2"), lambda: None, replace=True)
    with pytest.raises(BundleError, match="version 1.*version 2"):
        ModelBundle.load(folder)


def test_refuses_non_model_folder(tmp_path):
    with pytest.raises(BundleError, match="not an imgclf model"):
        ModelBundle.load(tmp_path)
