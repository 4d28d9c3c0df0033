"""Placing bottleneck vectors in 2-D: a quick PCA, and a neighbour-preserving t-SNE layout (openTSNE).

Pure array code, no files: :mod:`imgclf_gui.core.review.dataset_map` decides what to lay out and keeps
the result. Entry points: :func:`fit_projection` (the PCA basis, seeded, signs fixed so a layout never
flips between runs), :func:`refine_layout` (t-SNE on the PCA-reduced vectors, started from the PCA layout),
:func:`place_points` (new images into an existing t-SNE layout, which stays as it is) and
:func:`neighbour_layout_available`.

Why openTSNE (measured on 20,000 x 1280 synthetic bottlenecks reduced to 50 dimensions, 2 shared cores):
its FFT-accelerated t-SNE took 47 CPU-seconds against UMAP's 56 (umap-learn with numba, whose import alone
compiled for 70 s wall on a busy machine and pulls ~210 MB of numba and llvmlite); openTSNE adds ~180 MB
(SciPy and scikit-learn), is BSD-licensed, and can add points to an existing layout without moving it,
which is what lets new images join a saved map instead of the map being made again.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from imgclf_gui.core.support.tasks_api import Cancelled, ProgressFn, StopFn

__all__ = ["Projection", "fit_projection", "neighbour_layout_available", "refine_layout", "place_points",
           "NEIGHBOUR_LAYOUT_MISSING", "REDUCED_DIMS"]

#: Dimensions the vectors are reduced to before t-SNE (the usual 50: the nearest neighbours come out the
#: same and they are found ~25x faster than in 1280 dimensions).
REDUCED_DIMS = 50
NEIGHBOUR_LAYOUT_MISSING = ("The neighbour map needs the optional openTSNE package (pip install "
                            "'imgclf[map]'); the quick PCA layout is shown instead.")
EARLY_ITERATIONS = 250  # early exaggeration: clusters form
LATE_ITERATIONS = 350  # plain t-SNE; with openTSNE's automatic learning rate 350 looked settled at 20,000
PLACE_ITERATIONS = 150
_AFFINITY_SHARE = 150  # per mille of the progress bar given to finding neighbours
LayoutFn = Callable[[np.ndarray], None] | None


@dataclass(frozen=True)
class Projection:
    """A PCA basis: ``(features - mean) @ components.T`` gives the reduced vectors (first two: the PCA map)."""

    mean: np.ndarray  #: float32 (dim,)
    components: np.ndarray  #: float32 (k, dim), orthonormal rows, strongest first

    def apply(self, features: np.ndarray) -> np.ndarray:
        """(N, k) float32 reduced vectors of (N, dim) ``features``."""
        features = np.asarray(features, np.float32)
        return ((features - self.mean) @ self.components.T).astype(np.float32, copy=False)


def fit_projection(features: np.ndarray, dims: int = REDUCED_DIMS, seed: int = 0) -> Projection:
    """The top ``dims`` principal axes of ``features`` (N, dim), by a seeded randomized SVD (Halko, Martinsson
    and Tropp 2011: a random sketch, a few power iterations, then an exact SVD of the small matrix).

    20,000 x 1280 vectors take a fraction of a second, where a full SVD or covariance takes several.
    Each axis's sign is fixed (its largest loading positive), so the same vectors always give the same map.
    """
    x = np.asarray(features, np.float32)
    if x.ndim != 2 or len(x) == 0:
        raise ValueError("features must be a non-empty (N, dim) array")
    mean = x.mean(axis=0)
    centred = x - mean
    k = max(1, min(dims, *centred.shape))
    sketch = k + 10
    if min(centred.shape) <= 2 * sketch:
        _, _, vt = np.linalg.svd(centred.astype(np.float64), full_matrices=False)
    else:
        rng = np.random.default_rng(seed)
        basis = centred @ rng.standard_normal((centred.shape[1], sketch)).astype(np.float32)
        for _ in range(2):  # power iterations sharpen the sketch (2 give the top axes to 1e-3); QR keeps it stable
            basis, _ = np.linalg.qr(basis)
            basis = centred @ (centred.T @ basis)
        basis, _ = np.linalg.qr(basis)
        _, _, vt = np.linalg.svd((basis.T @ centred).astype(np.float64), full_matrices=False)
    components = vt[:k]
    signs = np.sign(components[np.arange(len(components)), np.abs(components).argmax(axis=1)])
    components = components * np.where(signs == 0, 1.0, signs)[:, None]
    if len(components) < 2:  # a single image (or one direction): the map still needs two axes
        components = np.vstack([components, np.zeros((2 - len(components), x.shape[1]))])
    return Projection(mean.astype(np.float32), components.astype(np.float32))


def neighbour_layout_available() -> tuple[bool, str]:
    """(True, "") when openTSNE can be imported, else (False, a sentence saying what to install)."""
    try:
        import openTSNE  # noqa: F401 - only whether it imports
    except ImportError:
        return False, NEIGHBOUR_LAYOUT_MISSING
    return True, ""


class _Watch:
    """openTSNE's callback: polls ``should_stop``, reports progress and hands out the layout as it forms."""

    def __init__(self, start: int, span: int, iterations: int, on_progress: ProgressFn, should_stop: StopFn,
                 on_layout: LayoutFn) -> None:
        self.start, self.span, self.iterations = start, span, iterations
        self.on_progress, self.should_stop, self.on_layout = on_progress, should_stop, on_layout

    def __call__(self, iteration: int, _error: float, embedding: np.ndarray) -> bool:
        if self.should_stop is not None and self.should_stop():
            return True  # openTSNE raises OptimizationInterrupt
        if self.on_progress is not None:
            self.on_progress(self.start + self.span * min(iteration, self.iterations) // self.iterations, 1000)
        if self.on_layout is not None and iteration % 50 == 0:
            self.on_layout(np.array(embedding, np.float32))
        return False


#: Below this many images Barnes-Hut: openTSNE's FFT method costs ~10 ms of CPU per iteration whatever the
#: size (6 s for 33 images, against 0.1 s).
SMALL_MAP = 2000


def _gradient(n: int) -> dict[str, Any]:
    """openTSNE's gradient method for a map of ``n`` images, on ONE thread: on 2 busy cores a second thread
    tripled the CPU time (2,970 images: 19 s against 6 s, measured) and the map is background work while
    the user labels; on an idle machine one thread still lays out 20,000 images in about half a minute."""
    return {"negative_gradient_method": "bh" if n < SMALL_MAP else "fft", "n_jobs": 1}


def refine_layout(reduced: np.ndarray, *, seed: int = 0, on_progress: ProgressFn = None,
                  should_stop: StopFn = None, on_layout: LayoutFn = None) -> np.ndarray:
    """(N, 2) float32 t-SNE layout of the (N, k) ``reduced`` vectors, started from their first two axes.

    ``on_progress(done, 1000)``; ``on_layout(layout)`` every 50 iterations with the layout so far (a copy);
    ``should_stop()`` is polled every 10 iterations and raises :class:`Cancelled`. Deterministic for a seed
    on the same machine. Raises ``ImportError`` without openTSNE. Fewer than 4 images: the PCA layout.
    """
    reduced = np.ascontiguousarray(reduced, np.float64)
    if len(reduced) < 4:
        return reduced[:, :2].astype(np.float32)
    from openTSNE import TSNEEmbedding, affinity, initialization
    from openTSNE.tsne import OptimizationInterrupt

    if on_progress is not None:
        on_progress(0, 1000)
    perplexity = float(min(30.0, (len(reduced) - 1) / 3))
    gradient = _gradient(len(reduced))
    aff = affinity.PerplexityBasedNN(reduced, perplexity=perplexity, n_jobs=1, random_state=seed, verbose=False)
    if should_stop is not None and should_stop():
        raise Cancelled()
    init = initialization.rescale(reduced[:, :2].copy())
    span = (1000 - _AFFINITY_SHARE) // 2
    early = _Watch(_AFFINITY_SHARE, span, EARLY_ITERATIONS, on_progress, should_stop, on_layout)
    embedding = TSNEEmbedding(init, aff, random_state=seed, callbacks=early, callbacks_every_iters=10, **gradient)
    try:
        embedding = embedding.optimize(EARLY_ITERATIONS, exaggeration=12, momentum=0.5, propagate_exception=True)
        late = _Watch(_AFFINITY_SHARE + span, 1000 - _AFFINITY_SHARE - span, LATE_ITERATIONS, on_progress,
                      should_stop, on_layout)
        embedding = embedding.optimize(LATE_ITERATIONS, momentum=0.8, callbacks=late, callbacks_every_iters=10,
                                       propagate_exception=True)
    except OptimizationInterrupt:
        raise Cancelled() from None
    if on_progress is not None:
        on_progress(1000, 1000)
    return np.asarray(embedding, np.float32)


def nearest_reference(reference: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices, euclidean distances), each (M, k), of every query's ``k`` nearest reference rows, nearest
    first; exact, by blocks of matrix products (memory stays at 1,024 x N distances)."""
    reference = np.asarray(reference, np.float32)
    queries = np.asarray(queries, np.float32)
    k = min(k, len(reference))
    ref_sq = np.einsum("ij,ij->i", reference, reference)
    indices = np.empty((len(queries), k), np.int64)
    distances = np.empty((len(queries), k), np.float64)
    for start in range(0, len(queries), 1024):
        block = queries[start:start + 1024]
        d2 = ref_sq[None, :] - 2.0 * (block @ reference.T) + np.einsum("ij,ij->i", block, block)[:, None]
        part = np.argpartition(d2, k - 1, axis=1)[:, :k] if k < len(reference) else np.tile(
            np.arange(len(reference)), (len(block), 1))
        rows = np.arange(len(block))[:, None]
        order = np.argsort(d2[rows, part], axis=1, kind="stable")
        indices[start:start + len(block)] = part[rows, order]
        distances[start:start + len(block)] = np.sqrt(np.maximum(d2[rows, part[rows, order]], 0.0))
    return indices, distances


def place_points(reference_reduced: np.ndarray, reference_layout: np.ndarray, new_reduced: np.ndarray, *,
                 seed: int = 0, on_progress: ProgressFn = None, should_stop: StopFn = None) -> np.ndarray:
    """(M, 2) float32 places for new images in an existing t-SNE layout, which does not move (openTSNE's
    way of adding points: each starts at the median of its nearest mapped images, then only the new points
    are optimised against the fixed map). Raises ``ImportError`` without openTSNE, :class:`Cancelled`."""
    from openTSNE import TSNEEmbedding
    from openTSNE.affinity import Affinities, joint_probabilities_nn
    from openTSNE.tsne import OptimizationInterrupt

    reference_reduced = np.asarray(reference_reduced, np.float32)
    new_reduced = np.asarray(new_reduced, np.float32)
    if len(new_reduced) == 0:
        return np.zeros((0, 2), np.float32)
    n_ref = len(reference_reduced)

    class _KnownNeighbours(Affinities):
        """Affinities of new points to the saved map's images, from exact neighbours in the reduced space
        (the saved map keeps no neighbour index, and an exact search of a few new images is cheap)."""

        @property
        def n_samples(self) -> int:
            return n_ref

        def to_new(self, data, perplexity=5.0, return_distances=False):  # openTSNE's signature
            k = min(n_ref, max(25, int(3 * perplexity)))
            neighbours, dist = nearest_reference(reference_reduced, data, k)
            p = joint_probabilities_nn(neighbours, dist, [min(perplexity, k / 3)], symmetrize=False,
                                       normalization="point-wise", n_reference_samples=n_ref, n_jobs=1)
            return (p, neighbours, dist) if return_distances else p

    from scipy.sparse import csr_matrix

    affinities = _KnownNeighbours()
    affinities.P = csr_matrix((n_ref, n_ref), dtype=np.float64)  # the map itself is never optimised here
    layout = np.asarray(reference_layout, np.float64)
    centre = (layout.max(axis=0) + layout.min(axis=0)) / 2
    reference = TSNEEmbedding(layout - centre, affinities, random_state=seed, **_gradient(n_ref))
    # Each new image starts at the median of its nearest mapped images: openTSNE's 25, fewer in a small map
    # (25 of 30 images would be the median of every class); perplexity scaled the same way.
    k = int(min(25, max(3, n_ref // 10)))
    partial = reference.prepare_partial(new_reduced, initialization="median", k=k, perplexity=min(5.0, k / 1.5))
    watch = _Watch(0, 1000, PLACE_ITERATIONS, on_progress, should_stop, None)
    try:
        partial.optimize(PLACE_ITERATIONS, learning_rate=0.1, exaggeration=1.5, momentum=0.8, max_grad_norm=0.25,
                         inplace=True, propagate_exception=True, callbacks=watch, callbacks_every_iters=10)
    except OptimizationInterrupt:
        raise Cancelled() from None
    return (np.asarray(partial, np.float64) + centre).astype(np.float32)
