"""The small classifier trained on cached bottlenecks: standardise -> [Dense+ReLU+dropout] -> softmax.

Written in numpy rather than Keras on purpose (measured on 2 cores, 10,000 x 1280 features, 10 classes,
100 epochs, batch 256): numpy 1.6 s, a ``tf.function`` loop 2.6 s plus 2.5 s to import TensorFlow, Keras
``fit`` 19.5 s. numpy is also bit-for-bit repeatable for a seed, stops between any two batches, and the
same forward pass serves predictions with no TensorFlow at all. The export builds the identical Keras
layers from these weights (``core/export.py``) and checks the two agree.

Regularisation is chosen on the validation part: with ``l2=None`` a few candidate strengths are trained
(each with early stopping) and the one with the lowest validation loss wins. Measured on EfficientNet-Lite0
and SqueezeNet features, standardising the features plus a tuned L2 is what makes a softmax head match a
cross-validated logistic regression.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from imgclf_gui.core.support.notes import L2_CHOSEN, NO_VALIDATION, STAGE_CHOOSING_L2, STAGE_TRAINING, Note
from imgclf_gui.core.support.tasks_api import StopFn
from imgclf_gui.core.training.config import L2_CANDIDATES, L2_WITHOUT_VALIDATION, HeadOptions

__all__ = ["HeadOptions", "EpochMetrics", "HeadModel", "HeadResult", "L2_CANDIDATES", "train_head",
           "labels_to_indices"]

_EPS_STD = 1e-6
STD_FLOOR_FRACTION = 0.1


@dataclass
class EpochMetrics:
    """Figures after one epoch (``val_*`` are None when there is no validation part)."""

    epoch: int
    train_loss: float
    train_accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    best_epoch: int


@dataclass
class HeadModel:
    """Standardisation and dense layers; ``layers`` is [(W, b), ...], the last one gives logits."""

    mean: np.ndarray
    std: np.ndarray
    layers: list[tuple[np.ndarray, np.ndarray]]

    @property
    def num_classes(self) -> int:
        return int(self.layers[-1][1].shape[0])

    @property
    def hidden_units(self) -> int:
        return int(self.layers[0][1].shape[0]) if len(self.layers) > 1 else 0

    def logits(self, features: np.ndarray) -> np.ndarray:
        h = (np.asarray(features, np.float32) - self.mean) / self.std
        for i, (w, b) in enumerate(self.layers):
            h = h @ w + b
            if i < len(self.layers) - 1:
                h = np.maximum(h, 0.0)
        return h

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities (N, classes) for bottleneck vectors (N, dim)."""
        return _softmax(self.logits(features))

    def arrays(self) -> dict[str, np.ndarray]:
        out = {"mean": self.mean, "std": self.std}
        for i, (w, b) in enumerate(self.layers):
            out[f"dense{i}_kernel"] = w
            out[f"dense{i}_bias"] = b
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> HeadModel:
        layers = []
        i = 0
        while f"dense{i}_kernel" in arrays:
            layers.append((np.asarray(arrays[f"dense{i}_kernel"], np.float32),
                           np.asarray(arrays[f"dense{i}_bias"], np.float32)))
            i += 1
        if not layers:
            raise ValueError("the head has no layers")
        return cls(np.asarray(arrays["mean"], np.float32), np.asarray(arrays["std"], np.float32), layers)


@dataclass
class HeadResult:
    head: HeadModel | None  # None only when cancelled before any epoch finished
    history: list[EpochMetrics]
    best_epoch: int
    cancelled: bool
    l2: float
    #: validation loss reached by each L2 candidate tried (empty when l2 was given)
    l2_search: dict[float, float] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)


EpochFn = Callable[[EpochMetrics], None] | None
StageFn = Callable[[Note], None] | None


def train_head(
    train_x: np.ndarray,
    train_y: np.ndarray,
    val_x: np.ndarray | None,
    val_y: np.ndarray | None,
    options: HeadOptions | None = None,
    on_epoch: EpochFn = None,
    should_stop: StopFn = None,
    *,
    num_classes: int | None = None,
    standardize_on: np.ndarray | None = None,
    on_stage: StageFn = None,
) -> HeadResult:
    """Train the head on feature arrays; same data + same seed gives the same weights.

    ``train_x`` (N, dim) float32 and integer ``train_y`` (N,); augmented rows may simply be appended.
    ``standardize_on`` (default ``train_x``) are the rows the per-feature mean/std come from (pass the
    un-augmented training features). Without a validation part early stopping and the L2 search are off
    (a note says so) and the last epoch is kept. ``on_epoch`` streams the final run's epochs;
    ``should_stop`` is polled between batches: the result then has ``cancelled=True`` and keeps the best
    weights so far. ``on_stage(note)`` announces the L2 search steps and the final run (``core/support/notes``).
    """
    with _single_thread_blas():
        return _train_head(train_x, train_y, val_x, val_y, options, on_epoch, should_stop, num_classes,
                           standardize_on, on_stage)


def _single_thread_blas():
    """One BLAS thread while training: the matrices are small, and on a shared 2-core machine OpenBLAS's
    spinning threads made 100 epochs take 40 s instead of 4 s (measured, benchmarks/bench_head.py)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional (it comes with scikit-learn); without it training is only slower
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _train_head(train_x, train_y, val_x, val_y, options, on_epoch, should_stop, num_classes, standardize_on,
                on_stage) -> HeadResult:
    opts = options or HeadOptions()
    train_x = np.ascontiguousarray(train_x, np.float32)
    train_y = np.asarray(train_y, np.int64)
    k = int(num_classes if num_classes is not None else train_y.max() + 1)
    have_val = val_x is not None and val_y is not None and len(val_y) > 0
    notes: list[Note] = []
    if not have_val:
        val_x = val_y = None
        if opts.early_stopping or opts.l2 is None:
            notes.append(Note(NO_VALIDATION, {"l2": opts.l2 if opts.l2 is not None else L2_WITHOUT_VALIDATION}))
    else:
        val_x = np.ascontiguousarray(val_x, np.float32)
        val_y = np.asarray(val_y, np.int64)

    mean, std = _standardisation(standardize_on if standardize_on is not None else train_x)
    xs = (train_x - mean) / std
    vs = (val_x - mean) / std if have_val else None
    sample_weight = _sample_weights(train_y, k, opts.class_weights)

    search: dict[float, float] = {}
    if opts.l2 is not None or not have_val:
        l2 = opts.l2 if opts.l2 is not None else L2_WITHOUT_VALIDATION
    else:
        best = None
        for i, cand in enumerate(L2_CANDIDATES):
            if on_stage:
                on_stage(Note(STAGE_CHOOSING_L2, {"step": i + 1, "steps": len(L2_CANDIDATES), "l2": cand}))
            run = _fit(xs, train_y, sample_weight, vs, val_y, k, opts, cand, None, should_stop)
            if run.best_val_loss is not None:
                search[cand] = run.best_val_loss
                if best is None or run.best_val_loss < best[1].best_val_loss:
                    best = (cand, run)
            if run.cancelled:
                chosen = best[1] if best else run
                head = HeadModel(mean, std, chosen.layers) if chosen.layers else None
                return HeadResult(head, chosen.history, chosen.best_epoch, True,
                                  best[0] if best else cand, search, notes)
        l2 = best[0]
        notes.append(Note(L2_CHOSEN, {"losses": {f"{c:g}": v for c, v in search.items()}, "chosen": l2}))
    if on_stage:
        on_stage(Note(STAGE_TRAINING))
    run = _fit(xs, train_y, sample_weight, vs, val_y, k, opts, l2, on_epoch, should_stop)
    head = HeadModel(mean, std, run.layers) if run.layers else None
    return HeadResult(head, run.history, run.best_epoch, run.cancelled, l2, search, notes)


def _standardisation(base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature (mean, std) of the rows ``base``, float32."""
    mean = base.mean(axis=0).astype(np.float32)
    std = base.std(axis=0).astype(np.float32)
    # Floor each std at a tenth of the RMS of all stds: a feature almost constant on a small training set
    # would otherwise be multiplied by thousands, and one new image that differs in it (another size,
    # texture) would get a confidently wrong answer. Relative, so it works at any feature scale.
    floor = max(_EPS_STD, STD_FLOOR_FRACTION * float(np.sqrt(np.mean(std.astype(np.float64) ** 2))))
    return mean, np.maximum(std, np.float32(floor)).astype(np.float32)


def _sample_weights(train_y: np.ndarray, k: int, class_weights: bool) -> np.ndarray:
    """Per-row loss weights: rare classes weigh as much as common ones (mean 1, so the step size stays)."""
    if not class_weights:
        return np.ones(len(train_y), np.float32)
    counts = np.bincount(train_y, minlength=k).astype(np.float64)
    per_class = np.where(counts > 0, len(train_y) / (k * np.maximum(counts, 1)), 0.0)
    weights = per_class[train_y].astype(np.float32)
    return weights / weights.mean()


@dataclass
class _Run:
    layers: list[tuple[np.ndarray, np.ndarray]] | None
    history: list[EpochMetrics]
    best_epoch: int
    best_val_loss: float | None
    cancelled: bool


def _fit(xs, ys, sw, vs, vy, k, opts: HeadOptions, l2: float, on_epoch: EpochFn, should_stop: StopFn) -> _Run:
    """One training run with Adam; returns the best epoch's weights (or the last without validation)."""
    rng = np.random.default_rng(opts.seed)
    dim = xs.shape[1]
    params = _init_layers(rng, dim, opts.hidden_units, k)
    adam = _Adam(params, opts.learning_rate)
    targets = np.full((k, k), opts.label_smoothing / k, np.float32)
    targets[np.arange(k), np.arange(k)] += 1.0 - opts.label_smoothing
    n = len(ys)
    bs = max(1, min(int(opts.batch_size), n))
    history: list[EpochMetrics] = []
    best_layers = None
    best_loss = math.inf
    best_epoch = 0
    waited = 0
    for epoch in range(1, int(opts.epochs) + 1):
        order = rng.permutation(n)
        loss_sum = 0.0
        correct = 0
        for start in range(0, n, bs):
            if should_stop is not None and should_stop():
                return _Run(best_layers, history, best_epoch, best_loss if best_layers else None, True)
            idx = order[start:start + bs]
            loss, hits, grads = _loss_and_grads(params, xs[idx], ys[idx], sw[idx], targets, l2, opts, rng)
            adam.step(params, grads)
            loss_sum += loss * len(idx)
            correct += hits
        val_loss = val_acc = None
        if vs is not None:
            p = _softmax(_forward(params, vs))
            val_loss = float(-np.mean(np.log(np.maximum(p[np.arange(len(vy)), vy], 1e-12))))
            val_acc = float(np.mean(p.argmax(1) == vy))
        improved = val_loss is None or val_loss < best_loss - 1e-4
        if improved:
            best_loss = val_loss if val_loss is not None else math.inf
            best_epoch = epoch
            best_layers = [(w.copy(), b.copy()) for w, b in params]
            waited = 0
        else:
            waited += 1
        m = EpochMetrics(epoch, loss_sum / n, correct / n, val_loss, val_acc, best_epoch)
        history.append(m)
        if on_epoch is not None:
            on_epoch(m)
        if opts.early_stopping and vs is not None and waited >= opts.patience:
            break
    if not opts.early_stopping or vs is None:
        best_layers = [(w.copy(), b.copy()) for w, b in params]
        best_epoch = len(history)
    return _Run(best_layers, history, best_epoch, best_loss if vs is not None else None, False)


def _init_layers(rng: np.random.Generator, dim: int, hidden: int, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    sizes = [dim] + ([hidden] if hidden else []) + [k]
    layers = []
    for i in range(len(sizes) - 1):
        fan_in, fan_out = sizes[i], sizes[i + 1]
        if i == len(sizes) - 2 and not hidden:
            w = np.zeros((fan_in, fan_out), np.float32)  # convex problem: zeros is the natural start
        else:
            limit = math.sqrt(6.0 / (fan_in + fan_out))  # Glorot uniform, as Keras Dense
            w = rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32)
        layers.append((w, np.zeros(fan_out, np.float32)))
    return layers


def _forward(params, x: np.ndarray) -> np.ndarray:
    h = x
    for i, (w, b) in enumerate(params):
        h = h @ w + b
        if i < len(params) - 1:
            h = np.maximum(h, 0.0)
    return h


def _loss_and_grads(params, xb, yb, wb, targets, l2, opts: HeadOptions, rng):
    acts = [xb]
    h = xb
    masks = []
    for i, (w, b) in enumerate(params):
        h = h @ w + b
        if i < len(params) - 1:
            h = np.maximum(h, 0.0)
            if opts.dropout > 0:
                mask = (rng.random(h.shape, dtype=np.float32) >= opts.dropout) / np.float32(1 - opts.dropout)
                h = h * mask
                masks.append(mask)
            else:
                masks.append(None)
            acts.append(h)
    p = _softmax(h)
    t = targets[yb]
    nll = -np.sum(t * np.log(np.maximum(p, 1e-12)), axis=1)
    wsum = float(wb.sum())
    loss = float(np.dot(nll, wb) / wsum) + l2 * sum(float(np.sum(w * w)) for w, _ in params)
    hits = int(np.sum(p.argmax(1) == yb))
    g = (p - t) * (wb / wsum)[:, None]
    grads = [None] * len(params)
    for i in range(len(params) - 1, -1, -1):
        w, _ = params[i]
        a = acts[i]
        grads[i] = (a.T @ g + 2.0 * l2 * w, g.sum(axis=0))
        if i > 0:
            g = g @ w.T
            if masks[i - 1] is not None:
                g = g * masks[i - 1]
            g = g * (acts[i] > 0)
    return loss, hits, grads


class _Adam:
    """Adam as in Keras (epsilon 1e-7), in place on the parameter arrays."""

    def __init__(self, params, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-7):
        self.lr, self.b1, self.b2, self.eps = lr, beta1, beta2, eps
        self.m = [(np.zeros_like(w), np.zeros_like(b)) for w, b in params]
        self.v = [(np.zeros_like(w), np.zeros_like(b)) for w, b in params]
        self.t = 0

    def step(self, params, grads) -> None:
        self.t += 1
        scale = self.lr * math.sqrt(1 - self.b2 ** self.t) / (1 - self.b1 ** self.t)
        for (p_w, p_b), (g_w, g_b), (m_w, m_b), (v_w, v_b) in zip(params, grads, self.m, self.v):
            for p, g, m, v in ((p_w, g_w, m_w, v_w), (p_b, g_b, m_b, v_b)):
                m *= self.b1
                m += (1 - self.b1) * g
                v *= self.b2
                v += (1 - self.b2) * (g * g)
                p -= (scale * m / (np.sqrt(v) + self.eps)).astype(np.float32)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def labels_to_indices(labels: Sequence[str], class_names: Sequence[str]) -> np.ndarray:
    """Class indices for label strings, in ``class_names`` order."""
    index = {name: i for i, name in enumerate(class_names)}
    return np.array([index[label] for label in labels], np.int64)
