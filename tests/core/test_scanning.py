"""Links, loops, FIFOs, sockets, devices, undecodable and over-long names in class folders: each is
skipped with a reason that extract, train, classify, evaluate and Check Data report; never a traceback,
and a FIFO is never opened."""
from __future__ import annotations

import io
import json
import os
import socket
import struct
import threading

import numpy as np
import pytest
from PIL import Image

from imgclf_gui.core.images.decode import ImageError, load_rgb
from imgclf_gui.core.project.scan import printable, scan_project
from tests.conftest import write_image


def deep_folder(base):
    """A folder whose path is longer than the system allows (PATH_MAX), made one step at a time."""
    here = os.getcwd()
    os.makedirs(base, exist_ok=True)
    os.chdir(base)
    try:
        for _ in range(20):
            os.mkdir("d" * 250)
            os.chdir("d" * 250)
        Image.new("RGB", (8, 8)).save("lost.png")  # relative: its full path is too long to name
    finally:
        os.chdir(here)


@pytest.fixture
def hostile(tmp_path):
    """A project whose 'cat' class holds every kind of entry that cannot be used, beside real images."""
    root = tmp_path / "project"
    for label, colour in (("cat", (200, 40, 40)), ("dog", (40, 40, 200))):
        for i in range(4):
            write_image(root / label / f"{label}{i}.png", color=colour, seed=i + (10 if label == "dog" else 0))
    cat = root / "cat"
    os.symlink("loop.png", cat / "loop.png")
    os.symlink("nowhere.png", cat / "dangling.png")
    os.symlink("..", cat / "up")  # a link to a folder: following it would loop
    os.mkfifo(cat / "pipe.png")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(cat / "socket.png"))
    (cat / os.fsdecode(b"bad\xff.png")).write_bytes((cat / "cat0.png").read_bytes())
    long_name = "é" * 120 + ".png"  # 244 bytes: usable
    write_image(cat / long_name, color=(200, 40, 40), seed=9)
    deep_folder(cat / "deep")
    yield root
    server.close()


EXPECTED = {
    "loop.png": "leads back to itself",
    "dangling.png": "target is missing",
    "up": "links to folders are not followed",
    "pipe.png": "named pipe (FIFO)",
    "socket.png": "a socket",
    os.fsdecode(b"bad\xff.png"): "not valid UTF-8",
    "d" * 250: "too long",
}


def test_scanning_skips_each_unusable_entry_with_its_reason(hostile):
    scan = scan_project(hostile)
    assert sorted(s.path.name for s in scan.samples if s.label == "cat") == sorted(
        [f"cat{i}.png" for i in range(4)] + ["é" * 120 + ".png"])
    reasons = {s.path.name: s.reason for s in scan.skipped}
    assert set(reasons) == set(EXPECTED)
    for name, words in EXPECTED.items():
        assert words in reasons[name], (name, reasons[name])


def test_a_device_file_is_skipped(tmp_path):
    (tmp_path / "cat").mkdir()
    try:
        os.mknod(tmp_path / "cat" / "null.png", 0o600 | __import__("stat").S_IFCHR, os.makedev(1, 3))
    except (PermissionError, OSError):
        pytest.skip("cannot make a device node here")
    assert "a device" in scan_project(tmp_path).skipped[0].reason


def test_a_fifo_is_never_opened(hostile):
    """Reading, hashing and decoding a FIFO return at once with a reason (opening it would block)."""
    from imgclf_gui.core.support.file_hash import content_hash, read_and_hash

    fifo = hostile / "cat" / "pipe.png"
    outcome = {}

    def attempt():
        for name, call in (("decode", load_rgb), ("hash", content_hash), ("read", read_and_hash)):
            try:
                call(fifo)
                outcome[name] = "opened"
            except (ImageError, OSError) as exc:
                outcome[name] = getattr(exc, "reason", None) or str(exc)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive(), "a FIFO was opened and blocked"
    assert "named pipe" in outcome["decode"] and "named pipe" in outcome["hash"] and "named pipe" in outcome["read"]


def test_training_reports_the_skipped_entries_and_trains_on_the_rest(hostile, fake_backbone):  # noqa: F811
    from imgclf_gui.core.training.config import TrainConfig
    from imgclf_gui.core.training.trainer import train

    result = train(TrainConfig(backbone=fake_backbone.id, epochs=3), hostile)
    assert result.head is not None
    failed = {os.path.basename(p): reason for p, reason in result.failed.items()}
    for name, words in EXPECTED.items():
        assert words in failed[printable(name)]  # a name that is not UTF-8 is shown escaped: bad\xff.png
    assert len(result.samples) == 9  # 4 dogs, 4 cats and the long-named cat


def test_check_data_lists_them_with_reasons(hostile):
    from imgclf_gui.core.review.health import check_health

    report = check_health(hostile)
    unreadable = {f.paths[0].name: f.detail for f in report.of_kind("unreadable")}
    for name, words in EXPECTED.items():
        assert words in unreadable[name]


def test_the_commands_name_them_and_never_fail_with_a_traceback(hostile, fake_backbone, capsys):  # noqa: F811
    from imgclf_gui.cli import main

    assert main(["extract", str(hostile), "--backbone", fake_backbone.id]) == 0
    err = capsys.readouterr().err
    assert "skipped:" in err and "leads back to itself" in err and "named pipe" in err
    assert main(["train", str(hostile), "--backbone", fake_backbone.id, "--epochs", "2"]) == 0
    capsys.readouterr()
    assert main(["classify", str(hostile), str(hostile / "cat")]) == 0
    err = capsys.readouterr().err
    assert "leads back to itself" in err and "named pipe" in err and "too long" in err
    other = hostile.parent / "other"  # images the model was not trained on, beside a FIFO and a loop
    write_image(other / "cat" / "new_cat.png", color=(200, 40, 40), seed=50)
    write_image(other / "dog" / "new_dog.png", color=(40, 40, 200), seed=51)
    os.mkfifo(other / "dog" / "pipe.png")
    os.symlink("loop.png", other / "cat" / "loop.png")
    assert main(["evaluate", str(hostile), str(other), "--json", "-"]) == 0
    failed = json.loads(capsys.readouterr().out)["failed"]
    assert "named pipe" in failed[str(other / "dog" / "pipe.png")]
    assert "leads back to itself" in failed[str(other / "cat" / "loop.png")]


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small JPEG whose header says it is ``width`` x ``height``: most of its picture is missing."""
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(buffer, "JPEG", quality=90)
    data = buffer.getvalue()
    sof = data.find(b"\xff\xc0")
    return data[:sof + 5] + struct.pack(">HH", height, width) + data[sof + 9:]


@pytest.mark.parametrize("max_side", [None, 224])
def test_a_jpeg_whose_data_is_mostly_missing_counts_as_truncated(tmp_path, max_side):
    path = tmp_path / "claims-12mp.jpg"
    path.write_bytes(jpeg_claiming(4000, 3000))
    with pytest.raises(ImageError, match="truncated") as caught:
        load_rgb(path, max_side=max_side)
    assert caught.value.lasting  # the bytes themselves: remembered, not retried every run


def test_a_real_photo_with_a_grey_sky_is_not_truncated(tmp_path):
    picture = np.full((120, 160, 3), 128, np.uint8)  # mostly mid grey, as a foggy photo can be
    picture[:30] = np.random.default_rng(1).integers(0, 255, (30, 160, 3))
    picture[-1, ::7] = 131  # a little noise in the bottom row, as every camera has
    path = tmp_path / "fog.jpg"
    Image.fromarray(picture).save(path, quality=95)
    assert load_rgb(path).shape == (120, 160, 3)
