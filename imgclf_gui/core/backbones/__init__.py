"""Registry of pretrained feature extractors ("backbones").

A backbone turns a square RGB image (values 0..255, ``input_size`` x ``input_size``) into a
``dim``-long bottleneck vector. Its Keras model includes its own preprocessing, so every caller,
export and test feeds the same thing: float32 pixels 0..255, RGB, shape (N, S, S, 3).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BackboneSpec:
    id: str
    display_name: str
    input_size: int
    dim: int
    #: changes whenever the features could change (weights, conversion code); keys the feature cache
    version: str
    #: "efficientnet-lite" ((x-127)/128), "caffe-bgr", "inception" ([-1, 1]), "torch" ...
    preprocessing: str
    #: where the weights come from, in words for the user
    weights_source: str
    #: True when the weights ship in an installed registry package (works with no network)
    offline: bool
    description: str = ""

    @property
    def cache_key(self) -> str:
        return f"{self.id}@{self.version}"
