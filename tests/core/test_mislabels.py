"""Possibly mislabelled images: found across the whole dataset, worst first, and never again once reviewed."""
from pathlib import Path

import numpy as np
import pytest

from imgclf_gui.core.features.extraction import extract_features
from imgclf_gui.core.project import layout
from imgclf_gui.core.project.scan import scan_samples
from imgclf_gui.core.review.mislabels import class_thresholds, expected_mislabels, find_mislabels
from imgclf_gui.core.review.reviewed import is_reviewed, mark_reviewed, reviewed_marks, unmark_reviewed
from imgclf_gui.core.training.crossval import cross_validate
from imgclf_gui.core.training.folds import assign_folds, sample_keys
from imgclf_gui.core.training.head import HeadOptions
from imgclf_gui.core.training.out_of_fold import OutOfFold, OutOfFoldError
from tests.conftest import write_image

COLOURS = {"red": (210, 40, 40), "green": (40, 190, 60), "blue": (40, 60, 210), "yellow": (220, 210, 40)}


def _colour_project(root: Path, per_class: int = 40, moved: int = 12) -> list[Path]:
    """Coloured images, one folder per colour; ``moved`` red ones are filed under green. Returns those."""
    wrong = []
    for k, (name, colour) in enumerate(COLOURS.items()):
        for i in range(per_class):
            folder = "green" if name == "red" and i < moved else name
            path = write_image(root / folder / f"{name}_{i:03d}.png", size=(40, 30), color=colour, seed=97 * k + i)
            if folder != name:
                wrong.append(path)
    return wrong


def test_twelve_red_images_filed_as_green_are_found_on_top(tmp_path, fake_backbone):  # noqa: F811
    root = tmp_path / "proj"
    wrong = _colour_project(root)
    samples = scan_samples(root)
    names = sorted(COLOURS)
    labels = np.array([names.index(s.label) for s in samples])
    extraction = extract_features([s.path for s in samples], fake_backbone.id, root)
    keys = sample_keys([s.path for s in samples], extraction.hashes)
    folds = assign_folds(keys, [s.label for s in samples])
    result = cross_validate(extraction.features, labels, folds, HeadOptions(epochs=40), num_classes=4)

    suspects = find_mislabels(result.probabilities, labels, names, [s.path for s in samples], extraction.hashes)
    top = suspects[:12]
    assert sum(s.path in wrong for s in top) >= 10
    assert all(s.label == "green" and s.suggested == "red" for s in top if s.path in wrong)
    # worst first: the least sure of their own folder first; every suggestion beats the folder
    own = [s.label_probability for s in suspects]
    assert own == sorted(own) and all(s.margin > 0 for s in suspects)
    assert top[0].to_dict().keys() >= {"path", "label", "suggested", "confidence"}

    # the ones the user keeps are not suggested again, as long as they stay in that folder
    kept = [s.path for s in top[:3]]
    mark_reviewed(root, kept)
    assert set(reviewed_marks(root).values()) == {"green"}
    again = find_mislabels(result.probabilities, labels, names, [s.path for s in samples], extraction.hashes,
                           reviewed=reviewed_marks(root))
    assert {s.path for s in again} == {s.path for s in suspects} - set(kept)
    unmark_reviewed(root, kept[:1])
    assert len(reviewed_marks(root)) == 2
    # moved to another folder, a kept image may be suggested again there: the user confirmed a class
    assert not is_reviewed(reviewed_marks(root), top[1].content_hash, "red")
    assert is_reviewed(reviewed_marks(root), top[1].content_hash, "green")


def test_a_damaged_reviewed_file_is_set_aside_with_a_sentence(tmp_path):
    root = tmp_path / "proj"
    path = write_image(root / "a" / "x.png")
    layout.reviewed_file(root).parent.mkdir(parents=True)
    layout.reviewed_file(root).write_text("{not json")
    notes = []
    assert reviewed_marks(root, notes) == {}
    assert "reviewed images" in str(notes[0]) and layout.reviewed_file(root).with_name("reviewed.json.damaged").exists()
    mark_reviewed(root, [path])
    assert list(reviewed_marks(root).values()) == ["a"]


def test_thresholds_are_each_class_s_typical_self_confidence():
    p = np.array([[.9, .1], [.7, .3], [.2, .8], [.4, .6]])
    y = np.array([0, 0, 1, 1])
    np.testing.assert_allclose(class_thresholds(p, y, 3), [0.8, 0.7, np.inf])


def test_a_hard_class_is_judged_by_its_own_standard():
    # class "b" is hard (its own images get 0.55 on average); one of its images filed under "a" has only
    # 0.6 for b: under one global cut-off of, say, 0.8 it would never be suggested
    p = np.array([[.95, .05]] * 20 + [[.45, .55]] * 20 + [[.40, .60]])
    y = np.array([0] * 20 + [1] * 20 + [0])
    suspects = find_mislabels(p, y, ["a", "b"], [f"img{i}" for i in range(41)])
    assert [(str(s.path), s.label, s.suggested) for s in suspects] == [("img40", "a", "b")]
    assert abs(suspects[0].confidence - 0.6) < 1e-9
    assert expected_mislabels(p, y, 2).tolist() == [[0, 1], [0, 0]]


def test_images_without_an_honest_prediction_take_no_part():
    p = np.array([[.9, .1]] * 10 + [[.1, .9]] * 10 + [[np.nan, np.nan]] + [[.05, .95]])
    y = np.array([0] * 10 + [1] * 10 + [0, 0])
    suspects = find_mislabels(p, y, ["a", "b"], [f"img{i}" for i in range(22)])
    assert [str(s.path) for s in suspects] == ["img21"]
    assert find_mislabels(p[20:21], y[20:21], ["a", "b"], ["x"]) == []
    with pytest.raises(ValueError):
        find_mislabels(p, y[:-1], ["a", "b"], ["x"] * 21)


def test_clean_data_gives_no_suspects():
    p = np.array([[.9, .1]] * 10 + [[.2, .8]] * 10)
    y = np.array([0] * 10 + [1] * 10)
    assert find_mislabels(p, y, ["a", "b"], [f"img{i}" for i in range(20)]) == []


def test_out_of_fold_predictions_survive_the_disk_and_a_moved_project(tmp_path):
    root = tmp_path / "proj"
    paths = [root / "a" / "x 1.png", root / "b" / "ünï.png", root / "b" / "z.png"]
    probabilities = np.array([[.9, .1], [.3, .7], [np.nan, np.nan]], np.float32)
    oof = OutOfFold.from_paths(root, paths, class_names=["a", "b"], labels=np.array([0, 1, 1]),
                               probabilities=probabilities, folds=np.array([0, 1, -1]),
                               hashes=["ab" * 32, None, "cd" * 32])
    assert oof.paths == ["a/x 1.png", "b/ünï.png", "b/z.png"]
    file = tmp_path / "out_of_fold.npz"
    oof.save(file)
    back = OutOfFold.load(file)
    assert back.paths == oof.paths and back.class_names == ["a", "b"] and back.hashes == oof.hashes
    np.testing.assert_array_equal(back.probabilities, probabilities)
    assert back.predicted.tolist() == [True, True, False]
    assert back.absolute_paths(tmp_path / "moved") == [tmp_path / "moved" / "a" / "x 1.png",
                                                       tmp_path / "moved" / "b" / "ünï.png",
                                                       tmp_path / "moved" / "b" / "z.png"]
    assert back.cell(1, 1).tolist() == [1] and back.cell(0, 0).tolist() == [0] and back.cell(1, 0).size == 0
    file.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(OutOfFoldError):
        OutOfFold.load(file)
    with pytest.raises(FileNotFoundError):
        OutOfFold.load(tmp_path / "none.npz")
