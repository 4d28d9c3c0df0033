"""int8 TensorFlow Lite: calibrated on the model's own training images (found in its project by content
hash, or in a folder the user gives), top class the app's on at least 99% of held-out images, size and
speed reported against the float file."""
import shutil

import pytest

from imgclf_gui.cli import main
from imgclf_gui.core.models import runs
from imgclf_gui.core.models.bundle import ModelBundle
from imgclf_gui.core.models.export_int8 import MAX_HELD_OUT, CalibrationError, calibration_set, project_of
from tests.conftest import write_image

COLORS = {"blue": (30, 40, 220), "green": (40, 200, 40), "red": (220, 40, 40)}


def _project(root, per_class=12):
    for name, color in COLORS.items():
        for i in range(per_class):
            write_image(root / name / f"{name}{i}.png", size=(40, 30), color=color, seed=i + 100 * len(name))
    return root


def _train(project, backbone_id, *extra):
    assert main(["train", str(project), "--backbone", backbone_id, "--epochs", "30", "--learning-rate", "0.01",
                 "--quiet", *extra]) == 0
    return runs.active_model_path(project)


def test_calibration_images_are_the_training_images_found_by_content_in_the_project(tmp_path, fake_backbone):
    project = _project(tmp_path / "colors")
    model = ModelBundle.load(_train(project, fake_backbone.id))
    write_image(project / "red" / "added_after_training.png", color=(220, 40, 40), seed=777)
    (project / "green" / "green0.png").rename(project / "green" / "renamed.png")  # same content, new name

    assert project_of(model) == project
    chosen = calibration_set(model)
    used = chosen.representative + chosen.held_out
    assert len(used) == 36 and not set(chosen.representative) & set(chosen.held_out)
    assert project / "green" / "renamed.png" in used and project / "red" / "added_after_training.png" not in used
    for part in (chosen.representative, chosen.held_out):  # every class in both halves, alike
        assert {p.parent.name: sum(q.parent == p.parent for q in part) for p in part} == dict.fromkeys(COLORS, 6)
    assert chosen.source == "18 training images of project «colors», found by content hash"

    # a copy of the model elsewhere still finds its project through the images it names
    saved = model.save(tmp_path / "elsewhere" / "colors.imgclf-model")
    assert project_of(ModelBundle.load(saved)) == project
    # ... until the project is gone: then the user is told what to give
    shutil.move(project, tmp_path / "moved")
    with pytest.raises(CalibrationError, match="project is not on this computer; give a folder of images"):
        calibration_set(ModelBundle.load(saved))
    chosen = calibration_set(ModelBundle.load(saved), tmp_path / "moved")
    assert len(chosen.held_out) == min(18, MAX_HELD_OUT) and "images in" in chosen.source


def test_too_few_images_to_calibrate_is_one_sentence(tmp_path, fake_backbone):
    project = _project(tmp_path / "colors", per_class=5)
    model = ModelBundle.load(_train(project, fake_backbone.id))
    with pytest.raises(CalibrationError, match="needs at least 20 images .* and the project colors holds 15"):
        calibration_set(model)


@pytest.mark.slow
def test_int8_export_of_a_project_model_and_of_a_model_sent_without_its_project(tmp_path, fake_backbone, capsys):
    project = _project(tmp_path / "colors", per_class=15)
    _train(project, fake_backbone.id)
    capsys.readouterr()
    assert main(["export", str(project), "--format", "tflite-int8", "--out", str(tmp_path / "int8")]) == 0
    out = capsys.readouterr().out
    assert "Self-test: Top class the same as imgclf's on 22 of 22 held-out images (100.0%" in out
    assert "for float32" in out and "CPU ms per image on one thread" in out
    assert "Calibrated on 23 training images of project «colors», found by content hash." in out
    assert "printed the same top 3 as the int8 model run by imgclf" in out
    folder = tmp_path / "int8"
    assert sorted(p.name for p in folder.iterdir()) == ["README.txt", "labels.txt", "model_int8.tflite", "predict.py"]
    readme = (folder / "README.txt").read_text()
    assert "8-bit integers inside" in readme and "run of " in readme and "Calibrated on 23 training images" in readme

    # the model sent alone: its project is not here, so the user gives images like the training images
    saved = tmp_path / "sent" / "colors.imgclf-model"
    shutil.copytree(runs.active_model_path(project), saved)
    shutil.move(project, tmp_path / "photos")
    assert main(["export", str(saved), "--format", "tflite-int8", "--out", str(tmp_path / "int8b")]) == 1
    assert "--calibration DIR" in capsys.readouterr().err and not (tmp_path / "int8b").exists()
    assert main(["export", str(saved), "--format", "tflite-int8", "--out", str(tmp_path / "int8b"),
                 "--calibration", str(tmp_path / "photos")]) == 0
    assert f"images in {tmp_path / 'photos'}" in capsys.readouterr().out


@pytest.mark.slow
def test_int8_that_disagrees_too_often_is_deleted(tmp_path, fake_backbone, monkeypatch, capsys):
    import imgclf_gui.core.models.export_int8 as int8

    project = _project(tmp_path / "colors", per_class=15)
    _train(project, fake_backbone.id)
    real = int8.compare_int8

    def one_wrong_in_22(*args, **kwargs):
        report = real(*args, **kwargs)
        return int8.Int8Report(**{**report.__dict__, "agreeing": report.compared - 1,
                                  "agreement": (report.compared - 1) / report.compared})

    monkeypatch.setattr(int8, "compare_int8", one_wrong_in_22)
    assert main(["export", str(project), "--format", "tflite-int8", "--out", str(tmp_path / "int8")]) == 1
    assert "agreed with imgclf's on only 21 of 22 held-out images (95.5%, at least 99% required)" in \
        capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["colors"]
