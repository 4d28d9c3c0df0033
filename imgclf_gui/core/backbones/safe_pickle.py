"""Read pretrained weights from pickle files without letting the file run code.

A pickle can name any importable callable and call it on load, so a tampered weights file could run
anything. Both readers here admit a short list of harmless constructors and refuse every other name
with :class:`UnsafeWeightsError`. PyTorch itself is not needed (and not imported).
"""
from __future__ import annotations

import collections
import io
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np


class UnsafeWeightsError(ValueError):
    """A weights file is damaged, of the wrong kind, or asks to run code it has no business running."""


# PyTorch's legacy format marks itself with this number, then the format version 1001.
_TORCH_MAGIC = 0x1950A86A20F9469CFC6C
_TORCH_PROTOCOL = 1001

_TORCH_STORAGE_DTYPES: dict[str, np.dtype] = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


@dataclass(frozen=True)
class _StorageType:
    """Stands in for ``torch.FloatStorage`` & co.: only the element type matters to us."""

    dtype: np.dtype


@dataclass
class _StorageRef:
    key: str
    dtype: np.dtype
    numel: int
    #: a view into another storage: (root key, element offset); None for a root storage
    view_of: tuple[str, int] | None = None


@dataclass
class _PendingTensor:
    """A tensor whose bytes come after the pickle in the file; filled in once they are read."""

    storage: _StorageRef
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor_v2(storage: _StorageRef, storage_offset: int, size: tuple[int, ...],
                       stride: tuple[int, ...], _requires_grad: bool = False,
                       _backward_hooks: Any = None, metadata: Any = None) -> _PendingTensor:
    # Same argument list as torch._utils._rebuild_tensor_v2; gradients and hooks mean nothing here.
    if not isinstance(storage, _StorageRef):
        raise UnsafeWeightsError("a tensor in the weights file does not refer to a storage")
    return _PendingTensor(storage, int(storage_offset), tuple(int(s) for s in size),
                          tuple(int(s) for s in stride))


class _TorchUnpickler(pickle.Unpickler):
    """Admits torch storage types, ``_rebuild_tensor_v2`` and ``OrderedDict``; nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch" and name in _TORCH_STORAGE_DTYPES:
            return _StorageType(_TORCH_STORAGE_DTYPES[name])
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        raise UnsafeWeightsError(
            f"refusing to load {module}.{name} from a weights file: only tensors are allowed"
        )

    def persistent_load(self, pid: Any) -> _StorageRef:
        # Legacy layout: ('storage', storage_type, key, location, numel, view_metadata)
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise UnsafeWeightsError(f"unexpected reference in weights file: {pid!r:.80}")
        _, storage_type, key, _location, numel, view = pid
        if not isinstance(storage_type, _StorageType):
            raise UnsafeWeightsError("a storage in the weights file has an unknown type")
        ref = _StorageRef(str(key), storage_type.dtype, int(numel))
        if view is not None:
            view_key, view_offset, view_size = view
            return _StorageRef(str(view_key), storage_type.dtype, int(view_size), (str(key), int(view_offset)))
        return ref


def _load_torch_stream(handle: BinaryIO) -> Any:
    try:
        return _TorchUnpickler(handle).load()
    except UnsafeWeightsError:
        raise
    except (pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError, IndexError,
            struct.error) as exc:
        raise UnsafeWeightsError(f"damaged or unsupported weights file ({exc})") from exc


def load_torch_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Read a PyTorch legacy (pre-zip) ``.pth`` state dict into NumPy arrays, without torch.

    Raises :class:`UnsafeWeightsError` for a damaged, truncated or zip-format file, or one that names
    anything other than tensors.
    """
    path = Path(path)
    data = path.read_bytes()
    if data[:2] == b"PK":
        raise UnsafeWeightsError(f"{path.name} is a zip-format PyTorch file; expected the legacy format")
    handle = io.BytesIO(data)
    if _load_torch_stream(handle) != _TORCH_MAGIC:
        raise UnsafeWeightsError(f"{path.name} is not a PyTorch weights file (wrong magic number)")
    if _load_torch_stream(handle) != _TORCH_PROTOCOL:
        raise UnsafeWeightsError(f"{path.name} uses an unsupported PyTorch format version")
    sys_info = _load_torch_stream(handle)
    if isinstance(sys_info, dict) and not sys_info.get("little_endian", True):
        raise UnsafeWeightsError(f"{path.name} was saved on a big-endian machine; not supported")
    state = _load_torch_stream(handle)
    keys = _load_torch_stream(handle)
    if not isinstance(state, dict) or not isinstance(keys, list):
        raise UnsafeWeightsError(f"{path.name} does not hold a state dict")

    dtypes = _collect_storage_dtypes(state)
    storages: dict[str, np.ndarray] = {}
    for key in keys:
        key = str(key)
        header = handle.read(8)
        if len(header) != 8:
            raise UnsafeWeightsError(f"{path.name} is truncated (storage {key} missing)")
        (numel,) = struct.unpack("<q", header)
        dtype = dtypes.get(key, np.dtype("u1"))
        nbytes = numel * dtype.itemsize
        raw = handle.read(nbytes)
        if numel < 0 or len(raw) != nbytes:
            raise UnsafeWeightsError(f"{path.name} is truncated (storage {key} incomplete)")
        storages[key] = np.frombuffer(raw, dtype=dtype)

    result: dict[str, np.ndarray] = {}
    for name, value in state.items():
        if not isinstance(value, _PendingTensor):
            continue  # e.g. metadata entries; a state dict of tensors has none we need
        result[str(name)] = _materialize(value, storages, path.name)
    return result


def _collect_storage_dtypes(state: dict[str, Any]) -> dict[str, np.dtype]:
    dtypes: dict[str, np.dtype] = {}
    for value in state.values():
        if isinstance(value, _PendingTensor):
            ref = value.storage
            root = ref.view_of[0] if ref.view_of else ref.key
            dtypes[root] = ref.dtype
    return dtypes


def _materialize(tensor: _PendingTensor, storages: dict[str, np.ndarray], file_name: str) -> np.ndarray:
    ref = tensor.storage
    root_key, base = (ref.view_of if ref.view_of else (ref.key, 0))
    if root_key not in storages:
        raise UnsafeWeightsError(f"{file_name}: a tensor refers to a missing storage")
    flat = storages[root_key]
    start = base + tensor.offset
    if not tensor.shape:
        return np.array(flat[start])
    # The furthest element the view touches must lie inside the storage, or as_strided reads junk.
    last = start + sum((n - 1) * s for n, s in zip(tensor.shape, tensor.stride) if n > 0)
    if start < 0 or last >= flat.size or any(s < 0 for s in tensor.stride):
        raise UnsafeWeightsError(f"{file_name}: a tensor lies outside its storage")
    item = flat.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(
        flat[start:], shape=tensor.shape, strides=tuple(s * item for s in tensor.stride), writeable=False
    )
    return np.array(view)  # own the memory, C-contiguous


class _NumpyUnpickler(pickle.Unpickler):
    """Admits NumPy array reconstruction only."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            # Resolve through the current NumPy, which moved numpy.core to numpy._core.
            if name == "_reconstruct":
                from numpy._core.multiarray import _reconstruct

                return _reconstruct
            if name == "scalar":
                from numpy._core.multiarray import scalar

                return scalar
            return getattr(np, name)
        raise UnsafeWeightsError(
            f"refusing to load {module}.{name} from a weights file: only NumPy arrays are allowed"
        )


def load_numpy_pickle(path: str | Path) -> Any:
    """Unpickle a file of NumPy arrays (in dicts, lists, tuples), refusing anything else."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            return _NumpyUnpickler(handle, encoding="latin1").load()
    except UnsafeWeightsError:
        raise
    except (pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError, IndexError) as exc:
        raise UnsafeWeightsError(f"damaged or unsupported weights file {path.name} ({exc})") from exc
