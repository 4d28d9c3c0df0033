"""Mirror images, decided per project by the folds: used where they lower the out-of-fold loss (things that
look the same flipped), left out where they raise it (left and right arrows), said in the report, kept by
the model and applied by the predict path; forced on or off by the setting."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from imgclf_gui.core.features.extraction import FLIP_VARIANT, extract_features, mirrored
from imgclf_gui.core.models.bundle import ModelBundle
from imgclf_gui.core.models.predict import ModelSource, open_predictor, score_files
from imgclf_gui.core.support.notes import FLIPS_CHOSEN, STAGE_FOLD, describe
from imgclf_gui.core.training.config import TrainConfig
from imgclf_gui.core.training.crossval import cross_validate
from imgclf_gui.core.training.flips import choose
from imgclf_gui.core.training.folds import assign_folds
from imgclf_gui.core.training.head import HeadOptions
from imgclf_gui.core.training.trainer import train


def _picture(rng, colour, side: str | None) -> Image.Image:
    """A grey 32x32 picture with a coloured block in the left or right half (``side``), or either (None)."""
    pixels = np.clip(rng.normal(128, 30, (32, 32, 3)), 0, 255).astype(np.uint8)
    side = side or ("left" if rng.random() < 0.5 else "right")
    x = int(rng.integers(1, 6)) if side == "left" else int(rng.integers(19, 24))
    y = int(rng.integers(2, 20))
    pixels[y:y + 10, x:x + 8] = colour
    return Image.fromarray(pixels)


def _project(root, classes: dict[str, tuple], per_class: int = 16, seed: int = 0):
    rng = np.random.default_rng(seed)
    for name, (colour, side) in classes.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            _picture(rng, colour, side).save(root / name / f"{name}{i:02d}.png")
    return root


ARROWS = {"left": ((200, 40, 40), "left"), "right": ((200, 40, 40), "right")}
BLOCKS = {"red": ((220, 30, 30), None), "blue": ((30, 40, 220), None), "green": ((30, 200, 40), None)}
FAST = dict(epochs=40, learning_rate=0.01)


def test_left_and_right_are_not_learnt_from_their_mirror_images(tmp_path, fake_backbone):
    result = train(TrainConfig(backbone=fake_backbone.id, **FAST), _project(tmp_path, ARROWS))
    flips = result.crossval.flips
    assert flips.setting == "auto" and not flips.used and flips.loss_with > flips.loss_without
    assert not result.uses_flips and not ModelBundle.from_training(result).flip_averaging
    assert result.report.accuracy >= 0.9  # the model that was kept tells left from right
    note = next(n for n in result.notes if n.kind == FLIPS_CHOSEN)
    assert describe(note) == (f"Mirror images: not used, as the folds chose (out-of-fold loss "
                              f"{flips.loss_without:.4f} without them, {flips.loss_with:.4f} with).")
    assert result.metrics["crossval"]["flips"] == flips.to_dict()


def test_things_that_look_the_same_flipped_learn_from_their_mirror_images(tmp_path, fake_backbone):
    stages = []
    root = _project(tmp_path / "proj", BLOCKS, per_class=10)
    result = train(TrainConfig(backbone=fake_backbone.id, **FAST), root, on_stage=stages.append)
    flips = result.crossval.flips
    assert flips.used and flips.loss_with < flips.loss_without
    assert "with them" in describe(next(n for n in result.notes if n.kind == FLIPS_CHOSEN))
    assert any(describe(s).endswith("with and without mirror images") for s in stages if s.kind == STAGE_FOLD)
    # the report is the chosen way's out-of-fold predictions
    assert result.report.accuracy == pytest.approx(
        np.mean(result.crossval.probabilities.argmax(1) == [result.class_names.index(s.label)
                                                            for s in result.samples]))
    # the model keeps the choice, and the predict path scores each image with its mirror image too
    folder = ModelBundle.from_training(result).save(tmp_path / "m.imgclf-model")
    bundle = ModelBundle.load(folder)
    assert bundle.flip_averaging
    paths = [s.path for s in result.samples]
    rows = score_files(open_predictor(ModelSource.bundle(folder)), paths)
    extracted = extract_features(paths, fake_backbone.id, root, flips=True)
    assert extracted.computed == 0  # training cached every mirror image
    expected = bundle.predict_features(extracted.features, extracted.flipped)
    np.testing.assert_array_equal(np.stack([r.scores for r in rows]), expected)
    assert not np.array_equal(expected, bundle.head_scores(extracted.features))  # really averaged


def test_the_mirror_image_is_the_network_input_flipped(tmp_path, fake_backbone):
    from imgclf_gui.core.images.decode import load_for_network
    from tests.fakes import fake_features

    root = _project(tmp_path, BLOCKS, per_class=2)
    paths = sorted(root.rglob("*.png"))
    result = extract_features(paths, fake_backbone.id, root, flips=True)
    inputs = np.stack([load_for_network(p, 32) for p in paths])
    np.testing.assert_allclose(result.flipped, fake_features(mirrored(inputs)), atol=1e-6)
    assert not np.allclose(result.flipped, result.features)


@pytest.mark.parametrize("setting", ["on", "off"])
def test_the_setting_forces_them_on_or_off(tmp_path, backbone, setting):
    root = _project(tmp_path / "proj", ARROWS, per_class=8)
    result = train(TrainConfig(backbone=backbone.spec.id, flips=setting, **FAST), root)
    assert result.uses_flips == (setting == "on")
    assert result.crossval.flips.setting == setting
    # off: not one mirror image is computed; on: each image's once
    assert backbone.images == (32 if setting == "on" else 16)
    assert describe(next(n for n in result.notes if n.kind == FLIPS_CHOSEN)).startswith(
        "Mirror images: used, as set" if setting == "on" else "Mirror images: not used (turned off")


def test_the_folds_compare_both_ways_on_the_same_honest_predictions():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 1, (3, 12))
    y = np.repeat(np.arange(3), 20)
    features = (centres[y] + rng.normal(0, 1.5, (60, 12))).astype(np.float32)
    # the mirror image as another look at the same thing: averaging the two halves the noise
    flipped = (centres[y] + rng.normal(0, 1.5, (60, 12))).astype(np.float32)
    a = assign_folds([f"k{i}" for i in range(60)], [str(v) for v in y])
    options = HeadOptions(epochs=30, learning_rate=0.01)
    auto = cross_validate(features, y, a, options, num_classes=3, flipped=flipped, flips="auto")
    plain = cross_validate(features, y, a, options, num_classes=3)
    assert auto.flips.used and auto.flips.loss_with < auto.flips.loss_without
    # the way without mirror images is exactly the plain cross-validation
    without = choose("off", {False: plain.probabilities}, y, a.folded).loss_without
    assert auto.flips.loss_without == pytest.approx(without)
    # a cancelled comparison keeps what the first way completed
    third: list = []
    stopped = cross_validate(features, y, a, options, num_classes=3, flipped=flipped, flips="auto",
                             on_stage=lambda s: third.append(s) if s.fold == 3 else None,
                             should_stop=lambda: bool(third))
    assert stopped.cancelled and stopped.final is None and stopped.completed_folds == 2
    assert np.isnan(stopped.probabilities[a.held_out(2)]).all()
    assert not np.isnan(stopped.probabilities[a.held_out(1)]).any()


def test_the_summary_counts_mirror_images_still_to_compute(tmp_path, fake_backbone):
    from imgclf_gui.core.training.summary import summarize

    root = _project(tmp_path, ARROWS, per_class=4)
    paths = sorted(root.rglob("*.png"))
    extract_features(paths, fake_backbone.id, root)  # without mirror images
    assert summarize(root, TrainConfig(backbone=fake_backbone.id)).copies_to_compute == 8
    assert summarize(root, TrainConfig(backbone=fake_backbone.id, flips="off")).copies_to_compute == 0
    extract_features(paths, fake_backbone.id, root, flips=True)
    assert summarize(root, TrainConfig(backbone=fake_backbone.id)).copies_to_compute == 0
    assert FLIP_VARIANT > 10  # never one of the augmented copies' numbers
