"""The table of known backbones and the Keras models built from them (kept once per process)."""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from imgclf_gui.core.backbones.spec import BackboneSpec

if TYPE_CHECKING:  # keras is imported lazily; these names are for the type checker only
    import keras

#: Builds the full Keras model: input float32 (None, S, S, 3) RGB 0..255, outputs
#: ``[bottleneck (None, dim), imagenet_probabilities (None, 1000)]`` (only the first when the
#: spec has no ImageNet head).
KerasBuilder = Callable[[], "keras.Model"]
#: Pure-NumPy stand-in for a model: float32 (N, S, S, 3) 0..255 -> float32 (N, k). Test fakes only.
NumpyFunction = Callable[[np.ndarray], np.ndarray]


class BackboneUnavailable(Exception):
    """The backbone cannot be used here: the message says which file to get and where to put it."""


@dataclass
class _Entry:
    spec: BackboneSpec
    keras_builder: KerasBuilder
    #: () -> (usable, reason); None means always usable
    check: Callable[[], tuple[bool, str]] | None = None
    #: fetches missing weights over the network; only called when the caller allows a download
    download: Callable[[], None] | None = None
    numpy_features: NumpyFunction | None = None
    numpy_probabilities: NumpyFunction | None = None


_entries: dict[str, _Entry] = {}
_models: dict[str, Any] = {}
_lock = threading.RLock()


def register_backbone(
    spec: BackboneSpec,
    keras_builder: KerasBuilder,
    *,
    check: Callable[[], tuple[bool, str]] | None = None,
    download: Callable[[], None] | None = None,
    numpy_features: NumpyFunction | None = None,
    numpy_probabilities: NumpyFunction | None = None,
    replace: bool = False,
) -> None:
    """Add a backbone to the registry.

    ``keras_builder()`` returns the full model (see :data:`KerasBuilder`). ``numpy_features`` (and
    ``numpy_probabilities``) let a test fake skip TensorFlow entirely in :func:`open_extractor`; they
    must compute what the Keras model computes.
    """
    with _lock:
        if spec.id in _entries and not replace:
            raise ValueError(f"backbone {spec.id!r} is already registered")
        _entries[spec.id] = _Entry(spec, keras_builder, check, download, numpy_features, numpy_probabilities)
        _models.pop(spec.id, None)


def unregister_backbone(backbone_id: str) -> None:
    """Remove a backbone (tests use it to clean up their fakes)."""
    with _lock:
        _entries.pop(backbone_id, None)
        _models.pop(backbone_id, None)


def entry(backbone_id: str) -> _Entry:
    try:
        return _entries[backbone_id]
    except KeyError:
        known = ", ".join(sorted(_entries))
        raise KeyError(f"unknown backbone {backbone_id!r} (known: {known})") from None


def get_spec(backbone_id: str) -> BackboneSpec:
    """The spec of a registered backbone; ``KeyError`` naming the known ids otherwise."""
    return entry(backbone_id).spec


def list_specs() -> list[BackboneSpec]:
    """Every registered backbone, offline ones (usable out of the box) first."""
    specs = [e.spec for e in _entries.values()]
    return sorted(specs, key=lambda s: (not s.offline, list(_entries).index(s.id)))


def availability(backbone_id: str) -> tuple[bool, str]:
    """Whether the backbone can be loaded now, with no network; the reason (a sentence) when not."""
    e = entry(backbone_id)
    if e.check is None:
        return True, ""
    return e.check()


def load_keras_full(backbone_id: str, *, allow_download: bool = False) -> keras.Model:
    """The full Keras model, ``[bottleneck, probabilities]`` outputs; built once per process.

    The model is shared: callers wrap it in their own models and never change its weights.
    """
    e = entry(backbone_id)
    with _lock:
        model = _models.get(backbone_id)
        if model is not None:
            return model
        ok, reason = availability(backbone_id)
        if not ok:
            if not (allow_download and e.download is not None):
                raise BackboneUnavailable(reason)
            e.download()
        model = e.keras_builder()
        _models[backbone_id] = model
        return model


def load_keras_backbone(backbone_id: str, *, allow_download: bool = False) -> keras.Model:
    """Keras model: float32 (N, S, S, 3) RGB 0..255 -> bottleneck (N, dim). Preprocessing is inside."""
    full = load_keras_full(backbone_id, allow_download=allow_download)
    import keras  # after the availability check, so a missing file is reported without loading TF

    return keras.Model(full.inputs, full.outputs[0], name=f"{_safe(backbone_id)}_backbone")


def load_keras_imagenet(backbone_id: str, *, allow_download: bool = False) -> keras.Model:
    """Keras model: float32 (N, S, S, 3) RGB 0..255 -> ImageNet softmax (N, 1000)."""
    spec = get_spec(backbone_id)
    if not spec.has_imagenet_head:
        raise BackboneUnavailable(f"{spec.display_name} has no ImageNet classifier")
    full = load_keras_full(backbone_id, allow_download=allow_download)
    import keras
    return keras.Model(full.inputs, full.outputs[1], name=f"{_safe(backbone_id)}_imagenet")


def _safe(backbone_id: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in backbone_id)
