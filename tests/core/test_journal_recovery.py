"""Undo, redo and crash recovery move a file only when it is the recorded one; a failure is recorded
and never replayed; long names and special files are handled with a sentence, never a traceback."""
from __future__ import annotations

import errno
import os

import pytest

import imgclf_gui.core.project.moves as moves
from imgclf_gui.core.project.journal import Journal
from imgclf_gui.core.project.moves import partial_path, plan_moves, unique_path
from tests.conftest import write_image
from tests.core.test_journal import Crash, abandon, crash_on_rename


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "project"
    for i in range(3):
        write_image(root / "cat" / f"c{i}.jpg", seed=i)
    (root / "dog").mkdir()
    return root


def names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_undo_leaves_a_file_that_changed_since_and_can_be_tried_again(project):
    journal = Journal(project)
    journal.run("send c0", plan_moves([project / "cat" / "c0.jpg"], project / "dog"))
    write_image(project / "dog" / "c0.jpg", seed=42)  # edited (replaced) outside imgclf
    result = journal.undo()
    assert (project / "dog" / "c0.jpg").exists() and not (project / "cat" / "c0.jpg").exists()
    assert "not the file that was moved there any more" in result.problems[0]
    assert journal.undo_label() == "send c0"  # nothing happened, so it stays undoable


@pytest.mark.parametrize("same_content", [False, True])
def test_an_undo_interrupted_beside_a_same_named_file_never_harms_it(project, monkeypatch, same_content):
    """Undo meets a new cat/c0.jpg (another picture, or a copy of the moved one) and the process dies
    right after the rename. After a restart: both files are there, and redo moves only the right one."""
    original = (project / "cat" / "c0.jpg").read_bytes()
    journal = Journal(project)
    journal.run("send c0", plan_moves([project / "cat" / "c0.jpg"], project / "dog"))
    if same_content:
        (project / "cat" / "c0.jpg").write_bytes(original)
    else:
        write_image(project / "cat" / "c0.jpg", seed=99)
    newcomer = (project / "cat" / "c0.jpg").read_bytes()
    with monkeypatch.context() as patch, pytest.raises(Crash):
        crash_on_rename(patch, 0, after=True)
        journal.undo()
    abandon(journal)

    reopened = Journal(project)
    assert "1 of 1" in reopened.recovered[0]
    assert (project / "cat" / "c0.jpg").read_bytes() == newcomer
    assert (project / "cat" / "c0 (2).jpg").read_bytes() == original
    assert reopened.redo_label() == "send c0"
    reopened.redo()
    assert (project / "cat" / "c0.jpg").read_bytes() == newcomer  # untouched, never deleted
    assert (project / "dog" / "c0.jpg").read_bytes() == original
    assert not (project / "cat" / "c0 (2).jpg").exists()


def test_a_crash_before_the_rename_leaves_the_file_where_it_was_and_completes_it(project, monkeypatch):
    journal = Journal(project)
    with monkeypatch.context() as patch, pytest.raises(Crash):
        crash_on_rename(patch, 0, after=False)
        journal.run("send c0", plan_moves([project / "cat" / "c0.jpg"], project / "dog"))
    abandon(journal)
    reopened = Journal(project)
    assert names(project / "dog") == ["c0.jpg"] and reopened.undo_label() == "send c0"


def enospc_on_copy(patch, at: int):
    real = moves.copy_to_partial
    calls = iter(range(10**6))

    def copy(src, dst, identity):
        if next(calls) == at:
            partial_path(dst).write_bytes(b"half a photo")  # as far as the disk allowed...
            partial_path(dst).unlink()  # ...and removed again, as copy_to_partial does
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        return real(src, dst, identity)

    import imgclf_gui.core.project.journal_execute as execute

    patch.setattr(execute, "copy_to_partial", copy)


def test_a_copy_that_fails_for_lack_of_space_is_recorded_and_never_replayed(project, tmp_path, monkeypatch):
    outside = [write_image(tmp_path / "card" / f"p{i}.jpg", seed=20 + i) for i in range(3)]
    journal = Journal(project)
    with monkeypatch.context() as patch:
        enospc_on_copy(patch, 1)
        result = journal.run("import 3", plan_moves(outside, project / "dog", kind="copy"))
    assert names(project / "dog") == ["p0.jpg"]
    assert "the disk is full" in result.problems[0] and "not started" in result.problems[1]
    journal.close()
    reopened = Journal(project)  # the next start: nothing is carried out behind the user's back
    assert not reopened.recovered and names(project / "dog") == ["p0.jpg"]
    reopened.undo()
    assert names(project / "dog") == []


def test_a_full_disk_while_recording_uses_the_reserve_to_record_the_failure(project, tmp_path, monkeypatch):
    outside = [write_image(tmp_path / "card" / f"p{i}.jpg", seed=30 + i) for i in range(2)]
    journal = Journal(project)
    reserve = project / ".imgclf" / "journal.reserve"
    assert reserve.exists()
    real_write = os.write
    state = {"full": False}

    def write(fd, data):
        if state["full"] and fd == journal._fd and reserve.exists():
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    real_copy = moves.copy_to_partial
    import imgclf_gui.core.project.journal_execute as execute

    def copy(src, dst, identity):
        if src.name == "p0.jpg":
            return real_copy(src, dst, identity)
        state["full"] = True  # the second copy fills the disk, for the journal too
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    with monkeypatch.context() as patch:
        patch.setattr(os, "write", write)
        patch.setattr(execute, "copy_to_partial", copy)
        result = journal.run("import 2", plan_moves(outside, project / "dog", kind="copy"))
    assert not reserve.exists() and "the disk is full" in result.problems[0]
    journal.close()
    reopened = Journal(project)
    assert not reopened.recovered and names(project / "dog") == ["p0.jpg"]
    assert reserve.exists()  # made again once there is room


def test_the_journal_cannot_be_written_nothing_is_moved(project, monkeypatch):
    journal = Journal(project)
    real_write = os.write
    os.unlink(project / ".imgclf" / "journal.reserve")

    def full(fd, data):
        if fd == journal._fd:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    with monkeypatch.context() as patch:
        patch.setattr(os, "write", full)
        result = journal.run("send", plan_moves([project / "cat" / "c0.jpg"], project / "dog"))
    assert "disk is full" in result.problems[0] and "Nothing was changed" in result.problems[0]
    assert names(project / "cat") == ["c0.jpg", "c1.jpg", "c2.jpg"] and not journal.can_undo()


def test_names_of_240_bytes_and_more_move_copy_and_clash(project, tmp_path):
    long = "é" * 120 + ".jpg"  # 244 bytes in UTF-8
    assert len(os.fsencode(long)) >= 240
    src = write_image(tmp_path / "card" / long, seed=3)
    write_image(project / "dog" / long, seed=4)  # the same name is taken: "(2)" must still fit
    journal = Journal(project)
    copied = journal.run("import", plan_moves([src], project / "dog", kind="copy"))
    assert not copied.problems
    dst = copied.moved[0][1]
    assert len(os.fsencode(dst.name)) <= 255 and dst.name.endswith(" (2).jpg")
    assert len(os.fsencode(partial_path(dst).name)) <= 255
    moved = journal.run("send", plan_moves([dst], project / "cat"))
    assert not moved.problems and moved.moved[0][1].exists()
    journal.undo()
    journal.undo()
    assert src.exists() and names(project / "dog") == [long]
    assert unique_path(project / "dog" / long).name.endswith(" (2).jpg")


def test_a_fifo_among_the_files_is_named_never_opened(project):
    fifo = project / "cat" / "pipe.jpg"
    os.mkfifo(fifo)
    journal = Journal(project)
    result = journal.run("send", plan_moves([fifo, project / "cat" / "c0.jpg"], project / "dog"))
    assert "named pipe" in result.problems[0]
    assert names(project / "dog") == ["c0.jpg"] and fifo.exists()
