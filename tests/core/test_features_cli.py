"""``imgclf extract``: what a user sees in the terminal."""
from __future__ import annotations

import io

from imgclf_gui.cli import main
from imgclf_gui.commands._progress import ProgressLine
from tests.conftest import write_image


def test_extract_reports_computed_cached_and_failed(tmp_path, capsys, fake_backbone):  # noqa: F811
    for i in range(5):
        write_image(tmp_path / ("cats" if i % 2 else "dogs") / f"{i}.jpg", seed=i)
    (tmp_path / "cats" / "broken.jpg").write_text("not an image")
    assert main(["extract", str(tmp_path), "--backbone", fake_backbone.id]) == 0
    out = capsys.readouterr().out
    assert "6 images in 2 classes" in out
    assert "5 computed, 0 from cache, 1 failed" in out
    assert "broken.jpg" in out and "not an image" in out
    assert main(["extract", str(tmp_path), "--backbone", fake_backbone.id, "--variants", "2"]) == 0
    assert "0 from cache" in capsys.readouterr().out  # new variants had to be computed
    assert main(["extract", str(tmp_path), "--backbone", fake_backbone.id, "--variants", "2"]) == 0
    assert "0 computed, 5 from cache, 1 failed" in capsys.readouterr().out


def test_extract_user_errors(tmp_path, capsys, fake_backbone):  # noqa: F811
    assert main(["extract", str(tmp_path / "missing")]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert main(["extract", str(tmp_path)]) == 1  # nothing to do: failed, with a sentence
    assert "no images" in capsys.readouterr().err
    write_image(tmp_path / "a" / "x.png")
    assert main(["extract", str(tmp_path), "--backbone", "nope"]) == 2
    assert "unknown backbone" in capsys.readouterr().err


def test_progress_line_on_a_pipe_prints_whole_lines_with_rate_and_time_left():
    stream = io.StringIO()
    now = [0.0]
    line = ProgressLine(stream, interval_s=0, now=lambda: now[0])
    # A backbone warming up for 20 s before the first images, then 2 images/s.
    for t, done in ((0.0, 0), (20.0, 2), (22.0, 6), (24.0, 10)):
        now[0] = t
        line(done, 10)
    line.finish()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4 and "\r" not in stream.getvalue()
    assert lines[1] == "Extracting: 2/10 images (20%), estimating time left…"  # nothing measured yet
    assert lines[2] == "Extracting: 6/10 images (60%), 2.0 images/s, about 2 s left"  # the warm-up left out
    assert lines[3] == "Extracting: 10/10 images (100%), done in 24 s"


def test_progress_line_on_a_terminal_rewrites_one_line():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    line = ProgressLine(stream, interval_s=0)
    line(1, 2)
    line(2, 2)
    line.finish()
    assert stream.getvalue().count("\r") == 2 and stream.getvalue().endswith("\n")
