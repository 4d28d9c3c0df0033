"""Registry of pretrained feature extractors ("backbones").

A backbone turns a square RGB image (values 0..255, ``input_size`` x ``input_size``) into a
``dim``-long bottleneck vector. Its Keras model includes its own preprocessing, so every caller,
export and test feeds the same thing: float32 pixels 0..255, RGB, shape (N, S, S, 3).

A combined backbone ("efficientnet-lite0+efficientnet-lite2") joins several networks' bottlenecks;
:func:`feature_parts` and :func:`combine_features` (``combined.py``) define what a model's features are.

Nothing here imports TensorFlow, Keras or LiteRT at import time; the functions that need them do.
"""
from __future__ import annotations

# importing the built-in backbones registers them
from imgclf_gui.core.backbones import efficientnet_lite, keras_apps, squeezenet  # noqa: F401, I001
from imgclf_gui.core.backbones._registry import (
    BackboneUnavailable,
    availability,
    get_spec,
    list_specs,
    load_keras_backbone,
    load_keras_full,
    load_keras_imagenet,
    register_backbone,
    register_combination,
    unregister_backbone,
    unregister_combination,
)
from imgclf_gui.core.backbones.combined import combine_features, combined_id, feature_parts
from imgclf_gui.core.backbones.extractor import FeatureExtractor, needs_preparation, open_extractor, prepare_backbone
from imgclf_gui.core.backbones.imagenet_names import imagenet_class_names
from imgclf_gui.core.backbones.spec import DEFAULT_BACKBONE, IMAGENET_BACKBONE, BackboneSpec

__all__ = [
    "DEFAULT_BACKBONE",
    "IMAGENET_BACKBONE",
    "BackboneSpec",
    "BackboneUnavailable",
    "FeatureExtractor",
    "availability",
    "combine_features",
    "combined_id",
    "feature_parts",
    "get_spec",
    "imagenet_class_names",
    "list_specs",
    "load_keras_backbone",
    "load_keras_full",
    "load_keras_imagenet",
    "needs_preparation",
    "open_extractor",
    "prepare_backbone",
    "register_backbone",
    "register_combination",
    "unregister_backbone",
    "unregister_combination",
]
