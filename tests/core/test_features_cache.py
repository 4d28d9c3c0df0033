"""The bottleneck cache survives what disks do: torn, damaged and foreign records, a damaged hash index,
a read-only project, nothing writable, a full disk, two writers at once."""
from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest

from imgclf_gui.core.features import cache
from imgclf_gui.core.features import store as feature_store
from imgclf_gui.core.features.extraction import extract_features
from imgclf_gui.core.features.store import FeatureStore
from imgclf_gui.core.support import notes
from tests.conftest import write_image
from tests.core.conftest import COUNTING_ID, expected, make_project, store_file
from tests.fakes import FAKE_SPEC


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
    assert [n.kind for n in again.warnings] == [notes.CACHE_TAIL_CUT]
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
    assert [n.kind for n in again.warnings] == [notes.CACHE_RECORDS_DROPPED]
    assert again.warnings[0].values["count"] == 2 and "2 damaged records" in notes.describe(again.warnings[0])


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
        [warning] = result.warnings
        assert warning.kind == notes.CACHE_ELSEWHERE and warning.values["reason"] == "the folder is read-only"
        assert result.cache_file is not None and not str(result.cache_file).startswith(str(project))
        np.testing.assert_allclose(result.features, expected(paths), atol=1e-6)
        before = backbone.images
        again = extract_features(paths, COUNTING_ID, project)
        assert backbone.images == before and again.from_cache == 6
    assert not (project / ".imgclf").exists()


def test_nothing_writable_still_extracts(tmp_path, backbone, monkeypatch):
    project = tmp_path / "project"
    paths = make_project(project)
    _deny_writes_under(monkeypatch, project)
    monkeypatch.setattr(cache, "_fallback_folder", lambda root: project / "nowhere")
    result = extract_features(paths, COUNTING_ID, project)
    assert result.ok.all() and result.cache_file is None
    assert [n.kind for n in result.warnings] == [notes.CACHE_UNAVAILABLE]
    assert "computed for this run only" in notes.describe(result.warnings[0])
    np.testing.assert_allclose(result.features, expected(paths), atol=1e-6)


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
    assert [(n.kind, n.values["reason"]) for n in result.warnings] == [(notes.CACHE_WRITE_FAILED, "the disk is full")]
    np.testing.assert_allclose(result.features, expected(paths), atol=1e-6)


def test_feature_store_is_readable_while_another_writer_appends(tmp_path):
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
    path = tmp_path / "s.features"
    a = FeatureStore.open(path, dim=2, identity="backbone@1")
    a.append([((b"\x02" * 32, 0), np.array([1, 2], np.float32))])
    a.close()
    b = FeatureStore.open(path, dim=2, identity="backbone@2")
    assert len(b) == 0 and b.notes
    b.close()
