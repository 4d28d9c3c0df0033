"""Read pretrained weights from pickle files without letting the file run code or exhaust memory.

A pickle can call any importable callable on load, and make the unpickler allocate what it declares (a
2 GB bytes object, a memo of a billion slots, an array of any shape) from a few bytes. Both readers here
read only a regular file of at most :data:`MAX_WEIGHTS_BYTES`; walk each pickle's opcodes first
(``pickletools.genops`` checks every declared length against the bytes really there; memo slots beyond
the file's size are refused) before the C unpickler sees it; admit a few constructors, replaced by
stand-ins that check shape, dtype and length before building an array from bytes already read; keep a
budget (the arrays built may not total more bytes than the file holds); and raise
:class:`UnsafeWeightsError` for every problem, never ``MemoryError`` or another exception. No torch.
"""
from __future__ import annotations

import collections
import io
import math
import os
import pickle
import pickletools
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MAX_WEIGHTS_BYTES = 1 << 30  # the largest weights file read this way is ~40 MB
_MAX_NDIM = 32
_MAX_DEPTH = 64
_MEMO_OPS = ("PUT", "BINPUT", "LONG_BINPUT")


class UnsafeWeightsError(ValueError):
    """A weights file is damaged, of the wrong kind, or asks to run code it has no business running."""


# ------------------------------------------------------------------------------------------ common
def _read_file(path: Path) -> bytes:
    from imgclf_gui.core.support.safe_files import NotARegularFile, open_regular

    try:
        with open_regular(path) as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_WEIGHTS_BYTES:
                raise UnsafeWeightsError(f"{path.name} is {size:,} bytes, larger than any weights file imgclf reads")
            data = handle.read(size + 1)  # not read(limit): that would allocate the limit up front
    except NotARegularFile as exc:
        raise UnsafeWeightsError(f"{path.name}: {exc.strerror}") from None
    except OSError as exc:
        raise UnsafeWeightsError(f"{path.name} cannot be read ({exc.strerror or exc})") from None
    if len(data) > size:
        raise UnsafeWeightsError(f"{path.name} grew while being read")
    return data


class _Budget:
    """Bytes of arrays built so far; at most the size of the file they came from."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, nbytes: int) -> None:
        self.used += nbytes
        if self.used > self.limit:
            raise UnsafeWeightsError("the weights file declares more data than it holds")


def _prescan(data: bytes, start: int) -> None:
    """Walk the pickle at ``start`` without building anything: truncated or over-long arguments and memo
    slots no file of this size can fill are refused here, before the C unpickler allocates for them."""
    stream = io.BytesIO(data)
    stream.seek(start)
    slots = 0  # a pickler numbers its memo slots 0, 1, 2...: a slot far beyond them only costs memory
    try:
        for opcode, arg, _pos in pickletools.genops(stream):
            if opcode.name in _MEMO_OPS and not 0 <= int(arg) <= slots:
                raise UnsafeWeightsError(f"the weights file asks for memo slot {int(arg):,}")
            slots = max(slots, int(arg) + 1) if opcode.name in _MEMO_OPS else slots + (opcode.name == "MEMOIZE")
    except UnsafeWeightsError:
        raise
    except Exception as exc:  # noqa: BLE001 - genops raises ValueError and others on any malformed stream
        raise UnsafeWeightsError(f"damaged or unsupported weights file ({exc})"[:200]) from None


def _unpickle(unpickler: pickle.Unpickler, stream: io.BytesIO) -> Any:
    try:
        return unpickler.load()
    except UnsafeWeightsError:
        raise
    except Exception as exc:  # noqa: BLE001 - MemoryError, RecursionError, whatever a crafted stream provokes
        raise UnsafeWeightsError(f"damaged or unsupported weights file ({type(exc).__name__}: {exc})"[:200]) \
            from None


def _shape(value: Any) -> tuple[int, ...]:
    if not isinstance(value, tuple | list) or len(value) > _MAX_NDIM or not all(type(n) is int for n in value):
        raise UnsafeWeightsError("an array in the weights file has no usable shape")
    if any(n < 0 for n in value):
        raise UnsafeWeightsError("an array in the weights file has a negative size")
    return tuple(value)


# ------------------------------------------------------------------------------------------ PyTorch
# PyTorch's legacy format marks itself with this number, then the format version 1001.
_TORCH_MAGIC = 0x1950A86A20F9469CFC6C
_TORCH_PROTOCOL = 1001

_TORCH_STORAGE_DTYPES: dict[str, np.dtype] = {
    f"{name}Storage": np.dtype(code) for name, code in (
        ("Float", "<f4"), ("Double", "<f8"), ("Half", "<f2"), ("Long", "<i8"), ("Int", "<i4"), ("Short", "<i2"),
        ("Char", "i1"), ("Byte", "u1"), ("Bool", "?"))}


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
    if type(storage_offset) is not int or storage_offset < 0 or len(_shape(stride)) != len(_shape(size)):
        raise UnsafeWeightsError("a tensor in the weights file has an unusable layout")
    return _PendingTensor(storage, storage_offset, tuple(size), tuple(stride))


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
            f"refusing to load {module}.{name} from a weights file: only tensors are allowed"[:200])

    def persistent_load(self, pid: Any) -> _StorageRef:
        # Legacy layout: ('storage', storage_type, key, location, numel, view_metadata)
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise UnsafeWeightsError(f"unexpected reference in weights file: {pid!r:.80}")
        _, storage_type, key, _location, numel, view = pid
        if not isinstance(storage_type, _StorageType) or type(numel) is not int or numel < 0:
            raise UnsafeWeightsError("a storage in the weights file has an unknown type or size")
        if view is not None:
            if not (isinstance(view, tuple) and len(view) == 3 and all(type(v) is int and v >= 0 for v in view[1:])):
                raise UnsafeWeightsError("a storage view in the weights file is malformed")
            view_key, view_offset, view_size = view
            return _StorageRef(str(view_key), storage_type.dtype, view_size, (str(key), view_offset))
        return _StorageRef(str(key), storage_type.dtype, numel)


def load_torch_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Read a PyTorch legacy (pre-zip) ``.pth`` state dict into NumPy arrays, without torch.

    Raises :class:`UnsafeWeightsError` (only) for a damaged, truncated or zip-format file, one that names
    anything other than tensors, or one that declares more data than it holds.
    """
    path = Path(path)
    data = _read_file(path)
    try:
        return _torch_state_dict(path.name, data)
    except UnsafeWeightsError:
        raise
    except Exception as exc:  # noqa: BLE001 - a crafted file must only ever give our error
        raise UnsafeWeightsError(f"damaged weights file {path.name} ({type(exc).__name__})") from None


def _torch_state_dict(name: str, data: bytes) -> dict[str, np.ndarray]:
    if data[:2] == b"PK":
        raise UnsafeWeightsError(f"{name} is a zip-format PyTorch file; expected the legacy format")
    handle = io.BytesIO(data)

    def next_pickle() -> Any:
        _prescan(data, handle.tell())
        return _unpickle(_TorchUnpickler(handle), handle)

    if next_pickle() != _TORCH_MAGIC:
        raise UnsafeWeightsError(f"{name} is not a PyTorch weights file (wrong magic number)")
    if next_pickle() != _TORCH_PROTOCOL:
        raise UnsafeWeightsError(f"{name} uses an unsupported PyTorch format version")
    sys_info = next_pickle()
    if isinstance(sys_info, dict) and not sys_info.get("little_endian", True):
        raise UnsafeWeightsError(f"{name} was saved on a big-endian machine; not supported")
    state = next_pickle()
    keys = next_pickle()
    if not isinstance(state, dict) or not isinstance(keys, list):
        raise UnsafeWeightsError(f"{name} does not hold a state dict")

    dtypes = _collect_storage_dtypes(state)
    storages: dict[str, np.ndarray] = {}
    for key in keys:
        key = str(key)
        header = handle.read(8)
        if len(header) != 8:
            raise UnsafeWeightsError(f"{name} is truncated (storage {key} missing)")
        (numel,) = struct.unpack("<q", header)
        dtype = dtypes.get(key, np.dtype("u1"))
        nbytes = numel * dtype.itemsize
        if numel < 0 or nbytes > len(data) - handle.tell():
            raise UnsafeWeightsError(f"{name} is truncated (storage {key} incomplete)")
        storages[key] = np.frombuffer(handle.read(nbytes), dtype=dtype)

    budget = _Budget(len(data))
    result: dict[str, np.ndarray] = {}
    for key, value in state.items():
        if not isinstance(value, _PendingTensor):
            continue  # e.g. metadata entries; a state dict of tensors has none we need
        result[str(key)] = _materialize(value, storages, name, budget)
    return result


def _collect_storage_dtypes(state: dict[str, Any]) -> dict[str, np.dtype]:
    dtypes: dict[str, np.dtype] = {}
    for value in state.values():
        if isinstance(value, _PendingTensor):
            ref = value.storage
            root = ref.view_of[0] if ref.view_of else ref.key
            dtypes[root] = ref.dtype
    return dtypes


def _materialize(tensor: _PendingTensor, storages: dict[str, np.ndarray], file_name: str,
                 budget: _Budget) -> np.ndarray:
    ref = tensor.storage
    root_key, base = (ref.view_of if ref.view_of else (ref.key, 0))
    if root_key not in storages:
        raise UnsafeWeightsError(f"{file_name}: a tensor refers to a missing storage")
    flat = storages[root_key]
    start = base + tensor.offset
    if not tensor.shape:
        if not 0 <= start < flat.size:
            raise UnsafeWeightsError(f"{file_name}: a tensor lies outside its storage")
        return np.array(flat[start])
    # The furthest element the view touches must lie inside the storage, or as_strided reads junk.
    last = start + sum((n - 1) * s for n, s in zip(tensor.shape, tensor.stride) if n > 0)
    if start < 0 or last >= flat.size or any(s < 0 for s in tensor.stride):
        raise UnsafeWeightsError(f"{file_name}: a tensor lies outside its storage")
    # A stride of 0 repeats one element for ever: what a copy allocates is counted against the file's size.
    budget.take(math.prod(tensor.shape) * flat.dtype.itemsize)
    item = flat.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(
        flat[start:], shape=tensor.shape, strides=tuple(s * item for s in tensor.stride), writeable=False
    )
    return np.array(view)  # own the memory, C-contiguous


# ------------------------------------------------------------------------------------------ NumPy
_NUMPY_DTYPES = {"b1", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f2", "f4", "f8"}


class _NdarrayType:
    """Stands in for ``numpy.ndarray`` in a pickle: only ever handed to ``_reconstruct``, never called."""


class _DtypeState:
    """Stands in for a pickled ``numpy.dtype``: a plain number type, byte order from its state."""

    def __init__(self, spec: Any, _align: Any = False, _copy: Any = True) -> None:
        if not isinstance(spec, str) or spec not in _NUMPY_DTYPES:
            raise UnsafeWeightsError(f"the weights file holds an array of type {spec!r:.40}, not numbers")
        self.dtype = np.dtype(spec)

    def __setstate__(self, state: Any) -> None:
        # (version, byte order, subarray, names, fields, itemsize, alignment, flags)
        if not isinstance(state, tuple) or len(state) < 5 or any(v is not None for v in state[2:5]):
            raise UnsafeWeightsError("the weights file holds an array of records, not numbers")
        order = state[1]
        if order not in ("<", ">", "=", "|"):
            raise UnsafeWeightsError("the weights file holds an array of unknown byte order")
        self.dtype = self.dtype.newbyteorder("=" if order == "|" else order)


class _ArrayState:
    """Stands in for a pickled array: built from its bytes by ``__setstate__``, after every check."""

    def __init__(self, budget: _Budget) -> None:
        self.budget = budget
        self.array: np.ndarray | None = None

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise UnsafeWeightsError("an array in the weights file is malformed")
        shape, dtype, fortran, raw = state[-4:]
        shape = _shape(shape)
        if not isinstance(dtype, _DtypeState):
            raise UnsafeWeightsError("an array in the weights file has no number type")
        if isinstance(raw, str):
            raw = raw.encode("latin1")  # Python 2 pickles (encoding="latin1") give the bytes as str
        if not isinstance(raw, bytes | bytearray) or len(raw) != math.prod(shape) * dtype.dtype.itemsize:
            raise UnsafeWeightsError("an array in the weights file does not hold the bytes its shape needs")
        self.budget.take(len(raw))
        self.array = np.frombuffer(bytes(raw), dtype.dtype).reshape(shape, order="F" if fortran else "C").copy()


def _scalar(dtype: Any, raw: Any) -> Any:
    if isinstance(raw, str):
        raw = raw.encode("latin1")
    if not isinstance(dtype, _DtypeState) or not isinstance(raw, bytes) or len(raw) != dtype.dtype.itemsize:
        raise UnsafeWeightsError("a number in the weights file is malformed")
    return np.frombuffer(raw, dtype.dtype)[0]


class _NumpyUnpickler(pickle.Unpickler):
    """Admits NumPy array reconstruction only, through the stand-ins above."""

    def __init__(self, file: io.BytesIO, budget: _Budget) -> None:
        super().__init__(file, encoding="latin1")
        self.budget = budget

    def find_class(self, module: str, name: str) -> Any:
        if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name == "_reconstruct":
            return self._reconstruct
        if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name == "scalar":
            return _scalar
        if module == "numpy" and name == "ndarray":
            return _NdarrayType
        if module == "numpy" and name == "dtype":
            return _DtypeState
        raise UnsafeWeightsError(
            f"refusing to load {module}.{name} from a weights file: only NumPy arrays are allowed"[:200])

    def _reconstruct(self, subtype: Any, shape: Any, _dtype: Any) -> _ArrayState:
        # NumPy pickles an array as _reconstruct(ndarray, (0,), b'b') followed by its state
        if subtype is not _NdarrayType or math.prod(_shape(shape)) > 1:
            raise UnsafeWeightsError("the weights file builds an array in a way NumPy never writes")
        return _ArrayState(self.budget)


def load_numpy_pickle(path: str | Path) -> Any:
    """Unpickle a file of NumPy arrays (in dicts, lists, tuples), refusing anything else.

    Raises :class:`UnsafeWeightsError` (only) for anything but plain number arrays, or a damaged file.
    """
    path = Path(path)
    data = _read_file(path)
    try:
        _prescan(data, 0)
        stream = io.BytesIO(data)
        return _finish(_unpickle(_NumpyUnpickler(stream, _Budget(len(data))), stream), 0, frozenset(), {})
    except UnsafeWeightsError as exc:
        raise UnsafeWeightsError(f"{path.name}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - a crafted file must only ever give our error
        raise UnsafeWeightsError(f"damaged weights file {path.name} ({type(exc).__name__})") from None


def _finish(value: Any, depth: int, above: frozenset[int], done: dict[int, Any]) -> Any:
    """The unpickled value with every stand-in replaced by the array or dtype it stands for (a value
    shared by many containers is converted once: a few bytes of pickle can share one list 2**64 ways)."""
    if depth > _MAX_DEPTH or id(value) in above:
        raise UnsafeWeightsError("the weights file is nested too deeply or refers to itself")
    if id(value) in done:
        return done[id(value)]
    done[id(value)] = converted = _convert(value, depth, above, done)
    return converted


def _convert(value: Any, depth: int, above: frozenset[int], done: dict[int, Any]) -> Any:
    if isinstance(value, _ArrayState):
        if value.array is None:
            raise UnsafeWeightsError("an array in the weights file has no data")
        return value.array
    if isinstance(value, _DtypeState):
        return value.dtype
    if isinstance(value, _NdarrayType | type) or callable(value):
        raise UnsafeWeightsError("the weights file holds something other than arrays")
    if isinstance(value, dict | list | tuple):
        inner = above | {id(value)}
        if isinstance(value, dict):
            return {_finish(k, depth + 1, inner, done): _finish(v, depth + 1, inner, done) for k, v in value.items()}
        items = [_finish(v, depth + 1, inner, done) for v in value]
        return items if isinstance(value, list) else tuple(items)
    return value
