"""``imgclf check DIR``: Check Data from the command line, with the same findings as the app."""
import json
import shutil

from imgclf_gui.cli import main
from tests.conftest import write_image

COLOURS = {"blue": (30, 40, 220), "green": (40, 200, 40), "red": (220, 40, 40)}


def _project(root, per_class=12):
    for name, colour in COLOURS.items():
        for i in range(per_class):
            write_image(root / name / f"{name}{i}.png", size=(40, 30), color=colour, seed=i + 100 * len(name))
    return root


def test_check_lists_unreadable_and_identical_images_and_says_mislabels_need_a_model(tmp_path, capsys):
    root = _project(tmp_path / "proj")
    shutil.copy(root / "red" / "red0.png", root / "blue" / "copy of red0.png")
    (root / "green" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    assert main(["check", str(root), "--json", str(tmp_path / "check.json")]) == 0
    out = capsys.readouterr().out
    assert "Checked 38 image(s)" in out
    assert "Unreadable files (1):" in out and "green/broken.png:" in out
    assert "Identical images (1):" in out and "blue/copy of red0.png" in out and "red/red0.png" in out
    assert "Possibly mislabelled: not checked. The project has no trained model yet" in out
    data = json.loads((tmp_path / "check.json").read_text())
    assert data["checked"] == 38 and data["suspected_mislabels"] == []
    assert {f["kind"] for f in data["findings"]} >= {"unreadable", "duplicate", "small_class"}
    assert data["mislabels"]["available"] is False


def test_check_json_to_stdout_is_only_json(tmp_path, capsys):
    root = _project(tmp_path / "proj")
    assert main(["check", str(root), "--json", "-"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["checked"] == 36 and "Checked 36" in captured.err


def test_check_refuses_what_is_not_a_folder(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nothing")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_a_model_trained_before_cross_validation_still_works_and_check_says_why_no_list(tmp_path, fake_backbone,
                                                                                        capsys):  # noqa: F811
    from imgclf_gui.core.models import runs
    from imgclf_gui.core.project import layout

    root = _project(tmp_path / "proj")
    assert main(["train", str(root), "--backbone", fake_backbone.id, "--epochs", "5", "--quiet"]) == 0
    [run] = runs.list_runs(root)
    layout.out_of_fold_file(run.folder).unlink()  # as a run of an older version has none
    capsys.readouterr()
    assert main(["check", str(root)]) == 0
    out = capsys.readouterr().out
    assert "Possibly mislabelled: not checked. The active model has no saved prediction for every image" in out
    assert main(["classify", str(root), str(root / "red" / "red1.png"), "--top", "1"]) == 0
    assert "red" in capsys.readouterr().out
    # evaluating it on the images it learnt from says why that cannot be done
    assert main(["evaluate", str(root), str(root)]) == 1  # a problem of the data, not of the command line
    assert "learnt from every image" in capsys.readouterr().err
