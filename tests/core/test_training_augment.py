"""Augmentation keeps the cache: the augmented copies of training images are computed once, cached,
trained on, and never taken from validation or test images."""
from __future__ import annotations

import numpy as np

from imgclf_gui.core.features.extraction import extract_features
from imgclf_gui.core.training import crossval
from imgclf_gui.core.training.config import TrainConfig
from imgclf_gui.core.training.trainer import train
from tests.conftest import write_image

COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220)}


def _project(root, per_class=12):
    for k, (name, colour) in enumerate(COLOURS.items()):
        for i in range(per_class):
            write_image(root / name / f"{name}_{i:02d}.png", size=(40, 30), color=colour, seed=100 * k + i)
    return root


def test_training_with_augmentation_uses_cached_variants_of_training_images_only(
        tmp_path, fake_backbone, monkeypatch):  # noqa: F811 - pytest fixture
    root = _project(tmp_path / "proj")
    fits = []
    real_train_head = crossval.train_head

    def spy(train_x, train_y, val_x, val_y, *args, **kwargs):
        fits.append((len(train_x), 0 if val_x is None else len(val_x), len(kwargs["standardize_on"])))
        return real_train_head(train_x, train_y, val_x, val_y, *args, **kwargs)

    monkeypatch.setattr(crossval, "train_head", spy)
    # (mirror images off: with them, the folds also train a second way, see test_flips.py)
    config = TrainConfig(backbone=fake_backbone.id, augment_variants=2, epochs=5, seed=0, l2=1e-3, flips="off")
    result = train(config, root)

    assert result.head is not None and result.report is not None
    assert len(fits) == result.folds.k + 1  # one run per fold (L2 given), then the final model
    for fold, (rows, val_rows, images) in enumerate(fits[:-1]):
        assert rows == images * 3  # each image a fold trains on, and its two variants
        held = len(result.folds.held_out(fold))
        assert val_rows > 0 and images + val_rows + held == 36  # no variant of a validated or held-out image
    assert fits[-1] == (36 * 3, 0, 36)  # the final model: every image with its variants

    # everything, variants included, is in the cache now: a second extraction computes nothing
    paths = [s.path for s in result.samples]
    again = extract_features(paths, fake_backbone.id, root, variants=2)
    assert again.computed == 0 and again.augmented.shape == (len(paths), 2, fake_backbone.dim)
    # the variants really differ from the original image's bottleneck
    assert not np.allclose(again.augmented[:, 0], again.features)


def test_same_seed_same_data_same_model(tmp_path, fake_backbone):  # noqa: F811 - pytest fixture
    root = _project(tmp_path / "proj", per_class=8)
    config = TrainConfig(backbone=fake_backbone.id, augment_variants=1, epochs=8, seed=3)
    one, two = train(config, root), train(config, root)
    x = np.random.default_rng(1).normal(size=(5, fake_backbone.dim)).astype(np.float32)
    np.testing.assert_array_equal(one.head.predict_proba(x), two.head.predict_proba(x))
