"""Cross-validated training: every image predicted by a model that never saw it, then one final model."""
import numpy as np
import pytest

from imgclf_gui.core.training import crossval
from imgclf_gui.core.training.crossval import (
    FINAL,
    FitStage,
    FoldEpoch,
    FoldResult,
    cross_validate,
    final_settings,
)
from imgclf_gui.core.training.folds import assign_folds
from imgclf_gui.core.training.head import HeadOptions


def _blobs(per_class: int = 40, k: int = 3, dim: int = 16, seed: int = 0, spread: float = 1.0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (k, dim))
    y = np.repeat(np.arange(k), per_class)
    x = (centres[y] + rng.normal(0, spread, (len(y), dim))).astype(np.float32)
    keys = [f"img-{i}" for i in range(len(y))]
    return x, y, keys


def _assign(keys, y, **kw):
    return assign_folds(keys, [f"c{int(v)}" for v in y], **kw)


FAST = HeadOptions(epochs=30, patience=5)


def test_every_image_gets_an_honest_prediction_and_moved_images_point_home():
    x, y, keys = _blobs()
    labels = y.copy()
    moved = [0, 1, 2, 3]  # four class-0 images filed under class 1
    labels[moved] = 1
    a = _assign(keys, labels)
    result = cross_validate(x, labels, a, FAST, num_classes=3)
    assert result.completed_folds == 5 and result.final_complete and not result.cancelled
    assert result.predicted.all()
    np.testing.assert_allclose(result.probabilities.sum(1), 1, atol=1e-5)
    # the images filed in the wrong folder are predicted as what they show, by models that never saw them
    assert (result.probabilities[moved].argmax(1) == 0).all()
    assert np.mean(result.probabilities.argmax(1) == y) > 0.95


def test_a_held_out_fold_takes_no_part_in_its_own_choices():
    x, y, keys = _blobs(seed=1)
    a = _assign(keys, y)
    first = cross_validate(x, y, a, FAST, num_classes=3)
    spoiled = x.copy()
    held = a.held_out(0)
    spoiled[held] = np.random.default_rng(9).normal(0, 50, (len(held), x.shape[1]))
    second = cross_validate(spoiled, y, a, FAST, num_classes=3)
    f1, f2 = first.folds[0], second.folds[0]
    # fold 1's L2 choice, stopping epoch and curves are the same whatever its held-out images are
    assert (f1.l2, f1.best_epoch, f1.l2_search) == (f2.l2, f2.best_epoch, f2.l2_search)
    assert [m.val_loss for m in f1.history] == [m.val_loss for m in f2.history]
    # the other folds did train on them, so something else changed
    assert first.folds[1].history != second.folds[1].history


def test_the_final_model_learns_from_every_image_but_the_test_part():
    x, y, keys = _blobs(per_class=50)
    a = _assign(keys, y, test_percent=10)
    assert len(a.test) == 15
    result = cross_validate(x, y, a, FAST, num_classes=3)
    # its standardisation comes from its training rows: all folded images, none of the test part
    np.testing.assert_allclose(result.head.mean, x[a.folded].mean(0), rtol=1e-5, atol=1e-5)
    assert result.predicted.all()  # the test part is predicted by the final model
    assert result.final_epochs <= FAST.epochs and result.final_l2 in (1e-4, 1e-3, 1e-2, 3e-2, 1e-1)


def test_progress_names_each_fold_then_the_final_model():
    x, y, keys = _blobs(per_class=20)
    a = _assign(keys, y)
    stages, epochs = [], []
    cross_validate(x, y, a, FAST, num_classes=3, on_stage=stages.append, on_epoch=epochs.append)
    assert stages[0] == FitStage(1, 5, candidates=5)
    assert stages[0].describe() == "Fold 1 of 5: choosing regularisation among 5 strengths"
    assert [s.fold for s in stages] == [1, 2, 3, 4, 5, FINAL]
    assert stages[-1].describe() == "Final model, on all 60 images"
    assert all(isinstance(e, FoldEpoch) and e.folds == 5 for e in epochs)
    tags = [e.fold for e in epochs]
    assert tags == sorted(tags, key=lambda t: 6 if t == FINAL else t)  # fold 1's epochs, then 2's, ... final
    for fold in (1, 2, 3, 4, 5, FINAL):
        numbers = [e.metrics.epoch for e in epochs if e.fold == fold]
        assert numbers == list(range(1, len(numbers) + 1))
    # with the L2 given there is nothing to choose: each fold is one run, streamed as it trains
    stages.clear()
    cross_validate(x, y, a, HeadOptions(epochs=5, l2=1e-3), num_classes=3, on_stage=stages.append)
    assert [s.describe() for s in stages] == [f"Fold {i} of 5" for i in range(1, 6)] + ["Final model, on all 60 images"]


def test_cancel_keeps_the_completed_folds_and_says_so():
    x, y, keys = _blobs(per_class=20)
    a = _assign(keys, y)
    fits = []

    def stop() -> bool:
        return len(fits) >= 3  # during fold 3's L2 search

    result = cross_validate(x, y, a, FAST, num_classes=3, on_stage=fits.append, should_stop=stop)
    assert result.cancelled and result.completed_folds == 2 and result.final is None
    assert not result.final_complete and result.head is None
    done = np.isin(a.fold_of, [0, 1])
    assert result.predicted[done].all() and not result.predicted[~done].any()

    # stopped during the final model: every fold is complete, the final head is partly trained
    epochs = []
    result = cross_validate(x, y, a, FAST, num_classes=3, on_epoch=epochs.append,
                            should_stop=lambda: any(e.fold == FINAL for e in epochs))
    assert result.cancelled and result.completed_folds == 5 and result.predicted.all()
    assert result.head is not None and not result.final_complete


def test_augmented_copies_are_trained_on_but_never_validated_or_held_out(monkeypatch):
    x, y, keys = _blobs(per_class=15)
    augmented = np.stack([x + 100, x + 200], axis=1)  # copies easy to tell from the originals
    a = _assign(keys, y)
    seen = []
    real = crossval.train_head

    def spy(train_x, train_y, val_x, val_y, *args, **kwargs):
        seen.append((train_x, val_x))
        return real(train_x, train_y, val_x, val_y, *args, **kwargs)

    monkeypatch.setattr(crossval, "train_head", spy)
    cross_validate(x, y, a, HeadOptions(epochs=3, l2=1e-3), num_classes=3, augmented=augmented)
    for fold, (train_x, val_x) in enumerate(seen[:5]):
        originals = train_x[train_x.max(1) < 50]
        assert len(train_x) == 3 * len(originals)  # every trained image with both its copies
        held = x[a.held_out(fold)]
        assert not any((originals == row).all(1).any() for row in held)
        for shift in (100, 200):
            assert not any((train_x == row + shift).all(1).any() for row in held)
        assert val_x is None or (val_x.max(1) < 50).all()


def test_final_settings_take_the_median_choice_and_keep_the_step_count():
    def fold(l2, best_epoch, steps):
        return FoldResult(1, 100, 10, 25, l2, best_epoch, steps, [], {l2: 0.1})

    folds = [fold(1e-2, 40, 6), fold(1e-3, 50, 6), fold(1e-2, 60, 6), fold(1e-1, 10, 6)]
    l2, epochs = final_settings(folds, HeadOptions(batch_size=128), final_rows=1000)
    assert l2 == 1e-2  # median of four: the lower middle one
    assert epochs == round(45 * 6 / 8)  # the folds' median 270 steps, at 8 batches per epoch
    assert final_settings(folds, HeadOptions(l2=0.5, early_stopping=False, epochs=7), 1000) == (0.5, 7)


def test_two_images_per_class_still_give_every_image_a_prediction():
    x, y, keys = _blobs(per_class=2)
    a = _assign(keys, y)
    result = cross_validate(x, y, a, HeadOptions(epochs=20), num_classes=3)
    assert a.k == 2 and result.completed_folds == 2 and result.predicted.all()
    assert all(f.validated_on == 0 and f.l2_search == {} for f in result.folds)  # too few to validate on
    with pytest.raises(ValueError, match="same images"):
        cross_validate(x, y[:-1], a, HeadOptions(epochs=2), num_classes=3)
