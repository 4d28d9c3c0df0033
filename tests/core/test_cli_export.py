"""`imgclf export` tells the user what it wrote in three lines, not TensorFlow's listing of every tensor."""
import pytest

from imgclf_gui.cli import main
from tests.conftest import write_image

COLORS = {"blue": (30, 40, 220), "green": (40, 200, 40), "red": (220, 40, 40)}


@pytest.mark.slow
@pytest.mark.parametrize("fmt,name", [("tflite", "colors-tflite"), ("keras", "colors-keras"),
                                      ("savedmodel", "colors_saved"), ("onnx", "colors-onnx"),
                                      ("tflite-int8", "colors-int8")])
def test_export_prints_only_what_it_wrote(tmp_path, fake_backbone, capfd, fmt, name):
    project = tmp_path / "colors"
    for cls, color in COLORS.items():
        for i in range(8):
            write_image(project / cls / f"{cls}{i}.png", size=(40, 30), color=color, seed=i + 10 * len(cls))
    assert main(["train", str(project), "--backbone", fake_backbone.id, "--epochs", "5"]) == 0
    capfd.readouterr()

    out_path = tmp_path / "out" / name
    assert main(["export", str(project), "--format", fmt, "--out", str(out_path)]) == 0
    captured = capfd.readouterr()  # file-descriptor level: what the terminal would show, C++ output too
    lines = captured.out.splitlines()
    figures = ["Self-test:", "Size", "Calibrated", "predict.py"] if fmt == "tflite-int8" else ["Self-test:",
                                                                                             "predict.py"]
    assert [line.split(" ", 1)[0] for line in lines] == ["Wrote", *figures], captured.out
    assert str(out_path) in lines[0]
    assert "TensorSpec" not in captured.out + captured.err and "Saved artifact" not in captured.out + captured.err
    # nor LiteRT's or the int8 calibrator's native lines
    assert "XNNPACK" not in captured.err and "fully_quantize" not in captured.err, captured.err
    assert out_path.exists()
