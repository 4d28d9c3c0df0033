"""Combined backbones, and what a model's features are: the one definition every layer uses.

A combined backbone is a choice made of two (or more) networks, named by their ids joined with ``+``
(``efficientnet-lite0+efficientnet-lite2``). It has no network of its own: each part is an ordinary
backbone with its own input size, converted model and bottleneck cache, so a project that switches
between a single backbone and a combination containing it reuses every bottleneck already cached.

The features a head learns from and is fed, for any backbone (single or combined), are defined here:

- :func:`feature_parts` (a spec -> the specs of the networks it runs, in order: ``(spec,)`` for one);
- :func:`combine_features` (each part's bottleneck -> the head's input: one network's bottleneck as it
  is; several networks' each L2-normalised, then joined in part order, so that neither network's scale
  decides how much it counts).

Extraction (``core/features``), training, prediction (``core/models/predict.py``), exports, Check Data's
near-duplicate search and the training summary go through these two functions; nothing else joins
bottlenecks.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from imgclf_gui.core.backbones._registry import SEPARATOR, get_spec, register_combination
from imgclf_gui.core.backbones.spec import BackboneSpec

__all__ = ["SEPARATOR", "combined_id", "feature_parts", "combine_features", "LITE0_LITE2"]

#: below this norm a bottleneck is treated as empty (a failed image's zero row stays zero)
_TINY_NORM = 1e-12


def combined_id(part_ids: Sequence[str]) -> str:
    """The id of the combination of ``part_ids`` (in that order)."""
    return SEPARATOR.join(part_ids)


def feature_parts(spec: BackboneSpec | str) -> tuple[BackboneSpec, ...]:
    """The networks behind a backbone, in the order their bottlenecks are joined: ``(spec,)`` for a single
    network. Raises ``KeyError`` for an unknown backbone."""
    if isinstance(spec, str):
        spec = get_spec(spec)
    return tuple(get_spec(part) for part in spec.parts) or (spec,)


def combine_features(vectors: Sequence[np.ndarray]) -> np.ndarray:
    """The head's input from each part's bottlenecks (float32 ``(..., dim_k)`` each, same leading shape).

    One part: its bottlenecks unchanged (what every single-backbone model was trained on). Several: each
    row of each part divided by its Euclidean length (float64 sums, row by row: an image gets the same
    vector alone or in any batch), then the parts side by side. Zero rows stay zero.
    """
    if len(vectors) == 1:
        return np.asarray(vectors[0], np.float32)
    if not vectors:
        raise ValueError("no bottlenecks to combine")
    joined = []
    for part in vectors:
        part = np.asarray(part, np.float32)
        norms = np.sqrt(np.sum(np.square(part, dtype=np.float64), axis=-1, keepdims=True))
        joined.append((part / np.maximum(norms, _TINY_NORM)).astype(np.float32))
    return np.concatenate(joined, axis=-1)


#: EfficientNet-Lite0 and Lite2 together: the combination offered in the backbone lists
LITE0_LITE2 = register_combination(
    ("efficientnet-lite0", "efficientnet-lite2"),
    description="The default: EfficientNet-Lite0 and Lite2 together, their bottlenecks joined; the most accurate, "
                "for both networks' time (3.1x Lite0's CPU time per small image, 1.5x per camera photo, where "
                "decoding dominates).")
