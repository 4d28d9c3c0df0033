"""Bottleneck extraction and its cache: right vectors, computed once, survives crashes and damage."""
from __future__ import annotations

import errno
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from imgclf_gui.core.backbones import register_backbone, unregister_backbone
from imgclf_gui.core.features import extraction as features
from imgclf_gui.core.features import store as feature_store
from imgclf_gui.core.features.extraction import content_hash, extract_features
from imgclf_gui.core.images.decode import load_for_network
from imgclf_gui.core.support.tasks_api import Cancelled
from tests.conftest import write_image
from tests.fakes import FAKE_SPEC, build_fake_keras, fake_features

COUNTING_ID = "fake-counting"


class Counter:
    """The fake backbone, counting how many images go through it."""

    def __init__(self) -> None:
        self.images = 0
        self.calls = 0

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.calls += 1
        self.images += len(batch)
        return fake_features(batch)


@pytest.fixture
def backbone():
    counter = Counter()
    spec = replace(FAKE_SPEC, id=COUNTING_ID)
    register_backbone(spec, build_fake_keras, numpy_features=counter, replace=True)
    counter.spec = spec
    try:
        yield counter
    finally:
        unregister_backbone(COUNTING_ID)


def make_project(root: Path, n: int = 6, fmt: str = "png") -> list[Path]:
    paths = []
    for i in range(n):
        label = "cats" if i % 2 else "dogs"
        colour = (20 * i, 100, 200 - 20 * i)
        paths.append(write_image(root / label / f"img{i}.{fmt}", size=(40 + i, 30), color=colour, seed=i))
    return paths


def expected(paths: list[Path], size: int = 32, crop: str = "squash") -> np.ndarray:
    return fake_features(np.stack([load_for_network(p, size, crop) for p in paths]))


def store_file(root: Path, crop: str = "squash") -> Path:
    return root / ".imgclf" / "features" / f"{COUNTING_ID}@test-1" / f"{crop}.features"


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


def test_torn_last_record_is_cut_off_and_recomputed(tmp_path, backbone):
    paths = make_project(tmp_path)
    first = extract_features(paths, COUNTING_ID, tmp_path)
    file = store_file(tmp_path)
    record = feature_store.record_size(FAKE_SPEC.dim)
    size = file.stat().st_size
    with open(file, "r+b") as handle:  # a crash half-way through writing the last record
        handle.truncate(size - record // 2)
    before = backbone.images
    again = extract_features(paths, COUNTING_ID, tmp_path)
    assert backbone.images == before + 1
    assert any("half-written" in w for w in again.warnings)
    np.testing.assert_array_equal(again.features, first.features)
    assert (file.stat().st_size - feature_store.HEADER_SIZE) % record == 0


def test_garbage_appended_is_detected(tmp_path, backbone):
    paths = make_project(tmp_path)
    first = extract_features(paths, COUNTING_ID, tmp_path)
    record = feature_store.record_size(FAKE_SPEC.dim)
    with open(store_file(tmp_path), "ab") as handle:
        handle.write(os.urandom(record * 2))  # whole "records" of noise: only their checksums tell
    before = backbone.images
    again = extract_features(paths, COUNTING_ID, tmp_path)
    assert backbone.images == before
    np.testing.assert_array_equal(again.features, first.features)
    assert any("damaged" in w for w in again.warnings)


def test_flipped_bytes_in_a_vector_are_detected_and_recomputed(tmp_path, backbone):
    paths = make_project(tmp_path)
    first = extract_features(paths, COUNTING_ID, tmp_path)
    file = store_file(tmp_path)
    data = bytearray(file.read_bytes())
    offset = feature_store.HEADER_SIZE + feature_store.record_size(FAKE_SPEC.dim) * 2 + 50
    data[offset] ^= 0xFF
    file.write_bytes(bytes(data))
    before = backbone.images
    again = extract_features(paths, COUNTING_ID, tmp_path)
    assert backbone.images == before + 1
    np.testing.assert_array_equal(again.features, first.features)
    third = extract_features(paths, COUNTING_ID, tmp_path)  # repaired for good
    assert backbone.images == before + 1 and third.warnings == []


def test_damaged_header_starts_the_cache_afresh(tmp_path, backbone):
    paths = make_project(tmp_path)
    first = extract_features(paths, COUNTING_ID, tmp_path)
    file = store_file(tmp_path)
    data = bytearray(file.read_bytes())
    data[3] ^= 0x20
    file.write_bytes(bytes(data))
    again = extract_features(paths, COUNTING_ID, tmp_path)
    assert backbone.images == 12
    np.testing.assert_array_equal(again.features, first.features)


def test_damaged_hash_index_is_ignored(tmp_path, backbone):
    paths = make_project(tmp_path)
    first = extract_features(paths, COUNTING_ID, tmp_path)
    (tmp_path / ".imgclf" / "hash-index.json").write_text("{ not json")
    again = extract_features(paths, COUNTING_ID, tmp_path)
    assert backbone.images == 6
    np.testing.assert_array_equal(again.features, first.features)


def test_wrong_hash_in_the_index_is_not_trusted_for_a_new_file(tmp_path, backbone):
    # The index is keyed by path and stat; a different file at the same path has another inode/size.
    paths = make_project(tmp_path, n=2)
    extract_features(paths, COUNTING_ID, tmp_path)
    paths[0].unlink()
    write_image(paths[0], size=(50, 50), color=(1, 2, 3), seed=42)
    again = extract_features(paths, COUNTING_ID, tmp_path)
    np.testing.assert_allclose(again.features[0], expected([paths[0]])[0], atol=1e-6)


def _deny_writes_under(monkeypatch, folder: Path, err: int = errno.EACCES) -> None:
    """Make ``folder`` behave as read-only (tests may run as root, where chmod stops nothing)."""
    real_open, real_mkdir, real_mkstemp = os.open, Path.mkdir, feature_store.tempfile.mkstemp
    prefix = str(folder)

    def guarded_open(path, flags, *args, **kwargs):
        if str(path).startswith(prefix) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(err, os.strerror(err), str(path))
        return real_open(path, flags, *args, **kwargs)

    def guarded_mkdir(self, *args, **kwargs):
        if str(self).startswith(prefix) and not self.exists():
            raise OSError(err, os.strerror(err), str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded_open)
    monkeypatch.setattr(Path, "mkdir", guarded_mkdir)
    def refusing_mkstemp(*a, dir=None, **k):
        if str(dir).startswith(prefix):
            raise OSError(err, os.strerror(err))
        return real_mkstemp(*a, dir=dir, **k)

    monkeypatch.setattr(feature_store.tempfile, "mkstemp", refusing_mkstemp)


def test_read_only_project_caches_in_the_user_cache_instead(tmp_path, backbone, monkeypatch):
    project = tmp_path / "project"
    paths = make_project(project)
    with monkeypatch.context() as patch:
        _deny_writes_under(patch, project)
        result = extract_features(paths, COUNTING_ID, project)
        assert result.ok.all()
        assert any("read-only" in w for w in result.warnings)
        assert result.cache_file is not None and not str(result.cache_file).startswith(str(project))
        np.testing.assert_allclose(result.features, expected(paths), atol=1e-6)
        before = backbone.images
        again = extract_features(paths, COUNTING_ID, project)
        assert backbone.images == before and again.from_cache == 6
    assert not (project / ".imgclf").exists()


def test_nothing_writable_still_extracts(tmp_path, backbone, monkeypatch):
    project = tmp_path / "project"
    paths = make_project(project)
    cache = Path(os.environ["IMGCLF_CACHE_DIR"])
    _deny_writes_under(monkeypatch, project)
    real_folder = features._fallback_folder
    monkeypatch.setattr(features, "_fallback_folder", lambda root: project / "nowhere")
    result = extract_features(paths, COUNTING_ID, project)
    assert result.ok.all() and result.cache_file is None
    assert any("computed for this run only" in w for w in result.warnings)
    np.testing.assert_allclose(result.features, expected(paths), atol=1e-6)
    assert real_folder and cache.exists()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere")
def test_read_only_project_for_real(tmp_path, backbone):
    project = tmp_path / "project"
    paths = make_project(project)
    project.chmod(0o555)
    try:
        result = extract_features(paths, COUNTING_ID, project)
    finally:
        project.chmod(0o755)
    assert result.ok.all() and result.warnings


def test_full_disk_keeps_computing_and_says_so(tmp_path, backbone, monkeypatch):
    paths = make_project(tmp_path)

    def no_space(self, items):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(feature_store.FeatureStore, "append", no_space)
    result = extract_features(paths, COUNTING_ID, tmp_path)
    assert result.ok.all()
    assert any("disk is full" in w for w in result.warnings)
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
    import hashlib

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
    real = features.read_and_hash
    monkeypatch.setattr(features, "read_and_hash", lambda p: (reads.append(Path(p)), real(p))[1])
    new = write_image(tmp_path / "cats" / "new.png", seed=77)
    again = extract_features([*paths, new], COUNTING_ID, tmp_path)
    assert reads == [new]
    assert again.from_cache == 6 and again.computed == 1


def test_feature_store_is_readable_while_another_writer_appends(tmp_path):
    from imgclf_gui.core.features.store import FeatureStore

    path = tmp_path / "s.features"
    writer = FeatureStore.open(path, dim=4, identity="x")
    writer.append([((bytes(32), 0), np.arange(4, dtype=np.float32))])
    # A half-written record from the writer must be invisible to a reader, and left alone by it.
    with open(path, "ab") as handle:
        handle.write(b"\x01" * 10)
    reader = FeatureStore.open(path, dim=4, identity="x", writable=False)
    assert len(reader) == 1 and reader.get((bytes(32), 0)).tolist() == [0, 1, 2, 3]
    assert path.stat().st_size == feature_store.HEADER_SIZE + feature_store.record_size(4) + 10
    reader.close()
    # The next append (under the lock: no write can be in progress) cuts the torn tail off first.
    writer.append([((b"\x01" * 32, 0), np.ones(4, np.float32))])
    second = FeatureStore.open(path, dim=4, identity="x")
    assert len(second) == 2 and second.notes == []
    writer.close()
    second.close()


def test_feature_store_picks_up_what_another_process_appended(tmp_path):
    from imgclf_gui.core.features.store import FeatureStore

    path = tmp_path / "s.features"
    a = FeatureStore.open(path, dim=2, identity="x")
    b = FeatureStore.open(path, dim=2, identity="x")
    a.append([((b"\x02" * 32, 0), np.array([1, 2], np.float32))])
    b.append([((b"\x03" * 32, 0), np.array([3, 4], np.float32))])
    assert b.get((b"\x02" * 32, 0)).tolist() == [1, 2]  # b took in a's record before appending
    a.close()
    b.close()
    c = FeatureStore.open(path, dim=2, identity="x")
    assert len(c) == 2 and c.notes == []
    c.close()


def test_feature_store_of_another_identity_is_not_reused(tmp_path):
    from imgclf_gui.core.features.store import FeatureStore

    path = tmp_path / "s.features"
    a = FeatureStore.open(path, dim=2, identity="backbone@1")
    a.append([((b"\x02" * 32, 0), np.array([1, 2], np.float32))])
    a.close()
    b = FeatureStore.open(path, dim=2, identity="backbone@2")
    assert len(b) == 0 and b.notes
    b.close()
