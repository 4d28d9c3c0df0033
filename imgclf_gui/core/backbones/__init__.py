"""Registry of pretrained feature extractors ("backbones").

A backbone turns a square RGB image (values 0..255, ``input_size`` x ``input_size``) into a
``dim``-long bottleneck vector. Its Keras model includes its own preprocessing, so every caller,
export and test feeds the same thing: float32 pixels 0..255, RGB, shape (N, S, S, 3).

Nothing here imports TensorFlow, Keras or LiteRT at import time; the functions that need them do.
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
    #: False when the backbone has no ImageNet head (test fakes); ``imagenet_probabilities`` then raises
    has_imagenet_head: bool = True

    @property
    def cache_key(self) -> str:
        return f"{self.id}@{self.version}"


DEFAULT_BACKBONE = "efficientnet-lite0"

# The registry and the built-in backbones need BackboneSpec, so they are imported after it.
from imgclf_gui.core.backbones._registry import (  # noqa: E402
    BackboneUnavailable,
    availability,
    get_spec,
    list_specs,
    load_keras_backbone,
    load_keras_full,
    load_keras_imagenet,
    register_backbone,
    unregister_backbone,
)
from imgclf_gui.core.backbones.extractor import FeatureExtractor, open_extractor  # noqa: E402
from imgclf_gui.core.backbones.imagenet_names import imagenet_class_names  # noqa: E402
from imgclf_gui.core.backbones import efficientnet_lite, keras_apps, squeezenet  # noqa: E402,F401

__all__ = [
    "DEFAULT_BACKBONE",
    "BackboneSpec",
    "BackboneUnavailable",
    "FeatureExtractor",
    "availability",
    "get_spec",
    "imagenet_class_names",
    "list_specs",
    "load_keras_backbone",
    "load_keras_full",
    "load_keras_imagenet",
    "open_extractor",
    "register_backbone",
    "unregister_backbone",
]
