"""``imgclf suggest DIR [--csv FILE] [--accept-above P]``: the inbox's suggestions from the command line, and
accepting the sure ones as one action the app can undo."""
from __future__ import annotations

import csv

from imgclf_gui.cli import main
from imgclf_gui.core.project.journal import Journal
from imgclf_gui.core.project.lock import try_lock
from tests.core.test_inbox_suggestions import colour_project


def test_suggest_prints_and_writes_a_csv_of_every_inbox_image(tmp_path, fake_backbone, capsys):
    root = colour_project(tmp_path / "proj", fake_backbone.id)
    (root / "unsorted" / "broken.png").write_bytes(b"not a picture")
    out_csv = tmp_path / "out" / "suggestions.csv"
    assert main(["suggest", str(root), "--csv", str(out_csv)]) == 0
    captured = capsys.readouterr()
    assert f"{root}/unsorted/red-1.png: red " in captured.out
    assert "Suggestions for 6 inbox image(s) from a model trained on 18 images, just now." in captured.out
    assert "unsorted/broken.png: cannot read (" in captured.err
    rows = list(csv.reader(out_csv.open()))
    assert rows[0] == ["path", "suggested", "confidence", "blue", "green", "red"]
    by_name = {r[0].rsplit("/", 1)[1]: r for r in rows[1:]}
    assert len(by_name) == 7 and by_name["broken.png"][1:] == ["", "", "", "", ""]
    for name in ("blue-0.png", "green-1.png", "red-0.png"):
        row = by_name[name]
        assert row[1] == name.split("-")[0]
        assert abs(sum(map(float, row[3:])) - 1) < 1e-4 and float(row[2]) == max(map(float, row[3:]))
    assert sorted(p.name for p in (root / "unsorted").iterdir()) == sorted(by_name), "nothing moved"


def test_accept_above_moves_the_sure_ones_as_one_undoable_action(tmp_path, fake_backbone, capsys):
    root = colour_project(tmp_path / "proj", fake_backbone.id)
    assert main(["suggest", str(root), "--accept-above", "0.5", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert ("Moved 6 image(s) suggested at or above 50% into their classes (blue 2, green 2, red 2); "
            "Edit > Undo in the app takes them back.") in out
    assert not any((root / "unsorted").iterdir())
    assert sorted(p.name for p in (root / "red").glob("red-*.png")) == ["red-0.png", "red-1.png"]
    journal = Journal(root)  # what the app's Undo runs
    assert journal.undo_label() == "accept 6 suggestions at or above 50% (blue 2, green 2, red 2)"
    journal.undo()
    journal.close()
    assert len(list((root / "unsorted").iterdir())) == 6


def test_nothing_sure_enough_moves_nothing(tmp_path, fake_backbone, capsys):
    root = colour_project(tmp_path / "proj", fake_backbone.id)
    assert main(["suggest", str(root), "--accept-above", "1", "--quiet"]) == 0
    assert "No inbox image is suggested at or above 100%; nothing moved." in capsys.readouterr().out
    assert len(list((root / "unsorted").iterdir())) == 6


def test_a_project_open_elsewhere_is_not_changed(tmp_path, fake_backbone, capsys):
    root = colour_project(tmp_path / "proj", fake_backbone.id)
    held = try_lock(root, "imgclf (window)")
    try:
        assert main(["suggest", str(root), "--accept-above", "0.5"]) == 1
    finally:
        held.release()
    assert "This project is open in imgclf (window)" in capsys.readouterr().err
    assert len(list((root / "unsorted").iterdir())) == 6


def test_wrong_usage_is_refused_before_any_work(tmp_path, fake_backbone, capsys):
    from imgclf_gui.core.project import layout

    root = colour_project(tmp_path / "proj", fake_backbone.id)
    assert main(["suggest", str(root), "--accept-above", "95"]) == 2
    assert "--accept-above is a probability above 0 and at most 1" in capsys.readouterr().err
    assert main(["suggest", str(root), "--csv", str(tmp_path)]) == 2  # a folder where the CSV file goes
    assert "CSV" in capsys.readouterr().err
    assert not layout.features_dir(layout.state_dir(root)).exists(), "no image was extracted"
    assert main(["suggest", str(tmp_path / "nothing")]) == 2


def test_too_few_sorted_images_says_what_is_needed(tmp_path, fake_backbone, capsys):
    root = colour_project(tmp_path / "proj", fake_backbone.id, per_class=3)
    assert main(["suggest", str(root)]) == 1
    assert "Suggestions need at least 2 classes of 5 readable images each" in capsys.readouterr().err
