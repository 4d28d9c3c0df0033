"""Opening never fails on damaged state: every state file of a project, damaged in every way we know, is
set aside (NAME.damaged) with one note naming it, and whatever reads it carries on as if it were missing."""
from __future__ import annotations

import json
import os
import sqlite3

import numpy as np
import pytest

from imgclf_gui.core.models.runs import active_run_id, list_runs
from imgclf_gui.core.project import layout
from imgclf_gui.core.project.manifest import load_manifest, open_project
from imgclf_gui.core.review.project_state import check_project_state
from imgclf_gui.core.review.reviewed import reviewed_marks
from imgclf_gui.core.support.settings import Settings, load_settings
from imgclf_gui.core.training.config import TrainConfig, load_project_config, save_project_config
from tests.conftest import write_image

RUN = "20250101-000000-000001"

#: Each state file of a project: where it is (from the project root) and the words its note uses.
STATE_FILES = {
    "manifest": (lambda r: layout.manifest_file(r), "manifest"),
    "folds": (lambda r: layout.folds_file(r), "cross-validation folds"),
    "split": (lambda r: layout.split_file(r), "split"),
    "training settings": (lambda r: layout.training_settings_file(r), "Training tab's settings"),
    "run": (lambda r: layout.runs_dir(r) / RUN / "run.json", f"training run {RUN}"),
    "active model": (lambda r: layout.active_model_file(r), "active model"),
    "hash index": (lambda r: layout.hash_index_file(layout.state_dir(r)), "index of file contents"),
    "unreadable memory": (lambda r: layout.unreadable_file(layout.state_dir(r)), "could not be decoded"),
    "reviewed": (lambda r: layout.reviewed_file(r), "kept after review"),
}
#: Files written again at once from what could be read (the others are simply made again when needed).
REBUILT = {"manifest", "training settings"}
#: Damage any JSON state file can suffer: each is set aside, never trusted, never fatal.
DAMAGE = {
    "not JSON": b'{"half": ',
    "null": b"null",
    "a list": b"[1, 2, 3]",
    "not UTF-8": b'{"a": "\xff\xfe"}',
    "a number": b"42",
    "nested too deep": b"[" * 100_000 + b"]" * 100_000,
}
#: Well-formed JSON with a field missing or of the wrong type, per file.
WRONG_FIELDS = {
    "manifest": {"schema_version": 1, "class_keys": ["not", "a", "dict"]},
    "folds": {"schema": 1, "folds": {"5": [["a"], 7]}, "test": {"percent": 10, "keys": [], "others": []}},
    "split": {"validation_percent": 10, "test_percent": 10, "assignment": {"abc": 3}},
    "training settings": {"schema": 1, "config": {"epochs": "many", "batch_size": 64}},
    "run": {"created": "2025", "settings": [["epochs", 3]], "figures": {}, "history": []},
    "active model": {"schema": 1, "run_id": 7},
    "hash index": {"format": "imgclf-hash-index", "version": 2, "hash": "sha256", "entries": {},
                   "checksum": "0" * 64},
    "unreadable memory": {"format": "imgclf-unreadable", "version": 2, "decoder": "x", "entries": {},
                          "checksum": "0" * 64},
    "reviewed": {"schema": 1, "reviewed": {"abc": 5}},
}


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "project"
    write_image(root / "cat" / "c0.png", seed=1)
    (layout.runs_dir(root) / RUN / "model").mkdir(parents=True)
    return root


def damage(root, which: str, content: bytes):
    path = STATE_FILES[which][0](root)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def assert_set_aside(root, which: str, notes, path):
    words = STATE_FILES[which][1]
    mine = [str(n) for n in notes if words in str(n)]
    assert len(mine) == 1, [str(n) for n in notes]
    assert "set aside as" in mine[0] and path.name + ".damaged" in mine[0]
    assert path.with_name(path.name + ".damaged").exists()
    if which not in REBUILT:
        assert not path.exists()


@pytest.mark.parametrize("which", sorted(STATE_FILES))
@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_each_damaged_state_file_is_set_aside_with_a_note(project, which, kind):
    path = damage(project, which, DAMAGE[kind])
    notes = check_project_state(project)
    assert_set_aside(project, which, notes, path)
    assert check_project_state(project) == []  # once: the next opening finds nothing to say


@pytest.mark.parametrize("which", sorted(WRONG_FIELDS))
def test_a_field_of_the_wrong_type_is_damage(project, which):
    path = damage(project, which, json.dumps(WRONG_FIELDS[which]).encode())
    assert_set_aside(project, which, check_project_state(project), path)


def test_after_setting_aside_everything_reads_as_missing(project):
    for which in STATE_FILES:
        damage(project, which, b"null")
    check_project_state(project)
    assert load_manifest(project).class_keys == {}
    assert list_runs(project) == [] and active_run_id(project) is None
    assert load_project_config(project) == TrainConfig()
    assert reviewed_marks(project) == {}


def test_a_manifest_field_of_the_wrong_type_keeps_the_rest(project):
    path = damage(project, "manifest", json.dumps({"created": 12.5, "class_keys": {"cat": 7}}).encode())
    notes = []
    manifest = open_project(project, notes=notes)
    assert manifest.created == 12.5 and manifest.class_keys == {}
    assert "class_keys" in str(notes[0]) and json.loads(path.read_text())["created"] == 12.5


def test_training_settings_keep_what_could_be_read(project):
    save_project_config(project, TrainConfig(epochs=7))
    data = json.loads(layout.training_settings_file(project).read_text())
    data["config"]["batch_size"] = "big"
    layout.training_settings_file(project).write_text(json.dumps(data))
    notes = check_project_state(project)
    assert "'batch_size'" in str(notes[0])
    assert load_project_config(project) == TrainConfig(epochs=7)


def test_a_good_project_has_nothing_to_say(project):
    save_project_config(project, TrainConfig())
    open_project(project)
    assert check_project_state(project) == []


def test_a_fifo_in_place_of_a_state_file_is_set_aside_not_opened(project):
    path = layout.manifest_file(project)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    notes = []
    open_project(project, notes=notes)  # would block for ever if the FIFO were opened
    assert "named pipe" in str(notes[0]) and os.path.exists(str(path) + ".damaged")


@pytest.mark.parametrize("content", [b"not a database at all, just text", b"SQLite format 3\x00" + b"\x00" * 80])
def test_a_damaged_thumbnail_cache_is_set_aside_and_made_again(project, content):
    from imgclf_gui.core.images.thumbnails import ThumbnailCache

    db = layout.thumbs_dir(project) / "thumbs-128.sqlite"
    db.parent.mkdir(parents=True)
    db.write_bytes(content)
    (db.parent / "thumbs-128.sqlite-wal").write_bytes(b"stale log")
    notes = check_project_state(project)
    assert "thumbnail cache" in str(notes[0]) and not (db.parent / "thumbs-128.sqlite-wal").exists()
    cache = ThumbnailCache(project, 128)
    cache.get_or_make(project / "cat" / "c0.png")
    assert cache.get(project / "cat" / "c0.png") is not None  # kept again
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT count(*) FROM thumbs").fetchone()[0] == 1


@pytest.mark.parametrize("content", [b"\xff", b"null", b"[]", b'{"thumbnail_size": "huge", "import_mode": "move"}'])
def test_damaged_preferences_are_set_aside_and_the_rest_kept(tmp_path, content):
    path = tmp_path / "settings.json"
    path.write_bytes(content)
    notes = []
    settings = load_settings(path, notes)
    assert "preferences" in str(notes[0]) and (tmp_path / "settings.json.damaged").exists()
    if b"import_mode" in content:
        assert settings == Settings(import_mode="move")
        assert load_settings(path) == settings  # written again, without the damage
    else:
        assert settings == Settings()


def test_a_valid_looking_but_wrong_hash_index_never_gives_an_image_another_images_bottleneck(
        tmp_path, fake_backbone):  # noqa: F811
    """The case that was measured: a hash index edited (or half-synced) so 60 of 90 files point at other
    files' hashes. Its checksum no longer matches: it is set aside and every image gets its own vector."""
    from imgclf_gui.core.features.extraction import extract_features

    paths = [write_image(tmp_path / f"class{k}" / f"img{i}.png", color=(40 * k, 90, 200 - 40 * k), seed=100 * k + i)
             for k in range(3) for i in range(30)]
    for path in paths:  # the index only vouches for files older than a few seconds: age them
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns - 10**10))
    first = extract_features(paths, fake_backbone.id, tmp_path)
    assert first.ok.all() and first.computed == 90
    index_file = layout.hash_index_file(layout.state_dir(tmp_path))
    data = json.loads(index_file.read_text())
    keys = sorted(data["entries"])
    assert len(keys) == 90
    shuffled = {key: data["entries"][key] for key in keys}
    for n, key in enumerate(keys[:60]):  # 60 of 90 entries now name another image's content
        other = data["entries"][keys[(n + 1) % 60]]
        shuffled[key] = data["entries"][key][:3] + [other[3]]
    data["entries"] = shuffled
    index_file.write_text(json.dumps(data))  # valid JSON, valid shape; only the checksum knows
    third = extract_features(paths, fake_backbone.id, tmp_path)
    assert np.array_equal(third.features, first.features), "an image got another image's bottleneck"
    assert any("index of file contents" in str(w) and "set aside" in str(w) for w in third.warnings)
    assert (index_file.parent / "hash-index.json.damaged").exists()


def test_the_command_line_prints_what_was_set_aside(project, capsys):
    from imgclf_gui.cli import main

    write_image(project / "dog" / "d0.png", seed=2)
    damage(project, "active model", b"[]")
    damage(project, "manifest", b"\x00\x01")
    assert main(["check", str(project)]) == 0
    err = capsys.readouterr().err
    assert "imgclf check: The choice of active model (.imgclf/active_model.json) was damaged" in err
    assert "manifest" in err and "set aside as manifest.json.damaged" in err


def test_a_thumbnail_whose_bytes_do_not_decode_says_so(tmp_path):
    from imgclf_gui.core.images.thumbnails import ThumbnailError, make_thumbnail, thumbnail_rgb

    good = thumbnail_rgb(make_thumbnail(write_image(tmp_path / "a.png", size=(300, 150)), 128))
    assert good.shape == (64, 128, 3) and good.dtype == np.uint8
    with pytest.raises(ThumbnailError, match="its thumbnail cannot be decoded"):
        thumbnail_rgb(b"\xff\xd8\xff not a JPEG after all")
