"""What a backbone is: its input size, bottleneck length, version and where its weights come from."""
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
    #: a combined backbone's parts (registered backbone ids, in the order their bottlenecks are joined);
    #: empty for a single network (see ``core/backbones/combined.py``)
    parts: tuple[str, ...] = ()

    @property
    def is_combined(self) -> bool:
        return bool(self.parts)

    @property
    def cache_key(self) -> str:
        return f"{self.id}@{self.version}"


DEFAULT_BACKBONE = "efficientnet-lite0"
