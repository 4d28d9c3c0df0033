"""The restricted weight readers against hostile files: code, allocation bombs, malformed arrays and
truncation each give UnsafeWeightsError (never MemoryError or another exception), and what they allocate
stays within the size of the file."""
from __future__ import annotations

import collections
import os
import pickle
import struct
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest

from imgclf_gui.core.backbones import safe_pickle
from imgclf_gui.core.backbones.safe_pickle import UnsafeWeightsError, load_numpy_pickle, load_torch_state_dict
from tests.core.guarded import run_guarded

MEMORY_BOUND = 8 << 20  # traced peak allowed for any refusal below; the bombs ask for gigabytes
PROTO, STOP = b"\x80\x02", b"."


def binbytes8(n: int, data: bytes = b"") -> bytes:
    return b"\x8e" + struct.pack("<Q", n) + data  # BINBYTES8: n bytes follow (protocol 4)


# ------------------------------------------------------------------------------------------ NumPy pickles
def np_global(name: str) -> bytes:
    module = "numpy.core.multiarray" if name in ("_reconstruct", "scalar") else "numpy"
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def np_pickle(value) -> bytes:
    return pickle.dumps(value, protocol=3)  # bytes as BINBYTES, names as GLOBAL: as the weights we read


def hostile_numpy() -> dict[str, tuple[bytes, str]]:
    real = np_pickle({"w": np.arange(6, dtype=np.float32).reshape(2, 3)})
    cases = {
        "runs code (os.system)": (pickle.dumps({"w": _RunsCode()}), "refusing to load"),
        "builtins.eval": (b"\x80\x02cbuiltins\neval\nX\x03\x00\x00\x001+1\x85R.", "refusing to load"),
        "bytes declaring 2 GB": (b"\x80\x04" + binbytes8(2 << 30, b"x" * 200) + STOP, "damaged or unsupported"),
        "memo slot 2**31": (b"\x80\x02N" + b"r" + struct.pack("<I", 0x7FFFFFFF) + STOP, "memo slot"),
        "memo slot 999999 of a small file": (b"\x80\x02N" + b"r" + struct.pack("<I", 999_999) + STOP, "memo slot"),
        "array of 2**31 elements": (PROTO + np_global("_reconstruct") + np_global("ndarray")
                                    + np_pickle((1 << 31,))[2:-1] + b"C\x01b\x87R" + STOP, "never writes"),
        "ndarray called directly": (PROTO + np_global("ndarray") + np_pickle((1 << 31,))[2:-1] + b"\x85R" + STOP,
                                    "damaged or unsupported"),
        "object array": (np_pickle(np.array([{"a": 1}, None], dtype=object)), "not numbers"),
        "record array": (np_pickle(np.zeros(3, dtype=[("a", "<f4"), ("b", "<i4")])), "not numbers"),
        "truncated": (real[: len(real) // 2], "damaged or unsupported"),
        "not a pickle": (b"\xff\xd8\xff\xe0 a photo", "damaged or unsupported"),
        "empty": (b"", "damaged or unsupported"),
        "self-referential list": (b"\x80\x02]q\x00h\x00a.", "refers to itself"),
        "nested 10000 deep": (PROTO + b"]" * 10000 + b"a" * 9999 + STOP, "nested too deeply"),
    }
    cases["shape larger than its bytes"] = (np_pickle(_LyingArray()), "does not hold the bytes")
    # one 1 MB array's bytes (memoised once) given to 4000 arrays: 4 GB from a 1 MB file
    cases["memo reuse of one 1 MB raw (4 GB of arrays)"] = (_memo_reuse_bomb(), "more data than it holds")
    return cases


def _memo_reuse_bomb() -> bytes:
    """4000 arrays whose state holds the same 1 MB of bytes, which the pickler memoises once."""
    raw = b"\0" * (1 << 20)
    return np_pickle([_LyingArray((1 << 18,), raw) for _ in range(4000)])


class _LyingArray:
    """Pickles as NumPy pickles an array, with the shape and bytes we give it."""

    def __init__(self, shape: tuple[int, ...] = (1 << 28,), raw: bytes = b"\0" * 16) -> None:
        self.shape, self.raw = shape, raw

    def __reduce__(self):
        from numpy._core.multiarray import _reconstruct

        return (_reconstruct, (np.ndarray, (0,), b"b"), (1, self.shape, np.dtype("<f4"), False, self.raw))


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


# ------------------------------------------------------------------------------------------ PyTorch files
@pytest.fixture
def fake_torch(monkeypatch):
    """Importable stand-ins for torch's storage types and _rebuild_tensor_v2, so pickle can name them."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")
    for name in ("FloatStorage", "LongStorage"):
        setattr(torch, name, type(name, (), {"__module__": "torch"}))

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called here")

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    torch._utils = utils
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return torch


class _Storage:
    def __init__(self, kind, key: str, numel: int, view=None) -> None:
        self.kind, self.key, self.numel, self.view = kind, key, numel, view


class _Tensor:
    def __init__(self, storage: _Storage, offset: int, shape, stride) -> None:
        self.args = (storage, offset, tuple(shape), tuple(stride), False, collections.OrderedDict())

    def __reduce__(self):
        return (sys.modules["torch._utils"]._rebuild_tensor_v2, self.args)


class _TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            return ("storage", obj.kind, obj.key, "cpu", obj.numel, obj.view)
        return None


def pth(torch, state: dict, storages: dict[str, bytes], keys: list[str] | None = None) -> bytes:
    """A legacy .pth: magic, protocol, sys info, the state dict (storages by reference), keys, raw storages."""
    import io

    buf = io.BytesIO()
    for value in (safe_pickle._TORCH_MAGIC, safe_pickle._TORCH_PROTOCOL, {"little_endian": True}):
        pickle.dump(value, buf, protocol=2)
    _TorchPickler(buf, protocol=2).dump(state)
    pickle.dump(keys if keys is not None else list(storages), buf, protocol=2)
    for raw in storages.values():
        buf.write(struct.pack("<q", len(raw) // 4) + raw)
    return buf.getvalue()


def hostile_torch(torch) -> dict[str, tuple[bytes, str]]:
    floats = torch.FloatStorage
    good = _Storage(floats, "0", 6)
    raw = np.arange(6, dtype=np.float32).tobytes()
    cases = {
        "stride 0 over 2**30 elements (4 GB copy)": (
            pth(torch, {"w": _Tensor(good, 0, (1 << 30,), (0,))}, {"0": raw}), "more data than it holds"),
        "storage of 2**40 elements": (
            pth(torch, {"w": _Tensor(_Storage(floats, "0", 1 << 40), 0, (6,), (1,))}, {"0": raw})[:-32]
            + struct.pack("<q", 1 << 40) + raw, "truncated"),
        "negative size": (pth(torch, {"w": _Tensor(good, 0, (-5,), (1,))}, {"0": raw}), "negative"),
        "outside its storage": (pth(torch, {"w": _Tensor(good, 4, (6,), (1,))}, {"0": raw}), "outside"),
        "negative offset": (pth(torch, {"w": _Tensor(good, -1, (6,), (1,))}, {"0": raw}), "unusable layout"),
        "malformed view": (pth(torch, {"w": _Tensor(_Storage(floats, "1", 6, ("0", -3, 6)), 0, (6,), (1,))},
                               {"0": raw}), "malformed"),
        "a missing storage": (pth(torch, {"w": _Tensor(good, 0, (6,), (1,))}, {"0": raw}, keys=[]),
                              "missing storage"),
        "truncated storages": (pth(torch, {"w": _Tensor(good, 0, (6,), (1,))}, {"0": raw})[:-10], "truncated"),
        "runs code": (pth(torch, {"w": _RunsCode()}, {}), "refusing to load"),
        "bytes declaring 2 GB in the state": (
            pth(torch, {}, {})[:21] + b"\x80\x04" + binbytes8(2 << 30, b"x" * 100) + STOP, "damaged or unsupported"),
        "memo slot 2**31 in the state": (
            pth(torch, {}, {})[:21] + b"\x80\x02N" + b"r" + struct.pack("<I", 0x7FFFFFFF) + STOP, "memo slot"),
        "zip format": (b"PK\x03\x04" + b"\0" * 100, "zip-format"),
        "wrong magic": (pickle.dumps(42), "magic number"),
    }
    return cases


# ------------------------------------------------------------------------------------------ the tests
def _guarded(load, path: Path) -> tuple[BaseException | None, int]:
    return run_guarded(lambda: load(path), "reading the weights file")


@pytest.mark.parametrize("kind", list(hostile_numpy()))
def test_hostile_numpy_pickles(tmp_path, kind):
    data, words = hostile_numpy()[kind]
    path = tmp_path / "weights.pkl"
    path.write_bytes(data)
    error, peak = _guarded(load_numpy_pickle, path)
    assert type(error) is UnsafeWeightsError and words in str(error), f"{kind}: {error!r}"
    assert peak < MEMORY_BOUND + 2 * len(data), f"{kind}: {peak >> 20} MB"


@pytest.mark.parametrize("kind", ["stride 0 over 2**30 elements (4 GB copy)", "storage of 2**40 elements",
                                  "negative size", "outside its storage", "negative offset", "malformed view",
                                  "a missing storage", "truncated storages", "runs code",
                                  "bytes declaring 2 GB in the state", "memo slot 2**31 in the state", "zip format",
                                  "wrong magic"])
def test_hostile_torch_files(tmp_path, fake_torch, kind):
    data, words = hostile_torch(fake_torch)[kind]
    path = tmp_path / "weights.pth"
    path.write_bytes(data)
    error, peak = _guarded(load_torch_state_dict, path)
    assert type(error) is UnsafeWeightsError and words in str(error), f"{kind}: {error!r}"
    assert peak < MEMORY_BOUND + 2 * len(data), f"{kind}: {peak >> 20} MB"


def test_the_crafted_files_are_read_when_honest(tmp_path, fake_torch):
    # the same crafting, honest: the readers accept it (so the refusals above are about the damage)
    good = _Storage(fake_torch.FloatStorage, "0", 6)
    path = tmp_path / "ok.pth"
    raw = np.arange(6, dtype="<f4").tobytes()
    path.write_bytes(pth(fake_torch, {"w": _Tensor(good, 0, (2, 3), (3, 1))}, {"0": raw}))
    assert load_torch_state_dict(path)["w"].tolist() == [[0, 1, 2], [3, 4, 5]]
    path = tmp_path / "ok.pkl"
    path.write_bytes(np_pickle({"conv": [np.ones((2, 2), np.float32), np.float64(3.5)], "b": (np.arange(3),)}))
    loaded = load_numpy_pickle(path)
    assert loaded["conv"][0].tolist() == [[1, 1], [1, 1]] and loaded["conv"][1] == 3.5 and len(loaded["b"][0]) == 3


def test_a_fifo_or_an_oversized_file_is_never_read(tmp_path, monkeypatch):
    fifo = tmp_path / "weights.pkl"
    os.mkfifo(fifo)
    error, _ = _guarded(load_numpy_pickle, fifo)
    assert type(error) is UnsafeWeightsError and "named pipe" in str(error)
    big = tmp_path / "big.pth"
    big.write_bytes(b"\0" * 4096)
    monkeypatch.setattr(safe_pickle, "MAX_WEIGHTS_BYTES", 1024)
    with pytest.raises(UnsafeWeightsError, match="larger than any weights file"):
        load_torch_state_dict(big)


def test_shared_structure_is_converted_once(tmp_path):
    # [a, a] nested 60 times is 2**60 paths through 60 lists: converted in linear time
    data = PROTO + b"]" + b"q\x00" + b"".join(b"h\x00h\x00\x86" + b"q\x00" for _ in range(60)) + STOP
    path = tmp_path / "shared.pkl"
    path.write_bytes(data)
    error, _ = _guarded(load_numpy_pickle, path)
    assert error is None


def test_a_memory_limit_gives_our_error_never_memory_error(tmp_path):
    """Under a 1 GB address-space limit the 2 GB declarations are refused by name, not by MemoryError."""
    bomb = tmp_path / "bomb.pkl"
    bomb.write_bytes(b"\x80\x04" + binbytes8(2 << 30, b"x" * 200) + STOP)
    memo = tmp_path / "memo.pkl"
    memo.write_bytes(b"\x80\x02N" + b"r" + struct.pack("<I", 0x7FFFFFFF) + STOP)
    script = textwrap.dedent(f"""
        import resource, sys
        from imgclf_gui.core.backbones.safe_pickle import UnsafeWeightsError, load_numpy_pickle
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        for path in ({str(bomb)!r}, {str(memo)!r}):
            try:
                load_numpy_pickle(path)
            except UnsafeWeightsError as exc:
                print("refused:", exc)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.count("refused:") == 2, done.stdout + done.stderr
