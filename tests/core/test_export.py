"""Every export is a folder (model, labels.txt, README.txt, predict.py) that agrees with the app within 1e-4,
or is refused and deleted; its predict.py prints what `imgclf classify` prints."""
import subprocess
import sys

import numpy as np
import pytest

from imgclf_gui.cli import main
from imgclf_gui.core.models.bundle import ModelBundle
from imgclf_gui.core.training.config import TrainConfig
from imgclf_gui.core.training.head import HeadOptions, train_head
from tests.conftest import write_image
from tests.fakes import fake_features

COLORS = [(220, 40, 40), (40, 200, 40), (40, 40, 220)]


def _bundle(spec, tmp_path, hidden=0, crop="squash"):
    paths, labels = [], []
    for c, color in enumerate(COLORS):
        for i in range(6):
            paths.append(write_image(tmp_path / "imgs" / f"{c}_{i}.png", size=(40, 30), color=color, seed=i + 10 * c))
            labels.append(c)
    from imgclf_gui.core.images.decode import load_for_network

    x = fake_features(np.stack([load_for_network(p, spec.input_size, crop) for p in paths]))
    y = np.array(labels)
    res = train_head(x, y, x, y, HeadOptions(epochs=20, hidden_units=hidden, learning_rate=0.01))
    return ModelBundle.create(head=res.head, class_names=["red", "green", "blue"], spec=spec,
                              config=TrainConfig(backbone=spec.id, hidden_units=hidden, crop=crop),
                              validation_paths=[str(p) for p in paths])


def run_example(folder, *images):
    """What a user sees running the export's predict.py with the Python they have (this one)."""
    done = subprocess.run([sys.executable, str(folder / "predict.py"), *map(str, images)], capture_output=True,
                          text=True, timeout=300, cwd=folder)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


@pytest.mark.slow
@pytest.mark.parametrize("fmt,model_file,hidden", [("keras", "model.keras", 4), ("savedmodel", "saved_model", 0),
                                                   ("tflite", "model.tflite", 0), ("onnx", "model.onnx", 4)])
def test_export_folder_self_tested_and_its_example_prints_what_classify_prints(tmp_path, fake_backbone, capsys,
                                                                              fmt, model_file, hidden):
    bundle = _bundle(fake_backbone, tmp_path, hidden)
    bundle.save(tmp_path / "colours.imgclf-model")
    result = bundle.export(fmt, tmp_path / "out" / "colours", source="“colours”, run of 2026-01-01 10:00")
    folder = tmp_path / "out" / "colours"
    assert result.path == folder and result.checked == 18 and result.checked_on == "validation images"
    assert sorted(p.name for p in folder.iterdir()) == sorted([model_file, "labels.txt", "README.txt", "predict.py"])
    assert result.max_abs_diff <= 1e-4
    assert (folder / "labels.txt").read_text().split() == ["red", "green", "blue"]
    readme = (folder / "README.txt").read_text()
    assert "Model: “colours”, run of 2026-01-01 10:00." in readme and "BILINEAR" in readme
    assert "(N, 32, 32, 3)" in readme and "whole picture resized to a square" in readme
    assert "printed the same top 3 as imgclf classify for 18 validation images" in readme

    image = tmp_path / "imgs" / "1_3.png"
    capsys.readouterr()
    assert main(["classify", str(tmp_path / "colours.imgclf-model"), str(image)]) == 0
    assert run_example(folder, image) == capsys.readouterr().out.splitlines()
    assert not list((tmp_path / "out").glob(".*")), "temporary folders left behind"
    # ONNX Runtime ran only in its own process: it has import-order trouble with TensorFlow and Qt in one
    assert "onnxruntime" not in sys.modules


@pytest.mark.slow
def test_disagreeing_export_is_deleted(tmp_path, fake_backbone, monkeypatch):
    import imgclf_gui.core.models.exporter as export
    from imgclf_gui.core.models.exporter import ExportError

    bundle = _bundle(fake_backbone, tmp_path)
    real = export._run_keras
    monkeypatch.setattr(export, "_run_keras", lambda path, images: real(path, images) + 1e-3)
    with pytest.raises(ExportError, match="disagrees with imgclf by 1.0"):
        bundle.export("keras", tmp_path / "out" / "m")
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.slow
def test_an_example_that_decodes_otherwise_fails_the_export_and_an_earlier_export_stays(tmp_path, fake_backbone,
                                                                                         monkeypatch):
    import imgclf_gui.core.models.export_example as example
    from imgclf_gui.core.models.exporter import ExportError

    bundle = _bundle(fake_backbone, tmp_path, crop="center")
    first = bundle.export("tflite", tmp_path / "out")
    before = (tmp_path / "out" / "model.tflite").read_bytes()
    real = example.example_text
    # predict.py feeding BGR instead of RGB (the classic mistake): the self-test sees it in the printout
    monkeypatch.setattr(example, "example_text", lambda *a, **k: real(*a, **k).replace(
        "return np.asarray(picture, np.float32)", "return np.asarray(picture, np.float32)[..., ::-1]"))
    with pytest.raises(ExportError, match="predict.py disagrees with imgclf: for .*png predict.py printed"):
        bundle.export("tflite", tmp_path / "out")
    assert first.path == tmp_path / "out" and (tmp_path / "out" / "model.tflite").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["imgs", "out"]


@pytest.mark.slow
def test_export_cli_replaces_only_an_earlier_export(tmp_path, fake_backbone, capsys, monkeypatch):
    bundle = _bundle(fake_backbone, tmp_path)
    model = bundle.save(tmp_path / "m.imgclf-model")
    other = tmp_path / "photos"
    write_image(other / "keep.png")
    assert main(["export", str(model), "--format", "tflite", "--out", str(other)]) == 2
    assert "exists and is not an imgclf export" in capsys.readouterr().err
    assert [p.name for p in other.iterdir()] == ["keep.png"]
    assert main(["export", str(model), "--format", "tflite", "--out", str(tmp_path / "exp")]) == 0
    monkeypatch.chdir(tmp_path)  # a relative --out, as typed in a terminal
    assert main(["export", str(model), "--format", "tflite", "--out", "exp"]) == 0
    out = capsys.readouterr().out.splitlines()[-3:]
    assert out[0] == "Wrote the TensorFlow Lite export to exp (model.tflite, labels.txt, README.txt, predict.py)."
    assert out[1].startswith("Self-test: On 18 valid") and "printed the same top 3" in out[2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp", "imgs", "m.imgclf-model", "photos"]
    assert main(["export", str(model), "--format", "keras", "--out", str(tmp_path / "exp"), "--calibration",
                 str(other)]) == 2
    assert "--calibration is for --format tflite-int8 only" in capsys.readouterr().err


@pytest.mark.slow
def test_a_model_whose_validation_images_are_gone_is_checked_on_synthetic_pictures(tmp_path, fake_backbone):
    import shutil

    bundle = _bundle(fake_backbone, tmp_path, hidden=4)
    shutil.rmtree(tmp_path / "imgs")  # the model was sent without its images
    result = bundle.export("onnx", tmp_path / "out")
    assert result.checked_on == "synthetic images" and result.checked == 8 and result.max_abs_diff <= 1e-4
    assert "printed the same top 3 as imgclf classify for 8 synthetic images" in result.example_check
    assert "Model trained " in (tmp_path / "out" / "README.txt").read_text()  # no run to name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
