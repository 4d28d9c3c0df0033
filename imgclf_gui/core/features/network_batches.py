"""One network's share of an extraction: its batches, its cache, the vectors it hands back.

``extraction.py`` runs one :class:`NetworkBatches` per network of the backbone (two for a combined one),
all fed from the same decode. Each keeps its own float32 batch of its own input size, its own cache (the
one that network uses alone) and its own extractor, opened only when something is not cached.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from imgclf_gui.core.features.store import Key

BATCH_SIZE = 32

#: how one image's vector of one variant will arrive: (variant, cached vector or None, key, image to compute)
_Step = tuple[int, np.ndarray | None, Key, np.ndarray | None]


class NetworkBatches:
    """Vectors of one network for every row: from the cache, from a duplicate, or computed in batches."""

    def __init__(self, spec: Any, stores: Any, rows: int, variants: int, flips: bool,
                 on_stored: Callable[[int], None], extractor: Any = None) -> None:
        self.spec = spec
        self.stores = stores  # ``cache._NetworkStores`` (or a cluster worker's memory): has / get / add
        self._on_stored = on_stored
        self.features = np.zeros((rows, spec.dim), np.float32)
        self.augmented = np.zeros((rows, variants, spec.dim), np.float32)
        self.flipped = np.zeros((rows, spec.dim), np.float32) if flips else None
        self.computed_rows: set[int] = set()
        self._extractor: Any = extractor
        self._owns_extractor = extractor is None  # one handed in stays open for its owner's next call
        # Vectors waiting for the network, each with every (row, variant) that wants it: identical files
        # (same hash) share one computation.
        self._batch_keys: list[Key] = []
        # Images are written straight into the network's float32 batch as they arrive: one pass that
        # converts and copies, instead of stacking uint8 images and converting the stack afterwards.
        self._batch = np.empty((BATCH_SIZE, spec.input_size, spec.input_size, 3), np.float32)
        self._waiting: dict[Key, list[tuple[int, int]]] = {}
        self._fresh: dict[Key, np.ndarray] = {}  # computed in this run (for later duplicates)

    def plan(self, raw: bytes, wanted: tuple[int, ...], to_compute: dict[int, np.ndarray]) -> list[_Step] | None:
        """How each wanted variant of this content arrives; None when a vector the index promised is not
        (or no longer) readable from the cache: the image must then be decoded and computed."""
        steps: list[_Step] = []
        for variant in wanted:
            key = (raw, variant)
            vector = self._fresh.get(key)
            if vector is None and key not in self._waiting and variant not in to_compute:
                vector = self.stores.get(key)
                if vector is None:
                    return None
            steps.append((variant, vector, key, to_compute.get(variant)))
        return steps

    def carry_out(self, row: int, steps: list[_Step]) -> None:
        """Store the vectors at hand and queue the others (running a batch whenever one is full)."""
        for variant, vector, key, image in steps:
            if vector is not None:
                continue
            if key in self._waiting:
                self._waiting[key].append((row, variant))
            else:
                assert image is not None
                self._waiting[key] = [(row, variant)]
                if len(self._batch_keys) == BATCH_SIZE:
                    self.run_batch()
                self._batch[len(self._batch_keys)] = image
                self._batch_keys.append(key)
        for variant, vector, _key, _image in steps:
            if vector is not None:
                self._store(row, variant, vector)
        if len(self._batch_keys) == BATCH_SIZE:
            self.run_batch()

    def run_batch(self) -> None:
        if not self._batch_keys:
            return
        if self._extractor is None:  # opened only when something is not cached: re-runs stay instant
            from imgclf_gui.core.backbones import open_extractor

            self._extractor = open_extractor(self.spec.id)
        keys, self._batch_keys = self._batch_keys, []
        vectors = np.asarray(self._extractor.features(self._batch[:len(keys)]), np.float32)
        new_records: list[tuple[Key, np.ndarray]] = []
        for key, vector in zip(keys, vectors):
            self._fresh[key] = vector
            new_records.append((key, vector))
            rows = self._waiting.pop(key)
            self.computed_rows.add(rows[0][0])  # later copies of the same file count as reused
            for row, variant in rows:
                self._store(row, variant, vector)
        self.stores.add(new_records)

    def _store(self, row: int, variant: int, vector: np.ndarray) -> None:
        if variant == 0:
            self.features[row] = vector
        elif self.flipped is not None and variant > self.augmented.shape[1]:
            self.flipped[row] = vector
        else:
            self.augmented[row, variant - 1] = vector
        self._on_stored(row)

    def close(self) -> None:
        if not self._owns_extractor:
            return
        close = getattr(self._extractor, "close", None)
        if callable(close):
            close()
