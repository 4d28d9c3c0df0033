"""What is checked before an export starts, and how predict.py's printout is compared with the app's."""
import numpy as np
import pytest

from imgclf_gui.core.models.export_example import compare_printout
from imgclf_gui.core.models.export_formats import FORMATS, check_export_target, format_availability
from imgclf_gui.core.support.output_paths import OutputError


def test_onnx_without_its_extra_says_how_to_install_it(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tf2onnx" else real(name, *a))
    assert format_availability("onnx") == (False, "ONNX export needs tf2onnx: install it with pip install "
                                                  "'imgclf[onnx]'.")
    assert format_availability("tflite-int8") == (True, "")
    assert FORMATS == ("tflite", "tflite-int8", "onnx", "keras", "savedmodel")


class _Head:
    layers = [(np.zeros((48, 3)), np.zeros(3))]


def test_an_export_replaces_only_an_earlier_export_or_an_empty_folder(tmp_path, fake_backbone):
    class _Bundle:  # what the check reads: the backbone (its size) and the head
        spec, head = fake_backbone, _Head

    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.jpg").write_bytes(b"x")
    with pytest.raises(OutputError, match="exists and is not an imgclf export") as caught:
        check_export_target(_Bundle, "tflite", tmp_path / "photos")
    assert caught.value.wrong_kind
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        check_export_target(_Bundle, "onnx", tmp_path / "file")
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "README.txt").write_text("imgclf model export: ONNX\n...")
    assert check_export_target(_Bundle, "keras", earlier).model == earlier / "model.keras"
    (tmp_path / "empty").mkdir()
    assert check_export_target(_Bundle, "savedmodel", tmp_path / "empty").model == tmp_path / "empty" / "saved_model"


NAMES = ["cat", "dog, big", "fox 2", "owl"]


def test_a_printout_agrees_within_rounding_and_names_the_first_image_that_does_not(tmp_path):
    paths = [tmp_path / "a.jpg", tmp_path / "b b.jpg"]
    p = np.array([[0.70049, 0.20000, 0.09951, 0.0], [0.1, 0.1, 0.3, 0.5]])
    exact = [f"{paths[0]}: cat 70.0%, dog, big 20.0%, fox 2 10.0%", f"{paths[1]}: owl 50.0%, fox 2 30.0%, cat 10.0%"]
    assert compare_printout(exact, paths, p, NAMES, 1e-4) is None
    # another runtime's 0.70051 and 0.09949 round the other way...
    near = [exact[0].replace("cat 70.0%", "cat 70.1%").replace("fox 2 10.0%", "fox 2 9.9%"), exact[1]]
    assert compare_printout(near, paths, p, NAMES, 1e-4) is None
    # ...and tied classes (0.1 and 0.1) may come in either order
    swapped = [exact[0], f"{paths[1]}: owl 50.0%, fox 2 30.0%, dog, big 10.0%"]
    assert compare_printout(swapped, paths, p, NAMES, 1e-4) is None
    off = [exact[0].replace("cat 70.0%", "cat 70.2%"), exact[1]]
    assert compare_printout(off, paths, p, NAMES, 1e-4).startswith("for a.jpg predict.py printed 'cat 70.2%")
    wrong = [exact[0], f"{paths[1]}: fox 2 50.0%, owl 30.0%, cat 10.0%"]
    assert compare_printout(wrong, paths, p, NAMES, 1e-4) == (
        "for b b.jpg predict.py printed 'fox 2 50.0%, owl 30.0%, cat 10.0%' and imgclf 'owl 50.0%, fox 2 30.0%, "
        "cat 10.0%'")
    assert compare_printout(exact[:1], paths, p, NAMES, 1e-4) == "predict.py printed 1 line for 2 images"
