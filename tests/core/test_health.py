"""The health check finds corrupt files, duplicates and classes too small to train."""
from __future__ import annotations

import shutil

from imgclf_gui.core.health import check_health
from tests.conftest import write_image
from tests.fakes import fake_backbone  # noqa: F401 - fixture


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

    import imgclf_gui.core.features as features_module
    from imgclf_gui.core.features import extract_features

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
    from imgclf_gui.core.features import cached_backbone_ids, extract_features

    paths = [write_image(tmp_path / "cat" / f"c{i}.png", seed=i) for i in range(3)]
    assert cached_backbone_ids(tmp_path) == []  # nothing extracted yet: "train once to enable"
    extract_features(paths, fake_backbone.id, tmp_path)
    assert cached_backbone_ids(tmp_path) == [fake_backbone.id]
