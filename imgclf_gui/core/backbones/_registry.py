"""The table of known backbones and the Keras models built from them (kept once per process)."""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from imgclf_gui.core.backbones.spec import DEFAULT_BACKBONE, BackboneSpec

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
#: joins the part ids of a combined backbone ("efficientnet-lite0+efficientnet-lite2")
SEPARATOR = "+"
#: combined backbones offered in the lists (id -> description); any combination of registered backbones
#: can be named, these are the ones worth offering
_combinations: dict[str, str] = {}


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
    """The registered network ``backbone_id``; ``KeyError`` naming the known ids, ``ValueError`` for a
    combined backbone (it has no network of its own: each of its parts has)."""
    if SEPARATOR in backbone_id:
        get_spec(backbone_id)  # an unknown part is a KeyError like any unknown backbone
        raise ValueError(f"{backbone_id} combines several backbones: each part has its own network")
    try:
        return _entries[backbone_id]
    except KeyError:
        known = ", ".join(sorted(_entries))
        raise KeyError(f"unknown backbone {backbone_id!r} (known: {known})") from None


def get_spec(backbone_id: str) -> BackboneSpec:
    """The spec of a registered backbone, or of a combination of registered backbones ("a+b");
    ``KeyError`` naming the known ids otherwise."""
    if SEPARATOR in backbone_id:
        return _combined_spec(tuple(backbone_id.split(SEPARATOR)))
    return entry(backbone_id).spec


def register_combination(part_ids: tuple[str, ...], *, description: str = "") -> str:
    """Offer the combination of ``part_ids`` in the backbone lists (once its parts are registered);
    returns its id. Any combination can be named without this; this only lists it."""
    combined = SEPARATOR.join(part_ids)
    _check_parts(part_ids)
    with _lock:
        _combinations[combined] = description
    return combined


def unregister_combination(combined_id: str) -> None:
    """Stop offering a combination (tests clean up with it)."""
    with _lock:
        _combinations.pop(combined_id, None)


def _check_parts(part_ids: tuple[str, ...]) -> None:
    if len(part_ids) < 2 or len(set(part_ids)) != len(part_ids) or not all(part_ids):
        raise KeyError(f"a combined backbone names two or more different backbones, not {SEPARATOR.join(part_ids)!r}")


def _combined_spec(part_ids: tuple[str, ...]) -> BackboneSpec:
    """The spec of a combination: its parts' bottlenecks joined (``dim`` is their sum), decoded for the
    largest input (``input_size``); ``version`` names every part's version, so a model records them all."""
    _check_parts(part_ids)
    parts = [entry(p).spec for p in part_ids]
    return BackboneSpec(
        id=SEPARATOR.join(part_ids),
        display_name=_joined_names([p.display_name for p in parts]),
        input_size=max(p.input_size for p in parts),
        dim=sum(p.dim for p in parts),
        version=SEPARATOR.join(p.version for p in parts),
        preprocessing=SEPARATOR.join(p.preprocessing for p in parts),
        weights_source="; ".join(p.weights_source for p in parts),
        offline=all(p.offline for p in parts),
        description=_combinations.get(SEPARATOR.join(part_ids), "") or
        "Both networks' bottlenecks, joined: " + ", ".join(p.display_name for p in parts) + ".",
        has_imagenet_head=False,
        parts=tuple(part_ids),
    )


def _joined_names(names: list[str]) -> str:
    """"EfficientNet-Lite0 + Lite2": a family name said once keeps the backbone lists narrow."""
    family = names[0].rsplit("-", 1)[0] + "-" if "-" in names[0] else ""
    if family and all(n.startswith(family) for n in names):
        return " + ".join([names[0]] + [n[len(family):] for n in names[1:]])
    return " + ".join(names)


def list_specs() -> list[BackboneSpec]:
    """Every registered backbone, then the combinations offered (those whose parts are all registered);
    the default first, then the other offline ones (usable out of the box)."""
    order = {**{backbone_id: i for i, backbone_id in enumerate(_entries)},
             **{combined: len(_entries) + i for i, combined in enumerate(_combinations)}}
    specs = [e.spec for e in _entries.values()]
    for combined in _combinations:
        if all(part in _entries for part in combined.split(SEPARATOR)):
            specs.append(get_spec(combined))
    return sorted(specs, key=lambda s: (s.id != DEFAULT_BACKBONE, not s.offline, order[s.id]))


def availability(backbone_id: str) -> tuple[bool, str]:
    """Whether the backbone (every part of a combined one) can be loaded now, with no network; the reason
    (a sentence) when not."""
    spec = get_spec(backbone_id)
    for part in spec.parts or (spec.id,):
        e = entry(part)
        if e.check is not None:
            ok, reason = e.check()
            if not ok:
                return False, reason
    return True, ""


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
