"""A model folder someone sends is untrusted input: each kind of damage is one BundleError sentence,
refused quickly and with bounded memory, and a FIFO or link inside it is never opened."""
from __future__ import annotations

import io
import json
import os
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from imgclf_gui.core.models.bundle import BundleError, ModelBundle
from imgclf_gui.core.training.config import TrainConfig
from imgclf_gui.core.training.head import HeadModel
from tests.core.guarded import run_guarded

SPEC_ID = "test-hostile-fake"
DIM, CLASSES = 6, 3
#: the most any refusal below may allocate (tracemalloc peak), far below what the files claim
MEMORY_BOUND = 4 << 20


@pytest.fixture
def spec():
    from imgclf_gui.core.backbones import BackboneSpec, register_backbone, unregister_backbone

    spec = BackboneSpec(id=SPEC_ID, display_name="fake", input_size=8, dim=DIM, version="1", preprocessing="none",
                        weights_source="none", offline=True, has_imagenet_head=False)
    register_backbone(spec, lambda: None, numpy_features=lambda b: np.zeros((len(b), DIM), np.float32), replace=True)
    yield spec
    unregister_backbone(SPEC_ID)


@pytest.fixture
def model(tmp_path, spec) -> Path:
    """A valid saved model (3 classes, a linear head) to damage."""
    rng = np.random.default_rng(0)
    head = HeadModel(np.zeros(DIM, np.float32), np.ones(DIM, np.float32),
                     [(rng.normal(size=(DIM, CLASSES)).astype(np.float32), np.zeros(CLASSES, np.float32))])
    bundle = ModelBundle.create(head=head, class_names=["a", "b", "c"], spec=spec, config=TrainConfig(backbone=SPEC_ID),
                                validation_paths=["/x/a.png"], train_hashes=["0" * 64])
    return bundle.save(tmp_path / "sent.imgclf-model")


# ----------------------------------------------------------------------------------- crafting files
def npy(descr: str, shape: tuple[int, ...], payload: bytes, fortran: bool = False) -> bytes:
    """An .npy file with any header we like (numpy's writer would not lie about the shape)."""
    header = repr({"descr": descr, "fortran_order": fortran, "shape": shape}).encode("latin1")
    header += b" " * (-(10 + len(header) + 1) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + payload


def arrays(folder: Path) -> dict[str, np.ndarray]:
    with np.load(folder / "head.npz") as npz:  # our own valid file
        return {k: npz[k] for k in npz.files}


def write_npz(folder: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> None:
    (folder / "head.npz").unlink()
    with zipfile.ZipFile(folder / "head.npz", "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)


def valid_members(folder: Path, **replace: bytes) -> dict[str, bytes]:
    members = {}
    for key, value in arrays(folder).items():
        buf = io.BytesIO()
        np.lib.format.write_array(buf, value)
        members[f"{key}.npy"] = buf.getvalue()
    members.update({f"{k}.npy": v for k, v in replace.items()})
    return members


def edit_json(change: Callable[[dict], object]) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        data = json.loads((folder / "model.json").read_text())
        change(data)
        (folder / "model.json").write_text(json.dumps(data))
    return mutate


def with_array(key: str, value: np.ndarray) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        items = arrays(folder)
        items[key] = value
        (folder / "head.npz").unlink()
        np.savez(folder / "head.npz", **items)
    return mutate


def kernel_with(value: float) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        kernel = arrays(folder)["dense0_kernel"]
        kernel[1, 2] = value
        with_array("dense0_kernel", kernel)(folder)
    return mutate


def claims_huge_shape(folder: Path) -> None:
    # 1.5 MB on disk whose header claims 1.5 GB of float32 (np.load would allocate it before reading)
    write_npz(folder, valid_members(folder, dense0_kernel=npy("<f4", (DIM, 62_500_000), b"\0" * 1_500_000)))


def deflate_bomb(folder: Path) -> None:
    # 40 KB of deflate that inflates to 40 MB, declared honestly: refused by the declared size alone
    members = valid_members(folder)
    (folder / "head.npz").unlink()
    with zipfile.ZipFile(folder / "head.npz", "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            if name == "dense0_kernel.npy":
                with z.open(name, "w", force_zip64=True) as out:
                    out.write(npy("<f4", (DIM, CLASSES), b""))
                    for _ in range(40):
                        out.write(b"\0" * (1 << 20))
            else:
                z.writestr(name, data)


def lying_deflate_bomb(folder: Path) -> None:
    """The kernel's deflate stream goes on to 40 MB of zeros, but the directory declares the honest size."""
    members = valid_members(folder)
    out = io.BytesIO()
    central = []
    for name, data in members.items():
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        tail = b"\0" * (40 << 20) if name == "dense0_kernel.npy" else b""
        body = packer.compress(data + tail) + packer.flush()
        offset, crc, fname = out.tell(), zlib.crc32(data), name.encode()
        out.write(struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(body), len(data),
                              len(fname), 0) + fname + body)
        central.append(struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(body),
                                   len(data), len(fname), 0, 0, 0, 0, 0, offset) + fname)
    start = out.tell()
    out.write(b"".join(central))
    out.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(central), len(central), out.tell() - start,
                          start, 0))
    (folder / "head.npz").write_bytes(out.getvalue())


def fifo_member(name: str) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        (folder / name).unlink()
        os.mkfifo(folder / name)
    return mutate


def link_outside(name: str) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        outside = folder.parent / f"elsewhere-{name}"
        outside.write_bytes((folder / name).read_bytes())
        (folder / name).unlink()
        (folder / name).symlink_to(outside)
    return mutate


def replace_file(name: str, data: bytes) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        (folder / name).write_bytes(data)
    return mutate


def object_array(folder: Path) -> None:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.array([{"a": 1}] * 3, dtype=object), allow_pickle=True)
    write_npz(folder, valid_members(folder, dense0_bias=buf.getvalue()))


HOSTILE: dict[str, tuple[Callable[[Path], None], str]] = {
    # model.json
    "json: not JSON": (replace_file("model.json", b"{not json"), "not valid JSON"),
    "json: not UTF-8": (replace_file("model.json", b'{"format": "imgclf-model\xff"}'), "not UTF-8"),
    "json: a list": (replace_file("model.json", b"[1, 2]"), "not an imgclf model"),
    "json: nested too deeply": (replace_file("model.json", b"[" * 60_000 + b"]" * 60_000), "nested too deeply"),
    "json: a flood of lists": (replace_file("model.json", b"[" + b"[]," * 150_000 + b"[]]"),
                               "more lists and objects"),
    "json: over the size limit": (replace_file("model.json", b" " * (9 << 20)), "more than a model"),
    "json: unknown schema": (edit_json(lambda d: d.update(schema=99)), "newer imgclf"),
    "json: schema not a number": (edit_json(lambda d: d.update(schema="1")), "schema number"),
    "json: class names missing": (edit_json(lambda d: d.pop("class_names")), "class_names is missing"),
    "json: class names a string": (edit_json(lambda d: d.update(class_names="abc")), "class_names is not a list"),
    "json: a class name a number": (edit_json(lambda d: d.update(class_names=["a", 2, "c"])), "not text"),
    "json: a class name with a slash": (edit_json(lambda d: d.update(class_names=["a", "../b", "c"])),
                                        "path separator"),
    "json: a class name with NUL": (edit_json(lambda d: d.update(class_names=["a", "b\0", "c"])),
                                    "control character"),
    "json: a class name too long": (edit_json(lambda d: d.update(class_names=["a", "b" * 300, "c"])), "too long"),
    "json: a class twice": (edit_json(lambda d: d.update(class_names=["a", "b", "a"])), "twice"),
    "json: one class": (edit_json(lambda d: d.update(class_names=["a"])), "1 class names"),
    "json: more classes than the head": (edit_json(lambda d: d.update(class_names=["a", "b", "c", "d"])),
                                         "this model needs"),
    "json: backbone missing": (edit_json(lambda d: d.pop("backbone")), "backbone is missing"),
    "json: backbone unknown": (edit_json(lambda d: d["backbone"].update(id="made-up")), "does not have"),
    "json: input size a string": (edit_json(lambda d: d["backbone"].update(input_size="8")), "not a whole number"),
    "json: input size not the backbone's": (edit_json(lambda d: (d["backbone"].update(input_size=4096),
                                                                 d["input"].update(size=4096))),
                                            "takes 8"),
    "json: unknown crop": (edit_json(lambda d: d["input"].update(crop="stretch")), "not one of"),
    "json: hidden units negative": (edit_json(lambda d: d["head"].update(hidden_units=-1)), "hidden_units"),
    "json: hidden units huge": (edit_json(lambda d: d["head"].update(hidden_units=10**9)), "hidden_units"),
    "json: metrics a list": (edit_json(lambda d: d.update(metrics=[1])), "metrics is not an object"),
    "json: validation paths with NUL": (edit_json(lambda d: d.update(validation_paths=["a\0b"])), "file path"),
    # head.npz
    "npz: NaN weights": (kernel_with(float("nan")), "NaN or infinite"),
    "npz: infinite weights": (kernel_with(float("inf")), "NaN or infinite"),
    "npz: absurd weights": (kernel_with(3e30), "beyond"),
    "npz: zero std": (with_array("std", np.zeros(DIM, np.float32)), "standard deviation"),
    "npz: float64": (with_array("dense0_kernel", np.zeros((DIM, CLASSES), np.float64)), "not float32"),
    "npz: big-endian": (with_array("mean", np.zeros(DIM, ">f4")), "not float32"),
    "npz: object array (pickle)": (object_array, "not float32"),
    "npz: Fortran order": (lambda f: write_npz(f, valid_members(f, dense0_kernel=npy(
        "<f4", (DIM, CLASSES), b"\0" * 4 * DIM * CLASSES, fortran=True))), "Fortran"),
    "npz: wrong shape": (with_array("dense0_kernel", np.zeros((DIM, 2), np.float32)), "this model needs"),
    "npz: huge declared shape": (claims_huge_shape, "more than a model"),
    "npz: deflate bomb": (deflate_bomb, "more than its (6, 3) shape needs"),
    "npz: member missing": (lambda f: write_npz(f, {k: v for k, v in valid_members(f).items() if k != "std.npy"}),
                            "std.npy"),
    "npz: extra member": (lambda f: write_npz(f, {**valid_members(f), "evil.npy": b"x"}), "evil.npy"),
    "npz: truncated": (lambda f: (f / "head.npz").write_bytes((f / "head.npz").read_bytes()[:300]), "head.npz"),
    "npz: not a zip": (replace_file("head.npz", b"\x80\x04garbage" * 10), "damaged"),
    "npz: short member": (lambda f: write_npz(f, valid_members(f, mean=npy("<f4", (DIM,), b"\0" * 8))), "bytes"),
    # the folder's files themselves
    "fifo as model.json": (fifo_member("model.json"), "named pipe"),
    "fifo as head.npz": (fifo_member("head.npz"), "named pipe"),
    "fifo as trained_on.txt": (fifo_member("trained_on.txt"), "named pipe"),
    "link out of the folder (model.json)": (link_outside("model.json"), "a link"),
    "link out of the folder (head.npz)": (link_outside("head.npz"), "a link"),
    "head.npz a folder": (lambda f: ((f / "head.npz").unlink(), (f / "head.npz").mkdir()), "a folder"),
    "head.npz missing": (lambda f: (f / "head.npz").unlink(), "head.npz is missing"),
    "trained_on.txt not hashes": (replace_file("trained_on.txt", b"cat.jpg\n"), "content hashes"),
}


def load_guarded(folder: Path) -> tuple[BaseException | None, int]:
    """Load in a thread (a FIFO opened by mistake would block for ever); the error and the memory peak."""
    return run_guarded(lambda: ModelBundle.load(folder), "loading the model folder")


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_each_hostile_model_folder_is_one_sentence(model, kind):
    mutate, words = HOSTILE[kind]
    mutate(model)
    error, peak = load_guarded(model)
    assert isinstance(error, BundleError), f"{kind}: {error!r}"
    message = str(error)
    assert words in message, message
    assert "\n" not in message and message.endswith(".") and message.count(". ") <= 2, message
    assert peak < MEMORY_BOUND, f"{kind}: {peak >> 20} MB"


def test_the_undamaged_model_loads(model):
    error, _ = load_guarded(model)
    assert error is None
    bundle = ModelBundle.load(model)
    assert bundle.class_names == ["a", "b", "c"] and bundle.input_size == 8 and bundle.train_hashes == ["0" * 64]


def test_a_deflate_stream_longer_than_declared_is_never_inflated(model):
    # the zip reader stops at the declared size, so the 40 MB tail is never produced (the member's first
    # bytes are the real kernel: the model loads, within the same memory bound)
    lying_deflate_bomb(model)
    error, peak = load_guarded(model)
    assert error is None and peak < MEMORY_BOUND


def test_the_input_size_comes_from_the_backbone(model, spec):
    from dataclasses import replace

    from imgclf_gui.core.backbones import register_backbone

    register_backbone(replace(spec, input_size=16), lambda: None, replace=True)
    with pytest.raises(BundleError, match="takes 16"):  # the file says 8: it is not believed, it is refused
        ModelBundle.load(model)


def test_a_linked_model_folder_is_fine(model, tmp_path):
    # the folder itself may be a link (a user's shortcut); only its members must be plain files
    link = tmp_path / "shortcut.imgclf-model"
    link.symlink_to(model)
    assert ModelBundle.load(link).class_names == ["a", "b", "c"]


def test_commands_show_the_sentence(model, capsys):
    from imgclf_gui.cli import main

    kernel_with(float("nan"))(model)
    assert main(["classify", str(model), str(model)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "NaN or infinite" in err[0]
