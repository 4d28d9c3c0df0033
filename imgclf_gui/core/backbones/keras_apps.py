"""The classic backbones from ``keras.applications``, for users who have (or fetch) the weight files.

Their weights are not in any installed package. A weights file is looked for, in order, in
``$IMGCLF_WEIGHTS_DIR``, ``<user cache>/weights/`` and Keras's own download folder
(``~/.keras/models``), under the exact file name Keras uses. Nothing touches the network unless the
caller passes ``allow_download=True``; then a failed download becomes :class:`BackboneUnavailable`.

A weights file is untrusted input too: before Keras reads it, :func:`check_weights_file` opens it with
h5py and refuses one whose arrays would take more memory than the file holds (a compressed or
never-written dataset can declare gigabytes in a few bytes). A damaged file, whatever Keras or h5py
raise about it, makes the backbone unavailable with a sentence saying which file and what to do.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from imgclf_gui.core.backbones._registry import BackboneUnavailable, register_backbone
from imgclf_gui.core.backbones.spec import BackboneSpec
from imgclf_gui.core.support.paths import user_cache_dir

if TYPE_CHECKING:
    import keras

_BASE_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"
#: the mean keras.applications' "caffe" preprocessing subtracts (VGG16 was trained with it)
_KERAS_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


@dataclass(frozen=True)
class _Classic:
    spec: BackboneSpec
    #: Keras's file name for the weights with the ImageNet top (features and probabilities both)
    file_name: str
    url_path: str
    #: name of the keras.applications constructor
    constructor: str
    #: layer whose output, globally average-pooled if 4-D, is the bottleneck
    bottleneck_layer: str


def _spec(backbone_id: str, name: str, size: int, dim: int, preprocessing: str, blurb: str) -> BackboneSpec:
    return BackboneSpec(
        id=backbone_id, display_name=name, input_size=size, dim=dim, version="1",
        preprocessing=preprocessing,
        weights_source="ImageNet weights from keras.applications (a file to download once)",
        offline=False, description=blurb,
    )


_CLASSICS = [
    _Classic(_spec("inception-v3", "Inception v3", 299, 2048, "inception",
                   "The network of the original TensorFlow retraining tutorial; slow on a laptop."),
             "inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
             "inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels.h5", "InceptionV3", "avg_pool"),
    _Classic(_spec("mobilenet-v2", "MobileNet v2", 224, 1280, "inception",
                   "Small and quick, a little less accurate than EfficientNet-Lite0."),
             "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5",
             "mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5", "MobileNetV2",
             "global_average_pooling2d"),
    _Classic(_spec("vgg16", "VGG16", 224, 512, "caffe-bgr",
                   "Large and slow; the weights file is over 500 MB."),
             "vgg16_weights_tf_dim_ordering_tf_kernels.h5",
             "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels.h5", "VGG16", "block5_pool"),
]


def weights_folders() -> list[Path]:
    """Where a user may put a classic backbone's weights file, in search order."""
    folders = []
    override = os.environ.get("IMGCLF_WEIGHTS_DIR")
    if override:
        folders.append(Path(override))
    folders.append(user_cache_dir() / "weights")
    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    folders.append(keras_home / "models")
    return folders


def find_weights(file_name: str) -> Path | None:
    """The first existing, non-empty ``file_name`` in :func:`weights_folders`."""
    for folder in weights_folders():
        candidate = folder / file_name
        if candidate.is_file() and candidate.stat().st_size > 0:
            return candidate
    return None


def _damaged_message(classic: _Classic, path: Path, reason: str) -> str:
    first = (reason.strip().splitlines() or [""])[0][:160]
    return (f"{classic.spec.display_name} is unavailable: its weights file {path} is damaged ({first}); delete it "
            f"and download it again from {_BASE_URL}{classic.url_path}")


def check_weights_file(path: Path) -> str | None:
    """Why the HDF5 weights file ``path`` cannot be trusted (a few words), or None when it can be loaded."""
    import h5py

    limit = path.stat().st_size * 1.05 + (1 << 20)  # Keras writes its weights uncompressed
    total = 0
    try:
        with h5py.File(path, "r") as f:
            datasets: list[h5py.Dataset] = []
            f.visititems(lambda _name, item: datasets.append(item) if isinstance(item, h5py.Dataset) else None)
            for dataset in datasets:
                if dataset.dtype.kind not in "fiub":
                    return f"it holds {dataset.name} of type {dataset.dtype}, not numbers"
                total += int(dataset.size) * dataset.dtype.itemsize
                if total > limit:
                    return "its arrays declare more data than the file holds"
    except Exception as exc:  # noqa: BLE001 - h5py raises OSError, KeyError, RuntimeError... on a damaged file
        return str(exc) or type(exc).__name__
    return None


def _missing_message(classic: _Classic) -> str:
    where = user_cache_dir() / "weights"
    return (f"{classic.spec.display_name} needs its ImageNet weights file {classic.file_name}: download it "
            f"from {_BASE_URL}{classic.url_path} and put it in {where} (or in the folder named by "
            f"IMGCLF_WEIGHTS_DIR)")


def _checker(classic: _Classic) -> Callable[[], tuple[bool, str]]:
    def check() -> tuple[bool, str]:
        if find_weights(classic.file_name) is None:
            return False, _missing_message(classic)
        return True, ""
    return check


def _downloader(classic: _Classic) -> Callable[[], None]:
    def download() -> None:
        import keras

        folder = user_cache_dir() / "weights"
        folder.mkdir(parents=True, exist_ok=True)
        try:
            # get_file writes to a temporary name and renames when complete, so no half file remains.
            keras.utils.get_file(classic.file_name, _BASE_URL + classic.url_path, cache_dir=str(folder),
                                 cache_subdir=".")
        except Exception as exc:  # noqa: BLE001 - any network or disk failure means the same to a user
            raise BackboneUnavailable(f"could not download the weights ({exc}). {_missing_message(classic)}") from exc
    return download


def _builder(classic: _Classic) -> Callable[[], keras.Model]:
    def build() -> keras.Model:
        import keras
        from keras import layers

        from imgclf_gui.core.backbones.squeezenet import caffe_bgr_preprocessing

        path = find_weights(classic.file_name)
        if path is None:
            raise BackboneUnavailable(_missing_message(classic))
        size = classic.spec.input_size
        problem = check_weights_file(path)
        if problem:
            raise BackboneUnavailable(_damaged_message(classic, path, problem))
        try:
            base = getattr(keras.applications, classic.constructor)(
                weights=str(path), include_top=True, input_shape=(size, size, 3))
        except Exception as exc:  # noqa: BLE001 - whatever Keras raises about the file, it is damaged for the user
            raise BackboneUnavailable(_damaged_message(classic, path, str(exc) or type(exc).__name__)) from exc
        inputs = keras.Input((size, size, 3), dtype="float32", name="image")
        if classic.spec.preprocessing == "caffe-bgr":
            x = caffe_bgr_preprocessing(_KERAS_CAFFE_MEAN_BGR)(inputs)
        else:  # [-1, 1], as keras.applications' "tf" mode
            x = layers.Rescaling(1.0 / 127.5, offset=-1.0, name="preprocess")(inputs)
        two_headed = keras.Model(base.inputs, [base.get_layer(classic.bottleneck_layer).output, base.outputs[0]])
        pooled, probabilities = two_headed(x)
        if len(pooled.shape) == 4:
            pooled = layers.GlobalAveragePooling2D(name="bottleneck")(pooled)
        return keras.Model(inputs, [pooled, probabilities], name=classic.constructor.lower())
    return build


for _classic in _CLASSICS:
    register_backbone(_classic.spec, _builder(_classic), check=_checker(_classic),
                      download=_downloader(_classic))
