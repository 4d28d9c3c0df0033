"""`imgclf train` names every image it skipped as unreadable: ten on screen and how many more, all in --json."""
from __future__ import annotations

import json

from imgclf_gui.cli import main
from tests.conftest import write_image


def test_skipped_images_are_named(tmp_path, fake_backbone, capsys):
    project = tmp_path / "project"
    for name, color in {"red": (220, 40, 40), "blue": (30, 40, 220)}.items():
        for i in range(8):
            write_image(project / name / f"{name}{i}.png", size=(40, 30), color=color, seed=i + 10 * len(name))
    broken = [project / "red" / f"broken{i:02d}.png" for i in range(13)]
    for i, path in enumerate(broken):
        path.write_bytes(b"not an image %d" % i)
    report = tmp_path / "report.json"
    assert main(["train", str(project), "--out", str(tmp_path / "m"), "--backbone", fake_backbone.id,
                 "--epochs", "3", "--quiet", "--json", str(report)]) == 0
    out = capsys.readouterr().out
    assert "Skipped 13 unreadable image(s):" in out
    shown = [line for line in out.splitlines() if line.startswith("  ") and "broken" in line]
    assert len(shown) == 10 and all("not an image in a supported format" in line for line in shown)
    assert "... and 3 more (--json FILE lists them all)" in out
    skipped = json.loads(report.read_text())["skipped_unreadable"]
    assert sorted(skipped) == sorted(str(p) for p in broken)
