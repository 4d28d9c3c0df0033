"""The health check finds corrupt files, duplicates and classes too small to train."""
from __future__ import annotations

import shutil

from imgclf_gui.core.review.health import check_health
from tests.conftest import write_image


def test_finds_corrupt_file_duplicate_and_small_class(tmp_path):
    for i in range(25):
        write_image(tmp_path / "cat" / f"c{i}.png", seed=i)
    for i in range(3):
        write_image(tmp_path / "dog" / f"d{i}.png", seed=100 + i)
    shutil.copy(tmp_path / "cat" / "c3.png", tmp_path / "dog" / "copy_of_c3.png")
    (tmp_path / "cat" / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    progress = []
    report = check_health(tmp_path, on_progress=lambda d, t: progress.append((d, t)))
    [unreadable] = report.of_kind("unreadable")
    assert unreadable.paths == [tmp_path / "cat" / "broken.jpg"] and unreadable.detail
    [dup] = report.of_kind("duplicate")
    assert set(dup.paths) == {tmp_path / "cat" / "c3.png", tmp_path / "dog" / "copy_of_c3.png"}
    assert "across" in dup.title
    assert [f.title for f in report.of_kind("small_class")] == ["Class dog has only 4 images"]
    assert report.of_kind("unbalanced")
    assert progress[-1] == (30, 30)
    assert any("train once" in n for n in report.notes)


def test_near_duplicates_found_from_cached_bottlenecks(tmp_path, fake_backbone, monkeypatch):  # noqa: F811 - fixture
    """A re-saved, slightly smaller copy of a photo (other bytes, same picture) is flagged; images that
    merely share a colour scheme are not. Only cached bottlenecks are compared: the check extracts nothing."""
    from PIL import Image

    import imgclf_gui.core.features.extraction as features_module
    from imgclf_gui.core.features.extraction import extract_features

    colours = [(220, 30, 30), (30, 200, 40), (30, 40, 220), (230, 220, 30), (200, 30, 220), (30, 210, 210)]
    for i, colour in enumerate(colours):
        write_image(tmp_path / "cat" / f"c{i}.png", size=(64, 64), color=colour, seed=i)
    (tmp_path / "dog").mkdir()
    Image.open(tmp_path / "cat" / "c2.png").resize((60, 60)).save(tmp_path / "dog" / "c2_small.jpg", quality=92)
    extract_features(sorted(tmp_path.rglob("*.*g")), fake_backbone.id, tmp_path)  # what training leaves
    Image.open(tmp_path / "cat" / "c4.png").resize((58, 58)).save(tmp_path / "dog" / "c4_new.jpg", quality=90)

    def no_extraction(*args, **kwargs):
        raise AssertionError("Check Data must not extract bottlenecks")

    monkeypatch.setattr(features_module, "decode_for_network", no_extraction)
    report = check_health(tmp_path)
    near = report.of_kind("near_duplicate")
    assert [sorted(p.name for p in f.paths) for f in near] == [["c2.png", "c2_small.jpg"]]
    assert "near_duplicate" not in report.skipped and not report.of_kind("duplicate")
    assert any("1 image(s) not trained on yet" in n for n in report.notes)  # c4_new waits for training


def test_near_duplicates_need_bottlenecks_cached_for_the_current_backbone(tmp_path, fake_backbone):  # noqa: F811
    from imgclf_gui.core.features.cache import cached_backbone_ids
    from imgclf_gui.core.features.extraction import extract_features

    paths = [write_image(tmp_path / "cat" / f"c{i}.png", seed=i) for i in range(3)]
    assert cached_backbone_ids(tmp_path) == []  # nothing extracted yet: "train once to enable"
    extract_features(paths, fake_backbone.id, tmp_path)
    assert cached_backbone_ids(tmp_path) == [fake_backbone.id]


def test_near_duplicates_come_as_groups_biggest_first_and_bounded(tmp_path, fake_backbone, monkeypatch):  # noqa: F811
    """A burst of 5 shots of one scene is one finding, not 10 pairs; a flood of groups is cut off with a note."""
    import imgclf_gui.core.review.health as health
    from imgclf_gui.core.features.extraction import extract_features

    burst = [write_image(tmp_path / "cat" / f"burst{i}.png", color=(220, 30, 30), seed=i) for i in range(5)]
    pair = [write_image(tmp_path / "dog" / f"pair{i}.png", color=(30, 40, 220), seed=10 + i) for i in range(2)]
    alone = write_image(tmp_path / "dog" / "alone.png", color=(30, 200, 40), seed=20)
    extract_features([*burst, *pair, alone], fake_backbone.id, tmp_path)

    near = check_health(tmp_path).of_kind("near_duplicate")
    assert [f.paths for f in near] == [burst, pair]
    assert near[0].title.startswith("5 near-identical images: burst0.png ~ burst1.png ~ burst2.png")

    monkeypatch.setattr(health, "MAX_NEAR_GROUPS", 1)
    report = check_health(tmp_path)
    assert [f.paths for f in report.of_kind("near_duplicate")] == [burst]
    assert any("1 smaller group(s) are not" in n for n in report.notes)


def test_similarity_does_not_chain_into_one_giant_group():
    """a~b and b~c but not a~c (a slow pan): a and c must not end up in one group through b."""
    import numpy as np

    from imgclf_gui.core.review.health import NEAR_DUPLICATE_COSINE, _near_groups

    angles = np.radians([0.0, 8.0, 16.0, 24.0, 90.0, 90.5])
    vectors = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    assert np.cos(np.radians(8)) >= NEAR_DUPLICATE_COSINE > np.cos(np.radians(16))
    assert _near_groups(vectors) == [[0, 1], [2, 3], [4, 5]]
    assert _near_groups(np.zeros((3, 2))) == []  # no cached vectors: nothing compared


def test_possibly_mislabelled_images_are_a_finding_once_the_project_has_a_model(tmp_path, fake_backbone):  # noqa: F811 - fixture
    from imgclf_gui.core.models.runs import record_training
    from imgclf_gui.core.review.mislabels import project_mislabels
    from imgclf_gui.core.training.config import TrainConfig
    from imgclf_gui.core.training.trainer import train

    colours = {"red": (220, 40, 40), "green": (40, 200, 40), "blue": (30, 40, 220)}
    for k, (name, colour) in enumerate(colours.items()):
        for i in range(12):
            write_image(tmp_path / name / f"{name}{i}.png", size=(40, 40), color=colour, seed=10 * k + i)
    planted = [write_image(tmp_path / "red" / f"zz_green{i}.png", size=(40, 40), color=colours["green"],
                           seed=500 + i) for i in range(4)]
    before = check_health(tmp_path, mislabels=True)
    assert "mislabel" in before.skipped and not before.of_kind("mislabel")  # not looked for: no model yet
    assert any(n.startswith("Possibly mislabelled images: the project has no trained model yet") for n in before.notes)
    assert not check_health(tmp_path).of_kind("mislabel") and check_health(tmp_path).mislabels is None
    record_training(tmp_path, train(TrainConfig(backbone=fake_backbone.id, epochs=30, learning_rate=0.01), tmp_path))
    report = check_health(tmp_path, mislabels=True)
    found = report.of_kind("mislabel")
    assert [f.paths[0] for f in found] == [s.path for s in project_mislabels(tmp_path).suspects]
    assert found and {f.paths[0] for f in found} <= set(planted)
    first = report.mislabels.suspects[0]
    assert found[0].title == f"{first.path.name}: red → green ({first.confidence:.0%})"
    assert "mislabel" not in report.skipped
