"""A damaged optional weights file (a classic Keras backbone's, in $IMGCLF_WEIGHTS_DIR) makes that backbone
unavailable with one sentence naming the file, in every command; an HDF5 file declaring more data than
it holds is refused before Keras reads it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from imgclf_gui.cli import main
from tests.conftest import write_image

FILE_NAME = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5"


def _h5(path: Path, **datasets) -> Path:
    import h5py

    with h5py.File(path, "w") as f:
        for name, make in datasets.items():
            make(f, name)
    return path


def test_an_hdf5_file_declaring_gigabytes_is_refused_before_keras_reads_it(tmp_path):
    from imgclf_gui.core.backbones.keras_apps import check_weights_file

    # never written (fill value) and compressed zeros: each a few KB on disk, gigabytes once read
    unwritten = _h5(tmp_path / "a.h5", w=lambda f, n: f.create_dataset(n, shape=(1 << 30,), dtype="f4"))
    squeezed = _h5(tmp_path / "b.h5", w=lambda f, n: f.create_dataset(
        n, data=np.zeros(1 << 24, np.float32), compression="gzip", chunks=(1 << 20,)))
    for path in (unwritten, squeezed):
        assert path.stat().st_size < 1 << 20
        assert check_weights_file(path) == "its arrays declare more data than the file holds"
    strings = _h5(tmp_path / "c.h5", w=lambda f, n: f.create_dataset(n, data=[b"x"] * 3))
    assert "not numbers" in check_weights_file(strings)
    garbage = tmp_path / "d.h5"
    garbage.write_bytes(b"\x89HDF\r\n" + b"\0" * 300)
    assert check_weights_file(garbage)  # a reason, not an exception
    honest = _h5(tmp_path / "e.h5", w=lambda f, n: f.create_dataset(n, data=np.ones((64, 64), np.float32)))
    assert check_weights_file(honest) is None


@pytest.fixture
def damaged_weights(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / FILE_NAME).write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 20)  # a torn download
    monkeypatch.setenv("IMGCLF_WEIGHTS_DIR", str(folder))
    return folder / FILE_NAME


@pytest.mark.slow
def test_every_command_says_the_backbone_is_unavailable(tmp_path, damaged_weights, capsys):
    from imgclf_gui.core.backbones import get_spec
    from imgclf_gui.core.models.bundle import ModelBundle
    from imgclf_gui.core.training.config import TrainConfig
    from imgclf_gui.core.training.head import HeadModel

    spec = get_spec("mobilenet-v2")
    project = tmp_path / "project"
    for name, color in {"red": (220, 40, 40), "blue": (30, 40, 220)}.items():
        for i in range(4):
            write_image(project / name / f"{name}{i}.png", color=color, seed=i + len(name))
    head = HeadModel(np.zeros(spec.dim, np.float32), np.ones(spec.dim, np.float32),
                     [(np.zeros((spec.dim, 2), np.float32), np.zeros(2, np.float32))])
    model = ModelBundle.create(head=head, class_names=["blue", "red"], spec=spec,
                               config=TrainConfig(backbone=spec.id)).save(tmp_path / "m.imgclf-model")
    image = str(project / "red" / "red0.png")
    commands = {
        "train": ["train", str(project), "--backbone", spec.id, "--out", str(tmp_path / "new.imgclf-model")],
        "extract": ["extract", str(project), "--backbone", spec.id],
        "imagenet": ["imagenet", "--backbone", spec.id, image],
        "classify": ["classify", str(model), image],
        "evaluate": ["evaluate", str(model), str(project)],
        "export": ["export", str(model), "--format", "tflite", "--out", str(tmp_path / "m.tflite")],
    }
    for name, argv in commands.items():
        capsys.readouterr()
        assert main(argv) == 1, name
        err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("imgclf ")]
        assert len(err) == 1 and "MobileNet v2 is unavailable" in err[0] and str(damaged_weights) in err[0] \
            and "download it again" in err[0], (name, err)
    assert not (tmp_path / "new.imgclf-model").exists() and not (tmp_path / "m.tflite").exists()
