"""Folds a user relies on: every class in every fold, known images keep their fold, duplicates together."""
import json
from collections import Counter

import numpy as np
import pytest

from imgclf_gui.core.project import layout
from imgclf_gui.core.training.folds import (
    TEST_PART,
    FoldMemory,
    assign_folds,
    inner_validation,
    load_fold_memory,
    sample_keys,
    save_fold_memory,
)


def _images(per_class: dict[str, int], start: int = 0) -> tuple[list[str], list[str]]:
    keys, labels = [], []
    for label, n in per_class.items():
        for i in range(start, start + n):
            keys.append(f"{label}-{i}")
            labels.append(label)
    return keys, labels


def _fold_by_key(assignment) -> dict[str, int]:
    return {key: int(f) for key, f in zip(assignment.keys, assignment.fold_of)}


def test_every_class_is_spread_evenly_over_five_folds():
    keys, labels = _images({"circle": 60, "square": 61, "plus": 7})
    a = assign_folds(keys, labels)
    assert a.k == 5 and not a.choice.reduced
    per = Counter((labels[i], int(f)) for i, f in enumerate(a.fold_of))
    assert [per[("circle", f)] for f in range(5)] == [12] * 5
    assert sorted(per[("square", f)] for f in range(5)) == [12, 12, 12, 12, 13]
    assert sorted(per[("plus", f)] for f in range(5)) == [1, 1, 1, 2, 2]
    # each fold trains on everything else and holds out its own part, never both
    for f in range(5):
        assert set(a.training(f)).isdisjoint(a.held_out(f))
        assert len(a.training(f)) + len(a.held_out(f)) == len(keys)
    # the same images in another order get the same folds
    again = assign_folds(keys[::-1], labels[::-1])
    assert _fold_by_key(again) == _fold_by_key(a)


def test_adding_images_never_moves_known_ones_and_new_ones_fill_the_short_folds():
    keys, labels = _images({"a": 40, "b": 40})
    before = assign_folds(keys, labels)
    more_keys, more_labels = _images({"a": 23, "c": 10}, start=40)
    after = assign_folds(keys + more_keys, labels + more_labels, memory=before.memory)
    old, new = _fold_by_key(before), _fold_by_key(after)
    assert all(new[k] == f for k, f in old.items())
    per = Counter((key.split("-")[0], f) for key, f in new.items())
    assert sorted(per[("a", f)] for f in range(5)) == [12, 12, 13, 13, 13]
    assert [per[("c", f)] for f in range(5)] == [2] * 5


def test_exact_duplicates_share_a_fold_even_across_classes():
    keys, labels = _images({"a": 30, "b": 30})
    keys += ["a-3", "a-3", "a-7"]  # two more copies of a-3 in a, and a-7 filed under b as well
    labels += ["a", "a", "b"]
    a = assign_folds(keys, labels)
    folds = {}
    for key, f in zip(keys, a.fold_of):
        folds.setdefault(key, set()).add(int(f))
    assert all(len(fs) == 1 for fs in folds.values())


def test_a_tiny_class_lowers_the_fold_count_and_says_why():
    keys, labels = _images({"big": 100, "tiny": 3})
    a = assign_folds(keys, labels)
    assert a.k == 3 and a.choice.reduced
    assert (a.choice.smallest_class, a.choice.smallest_count, a.choice.requested) == ("tiny", 3, 5)
    # each fold holds out exactly one of the tiny class's images, so each trains on two
    tiny = [i for i, label in enumerate(labels) if label == "tiny"]
    assert sorted(int(a.fold_of[i]) for i in tiny) == [0, 1, 2]
    # never fewer than two folds, even when a class's images are all one picture
    keys2, labels2 = _images({"big": 20})
    a2 = assign_folds(keys2 + ["x", "x"], labels2 + ["tiny", "tiny"])
    assert a2.k == 2 and a2.choice.unpredictable


def test_the_test_part_is_in_no_fold_and_is_remembered():
    keys, labels = _images({"a": 50, "b": 50})
    a = assign_folds(keys, labels, test_percent=10)
    test = set(a.test.tolist())
    assert Counter(labels[i] for i in test) == {"a": 5, "b": 5}
    for f in range(a.k):
        assert test.isdisjoint(a.training(f)) and test.isdisjoint(a.held_out(f))
    assert set(a.folded.tolist()) == set(range(100)) - test
    more_keys, more_labels = _images({"a": 50}, start=50)
    b = assign_folds(keys + more_keys, labels + more_labels, test_percent=10, memory=a.memory)
    assert {keys[i] for i in test} <= {b.keys[i] for i in b.test}
    assert Counter(b.keys[i].split("-")[0] for i in b.test) == {"a": 10, "b": 5}
    # with the test part off, every image is folded (and the test memory waits for it to be turned on)
    c = assign_folds(keys, labels, memory=b.memory)
    assert len(c.test) == 0 and len(c.folded) == 100
    d = assign_folds(keys, labels, test_percent=10, memory=c.memory)
    assert {keys[i] for i in d.test} == {keys[i] for i in test}


def test_fold_memory_survives_a_round_trip_and_a_damaged_file(tmp_path):
    keys, labels = _images({"a": 20, "b": 20})
    a = assign_folds(keys, labels, test_percent=10)
    save_fold_memory(tmp_path, a.memory)
    loaded = load_fold_memory(tmp_path)
    b = assign_folds(keys, labels, test_percent=10, memory=loaded)
    assert np.array_equal(a.fold_of, b.fold_of)
    layout.folds_file(tmp_path).write_text('{"schema": 1, "folds": {"5": [["x"]], "zz": 3}, "test": 7}')
    assert load_fold_memory(tmp_path).folds == {}  # wrong shapes: left out
    layout.folds_file(tmp_path).write_bytes(b"\xff garbage")
    notes = []
    assert load_fold_memory(tmp_path, notes) == FoldMemory()
    # set aside (never deleted), with a sentence for the user; the folds are simply made again
    assert layout.folds_file(tmp_path).with_name("folds.json.damaged").read_bytes() == b"\xff garbage"
    assert len(notes) == 1 and "fold memory" in str(notes[0]) and "set aside" in str(notes[0])
    assert np.array_equal(assign_folds(keys, labels, test_percent=10).fold_of, a.fold_of)


def test_old_split_memory_seeds_the_test_part(tmp_path):
    keys, labels = _images({"a": 30, "b": 30})
    old_test = ["a-4", "a-9", "a-17", "b-0", "b-5", "b-22"]
    assignment = {k: ("test" if k in old_test else "train") for k in keys}
    layout.split_file(tmp_path).parent.mkdir(parents=True)
    layout.split_file(tmp_path).write_text(json.dumps(
        {"schema": 1, "validation_percent": 10, "test_percent": 10, "assignment": assignment}))
    memory = load_fold_memory(tmp_path)
    assert memory.migrated_from_split
    a = assign_folds(keys, labels, test_percent=10, memory=memory)
    assert sorted(keys[i] for i in a.test) == sorted(old_test)
    # without a test part, the old test images are simply folded in
    b = assign_folds(keys, labels, memory=memory)
    assert len(b.test) == 0


def test_inner_validation_is_stratified_and_keeps_duplicates_together():
    keys, labels = _images({"a": 50, "b": 20, "c": 2})
    keys += ["a-1"]
    labels += ["a"]
    y = np.array([{"a": 0, "b": 1, "c": 2}[label] for label in labels])
    idx = np.arange(len(keys))
    tr, va = inner_validation(keys, y, idx, 10, fold=0)
    assert sorted(tr.tolist() + va.tolist()) == idx.tolist()
    got = Counter(labels[i] for i in va)
    assert got["a"] in (5, 6) and got["b"] == 2 and got["c"] == 0
    assert ({keys[i] for i in tr} & {keys[i] for i in va}) == set()
    _, other = inner_validation(keys, y, idx, 10, fold=1)
    assert set(other.tolist()) != set(va.tolist())  # each fold draws its own
    assert len(inner_validation(keys, y, idx, 0, fold=0)[1]) == 0


def test_sample_keys_fall_back_to_the_file_name():
    assert sample_keys(["/p/a/x.png", "/p/b/y.png"], ["abc", None]) == ["abc", "name:y.png"]


def test_bad_settings_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="folds"):
        assign_folds(["a"], ["x"], folds=1)
    with pytest.raises(ValueError, match="test part"):
        assign_folds(["a"], ["x"], test_percent=80)
    assert TEST_PART == -1
