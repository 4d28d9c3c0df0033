"""A model trained on EfficientNet-Lite2 goes the whole way offline: train, classify, export (self-tested)."""
from __future__ import annotations

import csv
import re

import pytest

from imgclf_gui.cli import main
from imgclf_gui.core.models.bundle import ModelBundle
from tests.conftest import write_image


@pytest.mark.slow
def test_lite2_model_trains_classifies_and_exports_a_self_tested_tflite(tmp_path, capsys):
    data = tmp_path / "data"
    colors = {"blue": (30, 40, 220), "red": (220, 40, 40), "yellow": (230, 220, 30)}
    for name, color in colors.items():
        for i in range(8):
            write_image(data / name / f"{name}{i}.jpg", size=(80, 60), color=color, seed=i + 10 * len(name))
    model = tmp_path / "m.imgclf-model"
    assert main(["train", str(data), "--out", str(model), "--backbone", "efficientnet-lite2", "--epochs", "40"]) == 0
    assert "Accuracy on" in capsys.readouterr().out
    bundle = ModelBundle.load(model)
    assert (bundle.backbone_id, bundle.input_size) == ("efficientnet-lite2", 260)

    probe = write_image(tmp_path / "probe.png", size=(70, 70), color=(225, 45, 35), seed=77)
    assert main(["classify", str(model), str(probe), "--csv", str(tmp_path / "p.csv")]) == 0
    with open(tmp_path / "p.csv", newline="") as f:
        assert next(csv.DictReader(f))["label"] == "red"

    out = tmp_path / "m-tflite"
    assert main(["export", str(model), "--format", "tflite", "--out", str(out)]) == 0
    # the self-test ran on real images and passed (else exit 1 and no file)
    checked = re.search(r"Self-test: On (\d+) validation image", capsys.readouterr().out)
    assert checked and int(checked.group(1)) > 0
    assert (out / "model.tflite").is_file() and (out / "labels.txt").read_text().split() == ["blue", "red", "yellow"]
