"""The health check finds corrupt files, duplicates and classes too small to train."""
from __future__ import annotations

import shutil

from imgclf_gui.core.health import check_health
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
