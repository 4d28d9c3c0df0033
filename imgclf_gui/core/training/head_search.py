"""Several L2 strengths trained together on the same minibatches: each fold's regularisation search.

Entry point: ``train_head_candidates(train_x, train_y, val_x, val_y, options, l2s, *, num_classes,
standardize_on=None, should_stop=None) -> list[HeadResult]``, one result per strength, in order.

Cross-validation trains every fold's head once per L2 candidate: 5 folds x 5 strengths. Without a hidden
layer the head is one dense layer, so c strengths are one layer with c times the outputs: the minibatch is
gathered once, multiplied once by a wider matrix (which BLAS runs more efficiently than c narrow ones), and
Python's per-batch overhead is paid once. Adam is element-wise and every strength takes a step on every
batch, so each strength's weights follow the steps a run of its own would take (same seed, same minibatch
order, same bias correction, same early stopping): the results agree with ``train_head`` run once per
strength to float rounding (products of another width add in another order). A strength that stops early
is dropped from the matrices. With a hidden layer (rarely used, and its dropout masks would differ) the
strengths are simply trained one after the other with ``train_head``.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from imgclf_gui.core.support.tasks_api import StopFn
from imgclf_gui.core.training.config import HeadOptions
from imgclf_gui.core.training.head import (
    EpochMetrics,
    HeadModel,
    HeadResult,
    _sample_weights,
    _single_thread_blas,
    _standardisation,
    train_head,
)

__all__ = ["train_head_candidates"]


def train_head_candidates(train_x: np.ndarray, train_y: np.ndarray, val_x: np.ndarray, val_y: np.ndarray,
                          options: HeadOptions, l2s: list[float], *, num_classes: int,
                          standardize_on: np.ndarray | None = None, should_stop: StopFn = None) -> list[HeadResult]:
    """One head per strength in ``l2s`` (``options.l2`` is ignored), trained on the same data as
    ``train_head`` would; all ``cancelled`` when ``should_stop`` stopped them (best weights so far kept)."""
    if options.hidden_units:
        return [train_head(train_x, train_y, val_x, val_y, dataclasses.replace(options, l2=l2), None,
                           should_stop, num_classes=num_classes, standardize_on=standardize_on) for l2 in l2s]
    with _single_thread_blas():
        train_x = np.ascontiguousarray(train_x, np.float32)
        train_y = np.asarray(train_y, np.int64)
        mean, std = _standardisation(standardize_on if standardize_on is not None else train_x)
        xs = (train_x - mean) / std
        vs = (np.ascontiguousarray(val_x, np.float32) - mean) / std
        runs = _fit_together(xs, train_y, _sample_weights(train_y, num_classes, options.class_weights), vs,
                             np.asarray(val_y, np.int64), num_classes, options, list(l2s), should_stop)
    return [HeadResult(HeadModel(mean, std, [r.best]) if r.best is not None else None, r.history, r.best_epoch,
                       r.cancelled, l2, {}, []) for l2, r in zip(l2s, runs)]


@dataclasses.dataclass
class _Candidate:
    history: list[EpochMetrics] = dataclasses.field(default_factory=list)
    best: tuple[np.ndarray, np.ndarray] | None = None
    best_loss: float = math.inf
    best_epoch: int = 0
    waited: int = 0
    cancelled: bool = False


def _fit_together(xs, ys, sw, vs, vy, k: int, opts: HeadOptions, l2s: list[float], should_stop: StopFn
                  ) -> list[_Candidate]:
    """``head._fit`` for a softmax layer, for every strength at once (columns ``j*k:(j+1)*k`` are strength
    ``active[j]``'s)."""
    rng = np.random.default_rng(opts.seed)
    n, dim = xs.shape
    cands = [_Candidate() for _ in l2s]
    active = list(range(len(l2s)))
    w = np.zeros((dim, k * len(l2s)), np.float32)  # a convex problem: zeros, as head._init_layers
    b = np.zeros(k * len(l2s), np.float32)
    moments = [np.zeros_like(w), np.zeros_like(b), np.zeros_like(w), np.zeros_like(b)]  # m_w, m_b, v_w, v_b
    targets = np.full((k, k), opts.label_smoothing / k, np.float32)
    targets[np.arange(k), np.arange(k)] += 1.0 - opts.label_smoothing
    lr = opts.learning_rate
    step = 0
    bs = max(1, min(int(opts.batch_size), n))
    for epoch in range(1, int(opts.epochs) + 1):
        c = len(active)
        l2 = np.array([l2s[j] for j in active], np.float32)
        l2_cols = np.repeat(l2, k)[None, :]
        order = rng.permutation(n)
        loss_sum = np.zeros(c)
        correct = np.zeros(c)
        for start in range(0, n, bs):
            if should_stop is not None and should_stop():
                for j in active:
                    cands[j].cancelled = True
                return cands
            idx = order[start:start + bs]
            xb, yb, wb = xs[idx], ys[idx], sw[idx]
            p = _softmax3((xb @ w + b).reshape(len(idx), c, k))
            t = targets[yb][:, None, :]
            nll = -np.sum(t * np.log(np.maximum(p, 1e-12)), axis=2)
            wsum = float(wb.sum())
            loss_sum += ((wb @ nll) / wsum + l2 * np.sum((w * w).reshape(dim, c, k), axis=(0, 2))) * len(idx)
            correct += np.sum(p.argmax(axis=2) == yb[:, None], axis=0)
            g = ((p - t) * (wb / wsum)[:, None, None]).reshape(len(idx), c * k)
            grads = (xb.T @ g + 2.0 * l2_cols * w, g.sum(axis=0))
            step += 1
            scale = lr * math.sqrt(1 - _BETA2 ** step) / (1 - _BETA1 ** step)
            _adam_step(w, grads[0], moments[0], moments[2], scale)
            _adam_step(b, grads[1], moments[1], moments[3], scale)
        pv = _softmax3((vs @ w + b).reshape(len(vy), c, k))
        val_loss = -np.mean(np.log(np.maximum(pv[np.arange(len(vy)), :, vy], 1e-12)), axis=0)
        val_acc = np.mean(pv.argmax(axis=2) == vy[:, None], axis=0)
        keep = []
        for pos, j in enumerate(active):
            cand = cands[j]
            if float(val_loss[pos]) < cand.best_loss - 1e-4:
                cand.best_loss, cand.best_epoch, cand.waited = float(val_loss[pos]), epoch, 0
                cand.best = (w[:, pos * k:(pos + 1) * k].copy(), b[pos * k:(pos + 1) * k].copy())
            else:
                cand.waited += 1
            cand.history.append(EpochMetrics(epoch, float(loss_sum[pos] / n), float(correct[pos] / n),
                                             float(val_loss[pos]), float(val_acc[pos]), cand.best_epoch))
            if not (opts.early_stopping and cand.waited >= opts.patience):
                keep.append(pos)
        if len(keep) < c:  # drop the strengths that stopped: the others train on, with less to compute
            cols = np.concatenate([np.arange(pos * k, (pos + 1) * k) for pos in keep]) if keep else \
                np.zeros(0, np.int64)
            w, b = w[:, cols], b[cols]
            moments = [moments[0][:, cols], moments[1][cols], moments[2][:, cols], moments[3][cols]]
            active = [active[pos] for pos in keep]
        if not active:
            break
    if not opts.early_stopping:
        for pos, j in enumerate(active):
            cands[j].best = (w[:, pos * k:(pos + 1) * k].copy(), b[pos * k:(pos + 1) * k].copy())
            cands[j].best_epoch = len(cands[j].history)
    return cands


_BETA1, _BETA2, _EPSILON = 0.9, 0.999, 1e-7  # Adam as in Keras, as head._Adam


def _adam_step(param: np.ndarray, grad: np.ndarray, m: np.ndarray, v: np.ndarray, scale: float) -> None:
    """One Adam update of ``param`` in place (``head._Adam.step`` for one array)."""
    m *= _BETA1
    m += (1 - _BETA1) * grad
    v *= _BETA2
    v += (1 - _BETA2) * (grad * grad)
    np.subtract(param, (scale * m / (np.sqrt(v) + _EPSILON)).astype(np.float32), out=param)


def _softmax3(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis of (rows, strengths, classes), float32 as ``head._softmax``."""
    z = z - z.max(axis=2, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=2, keepdims=True)).astype(np.float32)
