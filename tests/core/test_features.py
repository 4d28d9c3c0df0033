"""The extraction pipeline: vectors match the backbone, each image goes through it once, re-runs reuse
the cache, bad files are skipped, progress and cancelling, augmented variants, crops."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from imgclf_gui.core.features import extraction
from imgclf_gui.core.features.extraction import extract_features
from imgclf_gui.core.support.file_hash import content_hash
from imgclf_gui.core.support.tasks_api import Cancelled
from tests.conftest import write_image
from tests.core.conftest import COUNTING_ID, expected, make_project, store_file
from tests.fakes import FAKE_SPEC


def test_features_match_the_backbone_on_the_decoded_images(tmp_path, backbone):
    paths = make_project(tmp_path)
    result = extract_features(paths, COUNTING_ID, tmp_path)
    np.testing.assert_allclose(result.features, expected(paths), atol=1e-6)
    assert result.ok.all() and result.computed == 6 and result.from_cache == 0 and not result.failed
    assert result.hashes == [content_hash(p) for p in paths]
    assert result.augmented is None and result.warnings == []
    assert store_file(tmp_path).exists() and result.cache_file == store_file(tmp_path)


def test_second_run_reuses_everything_without_touching_the_backbone(tmp_path, backbone):
    paths = make_project(tmp_path)
    first = extract_features(paths, COUNTING_ID, tmp_path)
    before = backbone.images
    second = extract_features(paths, COUNTING_ID, tmp_path)
    assert backbone.images == before
    assert second.from_cache == 6 and second.computed == 0
    np.testing.assert_array_equal(first.features, second.features)


def test_renamed_and_moved_images_reuse_their_vectors(tmp_path, backbone):
    paths = make_project(tmp_path)
    first = extract_features(paths, COUNTING_ID, tmp_path)
    moved = tmp_path / "cats" / "renamed.png"
    paths[0].rename(moved)
    (tmp_path / "birds").mkdir()
    other = tmp_path / "birds" / "x.png"
    paths[1].rename(other)
    before = backbone.images
    again = extract_features([moved, other, *paths[2:]], COUNTING_ID, tmp_path)
    assert backbone.images == before
    np.testing.assert_array_equal(again.features, first.features)


def test_changed_image_is_recomputed(tmp_path, backbone):
    paths = make_project(tmp_path)
    first = extract_features(paths, COUNTING_ID, tmp_path)
    write_image(paths[2], size=(40, 30), color=(0, 0, 0), seed=99)
    before = backbone.images
    again = extract_features(paths, COUNTING_ID, tmp_path)
    assert backbone.images == before + 1 and again.computed == 1
    np.testing.assert_allclose(again.features[2], expected([paths[2]])[0], atol=1e-6)
    assert not np.allclose(again.features[2], first.features[2])


def test_same_change_within_the_mtime_tick_is_still_seen(tmp_path, backbone):
    # A stale stat index must never hide an edit: same size, mtime forced back to the old value.
    paths = make_project(tmp_path, n=2)
    extract_features(paths, COUNTING_ID, tmp_path)
    st = os.stat(paths[0])
    write_image(paths[0], size=(40, 30), color=(0, 255, 0), seed=5)
    os.utime(paths[0], ns=(st.st_atime_ns, st.st_mtime_ns))
    again = extract_features(paths, COUNTING_ID, tmp_path)
    np.testing.assert_allclose(again.features[0], expected([paths[0]])[0], atol=1e-6)


def test_duplicate_content_goes_through_the_backbone_once(tmp_path, backbone):
    paths = make_project(tmp_path, n=2)
    copy = tmp_path / "dogs" / "copy.png"
    copy.write_bytes(paths[0].read_bytes())
    result = extract_features([paths[0], copy, paths[1], copy], COUNTING_ID, tmp_path)
    assert backbone.images == 2
    assert result.computed == 2 and result.from_cache == 2
    np.testing.assert_array_equal(result.features[0], result.features[1])
    np.testing.assert_array_equal(result.features[0], result.features[3])


def test_bad_files_are_reported_and_skipped(tmp_path, backbone):
    paths = make_project(tmp_path, n=3)
    empty = tmp_path / "cats" / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "cats" / "notes.png"
    text.write_text("not a picture")
    gone = tmp_path / "cats" / "gone.png"
    truncated = write_image(tmp_path / "dogs" / "cut.jpg", size=(120, 90))
    truncated.write_bytes(truncated.read_bytes()[:400])
    every = [paths[0], empty, text, gone, truncated, paths[1], paths[2]]
    result = extract_features(every, COUNTING_ID, tmp_path)
    assert list(result.ok) == [True, False, False, False, False, True, True]
    assert set(result.failed) == {empty, text, gone, truncated}
    assert "empty" in result.failed[empty] and "no longer exists" in result.failed[gone]
    assert "not an image" in result.failed[text] and "truncated" in result.failed[truncated]
    assert not result.features[1:5].any()
    assert result.hashes[3] is None and result.hashes[1] is not None
    np.testing.assert_allclose(result.features[[0, 5, 6]], expected(paths), atol=1e-6)
    assert result.computed == 3 and result.from_cache == 0


def test_progress_reaches_the_end_and_cancel_keeps_what_was_done(tmp_path, backbone):
    paths = [write_image(tmp_path / "a" / f"{i}.png", size=(36, 36), seed=i) for i in range(100)]
    seen: list[tuple[int, int]] = []
    calls = {"n": 0}

    def stop_after_some() -> bool:
        calls["n"] += 1
        return backbone.images >= 40  # after the first batches went through the backbone

    with pytest.raises(Cancelled):
        extract_features(paths, COUNTING_ID, tmp_path, on_progress=lambda d, t: seen.append((d, t)),
                         should_stop=stop_after_some)
    cached_before = backbone.images
    assert 32 <= cached_before < 100
    seen.clear()
    result = extract_features(paths, COUNTING_ID, tmp_path, on_progress=lambda d, t: seen.append((d, t)))
    assert result.ok.all()
    assert result.from_cache >= 32 and result.computed == 100 - result.from_cache
    assert backbone.images - cached_before == result.computed
    assert seen[0] == (0, 100) and seen[-1] == (100, 100)
    assert len(seen) < 30  # throttled: a few updates, not one per image
    np.testing.assert_allclose(result.features, expected(paths), atol=1e-6)


def test_augmented_variants_are_computed_once_and_cached(tmp_path, backbone):
    paths = make_project(tmp_path, n=4)
    first = extract_features(paths, COUNTING_ID, tmp_path, variants=3)
    assert first.augmented is not None and first.augmented.shape == (4, 3, FAKE_SPEC.dim)
    assert backbone.images == 16
    # Variants differ from the original and from each other.
    assert not np.allclose(first.augmented[0, 0], first.features[0])
    assert not np.allclose(first.augmented[0, 0], first.augmented[0, 1])
    again = extract_features(paths, COUNTING_ID, tmp_path, variants=3)
    assert backbone.images == 16
    np.testing.assert_array_equal(again.augmented, first.augmented)
    more = extract_features(paths, COUNTING_ID, tmp_path, variants=4)  # only the new variant is computed
    assert backbone.images == 20
    np.testing.assert_array_equal(more.augmented[:, :3], first.augmented)
    plain = extract_features(paths, COUNTING_ID, tmp_path)
    assert backbone.images == 20 and plain.augmented is None


def test_crop_policies_are_cached_apart(tmp_path, backbone):
    paths = [write_image(tmp_path / "a" / "wide.png", size=(96, 32), seed=1)]
    squash = extract_features(paths, COUNTING_ID, tmp_path, crop="squash")
    center = extract_features(paths, COUNTING_ID, tmp_path, crop="center")
    np.testing.assert_allclose(center.features, expected(paths, crop="center"), atol=1e-6)
    assert not np.allclose(squash.features, center.features)
    assert store_file(tmp_path, "center").exists()


def test_empty_list_and_bad_arguments(tmp_path, backbone):
    result = extract_features([], COUNTING_ID, tmp_path)
    assert result.features.shape == (0, FAKE_SPEC.dim)
    with pytest.raises(ValueError):
        extract_features([], COUNTING_ID, tmp_path, crop="stretch")
    with pytest.raises(KeyError):
        extract_features([], "no-such-backbone", tmp_path)


def test_content_hash_is_sha256_of_the_bytes(tmp_path):
    path = write_image(tmp_path / "h.png")
    assert content_hash(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def _age(paths: list[Path], seconds: float = 3600) -> None:
    for path in paths:
        st = os.stat(path)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - int(seconds * 1e9)))


def test_unchanged_files_are_not_even_read_on_a_re_run(tmp_path, backbone, monkeypatch):
    paths = make_project(tmp_path)
    _age(paths)  # freshly written files are hashed every time (their mtime could still move)
    extract_features(paths, COUNTING_ID, tmp_path)
    reads: list[Path] = []
    real = extraction.read_and_hash
    monkeypatch.setattr(extraction, "read_and_hash", lambda p: (reads.append(Path(p)), real(p))[1])
    new = write_image(tmp_path / "cats" / "new.png", seed=77)
    again = extract_features([*paths, new], COUNTING_ID, tmp_path)
    assert reads == [new]
    assert again.from_cache == 6 and again.computed == 1
