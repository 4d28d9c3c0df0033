"""Training every L2 strength together gives each the head a run of its own would give."""
import dataclasses

import numpy as np

from imgclf_gui.core.training.config import L2_CANDIDATES, HeadOptions
from imgclf_gui.core.training.head import train_head
from imgclf_gui.core.training.head_search import train_head_candidates


def _data(n=300, k=4, dim=24, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 0.5, (k, dim))
    y = rng.integers(0, k, n)
    x = (centres[y] + rng.normal(0, 1.0, (n, dim))).astype(np.float32)
    return x[:240], y[:240], x[240:], y[240:]


def _same(one, other):
    assert one.best_epoch == other.best_epoch and len(one.history) == len(other.history)
    for a, b in zip(one.history, other.history):
        assert abs(a.val_loss - b.val_loss) < 1e-4 and abs(a.train_loss - b.train_loss) < 1e-4
        assert a.best_epoch == b.best_epoch
    (wa, ba), = one.head.layers
    (wb, bb), = other.head.layers
    np.testing.assert_allclose(wa, wb, atol=1e-4)
    np.testing.assert_allclose(ba, bb, atol=1e-4)


def test_each_strength_gets_the_head_its_own_run_would_give():
    tx, ty, vx, vy = _data()
    options = HeadOptions(epochs=60, patience=4, batch_size=32, label_smoothing=0.1, learning_rate=0.02)
    together = train_head_candidates(tx, ty, vx, vy, options, list(L2_CANDIDATES), num_classes=4)
    stops = {r.best_epoch for r in together}
    assert len(stops) > 1  # the strengths stop at different epochs: dropping the early ones works
    for l2, result in zip(L2_CANDIDATES, together):
        alone = train_head(tx, ty, vx, vy, dataclasses.replace(options, l2=l2), num_classes=4)
        assert result.l2 == l2
        _same(result, alone)
        x = np.random.default_rng(3).normal(size=(5, tx.shape[1])).astype(np.float32)
        np.testing.assert_allclose(result.head.predict_proba(x), alone.head.predict_proba(x), atol=1e-4)


def test_without_early_stopping_every_strength_keeps_its_last_epoch():
    tx, ty, vx, vy = _data(seed=1)
    options = HeadOptions(epochs=7, early_stopping=False, class_weights=False)
    together = train_head_candidates(tx, ty, vx, vy, options, [1e-3, 1e-1], num_classes=4)
    for l2, result in zip([1e-3, 1e-1], together):
        assert result.best_epoch == 7 and len(result.history) == 7
        _same(result, train_head(tx, ty, vx, vy, dataclasses.replace(options, l2=l2), num_classes=4))


def test_a_stop_keeps_each_strength_s_best_so_far():
    tx, ty, vx, vy = _data()
    calls = []
    results = train_head_candidates(tx, ty, vx, vy, HeadOptions(epochs=50, batch_size=16), [1e-3, 1e-2],
                                    num_classes=4, should_stop=lambda: calls.append(1) or len(calls) > 40)
    assert all(r.cancelled and r.head is not None and len(r.history) == 2 for r in results)
