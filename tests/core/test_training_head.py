"""The head trainer on plain arrays: repeatable, cancellable, early stopping, class weights."""
import numpy as np

from imgclf_gui.core.training.head import HeadOptions, train_head


def _blobs(n_per_class=(60, 60, 60), dim=16, seed=0, spread=1.0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, (len(n_per_class), dim))
    x = np.concatenate([c + rng.normal(0, spread, (n, dim)) for c, n in zip(centers, n_per_class)])
    y = np.concatenate([np.full(n, i) for i, n in enumerate(n_per_class)])
    return x.astype(np.float32) * 40 + 5, y  # large offset/scale: standardisation must cope


def test_same_seed_same_weights_and_learns():
    x, y = _blobs()
    opts = HeadOptions(epochs=20, hidden_units=8, seed=7, learning_rate=0.01)
    one = train_head(x[::2], y[::2], x[1::2], y[1::2], opts)
    two = train_head(x[::2], y[::2], x[1::2], y[1::2], opts)
    for (w1, b1), (w2, b2) in zip(one.head.layers, two.head.layers):
        assert np.array_equal(w1, w2) and np.array_equal(b1, b2)
    assert np.mean(one.head.predict_proba(x[1::2]).argmax(1) == y[1::2]) > 0.9
    assert one.l2_search  # L2 chosen on validation by default
    options = HeadOptions(epochs=20, hidden_units=8, seed=8, learning_rate=0.01)
    other = train_head(x[::2], y[::2], x[1::2], y[1::2], options)
    assert not np.array_equal(one.head.layers[0][0], other.head.layers[0][0])


def test_on_epoch_streams_and_cancel_keeps_best_so_far():
    x, y = _blobs()
    seen = []
    stop_after = 3

    def should_stop():
        return len(seen) >= stop_after

    result = train_head(x[::2], y[::2], x[1::2], y[1::2], HeadOptions(epochs=50, l2=1e-4),
                        on_epoch=seen.append, should_stop=should_stop)
    assert result.cancelled
    assert [m.epoch for m in seen] == [1, 2, 3] and result.head is not None
    assert seen[0].val_loss is not None and 0 <= seen[0].train_accuracy <= 1


def test_early_stopping_restores_best_epoch():
    rng = np.random.default_rng(0)
    # pure noise with few samples: validation loss gets worse as the head memorises
    x = rng.normal(size=(60, 50)).astype(np.float32)
    y = rng.integers(0, 3, 60)
    seen = []
    res = train_head(x[:40], y[:40], x[40:], y[40:], HeadOptions(epochs=200, patience=5, l2=0.0,
                                                                 learning_rate=0.01), on_epoch=seen.append)
    assert len(seen) < 200
    best = min(seen, key=lambda m: m.val_loss)
    assert res.best_epoch == best.epoch == seen[-1].best_epoch
    p = res.head.predict_proba(x[40:])
    val_loss = -np.mean(np.log(p[np.arange(20), y[40:]]))
    assert abs(val_loss - best.val_loss) < 1e-5


def test_class_weights_help_the_rare_class():
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.normal(0, 1, (300, 2)), rng.normal(1.5, 1, (12, 2))]).astype(np.float32)
    y = np.array([0] * 300 + [1] * 12)

    def rare(res):
        return np.mean(res.head.predict_proba(x[y == 1]).argmax(1) == 1)

    opts = dict(epochs=30, l2=1e-4, learning_rate=0.01)
    weighted = train_head(x, y, None, None, HeadOptions(class_weights=True, **opts))
    plain = train_head(x, y, None, None, HeadOptions(class_weights=False, **opts))
    assert rare(weighted) > rare(plain) + 0.3
    assert weighted.notes  # says there was no validation part


def test_label_smoothing_lowers_confidence():
    x, y = _blobs()
    sharp = train_head(x, y, None, None, HeadOptions(epochs=30, l2=0.0, early_stopping=False))
    smooth = train_head(x, y, None, None, HeadOptions(epochs=30, l2=0.0, early_stopping=False, label_smoothing=0.2))
    assert smooth.head.predict_proba(x).max(1).mean() < sharp.head.predict_proba(x).max(1).mean()
