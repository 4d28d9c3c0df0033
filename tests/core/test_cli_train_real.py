"""End to end with the real pretrained EfficientNet-Lite0, offline: train -> classify --csv -> export tflite."""
import csv

import pytest

from imgclf_gui.cli import main
from tests.conftest import write_image


@pytest.mark.slow
def test_efficientnet_train_classify_export(tmp_path, capsys):
    from imgclf_gui.core.backbones import availability

    ok, reason = availability("efficientnet-lite0")
    if not ok:
        pytest.skip(reason)
    data = tmp_path / "data"
    colors = {"blue": (30, 40, 220), "red": (220, 40, 40), "yellow": (230, 220, 30)}
    for name, color in colors.items():
        for i in range(8):
            write_image(data / name / f"{name}{i}.jpg", size=(80, 60), color=color, seed=i + 10 * len(name))
    model = tmp_path / "m.imgclf-model"
    assert main(["train", str(data), "--out", str(model), "--epochs", "40"]) == 0
    assert "Accuracy on" in capsys.readouterr().out
    probe = write_image(tmp_path / "probe.png", size=(70, 70), color=(225, 45, 35), seed=77)
    assert main(["classify", str(model), str(probe), "--csv", str(tmp_path / "p.csv")]) == 0
    with open(tmp_path / "p.csv", newline="") as f:
        assert next(csv.DictReader(f))["label"] == "red"
    assert main(["export", str(model), "--format", "tflite", "--out", str(tmp_path / "m.tflite")]) == 0
    assert "largest difference" in capsys.readouterr().out
