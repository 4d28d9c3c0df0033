"""Training and Check Data judge class sizes by the same thresholds and say the same thing."""
from __future__ import annotations

import pytest

from imgclf_gui.core.review.health import check_health
from imgclf_gui.core.support.notes import FEW_IMAGES, UNBALANCED, describe
from imgclf_gui.core.training.checks import (
    MIN_IMAGES_TO_TRAIN,
    RECOMMENDED_IMAGES,
    DatasetError,
    check_dataset,
    class_size_advice,
)
from tests.conftest import write_image


def _classes(root, sizes: dict[str, int]):
    for k, (name, n) in enumerate(sizes.items()):
        for i in range(n):
            write_image(root / name / f"{name}{i}.png", seed=100 * k + i)
    return root


def test_a_one_image_class_is_refused_by_training_and_reported_so_by_check_data(tmp_path):
    root = _classes(tmp_path, {"cat": 30, "dog": 1})
    with pytest.raises(DatasetError) as refused:
        check_dataset(root)
    assert "'dog' (1)" in str(refused.value) and class_size_advice() in str(refused.value)
    report = check_health(root, include_inbox=False)
    [tiny] = report.of_kind("tiny_class")
    assert tiny.title == "Class dog has only 1 image" and tiny.paths == [root / "dog" / "dog0.png"]
    assert class_size_advice() in tiny.detail  # the same rule in the same words
    assert class_size_advice() == f"at least {MIN_IMAGES_TO_TRAIN} images per class to train, " \
                                  f"{RECOMMENDED_IMAGES} or more recommended"
    assert not report.of_kind("small_class")


def test_a_five_image_class_trains_with_the_same_warning_in_both_places(tmp_path):
    root = _classes(tmp_path, {"cat": 25, "dog": 5})
    checked = check_dataset(root)  # trains: 5 >= the minimum
    [few] = [n for n in checked.notes if n.kind == FEW_IMAGES]
    assert few.values["classes"] == [["dog", 5]]
    report = check_health(root, include_inbox=False)
    [small] = report.of_kind("small_class")
    assert small.title == "Class dog has only 5 images"
    assert small.detail == describe(few)
    assert f"at least {MIN_IMAGES_TO_TRAIN}" in small.detail and f"{RECOMMENDED_IMAGES} or more" in small.detail
    assert not report.of_kind("tiny_class")
    # 25 against 5 is unbalanced for both, in the same words.
    [unbalanced] = [n for n in checked.notes if n.kind == UNBALANCED]
    assert report.of_kind("unbalanced")[0].detail == describe(unbalanced)


def test_a_class_of_recommended_size_raises_nothing(tmp_path):
    root = _classes(tmp_path, {"cat": RECOMMENDED_IMAGES, "dog": RECOMMENDED_IMAGES})
    assert check_dataset(root).notes == []
    report = check_health(root, include_inbox=False)
    assert not report.of_kind("tiny_class") and not report.of_kind("small_class")
