"""The "what will be trained" figures stay quick on a big fresh project and right after extraction."""
from __future__ import annotations

import imgclf_gui.core.support.file_hash as hashing
import imgclf_gui.core.training.summary as train_summary
from imgclf_gui.core.features.extraction import extract_features
from imgclf_gui.core.training.config import TrainConfig
from imgclf_gui.core.training.summary import summarize
from tests.conftest import write_image


def _project(root, per_class=10):
    return [write_image(root / label / f"{label}{i}.png", color=colour, seed=10 * k + i)
            for k, (label, colour) in enumerate([("cat", (200, 40, 40)), ("dog", (40, 40, 200))])
            for i in range(per_class)]


def _count_reads(monkeypatch) -> list[str]:
    reads: list[str] = []
    real = hashing.read_and_hash
    monkeypatch.setattr(hashing, "read_and_hash", lambda p: (reads.append(p.name), real(p))[1])
    return reads


def test_before_the_first_training_no_photo_is_read(tmp_path, fake_backbone, monkeypatch):  # noqa: F811
    _project(tmp_path)
    reads = _count_reads(monkeypatch)
    summary = summarize(tmp_path, TrainConfig(backbone=fake_backbone.id))
    assert (summary.total, summary.cached, summary.remaining) == (20, 0, 20)
    assert sum(summary.parts.values()) == 20
    assert reads == []  # 20,000 camera photos would be 70 GB to read for nothing


def test_after_extraction_new_files_are_read_within_a_byte_budget(tmp_path, fake_backbone, monkeypatch):  # noqa: F811
    paths = _project(tmp_path)
    extract_features(paths[:12], fake_backbone.id, tmp_path)
    summary = summarize(tmp_path, TrainConfig(backbone=fake_backbone.id))
    assert (summary.cached, summary.remaining) == (12, 8)

    budget = 3 * paths[0].stat().st_size + 1  # room for about three of these files
    monkeypatch.setattr(train_summary, "_MAX_READ_BYTES", budget)
    reads = _count_reads(monkeypatch)
    summary = summarize(tmp_path, TrainConfig(backbone=fake_backbone.id))
    assert 1 <= len(reads) <= 4  # the files were just written: the index cannot vouch for them yet
    assert summary.cached <= len(reads) and summary.remaining == 20 - summary.cached
