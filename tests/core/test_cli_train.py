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
    # a test part kept out of everything, so that `evaluate` below has images the model never saw
    assert main(["train", str(data), "--out", str(model), "--backbone", fake_backbone.id, "--test-percent", "20",
                 "--epochs", "30", "--learning-rate", "0.01", "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "epoch   1" in out and "Accuracy on 9 test images never used for any choice" in out
    assert "Few images" in out and "Fold 5 of 5" in out and "kept as the test part" in out
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["accuracy"] >= 0.8 and report["part"] == "test" and report["suspected_mislabels"] == []
    assert (data / ".imgclf" / "folds.json").exists()

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

    # evaluate leaves out the images the model was trained on: only the test part is left
    capsys.readouterr()
    assert main(["evaluate", str(model), str(data), "--json", "-"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["count"] == 9 and len(report["confusion"]) == 3


def test_train_scores_every_image_and_lists_the_ones_in_the_wrong_folder(tmp_path, fake_backbone, capsys):
    data = _dataset(tmp_path / "data")
    wrong = []
    for i in range(3):  # three red images filed under green
        wrong.append(write_image(data / "green" / f"oops{i}.png", size=(40, 30), color=COLORS["red"], seed=500 + i))
    assert main(["train", str(data), "--backbone", fake_backbone.id, "--epochs", "40", "--learning-rate", "0.01",
                 "--quiet", "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "Accuracy on 48 images, each predicted by one of 5 fold models that never saw it" in out
    assert "Possibly mislabelled (" in out and "green/oops0.png: green -> red" in out
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["part"] == "out-of-fold" and report["count"] == 48 and report["crossval"]["folds"]["folds"] == 5
    suspects = report["suspected_mislabels"]
    assert {s["path"] for s in suspects[:3]} == {str(p) for p in wrong}
    assert all(s["label"] == "green" and s["suggested"] == "red" and s["confidence"] > 0.5 for s in suspects[:3])
    # `imgclf check` lists the same ones from the saved run, without training again
    assert main(["check", str(data), "--json", str(tmp_path / "c.json")]) == 0
    checked = json.loads((tmp_path / "c.json").read_text())
    assert checked["suspected_mislabels"] == suspects and checked["mislabels"]["available"]
    assert "Possibly mislabelled (3" in capsys.readouterr().out


def test_same_seed_same_model(tmp_path, fake_backbone):
    from imgclf_gui.core.training.config import TrainConfig
    from imgclf_gui.core.training.trainer import train

    data = _dataset(tmp_path / "data", per_class=10)
    cfg = TrainConfig(backbone=fake_backbone.id, epochs=10, hidden_units=8, seed=3, test_percent=20)
    one, two = train(cfg, data), train(cfg, data)
    for (w1, b1), (w2, b2) in zip(one.head.layers, two.head.layers):
        assert np.array_equal(w1, w2) and np.array_equal(b1, b2)
    np.testing.assert_array_equal(one.out_of_fold.probabilities, two.out_of_fold.probabilities)
    # the test part is never learnt from, nor used by the export self-test
    test = one.folds.test
    assert len(test) == 6 and {str(one.samples[i].path) for i in test}.isdisjoint(one.validation_paths)
    trained = set(one.train_hashes)
    assert len(trained) == 24 and all(one.out_of_fold.hashes[i] not in trained for i in test)


def test_cancel_keeps_what_is_complete(tmp_path, fake_backbone):
    from imgclf_gui.core.support import notes
    from imgclf_gui.core.training.config import TrainConfig
    from imgclf_gui.core.training.crossval import FINAL
    from imgclf_gui.core.training.trainer import train

    data = _dataset(tmp_path / "data", per_class=10)
    config = TrainConfig(backbone=fake_backbone.id, epochs=50, l2=1e-4)
    seen = []
    # stopped during the final model: every fold stands, the model is kept partly trained
    result = train(config, data, on_epoch=seen.append, should_stop=lambda: sum(e.fold == FINAL for e in seen) >= 2)
    assert result.cancelled and result.head is not None and len(result.history) == 2
    assert result.report.count == 30 and result.report.part == "out-of-fold"
    assert [n.kind for n in result.notes].count(notes.STOPPED_IN_FINAL) == 1
    # stopped in fold 3: the two completed folds are scored, and there is no model
    seen.clear()
    result = train(config, data, on_epoch=seen.append, should_stop=lambda: any(e.fold == 3 for e in seen))
    assert result.cancelled and result.head is None and result.crossval.completed_folds == 2
    assert result.report.count == 12
    [note] = [n for n in result.notes if n.kind == notes.STOPPED_IN_FOLDS]
    assert note.values == {"completed": 2, "folds": 5}


def test_refuses_one_class_and_tiny_class(tmp_path, fake_backbone, capsys):
    one = _dataset(tmp_path / "one", classes={"red": COLORS["red"]})
    assert main(["train", str(one), "--out", str(tmp_path / "m"), "--backbone", fake_backbone.id]) == 1
    assert "at least two class folders" in capsys.readouterr().err
    tiny = _dataset(tmp_path / "tiny", per_class=5)
    for p in list((tiny / "green").iterdir())[1:]:
        p.unlink()
    (tiny / "empty").mkdir()
    assert main(["train", str(tiny), "--out", str(tmp_path / "m"), "--backbone", fake_backbone.id]) == 1
    err = capsys.readouterr().err
    assert "'green' (1)" in err and "'empty'" in err
    assert not (tmp_path / "m").exists()


def test_missing_folder_and_bad_model(tmp_path, capsys):
    assert main(["train", str(tmp_path / "nope"), "--out", str(tmp_path / "m")]) == 2  # wrong usage
    assert main(["classify", str(tmp_path), str(tmp_path)]) == 1  # failed, with a sentence
    assert "not an imgclf model" in capsys.readouterr().err


@pytest.mark.slow
def test_export_command_tflite(tmp_path, fake_backbone, capsys):
    data = _dataset(tmp_path / "data", per_class=10)
    model = tmp_path / "m.imgclf-model"
    assert main(["train", str(data), "--out", str(model), "--backbone", fake_backbone.id, "--quiet"]) == 0
    assert main(["export", str(model), "--format", "tflite", "--out", str(tmp_path / "x" / "m")]) == 0
    assert "largest difference" in capsys.readouterr().out
    assert (tmp_path / "x" / "m" / "model.tflite").stat().st_size > 0
    assert (tmp_path / "x" / "m" / "labels.txt").read_text().split() == ["blue", "green", "red"]


def test_train_without_out_keeps_the_model_in_the_project_like_the_app(tmp_path, fake_backbone, capsys):  # noqa: F811
    from imgclf_gui.core.models import runs

    data = _dataset(tmp_path / "data", per_class=10)
    assert main(["classify", str(data), str(data / "unsorted")]) == 1  # nothing trained yet: a clear refusal
    assert "no trained model yet" in capsys.readouterr().err
    assert main(["train", str(data), "--backbone", fake_backbone.id, "--epochs", "30",
                 "--learning-rate", "0.01", "--quiet"]) == 0
    out = capsys.readouterr().out
    [run] = runs.list_runs(data)
    assert runs.active_model_path(data) == run.model_path  # the app opens it as the active model
    assert run.run_id in out and run.figures["classes"] == sorted(COLORS)
    assert main(["classify", str(data), str(data / "unsorted" / "new.png"), "--top", "1"]) == 0
    assert "red" in capsys.readouterr().out
