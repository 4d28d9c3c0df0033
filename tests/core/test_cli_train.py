"""The imgclf train / evaluate / classify / export commands, end to end, through cli.main."""
import csv
import json

import numpy as np
import pytest

from imgclf_gui.cli import main
from tests.conftest import write_image

COLORS = {"blue": (30, 40, 220), "green": (40, 200, 40), "red": (220, 40, 40)}


def _dataset(root, per_class=15, classes=COLORS):
    for name, color in classes.items():
        for i in range(per_class):
            write_image(root / name / f"{name}{i}.png", size=(40, 30), color=color, seed=i + 100 * len(name))
    (root / ".DS_Store").write_bytes(b"junk")
    (root / "unsorted").mkdir(exist_ok=True)
    write_image(root / "unsorted" / "new.png", color=(210, 50, 50), seed=999)
    return root


def test_train_then_classify_evaluate(tmp_path, fake_backbone, capsys):
    data = _dataset(tmp_path / "data")
    model = tmp_path / "colors.imgclf-model"
    assert main(["train", str(data), "--out", str(model), "--backbone", fake_backbone.id,
                 "--epochs", "30", "--learning-rate", "0.01", "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "epoch   1" in out and "Accuracy on" in out and "Few images" in out
    assert json.loads((tmp_path / "r.json").read_text())["accuracy"] >= 0.8
    assert (data / ".imgclf" / "split.json").exists()

    # classify: CSV with every class score, and copies sorted into folders, originals untouched
    target = tmp_path / "sorted"
    assert main(["classify", str(model), str(data / "unsorted"), str(data / "red" / "red0.png"),
                 "--csv", str(tmp_path / "out.csv"), "--sort-into", str(target), "--min-confidence", "0.5"]) == 0
    with open(tmp_path / "out.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["label"] for r in rows] == ["red", "red"]
    assert set(rows[0]) == {"path", "label", "confidence", "blue", "green", "red"}
    assert abs(sum(float(rows[0][c]) for c in COLORS) - 1) < 1e-4
    assert (target / "red" / "new.png").exists() and (data / "unsorted" / "new.png").exists()
    # a second run never overwrites: it makes "new (2).png"
    assert main(["classify", str(model), str(data / "unsorted"), "--sort-into", str(target), "--quiet"]) == 0
    assert (target / "red" / "new (2).png").exists()

    # evaluate leaves out the images the model was trained on
    capsys.readouterr()
    assert main(["evaluate", str(model), str(data), "--json", "-"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert 0 < report["count"] < 45 and len(report["confusion"]) == 3


def test_same_seed_same_model(tmp_path, fake_backbone):
    from imgclf_gui.core.training.config import TrainConfig
    from imgclf_gui.core.training.trainer import train

    data = _dataset(tmp_path / "data", per_class=10)
    cfg = TrainConfig(backbone=fake_backbone.id, epochs=10, hidden_units=8, seed=3)
    one, two = train(cfg, data), train(cfg, data)
    for (w1, b1), (w2, b2) in zip(one.head.layers, two.head.layers):
        assert np.array_equal(w1, w2) and np.array_equal(b1, b2)
    test_paths = {str(one.samples[i].path) for i in one.split.test}
    assert test_paths.isdisjoint(one.validation_paths)
    trained = set(one.train_hashes)
    assert all(h not in trained for h in (one.split.assignment and
                                          [k for k, v in one.split.assignment.items() if v == "test"]))


def test_cancel_keeps_best_so_far(tmp_path, fake_backbone):
    from imgclf_gui.core.training.config import TrainConfig
    from imgclf_gui.core.training.trainer import train

    data = _dataset(tmp_path / "data", per_class=10)
    seen = []
    result = train(TrainConfig(backbone=fake_backbone.id, epochs=50, l2=1e-4), data,
                   on_epoch=seen.append, should_stop=lambda: len(seen) >= 2)
    assert result.cancelled and len(seen) == 2 and result.head is not None


def test_refuses_one_class_and_tiny_class(tmp_path, fake_backbone, capsys):
    one = _dataset(tmp_path / "one", classes={"red": COLORS["red"]})
    assert main(["train", str(one), "--out", str(tmp_path / "m"), "--backbone", fake_backbone.id]) == 2
    assert "at least two class folders" in capsys.readouterr().err
    tiny = _dataset(tmp_path / "tiny", per_class=5)
    for p in list((tiny / "green").iterdir())[1:]:
        p.unlink()
    (tiny / "empty").mkdir()
    assert main(["train", str(tiny), "--out", str(tmp_path / "m"), "--backbone", fake_backbone.id]) == 2
    err = capsys.readouterr().err
    assert "'green' (1)" in err and "'empty'" in err
    assert not (tmp_path / "m").exists()


def test_missing_folder_and_bad_model(tmp_path, capsys):
    assert main(["train", str(tmp_path / "nope"), "--out", str(tmp_path / "m")]) == 2
    assert main(["classify", str(tmp_path), str(tmp_path)]) == 2
    assert "not an imgclf model" in capsys.readouterr().err


@pytest.mark.slow
def test_export_command_tflite(tmp_path, fake_backbone, capsys):
    data = _dataset(tmp_path / "data", per_class=10)
    model = tmp_path / "m.imgclf-model"
    assert main(["train", str(data), "--out", str(model), "--backbone", fake_backbone.id, "--quiet"]) == 0
    assert main(["export", str(model), "--format", "tflite", "--out", str(tmp_path / "x" / "m.tflite")]) == 0
    assert "largest difference" in capsys.readouterr().out
    assert (tmp_path / "x" / "m.tflite").stat().st_size > 0
    assert (tmp_path / "x" / "m.labels.txt").read_text().split() == ["blue", "green", "red"]


def test_train_without_out_keeps_the_model_in_the_project_like_the_app(tmp_path, fake_backbone, capsys):  # noqa: F811
    from imgclf_gui.core.models import runs

    data = _dataset(tmp_path / "data", per_class=10)
    assert main(["classify", str(data), str(data / "unsorted")]) == 2  # nothing trained yet: a clear refusal
    assert "no trained model yet" in capsys.readouterr().err
    assert main(["train", str(data), "--backbone", fake_backbone.id, "--epochs", "30",
                 "--learning-rate", "0.01", "--quiet"]) == 0
    out = capsys.readouterr().out
    [run] = runs.list_runs(data)
    assert runs.active_model_path(data) == run.model_path  # the app opens it as the active model
    assert run.run_id in out and run.figures["classes"] == sorted(COLORS)
    assert main(["classify", str(data), str(data / "unsorted" / "new.png"), "--top", "1"]) == 0
    assert "red" in capsys.readouterr().out
