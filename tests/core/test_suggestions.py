"""Suggestions for the inbox (core/review/suggestions.py): the quick model, what a badge says, the inbox
orders, and what "Accept all at or above N%" takes. Synthetic vectors: no image, no backbone."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from imgclf_gui.core.review.inbox import VectorBank
from imgclf_gui.core.review.suggestions import (
    ORDER_LEAST_CERTAIN,
    ORDER_MOST_CERTAIN,
    ORDER_NAME,
    Suggestion,
    Suggestions,
    SuggestionSource,
    accept_plan,
    can_train_quick,
    csv_text,
    order_paths,
    suggest,
    train_quick_model,
    whole_percent,
)
from imgclf_gui.core.support.tasks_api import Cancelled

SOURCE = SuggestionSource("quick", 10, 0.0)


def _clusters(per_class: int, classes=("cat", "dog", "fox"), dim: int = 16, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = {name: rng.normal(0, 3, dim) for name in classes}
    x = np.concatenate([centres[name] + rng.normal(0, 0.5, (per_class, dim)) for name in classes]).astype(np.float32)
    labels = [name for name in classes for _ in range(per_class)]
    return x, labels, centres


def _fixed(scores: dict[str, list[float]], names=("cat", "dog", "fox")) -> Suggestions:
    return Suggestions(list(names), list(scores), np.array(list(scores.values()), np.float32), SOURCE)


def test_a_quick_model_from_five_images_per_class_suggests_the_right_class_surely():
    x, labels, centres = _clusters(5)
    model = train_quick_model(x, labels)
    assert model.class_names == ["cat", "dog", "fox"] and model.images == 15
    assert model.temperature >= 1.0, "calibration may only make the model less sure"
    rng = np.random.default_rng(7)
    new = np.stack([centres[name] + rng.normal(0, 0.5, 16) for name in ("fox", "cat", "dog")]).astype(np.float32)
    found = suggest(model, ["h1", "h2", "h3"], new, SOURCE)
    assert [found.of(h).class_name for h in ("h1", "h2", "h3")] == ["fox", "cat", "dog"]
    assert all(found.of(h).confidence > 0.8 for h in ("h1", "h2", "h3"))
    # an image halfway between two classes is the least certain of all
    halfway = ((centres["cat"] + centres["dog"]) / 2)[None].astype(np.float32)
    both = suggest(model, ["sure", "torn"], np.concatenate([new[:1], halfway]), SOURCE)
    assert both.of("torn").margin < both.of("sure").margin


def test_a_quick_model_needs_two_classes_of_five_images():
    assert can_train_quick({"cat": 5, "dog": 5})
    assert can_train_quick({"cat": 5, "dog": 9, "fox": 1})
    assert not can_train_quick({"cat": 5, "dog": 4})
    assert not can_train_quick({"cat": 50})
    x, labels, _ = _clusters(4)
    with pytest.raises(ValueError):
        train_quick_model(x, labels)


def test_a_class_with_a_single_image_is_learnt_but_never_hides_the_others():
    x, labels, _ = _clusters(6, classes=("cat", "dog"))
    rng = np.random.default_rng(3)
    model = train_quick_model(np.concatenate([x, rng.normal(9, 0.5, (1, 16)).astype(np.float32)]), labels + ["owl"])
    assert model.class_names == ["cat", "dog", "owl"]


def test_training_stops_when_asked():
    x, labels, _ = _clusters(30)
    with pytest.raises(Cancelled):
        train_quick_model(x, labels, should_stop=lambda: True)


def test_the_badge_rounds_down_so_it_never_claims_more_than_the_model_says():
    assert whole_percent(0.9999) == 99 and whole_percent(0.95) == 95 and whole_percent(0.9499) == 94
    assert whole_percent(1.0) == 100 and whole_percent(0.0) == 0
    assert Suggestion("circle", 0.973, 0.95).badge == "circle 97%"


def test_accept_at_or_above_takes_exactly_what_the_badges_show_at_or_above():
    found = _fixed({"a": [0.95, 0.03, 0.02], "b": [0.02, 0.9499, 0.0301], "c": [0.01, 0.01, 0.98],
                    "d": [0.0, 0.999, 0.001], "e": [0.5, 0.3, 0.2]})
    paths = [Path(f"/p/unsorted/{h}.png") for h in "edcba"]
    hash_of = {p: p.stem for p in paths}
    plan = accept_plan(paths, hash_of, found, 0.95)
    # 94.99% shows as "dog 94%": not taken at 95%; classes in the model's order, images by name
    assert {k: [p.stem for p in v] for k, v in plan.items()} == {"cat": ["a"], "dog": ["d"], "fox": ["c"]}
    assert list(plan) == ["cat", "dog", "fox"]
    assert [p.stem for v in accept_plan(paths, hash_of, found, 0.5).values() for p in v] == ["a", "e", "b", "d", "c"]
    assert accept_plan(paths, hash_of, None, 0.5) == {}
    assert accept_plan(paths, {}, found, 0.5) == {}, "an image whose content is unknown has no suggestion"


def test_orders_least_and_most_certain_by_margin_and_unscored_images_last_by_name():
    found = _fixed({"sure": [0.98, 0.01, 0.01], "torn": [0.45, 0.44, 0.11], "mid": [0.7, 0.2, 0.1]})
    paths = [Path(f"/p/{n}.png") for n in ("z-new", "mid", "sure", "torn", "a-new")]
    hash_of = {p: p.stem for p in paths if not p.stem.endswith("new")}
    names = lambda ps: [p.stem for p in ps]  # noqa: E731
    assert names(order_paths(paths, hash_of, found, ORDER_LEAST_CERTAIN)) == ["torn", "mid", "sure", "a-new", "z-new"]
    assert names(order_paths(paths, hash_of, found, ORDER_MOST_CERTAIN)) == ["sure", "mid", "torn", "a-new", "z-new"]
    assert names(order_paths(paths, hash_of, found, ORDER_NAME)) == ["a-new", "mid", "sure", "torn", "z-new"]
    assert names(order_paths(paths, hash_of, None, ORDER_LEAST_CERTAIN)) == ["a-new", "mid", "sure", "torn", "z-new"]


def test_a_suggestion_follows_the_content_not_the_path():
    """An image sent to a class and back (undo) has its suggestion again at once: looked up by content."""
    found = _fixed({"abc": [0.1, 0.8, 0.1]})
    before, after = Path("/p/unsorted/x.png"), Path("/p/unsorted/x (2).png")
    assert order_paths([after], {after: "abc"}, found, ORDER_LEAST_CERTAIN) == [after]
    assert accept_plan([after], {after: "abc", before: "abc"}, found, 0.8) == {"dog": [after]}


def test_where_suggestions_come_from_in_words():
    quick = SuggestionSource("quick", 312, 1000.0)
    assert quick.describe(now=1040.0) == "a model trained on 312 images, 40 s ago"
    assert quick.describe(now=1001.0) == "a model trained on 312 images, just now"
    assert SuggestionSource("quick", 1, 0.0).describe(now=150.0) == "a model trained on 1 image, 2 min 30 s ago"
    run = SuggestionSource("run", 0, 0.0, "run of 2026-11-29 04:47, accuracy 93.5%")
    assert run.describe() == "the active model (run of 2026-11-29 04:47, accuracy 93.5%)"


def test_csv_has_path_suggested_confidence_and_a_score_per_class():
    found = _fixed({"a": [0.1, 0.7, 0.2]})
    text = csv_text([("unsorted/a.png", found.of("a"), found.scores[0]), ("unsorted/bad.png", None, None)],
                    found.class_names)
    lines = text.splitlines()
    assert lines[0] == "path,suggested,confidence,cat,dog,fox"
    assert lines[1] == "unsorted/a.png,dog,0.700000,0.100000,0.700000,0.200000"
    assert lines[2] == "unsorted/bad.png,,,,,"


def test_scoring_is_chunked_and_agrees_with_one_pass():
    x, labels, _ = _clusters(8)
    model = train_quick_model(x, labels)
    many = np.random.default_rng(1).normal(0, 3, (9000, 16)).astype(np.float32)
    found = suggest(model, [str(i) for i in range(9000)], many, SOURCE)
    assert np.allclose(found.scores, model.predict_proba(many), atol=1e-6)
    assert np.allclose(found.scores.sum(axis=1), 1.0, atol=1e-5)
    # scored as the head itself scores (its standardisation folded into the weights for speed)
    logits = model.head.logits(many[:50]) / model.temperature
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    assert np.allclose(found.scores[:50], expected / expected.sum(axis=1, keepdims=True), atol=1e-5)


def test_vector_bank_snapshots_stay_valid_while_vectors_are_added():
    bank = VectorBank(4)
    bank.add(["a", "b"], np.array([[1, 1, 1, 1], [2, 2, 2, 2]], np.float32))
    matrix, rows = bank.snapshot()
    bank.add([f"h{i}" for i in range(1000)], np.full((1000, 4), 7, np.float32))  # grows into a new buffer
    bank.add(["a"], np.zeros((1, 4), np.float32))  # a content held already keeps its vector
    assert rows == {"a": 0, "b": 1} and matrix.shape == (2, 4)
    assert matrix[rows["b"]].tolist() == [2, 2, 2, 2]
    after, rows_after = bank.snapshot()
    assert len(bank) == 1002 and "h999" in bank and after[rows_after["a"]].tolist() == [1, 1, 1, 1]
    # two identical files in one batch (a photo and its copy) are one content, one row
    bank.add(["c", "c", "d"], np.array([[3] * 4, [3] * 4, [4] * 4], np.float32))
    matrix, rows = bank.snapshot()
    assert len(bank) == 1004 == len(matrix) and sorted(rows.values()) == list(range(1004))
    assert matrix[rows["d"]].tolist() == [4, 4, 4, 4]
