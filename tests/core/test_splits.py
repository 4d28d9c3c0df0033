"""The split a user relies on: old images never change part, classes stratified, duplicates together."""
from collections import Counter
from pathlib import Path

from imgclf_gui.core.project.scan import Sample
from imgclf_gui.core.training.splits import split_samples


def _samples(per_class: dict[str, int], start: int = 0):
    out, hashes = [], []
    for label, n in per_class.items():
        for i in range(start, start + n):
            out.append(Sample(Path(f"/p/{label}/{i}.png"), label))
            hashes.append(f"{label}-{i}")
    return out, hashes


def _parts(split, hashes):
    return {hashes[i]: name for name in ("train", "validation", "test") for i in getattr(split, name)}


def test_adding_images_never_moves_old_ones():
    samples, hashes = _samples({"a": 60, "b": 60})
    before = split_samples(samples, 10, 10, hashes)
    more, more_hashes = _samples({"a": 40, "b": 40, "c": 30}, start=60)
    after = split_samples(samples + more, 10, 10, hashes + more_hashes, previous=before.assignment)
    old, new = _parts(before, hashes), _parts(after, hashes + more_hashes)
    assert all(new[h] == part for h, part in old.items())
    # the newcomers fill each class's quota: 100 images per class end up exactly 10 / 10 / 80
    counts = Counter((part, h.split("-")[0]) for h, part in new.items())
    for label, n in (("a", 100), ("b", 100), ("c", 30)):
        assert counts[("test", label)] == n // 10 and counts[("validation", label)] == n // 10


def test_each_class_gets_its_exact_share_not_a_lottery():
    samples, hashes = _samples({"circle": 60, "square": 60, "plus": 61, "tiny": 7})
    split = split_samples(samples, 10, 10, hashes)
    per_part = Counter((samples[i].label, name) for name in ("train", "validation", "test")
                       for i in getattr(split, name))
    for label in ("circle", "square"):
        assert (per_part[(label, "train")], per_part[(label, "validation")], per_part[(label, "test")]) == (48, 6, 6)
    assert per_part[("tiny", "test")] == 1 and per_part[("tiny", "validation")] == 1
    # the same images in another order give the same split
    again = split_samples(samples[::-1], 10, 10, hashes[::-1])
    assert {hashes[i] for i in split.test} == {hashes[::-1][i] for i in again.test}


def test_every_class_in_every_part_and_roughly_80_10_10():
    samples, hashes = _samples({"a": 200, "b": 6, "c": 5, "d": 3, "e": 2})
    split = split_samples(samples, 10, 10, hashes)
    labels_in = {name: Counter(samples[i].label for i in getattr(split, name))
                 for name in ("train", "validation", "test")}
    for label in "abcde":
        assert labels_in["train"][label] >= 1
    for label in "abc":
        assert labels_in["validation"][label] >= 1 and labels_in["test"][label] >= 1
    assert labels_in["validation"]["d"] >= 1
    assert 0.7 < labels_in["train"]["a"] / 200 < 0.9
    assert sorted(split.train + split.validation + split.test) == list(range(len(samples)))


def test_duplicates_share_a_part_even_across_classes():
    samples, hashes = _samples({"a": 50, "b": 50})
    hashes[3] = hashes[10] = hashes[60] = "same-bytes"
    split = split_samples(samples, 10, 10, hashes)
    assert len({split.part_of(i) for i in (3, 10, 60)}) == 1


def test_stable_with_no_hashes_by_name_and_configurable_percent():
    samples, _ = _samples({"a": 100, "b": 100})
    one = split_samples(samples, 20, 0)
    two = split_samples(list(reversed(samples)), 20, 0)
    assert not one.test
    assert {samples[i].path for i in one.validation} == {samples[::-1][i].path for i in two.validation}
    assert 25 <= len(one.validation) <= 55
