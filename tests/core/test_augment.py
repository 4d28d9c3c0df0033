"""Augmented variants: deterministic (so they can be cached), varied, and still the same picture."""
from __future__ import annotations

import numpy as np
import pytest

from imgclf_gui.core.images.augment import augment, augment_for_network


def _picture(h: int = 60, w: int = 80) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_same_key_and_variant_give_the_same_picture():
    rgb = _picture()
    assert np.array_equal(augment(rgb, 1, "abc"), augment(rgb, 1, "abc"))
    assert np.array_equal(augment_for_network(rgb, 2, "abc", 32, "squash"),
                          augment_for_network(rgb, 2, "abc", 32, "squash"))


def test_variants_and_keys_differ():
    rgb = _picture()
    outs = [augment(rgb, v, "abc") for v in range(1, 6)] + [augment(rgb, 1, "other")]
    for i in range(len(outs)):
        for j in range(i + 1, len(outs)):
            assert outs[i].shape != outs[j].shape or not np.array_equal(outs[i], outs[j])


def test_variant_zero_is_the_image_itself():
    rgb = _picture()
    assert augment(rgb, 0, "abc") is rgb


def test_crop_keeps_70_to_100_percent_of_the_area_and_flips_sometimes():
    rgb = np.tile(np.arange(80, dtype=np.uint8)[None, :, None], (60, 1, 3))  # brightness grows left to right
    flips = 0
    for variant in range(1, 41):
        out = augment(rgb, variant, "k")
        area = out.shape[0] * out.shape[1] / (60 * 80)
        assert 0.66 <= area <= 1.0, area
        assert out.dtype == np.uint8 and out.shape[2] == 3
        flips += int(out[:, 0].mean() > out[:, -1].mean())
    assert 5 < flips < 35


def test_brightness_and_contrast_stay_near_the_original():
    rgb = np.full((40, 40, 3), 128, np.uint8)
    for variant in range(1, 20):
        mean = augment(rgb, variant, "k").mean()
        assert 128 * 0.79 <= mean <= 128 * 1.21


def test_bad_input():
    with pytest.raises(ValueError):
        augment(np.zeros((4, 4), np.uint8), 1, "k")
    with pytest.raises(ValueError):
        augment(_picture(), -1, "k")
