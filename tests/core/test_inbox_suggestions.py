"""A project's inbox suggestions (core/review/inbox.py) on real image files through the fake backbone: which
model they come from, that the caches are reused and no image is decoded to look vectors up, extraction in
chunks that can stop, and "accept" as one undoable journal action."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from imgclf_gui.core.project import layout
from imgclf_gui.core.project.journal import Journal
from imgclf_gui.core.review import inbox
from imgclf_gui.core.review.inbox import (
    FeatureChoice,
    SuggestError,
    VectorBank,
    accept_label,
    accept_ops,
    extract_in_chunks,
    gather_cached,
    labelled_rows,
    project_suggestions,
    suggestion_features,
)
from imgclf_gui.core.review.suggestions import accept_plan
from imgclf_gui.core.support.tasks_api import Cancelled
from imgclf_gui.core.training.config import TrainConfig, save_project_config
from tests.conftest import write_image

COLOURS = {"blue": (30, 40, 220), "green": (40, 200, 40), "red": (220, 40, 40)}


def colour_project(root: Path, backbone: str, per_class: int = 6, inbox_per_colour: int = 2) -> Path:
    """Class folders of coloured images and an inbox holding ``inbox_per_colour`` more of each colour,
    named ``<colour>-<i>.png`` so a test knows the truth."""
    for k, (name, colour) in enumerate(COLOURS.items()):
        for i in range(per_class):
            write_image(root / name / f"{name}{i}.png", size=(40, 30), color=colour, seed=100 * k + i)
        for i in range(inbox_per_colour):
            write_image(root / "unsorted" / f"{name}-{i}.png", size=(40, 30), color=colour, seed=1000 + 100 * k + i)
    save_project_config(root, TrainConfig(backbone=backbone))
    age(root)
    return root


def age(root: Path) -> None:
    """Date every image a minute back: the stat index does not trust files changed in the last seconds."""
    import os
    import time

    for path in root.rglob("*.png"):
        os.utime(path, (time.time() - 60, time.time() - 60))


def test_every_inbox_image_gets_its_colour_from_a_quick_model(tmp_path, fake_backbone):
    root = colour_project(tmp_path / "proj", fake_backbone.id)
    found = project_suggestions(root)
    assert found.suggestions.source.kind == "quick" and found.suggestions.source.images == 18
    assert len(found.inbox) == 6 and not found.failed
    for path in found.inbox:
        suggestion = found.suggestions.of(found.hash_of[path])
        assert suggestion.class_name == path.stem.split("-")[0], path
        assert suggestion.confidence > 0.6


def test_unreadable_inbox_images_are_named_and_the_others_suggested(tmp_path, fake_backbone):
    root = colour_project(tmp_path / "proj", fake_backbone.id)
    (root / "unsorted" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n cut short")
    found = project_suggestions(root)
    assert list(found.failed) == [root / "unsorted" / "broken.png"]
    assert found.suggestions.of(found.hash_of.get(root / "unsorted" / "broken.png")) is None
    assert len(found.suggestions) == 6


def test_too_few_sorted_images_and_no_model_is_one_sentence(tmp_path, fake_backbone):
    root = colour_project(tmp_path / "proj", fake_backbone.id, per_class=4)
    with pytest.raises(SuggestError, match="at least 2 classes of 5 readable images"):
        project_suggestions(root)
    shutil.rmtree(root / "unsorted")
    with pytest.raises(SuggestError, match="holds no images"):
        project_suggestions(root)


def test_the_active_run_suggests_while_too_few_images_are_sorted_but_not_after_a_class_is_renamed(
        tmp_path, fake_backbone):
    from imgclf_gui.core.models.runs import record_training
    from imgclf_gui.core.training.trainer import train

    root = colour_project(tmp_path / "proj", fake_backbone.id, per_class=8)
    record_training(root, train(TrainConfig(backbone=fake_backbone.id, epochs=30, learning_rate=0.01), root))
    assert suggestion_features(root).run_folder is not None
    for name in COLOURS:  # most sorted images leave: 3 per class is too few for a quick model
        for i in range(3, 8):
            (root / name / f"{name}{i}.png").unlink()
    found = project_suggestions(root)
    assert found.suggestions.source.kind == "run"
    assert found.suggestions.source.describe().startswith("the active model (run of ")
    assert all(found.suggestions.of(found.hash_of[p]).class_name == p.stem.split("-")[0] for p in found.inbox)
    (root / "red").rename(root / "crimson")  # the run would suggest a class that no longer exists
    with pytest.raises(SuggestError):
        project_suggestions(root)


def test_suggestions_use_the_active_runs_backbone_else_the_training_settings(tmp_path, fake_backbone):
    root = colour_project(tmp_path / "proj", fake_backbone.id)
    assert suggestion_features(root) == FeatureChoice(fake_backbone.id, "squash", None)
    save_project_config(root, TrainConfig(backbone=fake_backbone.id, crop="center"))
    assert suggestion_features(root).crop == "center"


def test_cached_vectors_are_found_without_decoding_any_image(tmp_path, fake_backbone, monkeypatch):
    from imgclf_gui.core.features import extraction
    from imgclf_gui.core.images import decode

    root = colour_project(tmp_path / "proj", fake_backbone.id)
    choice = suggestion_features(root)
    paths = sorted(root.glob("*/*.png"))
    first = extraction.extract_features(paths, choice.backbone, root, crop=choice.crop)

    def no_decoding(*_a, **_k):
        raise AssertionError("an image was decoded")

    monkeypatch.setattr(decode, "decode_for_network", no_decoding)
    monkeypatch.setattr(decode, "load_rgb", no_decoding)
    write_image(root / "unsorted" / "new.png", seed=77)
    gathered = gather_cached(root, choice, paths + [root / "unsorted" / "new.png"], {})
    assert gathered.missing == [root / "unsorted" / "new.png"]
    assert [gathered.hash_of[p] for p in paths] == first.hashes
    assert np.allclose(gathered.vectors, first.features)
    # contents the bank holds already are not read again; their hashes still come back
    again = gather_cached(root, choice, paths, {}, have=first.hashes)
    assert again.vectors is None and len(again.hash_of) == len(paths) and not again.missing


def test_extraction_hands_over_chunks_and_a_stop_keeps_what_was_computed(tmp_path, fake_backbone, monkeypatch):
    monkeypatch.setattr(inbox, "FIRST_CHUNK", 4)
    monkeypatch.setattr(inbox, "CHUNK", 8)
    root = colour_project(tmp_path / "proj", fake_backbone.id, per_class=5, inbox_per_colour=5)
    choice = suggestion_features(root)
    paths = sorted((root / "unsorted").glob("*.png"))  # 15 images: chunks of 4, 8, 3
    chunks, progress = [], []
    assert extract_in_chunks(root, choice, paths, chunks.append, on_progress=lambda d, t: progress.append((d, t))) == 0
    assert [len(c.paths) for c in chunks] == [4, 8, 3] and [c.done for c in chunks] == [4, 12, 15]
    assert progress[0] == (0, 15) and progress[-1] == (15, 15)
    assert all(c.vectors.shape == (len(c.paths), fake_backbone.dim) for c in chunks)

    shutil.rmtree(layout.features_dir(layout.state_dir(root)))
    seen = []

    def stop_after_first() -> bool:
        return bool(seen)

    with pytest.raises(Cancelled):
        extract_in_chunks(root, choice, paths, seen.append, should_stop=stop_after_first)
    assert len(seen) == 1
    gathered = gather_cached(root, choice, paths, {})
    assert len(gathered.hashes) == 4, "the first chunk stayed cached"


def test_labelled_rows_are_the_sorted_images_the_bank_holds(tmp_path, fake_backbone):
    root = colour_project(tmp_path / "proj", fake_backbone.id, per_class=2, inbox_per_colour=0)
    choice = suggestion_features(root)
    gathered = gather_cached(root, choice, [], {})
    assert gathered.missing == []
    sorted_paths = sorted(p for p in root.glob("*/*.png"))
    chunks = []
    extract_in_chunks(root, choice, sorted_paths[:4], chunks.append)
    bank = VectorBank(fake_backbone.dim)
    hash_of = {}
    for chunk in chunks:
        bank.add(chunk.hashes, chunk.vectors)
        hash_of.update(zip(chunk.paths, chunk.hashes))
    _matrix, rows = bank.snapshot()
    picked, labels, missing = labelled_rows(root, hash_of, rows)
    assert labels == ["blue", "blue", "green", "green"] and len(picked) == 4
    assert missing == sorted_paths[4:]


def test_accepting_is_one_journal_action_that_one_undo_takes_back(tmp_path, fake_backbone):
    root = colour_project(tmp_path / "proj", fake_backbone.id)
    found = project_suggestions(root)
    plan = accept_plan(found.inbox, found.hash_of, found.suggestions, 0.6)
    assert sum(len(v) for v in plan.values()) == 6
    label = accept_label(plan, 0.6)
    assert label == "accept 6 suggestions at or above 60% (blue 2, green 2, red 2)"
    journal = Journal(root)
    result = journal.run(label, accept_ops(root, plan))
    assert len(result.moved) == 6 and not any((root / "unsorted").iterdir())
    assert (root / "green" / "green-1.png").exists()
    journal.close()
    journal = Journal(root)  # the app opening the project later
    assert journal.undo_label() == label
    journal.undo()
    journal.close()
    assert sorted(p.name for p in (root / "unsorted").iterdir()) == sorted(p.name for p in found.inbox)


def test_a_combined_backbone_suggests_from_both_networks_cached_features(tmp_path, fake_pair):
    root = colour_project(tmp_path / "proj", fake_pair.id)
    found = project_suggestions(root)
    assert all(found.suggestions.of(found.hash_of[p]).class_name == p.stem.split("-")[0] for p in found.inbox)
    choice = suggestion_features(root)
    paths = sorted((root / "unsorted").glob("*.png"))
    gathered = gather_cached(root, choice, paths, {})
    assert not gathered.missing and gathered.vectors.shape == (6, fake_pair.dim)
