"""Reading a model folder as untrusted input: someone may send a model, or edit one.

Every file of ``NAME.imgclf-model/`` is checked before anything in it is believed:

- only regular files are opened (``lstat`` first, then opened without following links and without
  blocking, then ``fstat`` again): a FIFO, device or link in a model folder is refused, never read;
- each file has a size limit checked before it is read: ``model.json`` :data:`MAX_JSON_BYTES` (and at most
  :data:`MAX_JSON_CONTAINERS` lists and objects, so parsing it stays within ~20 times its size),
  ``trained_on.txt`` :data:`MAX_TRAINED_ON_BYTES`, ``head.npz`` exactly what the arrays need plus a small
  allowance, where the array shapes come from the backbone's own spec, the class count and the hidden
  units, never from the file;
- ``head.npz`` is read member by member with our own bounded reader: only the expected members, stored or
  deflated, each declaring (and holding) exactly the bytes its shape needs, little-endian float32 in C
  order, every value finite and of plausible size; ``np.load`` is never called on it (its npy reader
  allocates what a header claims before reading);
- ``model.json`` has a strict schema (:func:`parse_model_json`). Format 2 adds, only where a model uses
  them, ``backbones`` (the networks of a combined backbone: each id, version, input size, preprocessing
  and bottleneck length, every one checked against the installed network) and ``flips`` (``{"average":
  true}``: scores are averaged with the mirror image's); a model without them is written as format 1, so
  older imgclf versions still open it, and refuse (as "saved by a newer imgclf") one they would misread.

Any problem is one :class:`BundleError` sentence naming the folder. Entry point: :func:`read_model_files`.
"""
from __future__ import annotations

import io
import json
import math
import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: the newest ``model.json`` format this version reads (a model is written in the oldest format that holds it)
SCHEMA_VERSION = 2
#: a combined backbone's networks at most
MAX_PARTS = 4
JSON_NAME = "model.json"
WEIGHTS_NAME = "head.npz"
TRAINED_ON_NAME = "trained_on.txt"

MAX_JSON_BYTES = 8 << 20
MAX_JSON_CONTAINERS = 100_000
MAX_TRAINED_ON_BYTES = 65 * 1_000_000  # a million training images, one 64-hex-digit hash a line
MAX_CLASSES = 10_000
MAX_CLASS_NAME = 255  # characters: what a folder name may hold
MAX_DIM_UNKNOWN_BACKBONE = 8192  # only for showing a run whose backbone is not installed
MAX_INPUT_SIZE = 4096
MAX_PATH_CHARS = 4096
MAX_WEIGHT = 1e6  # real heads are far below; beyond it scores overflow to NaN
_NPY_HEADER_MAX = 4096
_ZIP_SLACK = 64 << 10
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
               | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
_CROPS = ("squash", "center")
_TYPE_WORDS = {int: "a whole number", str: "text", list: "a list", dict: "an object"}


class BundleError(Exception):
    """A model folder that cannot be used here; the message (one sentence) says why and what to do."""


@dataclass
class ModelFiles:
    """What a model folder holds, checked: ``model.json`` (parsed), the head's arrays, the training hashes."""

    json: dict[str, Any]
    arrays: dict[str, np.ndarray]
    train_hashes: list[str]
    input_size: int
    preprocessing: str
    #: the model averages each image's scores with its mirror image's (``model.json`` ``flips.average``)
    flip_averaging: bool = False


def damaged(folder: Path, reason: str) -> BundleError:
    """The one sentence for a model folder that cannot be trusted."""
    return BundleError(f"{folder} is not a usable imgclf model: {reason}.")


def read_member(folder: Path, name: str, max_bytes: int, *, required: bool = True) -> bytes | None:
    """The bytes of ``folder/name``: a regular file (not a link, FIFO or device) of at most ``max_bytes``.

    Returns None for a missing optional member; raises :class:`BundleError` otherwise.
    """
    from imgclf_gui.core.support.safe_files import kind_of

    path = folder / name
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        if required:
            raise damaged(folder, f"{name} is missing") from None
        return None
    except OSError as exc:
        raise damaged(folder, f"{name} cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        raise damaged(folder, f"{name} is {kind_of(st.st_mode)}, not a regular file")
    if st.st_size > max_bytes:
        raise damaged(folder, f"{name} is {st.st_size:,} bytes, more than a model of this kind can need "
                              f"({max_bytes:,})")
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise damaged(folder, f"{name} cannot be read ({exc.strerror or exc})") from None
    try:
        st = os.fstat(fd)  # the file opened may not be the one looked at (a swap in between)
        if not stat.S_ISREG(st.st_mode):
            raise damaged(folder, f"{name} is {kind_of(st.st_mode)}, not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            # read(n) allocates n bytes up front: ask for what the file holds, not for the limit
            data = handle.read(min(st.st_size, max_bytes) + 1)
    except OSError as exc:
        raise damaged(folder, f"{name} cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise damaged(folder, f"{name} grew past {max_bytes:,} bytes while being read")
    return data


def read_model_files(folder: Path, *, require_backbone: bool) -> ModelFiles:
    """Read and check every file of the model folder ``folder``; raises :class:`BundleError`.

    With ``require_backbone`` the backbone must be installed (its spec gives the feature dimension, the
    input size and the preprocessing); without it an unknown backbone is allowed (showing an old run),
    with the dimension bounded by :data:`MAX_DIM_UNKNOWN_BACKBONE`.
    """
    from imgclf_gui.core.backbones import get_spec

    if not folder.is_dir():
        raise BundleError(f"{folder} is not an imgclf model (not a folder).")
    if not os.path.lexists(folder / JSON_NAME):
        raise BundleError(f"{folder} is not an imgclf model (no {JSON_NAME} in it).")
    data = parse_model_json(folder, read_member(folder, JSON_NAME, MAX_JSON_BYTES) or b"")
    backbone = data["backbone"]
    try:
        spec = get_spec(backbone["id"])
    except KeyError:
        if require_backbone:
            raise BundleError(f"This model was trained on the {backbone['id']!r} backbone, which this imgclf "
                              "does not have. Retrain it with an available backbone.") from None
        spec = None
    declared_dim, hidden = data["head"]["dim"], data["head"]["hidden_units"]
    if spec is not None and (spec.version != backbone["version"] or spec.dim != declared_dim
                             or _parts_differ(spec, data.get("backbones", []))):
        if require_backbone:
            saved_id, saved, installed = _differing_version(spec, data)
            raise BundleError(f"This model was trained on {saved_id} version {saved}, but "
                              f"version {installed} is installed; its features differ, so the model would give "
                              "wrong answers. Retrain it on your images (features are re-extracted automatically).")
        spec = None  # another version: shown as a record of the run, never fed this version's features
    if spec is not None:
        if backbone["input_size"] != spec.input_size or data["input"]["size"] != spec.input_size:
            raise damaged(folder, f"{JSON_NAME} gives the input size {backbone['input_size']}, but the "
                                  f"{spec.id} backbone takes {spec.input_size}")
        dim, input_size, preprocessing = spec.dim, spec.input_size, spec.preprocessing
    else:
        if declared_dim > MAX_DIM_UNKNOWN_BACKBONE:
            raise damaged(folder, f"{JSON_NAME} declares {declared_dim} features per image")
        dim, input_size, preprocessing = declared_dim, backbone["input_size"], backbone["preprocessing"]
    classes = len(data["class_names"])
    shapes = head_shapes(dim, hidden, classes)
    allowed = sum(4 * math.prod(s) + _NPY_HEADER_MAX for s in shapes.values()) + _ZIP_SLACK
    arrays = read_head_npz(folder, read_member(folder, WEIGHTS_NAME, allowed) or b"", shapes)
    trained_on = read_member(folder, TRAINED_ON_NAME, MAX_TRAINED_ON_BYTES, required=False)
    return ModelFiles(data, arrays, _parse_trained_on(folder, trained_on), input_size, preprocessing,
                      flip_averaging=bool(data.get("flips", {}).get("average", False)))


def _parts_differ(spec: Any, saved_parts: list[dict[str, Any]]) -> bool:
    """The installed networks of a combined backbone are not the ones the model was trained with."""
    from imgclf_gui.core.backbones import feature_parts

    if not spec.parts:
        return False
    return [(p["id"], p["version"], p["dim"]) for p in saved_parts] != [
        (p.id, p.version, p.dim) for p in feature_parts(spec)]


def _differing_version(spec: Any, data: dict[str, Any]) -> tuple[str, str, str]:
    """(backbone id, saved version, installed version) of the (first) network whose version differs."""
    from imgclf_gui.core.backbones import feature_parts

    backbone = data["backbone"]
    for saved, installed in zip(data.get("backbones", []), feature_parts(spec) if spec.parts else ()):
        if saved["version"] != installed.version:
            return saved["id"], saved["version"], installed.version
    return backbone["id"], backbone["version"], spec.version


def head_shapes(dim: int, hidden: int, classes: int) -> dict[str, tuple[int, ...]]:
    """The exact array shapes of a head: standardisation, then one dense layer (or a hidden one first)."""
    shapes: dict[str, tuple[int, ...]] = {"mean": (dim,), "std": (dim,)}
    widths = [dim, hidden, classes] if hidden else [dim, classes]
    for i in range(len(widths) - 1):
        shapes[f"dense{i}_kernel"] = (widths[i], widths[i + 1])
        shapes[f"dense{i}_bias"] = (widths[i + 1],)
    return shapes


# ------------------------------------------------------------------------------------------ model.json
def parse_model_json(folder: Path, raw: bytes) -> dict[str, Any]:
    """``model.json`` as a dict whose every field the loader uses has the right type and a known value."""
    if raw.count(b"[") + raw.count(b"{") > MAX_JSON_CONTAINERS:
        raise damaged(folder, f"{JSON_NAME} holds more lists and objects than a model has")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise damaged(folder, f"{JSON_NAME} is not UTF-8 text") from None
    except RecursionError:
        raise damaged(folder, f"{JSON_NAME} is nested too deeply") from None
    except ValueError as exc:
        raise damaged(folder, f"{JSON_NAME} is not valid JSON ({exc.args[0] if exc.args else exc})") from None
    if not isinstance(data, dict) or data.get("format") != "imgclf-model":
        raise BundleError(f"{folder} is not an imgclf model.")
    schema = data.get("schema")
    if type(schema) is not int or schema < 1:
        raise damaged(folder, f"{JSON_NAME} has no valid schema number")
    if schema > SCHEMA_VERSION:
        raise BundleError(f"{folder} was saved by a newer imgclf (model format {schema}); update imgclf to open it.")

    def need(where: dict[str, Any], key: str, kind: type, label: str) -> Any:
        value = where.get(key)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            wanted = _TYPE_WORDS[kind]
            raise damaged(folder, f"{JSON_NAME}: {label} is {'missing' if key not in where else 'not ' + wanted}")
        return value

    backbone = need(data, "backbone", dict, "backbone")
    for key in ("id", "version"):
        text = need(backbone, key, str, f"backbone.{key}")
        if not 0 < len(text) <= 100 or not text.isprintable():
            raise damaged(folder, f"{JSON_NAME}: backbone.{key} is not a backbone name")
    backbone.setdefault("preprocessing", "")
    need(backbone, "preprocessing", str, "backbone.preprocessing")
    need(backbone, "input_size", int, "backbone.input_size")
    inputs = need(data, "input", dict, "input")
    need(inputs, "size", int, "input.size")
    if need(inputs, "crop", str, "input.crop") not in _CROPS:
        raise damaged(folder, f"{JSON_NAME}: input.crop is {inputs['crop']!r:.40}, not one of {', '.join(_CROPS)}")
    if not 0 < backbone["input_size"] <= MAX_INPUT_SIZE or inputs["size"] != backbone["input_size"]:
        raise damaged(folder, f"{JSON_NAME}: the input size is not a plausible picture size")
    if "flips" in data and not isinstance(need(data, "flips", dict, "flips").get("average", False), bool):
        raise damaged(folder, f"{JSON_NAME}: flips.average is not true or false")
    head = need(data, "head", dict, "head")
    from imgclf_gui.core.training.config import SETTING_BY_NAME

    max_hidden = int(SETTING_BY_NAME["hidden_units"].maximum or 0)
    if not 0 <= need(head, "hidden_units", int, "head.hidden_units") <= max_hidden:
        raise damaged(folder, f"{JSON_NAME}: head.hidden_units is not between 0 and {max_hidden}")
    if not 0 < need(head, "dim", int, "head.dim"):
        raise damaged(folder, f"{JSON_NAME}: head.dim is not a feature count")
    _check_parts(folder, data, need)
    _check_class_names(folder, need(data, "class_names", list, "class_names"))
    for key, kind in (("config", dict), ("metrics", dict), ("created", str), ("validation_paths", list)):
        if key in data:
            need(data, key, kind, key)
    for path in data.get("validation_paths", []):
        if not isinstance(path, str) or not 0 < len(path) <= MAX_PATH_CHARS or "\0" in path:
            raise damaged(folder, f"{JSON_NAME}: validation_paths holds something that is not a file path")
    return data


def _check_parts(folder: Path, data: dict[str, Any], need: Any) -> None:
    """A combined backbone (an id with ``+``) lists its networks under ``backbones``, in order; the
    backbone's id and version are theirs joined, and its input size is the largest of theirs."""
    backbone = data["backbone"]
    combined = "+" in backbone["id"]
    if not combined and "backbones" not in data:
        return
    parts = need(data, "backbones", list, "backbones")
    if not combined or not 2 <= len(parts) <= MAX_PARTS:
        raise damaged(folder, f"{JSON_NAME}: backbones does not describe the networks of {backbone['id']!r:.60}")
    for i, part in enumerate(parts):
        if not isinstance(part, dict):
            raise damaged(folder, f"{JSON_NAME}: backbones holds something that is not a backbone")
        for key in ("id", "version"):
            text = need(part, key, str, f"backbones[{i}].{key}")
            if not 0 < len(text) <= 100 or not text.isprintable() or "+" in text:
                raise damaged(folder, f"{JSON_NAME}: backbones[{i}].{key} is not a backbone name")
        need(part, "preprocessing", str, f"backbones[{i}].preprocessing")
        for key, most in (("input_size", MAX_INPUT_SIZE), ("dim", MAX_DIM_UNKNOWN_BACKBONE)):
            if not 0 < need(part, key, int, f"backbones[{i}].{key}") <= most:
                raise damaged(folder, f"{JSON_NAME}: backbones[{i}].{key} is not plausible")
    if ("+".join(p["id"] for p in parts) != backbone["id"] or "+".join(p["version"] for p in parts)
            != backbone["version"] or max(p["input_size"] for p in parts) != backbone["input_size"]
            or sum(p["dim"] for p in parts) != data.get("head", {}).get("dim")):
        raise damaged(folder, f"{JSON_NAME}: backbones does not add up to the backbone {backbone['id']!r:.60}")


def _check_class_names(folder: Path, names: list[Any]) -> None:
    if not 2 <= len(names) <= MAX_CLASSES:
        raise damaged(folder, f"{JSON_NAME} lists {len(names)} class names (a model has 2 to {MAX_CLASSES:,})")
    for name in names:
        if not isinstance(name, str):
            raise damaged(folder, f"{JSON_NAME}: a class name is not text ({json.dumps(name)[:40]})")
        if (not name.strip() or len(name) > MAX_CLASS_NAME or name in (".", "..")
                or any(c in "/\\" or ord(c) < 32 or ord(c) == 127 for c in name)):
            raise damaged(folder, f"{JSON_NAME}: {json.dumps(name)[:60]} cannot be a class name (empty, too long, "
                                  "a control character or a path separator)")
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise damaged(folder, f"{JSON_NAME} lists the class {json.dumps(twice)[:60]} twice")


def _parse_trained_on(folder: Path, raw: bytes | None) -> list[str]:
    if raw is None:
        return []  # optional: evaluate then scores every image it is given
    try:
        hashes = raw.decode("ascii").split()
    except UnicodeDecodeError:
        raise damaged(folder, f"{TRAINED_ON_NAME} is not a list of content hashes") from None
    hexdigits = set("0123456789abcdef")
    if any(len(h) != 64 or not set(h) <= hexdigits for h in hashes):
        raise damaged(folder, f"{TRAINED_ON_NAME} is not a list of content hashes")
    return hashes


# ------------------------------------------------------------------------------------------ head.npz
def read_head_npz(folder: Path, raw: bytes, shapes: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """The head's arrays from the bytes of ``head.npz``, each of exactly the shape in ``shapes``."""
    try:
        return _read_npz(raw, shapes)
    except _NpzProblem as exc:
        raise damaged(folder, f"{WEIGHTS_NAME} {exc}") from None
    except Exception as exc:  # noqa: BLE001 - a crafted zip makes zipfile, zlib and numpy raise anything
        raise damaged(folder, f"{WEIGHTS_NAME} is damaged ({type(exc).__name__})") from None


class _NpzProblem(Exception):
    pass


def _read_npz(raw: bytes, shapes: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        infos = archive.infolist()
        names = [i.filename for i in infos]
        expected = {f"{key}.npy": key for key in shapes}
        if len(set(names)) != len(names):
            raise _NpzProblem("holds the same array twice")
        if set(names) != set(expected):
            odd = sorted(set(names) ^ set(expected))
            raise _NpzProblem(f"does not hold the arrays of a head of this shape ({', '.join(odd)[:80]})")
        arrays = {}
        for info in infos:
            key = expected[info.filename]
            arrays[key] = _read_member(archive, info, shapes[key])
    return arrays


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, shape: tuple[int, ...]) -> np.ndarray:
    name = info.filename.removesuffix(".npy")
    nbytes = 4 * math.prod(shape)
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or info.flag_bits & 0x1:
        raise _NpzProblem(f"stores {name} in a way imgclf does not read (compression or encryption)")
    # The declared size bounds what the zip reader will ever inflate (a small deflate bomb stops there).
    if info.file_size > nbytes + _NPY_HEADER_MAX:
        raise _NpzProblem(f"declares {info.file_size:,} bytes for {name}, more than its {shape} shape needs")
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            found, fortran, dtype = np.lib.format.read_array_header_1_0(member, max_header_size=_NPY_HEADER_MAX)
        elif version == (2, 0):
            found, fortran, dtype = np.lib.format.read_array_header_2_0(member, max_header_size=_NPY_HEADER_MAX)
        else:
            raise _NpzProblem(f"stores {name} in an unknown array format")
        if dtype != np.dtype("<f4") or fortran:
            raise _NpzProblem(f"stores {name} as {dtype}{' (Fortran order)' if fortran else ''}, not float32")
        if tuple(found) != shape:
            raise _NpzProblem(f"holds {name} of shape {tuple(found)}, but this model needs {shape}")
        data = member.read(nbytes + 1)  # to the end: the zip reader checks the CRC there
    if len(data) != nbytes:
        raise _NpzProblem(f"holds {len(data):,} bytes for {name}, not the {nbytes:,} its shape needs")
    array = np.frombuffer(data, np.dtype("<f4")).reshape(shape).astype(np.float32)
    if not np.isfinite(array).all():
        raise _NpzProblem(f"holds NaN or infinite values in {name}, so the model would classify nothing")
    if array.size and float(np.abs(array).max()) > MAX_WEIGHT:
        raise _NpzProblem(f"holds values beyond {MAX_WEIGHT:g} in {name}, far from any trained head")
    if name == "std" and array.size and float(array.min()) <= 0:
        raise _NpzProblem("holds a standard deviation of zero or less")
    return array


__all__ = ["BundleError", "ModelFiles", "read_model_files", "read_member", "parse_model_json", "read_head_npz",
           "head_shapes", "SCHEMA_VERSION", "MAX_PARTS", "JSON_NAME", "WEIGHTS_NAME", "TRAINED_ON_NAME"]
