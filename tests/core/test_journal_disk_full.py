"""A real full disk: a 2 MB tmpfs (needs root and permission to mount; skipped otherwise, and the same
paths are covered with an injected ENOSPC in test_journal_recovery.py)."""
from __future__ import annotations

import os

import pytest

from imgclf_gui.core.project.journal import Journal
from imgclf_gui.core.project.moves import plan_moves
from tests.conftest import write_image
from tests.core.disks import tmpfs


@pytest.fixture
def small_disk(tmp_path):
    with tmpfs(tmp_path / "disk", "2m") as mount_point:
        yield mount_point


def names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_an_import_that_fills_the_disk_fails_cleanly_and_is_never_replayed(small_disk, tmp_path):
    root = small_disk / "project"
    write_image(root / "cat" / "c0.jpg", seed=1)
    card = tmp_path / "card"
    small = write_image(card / "a.png", seed=2)
    big = card / "b.png"
    big.write_bytes(small.read_bytes() + os.urandom(3 << 20))  # more than the whole disk
    later = write_image(card / "c.png", seed=3)
    journal = Journal(root)
    result = journal.run("import 3", plan_moves([small, big, later], root / "cat", kind="copy"))
    assert names(root / "cat") == ["a.png", "c0.jpg"]  # no partial file, nothing overwritten
    assert "the disk is full" in result.problems[0]
    assert [p.name for p in card.iterdir()] and big.stat().st_size > 3 << 20  # sources untouched
    journal.close()
    reopened = Journal(root)
    assert not reopened.recovered and names(root / "cat") == ["a.png", "c0.jpg"]
    reopened.undo()
    assert names(root / "cat") == ["c0.jpg"]


def test_on_a_completely_full_disk_a_move_is_recorded_from_the_reserve(small_disk):
    root = small_disk / "project"
    write_image(root / "cat" / "c0.jpg", seed=1)
    (root / "dog").mkdir()
    journal = Journal(root)
    assert (root / ".imgclf" / "journal.reserve").exists()
    filler = small_disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass  # the disk is full now
    finally:
        os.close(fd)
    result = journal.run("send", plan_moves([root / "cat" / "c0.jpg"], root / "dog"))
    assert not result.problems and names(root / "dog") == ["c0.jpg"]
    assert not (root / ".imgclf" / "journal.reserve").exists()  # given up so the history could be written
    journal.close()
    reopened = Journal(root)
    assert reopened.undo_label() == "send" and not reopened.recovered
    filler.unlink()
