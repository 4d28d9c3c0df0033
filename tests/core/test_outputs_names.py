"""A file name that is not valid UTF-8 (possible on Linux) never fails an output after the work: each
undecodable byte is written as \\xNN, in the CSV, in JSON reports and on screen."""
from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path

import pytest

from imgclf_gui.cli import main
from imgclf_gui.core.support.output_paths import escape_undecodable
from tests.conftest import write_image

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="only Linux file systems take any bytes as names")


def _name(raw: bytes) -> str:
    return os.fsdecode(raw)  # b"caf\xe9.png" -> "caf\udce9.png", as os.listdir gives it


def test_escaping_is_per_undecodable_byte():
    assert escape_undecodable(_name(b"caf\xe9.png")) == "caf\\xe9.png"
    assert escape_undecodable("café.png") == "café.png"  # valid UTF-8 is kept as it is
    assert escape_undecodable(_name(b"\xff\xfe x")) == "\\xff\\xfe x"
    assert escape_undecodable(_name(b"a\xe9"), json=True) == "a\\\\xe9"


@pytest.fixture
def odd_project(tmp_path, fake_backbone) -> Path:
    root = tmp_path / "project"
    colors = {"red": (220, 40, 40), "green": (40, 200, 40), "blue": (30, 40, 220)}
    for name, color in colors.items():
        for i in range(6):
            write_image(root / name / f"{name[:2]}{i}.png", size=(40, 30), color=color, seed=i + 10 * len(name))
    write_image(root / "red" / _name(b"caf\xe9.png"), color=(220, 40, 40), seed=77)
    return root


@linux_only
def test_a_csv_holds_any_file_name(odd_project, tmp_path, fake_backbone, capsys):
    model = tmp_path / "m.imgclf-model"
    assert main(["train", str(odd_project), "--out", str(model), "--backbone", fake_backbone.id, "--epochs", "3",
                 "--quiet"]) == 0
    capsys.readouterr()
    out_csv = tmp_path / "scores.csv"
    assert main(["classify", str(model), str(odd_project / "red"), "--csv", str(out_csv)]) == 0
    printed = capsys.readouterr().out
    assert "caf\\xe9.png: " in printed  # the screen shows the same escape
    with open(out_csv, newline="", encoding="utf-8") as handle:  # valid UTF-8 throughout
        rows = list(csv.reader(handle))
    assert rows[0][3:] == ["blue", "green", "red"]
    assert any(row[0].endswith("caf\\xe9.png") for row in rows[1:]) and len(rows) == 8


@linux_only
def test_a_json_report_holds_any_file_name(odd_project, tmp_path, fake_backbone, capsys):
    copy = odd_project / "green" / _name(b"copie-\xe9.png")
    copy.write_bytes((odd_project / "green" / "gr0.png").read_bytes())  # an identical image: listed by path
    report = tmp_path / "report.json"
    assert main(["check", str(odd_project), "--json", str(report)]) == 0
    data = json.loads(report.read_text(encoding="utf-8"))  # still valid JSON
    listed = [p for finding in data["findings"] for p in finding["paths"]]
    assert any(p.endswith("copie-\\xe9.png") for p in listed), listed
    assert main(["check", str(odd_project), "--json", "-"]) == 0
    printed = capsys.readouterr().out
    assert json.loads(printed[printed.index("{"):])["checked"] == data["checked"]
