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


#: What a new project trains with: EfficientNet-Lite0 and Lite2 together (``combined.py``). Chosen by measurement
#: (``benchmarks/bench_accuracy.py``, ``bench_backbone_cost.py``; README, "Backbones"): +1.3 points of accuracy
#: on average over Lite0 alone on four sets (-0.5 to +2.5), for 1.5x Lite0's CPU time per camera photo (decoding
#: dominates there) and 3.1x per small image; extraction is done once per image and cached.
DEFAULT_BACKBONE = "efficientnet-lite0+efficientnet-lite2"
#: The network asked "what do you see?" (its own 1000 ImageNet classes) unless another is named: the default's
#: first network (a combination has no ImageNet head of its own).
IMAGENET_BACKBONE = "efficientnet-lite0"
