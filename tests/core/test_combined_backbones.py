"""Combined backbones: two networks' bottlenecks joined, each cached where it is cached alone, fed from one
decode, recorded in the model and checked when it loads; the same features in training, prediction and Check
Data. Two fakes of different input sizes stand in for EfficientNet-Lite0 + Lite2."""
from __future__ import annotations

import json

import numpy as np
import pytest

from imgclf_gui.core.backbones import (
    combine_features,
    feature_parts,
    get_spec,
    list_specs,
)
from imgclf_gui.core.features.extraction import extract_features
from imgclf_gui.core.images.decode import load_for_network, load_rgb, load_rgb_for_sides
from imgclf_gui.core.models.bundle import BundleError, ModelBundle
from imgclf_gui.core.models.predict import ModelSource, open_predictor, score_files
from imgclf_gui.core.training.config import TrainConfig
from imgclf_gui.core.training.trainer import train
from tests.conftest import write_image
from tests.fakes import COARSE_ID, FAKE_ID, coarse_features, fake_features, register_coarse_backbone

COLOURS = {"blue": (30, 40, 220), "green": (40, 200, 40), "red": (220, 40, 40)}


def _project(root, per_class=10, fmt="png", size=(44, 30)):
    paths = []
    for name, colour in COLOURS.items():
        for i in range(per_class):
            paths.append(write_image(root / name / f"{name}{i}.{fmt}", size=size, color=colour,
                                     seed=i + 100 * len(name)))
    return paths


def _alone(paths):
    """Each fake's bottlenecks as that network alone computes them, joined as a model of both sees them."""
    tiny = fake_features(np.stack([load_for_network(p, 32) for p in paths]))
    coarse = coarse_features(np.stack([load_for_network(p, 40) for p in paths]))
    return tiny, coarse


def test_a_combination_is_a_backbone_of_its_networks(fake_pair):
    assert fake_pair.id == f"{FAKE_ID}+{COARSE_ID}" and fake_pair.is_combined
    assert (fake_pair.dim, fake_pair.input_size, fake_pair.version) == (48 + 12, 40, "test-1+test-1")
    assert [p.id for p in feature_parts(fake_pair)] == [FAKE_ID, COARSE_ID]
    assert feature_parts(FAKE_ID) == (get_spec(FAKE_ID),)
    assert fake_pair.id in [s.id for s in list_specs()]  # offered in the backbone lists
    assert "efficientnet-lite0+efficientnet-lite2" in [s.id for s in list_specs()]
    with pytest.raises(KeyError, match="unknown backbone"):
        get_spec(f"{FAKE_ID}+no-such-net")
    with pytest.raises(KeyError):
        get_spec(f"{FAKE_ID}+{FAKE_ID}")


def test_joined_features_are_each_networks_unit_vectors_the_same_alone_or_in_a_batch():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 3, (20, 48)).astype(np.float32), rng.normal(0, 0.01, (20, 12)).astype(np.float32)
    a[5] = 0
    b[5] = 0  # an unreadable image's row stays empty
    joined = combine_features([a, b])
    assert joined.shape == (20, 60) and joined.dtype == np.float32
    # neither network's scale decides how much it counts
    np.testing.assert_allclose(np.linalg.norm(joined[:, :48], axis=1)[[0, 1, 19]], 1, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(joined[:, 48:], axis=1)[[0, 1, 19]], 1, atol=1e-6)
    assert not joined[5].any()
    for i in (0, 7, 19):
        assert np.array_equal(combine_features([a[i:i + 1], b[i:i + 1]])[0], joined[i])
    assert combine_features([a]) is not None and np.array_equal(combine_features([a]), a)  # one network: as it is


@pytest.mark.parametrize("size", [(100, 70), (64, 48), (200, 150)])
def test_one_decode_gives_each_network_the_picture_it_gets_alone(tmp_path, size):
    # 100x70: draft mode decodes at 1/2 for a 32 input but in full for 40; the others agree
    path = write_image(tmp_path / "a.jpg", size=size, seed=3)
    pictures = load_rgb_for_sides(path, [32, 40], data=path.read_bytes())
    for picture, side in zip(pictures, (32, 40)):
        assert np.array_equal(picture, load_rgb(path, max_side=side))
    png = write_image(tmp_path / "a.png", size=size, seed=3)
    assert all(np.array_equal(p, load_rgb(png)) for p in load_rgb_for_sides(png, [32, 40]))


def test_extraction_joins_both_networks_and_shares_their_caches_with_single_use(tmp_path, fake_pair):
    paths = _project(tmp_path, per_class=3, fmt="jpg", size=(100, 70))
    tiny, coarse = _alone(paths)
    alone = extract_features(paths, FAKE_ID, tmp_path)
    assert alone.computed == len(paths)
    both = extract_features(paths, fake_pair.id, tmp_path)
    np.testing.assert_allclose(both.features, combine_features([tiny, coarse]), atol=1e-6)
    # Lite0's cached bottlenecks served the combination: only the other network ran
    assert both.ok.all() and not both.failed
    again = extract_features(paths, COARSE_ID, tmp_path)
    assert again.computed == 0 and again.from_cache == len(paths)
    np.testing.assert_allclose(again.features, coarse, atol=1e-6)
    assert extract_features(paths, fake_pair.id, tmp_path).computed == 0


def test_augmented_copies_of_a_combination_come_from_each_networks_cache(tmp_path, fake_pair):
    paths = _project(tmp_path, per_class=2)
    both = extract_features(paths, fake_pair.id, tmp_path, variants=2)
    tiny = extract_features(paths, FAKE_ID, tmp_path, variants=2)
    coarse = extract_features(paths, COARSE_ID, tmp_path, variants=2)
    assert tiny.computed == coarse.computed == 0
    assert both.augmented.shape == (len(paths), 2, 60)
    np.testing.assert_allclose(both.augmented, combine_features([tiny.augmented, coarse.augmented]), atol=1e-6)


def test_a_model_of_two_networks_is_saved_checked_and_scores_as_it_trained(tmp_path, fake_pair):
    data = tmp_path / "data"
    paths = _project(data)
    result = train(TrainConfig(backbone=fake_pair.id, epochs=30, learning_rate=0.01), data)
    assert result.report.accuracy >= 0.9 and result.spec.id == fake_pair.id
    bundle = ModelBundle.from_training(result)
    folder = bundle.save(tmp_path / "m.imgclf-model")
    saved = json.loads((folder / "model.json").read_text())
    assert saved["schema"] == 2 and saved["backbone"]["id"] == fake_pair.id
    assert [(b["id"], b["version"], b["input_size"]) for b in saved["backbones"]] == [
        (FAKE_ID, "test-1", 32), (COARSE_ID, "test-1", 40)]
    predictor = open_predictor(ModelSource.bundle(folder))
    assert [i.size for i in predictor.inputs] == [32, 40]
    rows = score_files(predictor, paths)
    # the predict path feeds the head exactly the features training extracted
    extracted = extract_features(paths, fake_pair.id, data, flips=True)
    assert extracted.computed == 0  # training cached both networks' bottlenecks, mirror images too
    np.testing.assert_array_equal(np.stack([r.scores for r in rows]),
                                  bundle.predict_features(extracted.features, extracted.flipped))
    assert np.mean([r.best == ["blue", "green", "red"].index(p.parent.name) for r, p in zip(rows, paths)]) >= 0.9


def test_a_model_whose_second_network_changed_version_is_refused(tmp_path, fake_pair):
    data = tmp_path / "data"
    _project(data, per_class=4)
    folder = ModelBundle.from_training(train(TrainConfig(backbone=fake_pair.id, epochs=5), data)).save(
        tmp_path / "m.imgclf-model")
    register_coarse_backbone(version="test-2")
    with pytest.raises(BundleError, match=f"{COARSE_ID} version test-1, but version test-2 is installed"):
        ModelBundle.load(folder)
    # shown as a record of the run all the same
    assert ModelBundle.load(folder, check_backbone=False).class_names == ["blue", "green", "red"]


def test_a_one_network_model_keeps_the_format_older_versions_read(tmp_path, fake_backbone):
    data = tmp_path / "data"
    _project(data, per_class=4)
    folder = ModelBundle.from_training(train(TrainConfig(backbone=fake_backbone.id, epochs=5), data)).save(
        tmp_path / "m.imgclf-model")
    saved = json.loads((folder / "model.json").read_text())
    assert saved["schema"] == 1 and "backbones" not in saved and "flips" not in saved


@pytest.mark.parametrize("edit", ["drop", "reorder", "versions", "dims", "not_a_list"])
def test_a_combined_model_whose_networks_do_not_add_up_is_refused(tmp_path, fake_pair, edit):
    data = tmp_path / "data"
    _project(data, per_class=4)
    folder = ModelBundle.from_training(train(TrainConfig(backbone=fake_pair.id, epochs=5), data)).save(
        tmp_path / "m.imgclf-model")
    path = folder / "model.json"
    saved = json.loads(path.read_text())
    parts = saved["backbones"]
    if edit == "drop":
        del saved["backbones"]
    elif edit == "reorder":
        saved["backbones"] = parts[::-1]
    elif edit == "versions":
        parts[1]["version"] = "test-9"
    elif edit == "dims":
        parts[1]["dim"] = 13
    else:
        saved["backbones"] = "fake-tiny"
    path.write_text(json.dumps(saved))
    with pytest.raises(BundleError, match="not a usable imgclf model"):
        ModelBundle.load(folder)


def test_check_data_finds_near_duplicates_on_the_projects_combined_features(tmp_path, fake_pair):
    from imgclf_gui.core.review.health import _FileChecker, check_health
    from imgclf_gui.core.training.config import save_project_config

    paths = _project(tmp_path, per_class=4)
    twin = write_image(tmp_path / "red" / "twin.png", size=(44, 30), color=COLOURS["red"], seed=201)
    save_project_config(tmp_path, TrainConfig(backbone=fake_pair.id))
    extracted = extract_features([*paths, twin], fake_pair.id, tmp_path)
    report = check_health(tmp_path)
    assert "near_duplicate" not in report.skipped
    assert any(f.kind == "near_duplicate" and twin in f.paths for f in report.findings)
    # compared on what the project's model sees: both networks' bottlenecks, joined as training joins them
    checker = _FileChecker(tmp_path)
    try:
        np.testing.assert_array_equal(checker.cached_vectors(extracted.hashes), extracted.features)
    finally:
        checker.close()


def test_the_training_summary_counts_what_every_network_has_cached(tmp_path, fake_pair):
    from imgclf_gui.core.training.summary import summarize

    paths = _project(tmp_path, per_class=4)
    extract_features(paths[:6], FAKE_ID, tmp_path)
    config = TrainConfig(backbone=fake_pair.id)
    assert summarize(tmp_path, config).cached == 0  # the second network has none of them yet
    extract_features(paths[:4], fake_pair.id, tmp_path)
    assert summarize(tmp_path, config).cached == 4
