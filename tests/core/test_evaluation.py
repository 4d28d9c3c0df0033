"""Evaluation figures a user reads after training, checked against hand counts and scikit-learn."""
import json

import numpy as np

from imgclf_gui.core.training.evaluation import evaluate_probabilities


def test_small_case_by_hand():
    # true: a a b b c ; predicted: a b b b a
    probs = np.array([[.9, .1, 0], [.3, .6, .1], [0, 1, 0], [.2, .7, .1], [.5, .1, .4]])
    report = evaluate_probabilities(probs, np.array([0, 0, 1, 1, 2]), ["a", "b", "c"], [f"f{i}" for i in range(5)])
    assert report.accuracy == 3 / 5
    assert report.confusion.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    a, b, c = report.per_class
    assert (a.precision, a.recall, a.support) == (0.5, 0.5, 2)
    assert abs(b.precision - 2 / 3) < 1e-12 and b.recall == 1.0 and abs(b.f1 - 0.8) < 1e-12
    assert (c.precision, c.recall, c.f1, c.support) == (0.0, 0.0, 0.0, 1)
    # worst first: f4 has p(true)=0.4 (loss .92) < f1 p(true)=.3 (loss 1.2)
    assert [m.path for m in report.mistakes] == ["f1", "f4"]
    assert report.mistakes[0].true == "a" and report.mistakes[0].predicted == "b"
    assert abs(report.mistakes[0].confidence - 0.6) < 1e-9
    data = json.loads(report.to_json())
    assert data["confusion"][0] == [1, 1, 0] and data["mistakes"][1]["path"] == "f4"


def test_matches_scikit_learn_on_random_case():
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(4), size=200)
    y = rng.integers(0, 4, 200)
    report = evaluate_probabilities(probs, y, list("wxyz"))
    pred = probs.argmax(1)
    assert (report.confusion == confusion_matrix(y, pred, labels=range(4))).all()
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=range(4), zero_division=0)
    assert np.allclose([c.precision for c in report.per_class], p)
    assert np.allclose([c.recall for c in report.per_class], r)
    assert np.allclose([c.f1 for c in report.per_class], f)
    assert [c.support for c in report.per_class] == list(s)


def test_accuracy_comes_with_its_95_percent_interval():
    from imgclf_gui.core.training.evaluation import PART_OUT_OF_FOLD, EvaluationReport, wilson_interval

    low, high = wilson_interval(58, 60)  # the Wilson interval by hand: 0.8864 .. 0.9908
    assert abs(low - 0.8864) < 1e-4 and abs(high - 0.9908) < 1e-4
    assert wilson_interval(0, 10)[0] == 0.0 and abs(wilson_interval(10, 10)[1] - 1.0) < 1e-12
    # a few dozen test images leave a wide interval; a thousand out-of-fold predictions a narrow one
    y = np.arange(1000) % 4
    probs = np.eye(4)[np.where(np.arange(1000) % 10 == 0, (y + 1) % 4, y)]
    report = evaluate_probabilities(probs, y, list("abcd"), part=PART_OUT_OF_FOLD, folds=5)
    low, high = report.accuracy_interval
    assert report.accuracy == 0.9 and 0.87 < low < 0.9 < high < 0.92
    small = evaluate_probabilities(probs[:40], y[:40], list("abcd"))
    assert small.accuracy_interval[1] - small.accuracy_interval[0] > 4 * (high - low)
    text = report.format_text()
    assert "1,000 images, each predicted by one of 5 fold models that never saw it" in text
    assert "95% interval 88.0% to 91.7%" in text
    again = EvaluationReport.from_dict(json.loads(report.to_json()))
    assert (again.part, again.folds, again.accuracy_interval) == (PART_OUT_OF_FOLD, 5, report.accuracy_interval)
    # reports saved by older versions (no folds, no interval) still load
    old = report.to_dict()
    del old["folds"], old["accuracy_interval"]
    assert EvaluationReport.from_dict(old).folds == 0
