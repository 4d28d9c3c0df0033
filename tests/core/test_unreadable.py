"""A damaged photo is found once: later runs, the training summary and Check Data know it without
decoding it again, while failures of the moment (no memory, permission) are tried again next time."""
from __future__ import annotations

import hashlib
import os
import time

import pytest

import imgclf_gui.core.features.cache as cache_module
import imgclf_gui.core.features.extraction as features_module
import imgclf_gui.core.images.decode as images_module
from imgclf_gui.core.features.extraction import extract_features
from imgclf_gui.core.images.decode import ImageError
from imgclf_gui.core.review.health import check_health
from imgclf_gui.core.training.config import TrainConfig
from imgclf_gui.core.training.summary import summarize
from tests.conftest import write_image


def _project(root, per_class=6):
    paths = [write_image(root / label / f"{label}{i}.png", color=color, seed=10 * k + i)
             for k, (label, color) in enumerate([("cat", (200, 40, 40)), ("dog", (40, 40, 200))])
             for i in range(per_class)]
    broken = write_image(root / "cat" / "cut.jpg", size=(300, 200), fmt="JPEG", seed=99)
    broken.write_bytes(broken.read_bytes()[:700])
    return paths, broken


@pytest.fixture
def decode_calls(monkeypatch):
    """Names of the files the extraction pipeline decodes."""
    calls: list[str] = []
    real = features_module.decode_for_network

    def spy(data, path, *args, **kwargs):
        calls.append(os.path.basename(path))
        return real(data, path, *args, **kwargs)

    monkeypatch.setattr(features_module, "decode_for_network", spy)
    return calls


def test_damaged_file_is_not_decoded_again_nor_left_to_compute(tmp_path, fake_backbone, decode_calls):  # noqa: F811
    paths, broken = _project(tmp_path)
    first = extract_features([*paths, broken], fake_backbone.id, tmp_path)
    assert "truncated" in first.failed[broken] and first.ok.sum() == len(paths)
    assert "cut.jpg" in decode_calls

    decode_calls.clear()
    again = extract_features([*paths, broken], fake_backbone.id, tmp_path)
    assert decode_calls == []  # everything cached, and the damaged file is not tried again
    assert again.failed == first.failed  # still reported, with the same reason

    summary = summarize(tmp_path, TrainConfig(backbone=fake_backbone.id))
    assert summary.error is None and summary.total == len(paths) + 1
    assert (summary.cached, summary.unreadable, summary.remaining) == (len(paths), 1, 0)


def test_repaired_file_is_used(tmp_path, fake_backbone, decode_calls):  # noqa: F811
    paths, broken = _project(tmp_path, per_class=2)
    extract_features([*paths, broken], fake_backbone.id, tmp_path)
    write_image(broken, size=(300, 200), fmt="JPEG", seed=99)  # a good copy put in its place
    result = extract_features([broken], fake_backbone.id, tmp_path)
    assert result.failed == {} and result.ok.all()


def test_failure_of_the_moment_is_tried_again(tmp_path, fake_backbone, monkeypatch):  # noqa: F811
    path = write_image(tmp_path / "cat" / "big.png", seed=1)
    real = features_module.decode_for_network

    def out_of_memory(data, p, *args, **kwargs):
        raise ImageError(p, "there is not enough memory to decode this image", lasting=False)

    monkeypatch.setattr(features_module, "decode_for_network", out_of_memory)
    assert "memory" in extract_features([path], fake_backbone.id, tmp_path).failed[path]
    monkeypatch.setattr(features_module, "decode_for_network", real)
    assert extract_features([path], fake_backbone.id, tmp_path).ok.all()


def test_a_new_decoder_gets_another_chance(tmp_path, fake_backbone, decode_calls, monkeypatch):  # noqa: F811
    _paths, broken = _project(tmp_path, per_class=1)
    extract_features([broken], fake_backbone.id, tmp_path)
    monkeypatch.setattr(cache_module, "decoder_identity", lambda: "pillow=99.0|pipeline=1")
    decode_calls.clear()
    assert broken in extract_features([broken], fake_backbone.id, tmp_path).failed
    assert decode_calls == ["cut.jpg"]


def test_check_data_after_training_decodes_only_new_images(tmp_path, fake_backbone, monkeypatch):  # noqa: F811
    """20,000 photos: a check after training must not decode them all again, nor hash them again."""
    paths, broken = _project(tmp_path)
    past = time.time() - 60  # copied a minute ago: the stat index may trust them
    for p in [*paths, broken]:
        os.utime(p, (past, past))
    extract_features([*paths, broken], fake_backbone.id, tmp_path)
    new = write_image(tmp_path / "dog" / "new.png", seed=500)
    (tmp_path / "dog" / "copy.png").write_bytes(paths[0].read_bytes())

    decoded: list[str] = []
    real_load = images_module.load_rgb
    monkeypatch.setattr(images_module, "load_rgb",
                        lambda p, **kw: (decoded.append(os.path.basename(p)), real_load(p, **kw))[1])
    report = check_health(tmp_path)
    # Only the new picture is decoded: the copy's bytes are cached, the damaged file's are known bad.
    assert decoded == ["new.png"]
    [unreadable] = report.of_kind("unreadable")
    assert unreadable.paths == [broken] and "truncated" in unreadable.detail
    [dup] = report.of_kind("duplicate")
    assert set(dup.paths) == {paths[0], tmp_path / "dog" / "copy.png"}

    hashed: list[object] = []
    real_digest = hashlib.file_digest
    monkeypatch.setattr(hashlib, "file_digest", lambda f, name: (hashed.append(f), real_digest(f, name))[1])
    for p in (new, tmp_path / "dog" / "copy.png"):
        os.utime(p, (past, past))
    check_health(tmp_path)
    assert len(hashed) == 2  # only the two files touched since: the rest come from the project's index
