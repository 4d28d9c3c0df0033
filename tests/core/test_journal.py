"""Moves never overwrite or lose a file; undo/redo survive a restart; a crash mid-move is repaired."""
from __future__ import annotations

import json
import os

import pytest

from imgclf_gui.core.project.journal import Journal
from imgclf_gui.core.project.moves import Op, plan_moves, unique_path
from tests.conftest import write_image


@pytest.fixture
def project(tmp_path):
    for i in range(3):
        write_image(tmp_path / "cat" / f"c{i}.jpg", seed=i)
    write_image(tmp_path / "dog" / "c0.jpg", seed=9)  # same name as a cat image
    return tmp_path


def test_name_clash_gets_a_new_name_and_nothing_is_overwritten(project):
    dog_bytes = (project / "dog" / "c0.jpg").read_bytes()
    journal = Journal(project)
    result = journal.run("send", plan_moves([project / "cat" / "c0.jpg"], project / "dog"))
    assert [dst.name for _, dst in result.moved] == ["c0 (2).jpg"]
    assert (project / "dog" / "c0.jpg").read_bytes() == dog_bytes
    assert unique_path(project / "dog" / "c0.jpg").name == "c0 (3).jpg"


def test_undo_and_redo_survive_a_restart(project):
    journal = Journal(project)
    journal.run("send 2", plan_moves([project / "cat" / "c1.jpg", project / "cat" / "c2.jpg"], project / "dog"))
    journal.close()
    again = Journal(project)
    assert again.undo_label() == "send 2"
    again.undo()
    assert (project / "cat" / "c1.jpg").exists() and not (project / "dog" / "c1.jpg").exists()
    again.close()
    third = Journal(project)
    assert third.can_redo() and not third.can_undo()
    third.redo()
    assert (project / "dog" / "c2.jpg").exists()


def test_vanished_file_is_reported_not_fatal(project):
    journal = Journal(project)
    ops = plan_moves([project / "cat" / "c1.jpg", project / "cat" / "c2.jpg"], project / "dog")
    os.unlink(project / "cat" / "c1.jpg")
    result = journal.run("send", ops)
    assert len(result.moved) == 1 and "no longer exists" in result.problems[0]


class Crash(BaseException):
    """Stands for the process dying: nothing after it runs, not even ``finally`` blocks of the journal's."""


def crash_on_rename(patch, at: int, *, after: bool) -> None:
    """Make the ``at``-th rename of a file into place (0-based) die, before or after it happened.
    (Use ``monkeypatch.context()``: ``monkeypatch.undo()`` would also undo the isolated user folders.)"""
    import imgclf_gui.core.project.journal_execute as execute

    real = execute.rename_no_clobber
    calls = iter(range(10**6))

    def rename(src, dst):
        n = next(calls)
        if n == at and not after:
            raise Crash()
        real(src, dst)
        if n == at:
            raise Crash()

    patch.setattr(execute, "rename_no_clobber", rename)


def abandon(journal: Journal) -> None:
    """Drop a journal the way a killed process does: no end record, no index save."""
    if journal._fd is not None:
        os.close(journal._fd)
        journal._fd = None


def test_crash_mid_move_is_completed_on_next_open(project, monkeypatch):
    journal = Journal(project)
    ops = plan_moves([project / "cat" / f"c{i}.jpg" for i in range(3)], project / "dog")
    with monkeypatch.context() as patch, pytest.raises(Crash):
        crash_on_rename(patch, 1, after=True)  # two files moved, no record of the second one
        journal.run("crashed move", ops)
    abandon(journal)
    reopened = Journal(project)
    assert reopened.recovered and "crashed move" in reopened.recovered[0]
    assert "3 of 3" in reopened.recovered[0]
    assert sorted(p.name for p in (project / "dog").iterdir()) == ["c0 (2).jpg", "c0.jpg", "c1.jpg", "c2.jpg"]
    assert not list((project / "cat").iterdir())
    reopened.undo()  # the completed action is undoable like any other
    assert sorted(p.name for p in (project / "cat").iterdir()) == ["c0.jpg", "c1.jpg", "c2.jpg"]


def test_copy_undo_keeps_the_copy_in_the_project_trash(project, tmp_path_factory):
    outside = write_image(tmp_path_factory.mktemp("elsewhere") / "new.png", seed=4)
    journal = Journal(project)
    result = journal.run("copy", plan_moves([outside], project / "cat", kind="copy"))
    copied = result.moved[0][1]
    assert copied.exists() and outside.exists()
    journal.undo()
    assert not copied.exists() and outside.exists()
    assert list((project / ".imgclf" / "trash").rglob("new.png"))


def test_torn_last_line_is_cut_off_and_does_not_swallow_the_next_record(project):
    journal = Journal(project)
    journal.run("send", plan_moves([project / "cat" / "c1.jpg"], project / "dog"))
    journal.close()
    path = project / ".imgclf" / "journal.jsonl"
    whole = path.read_bytes()
    with open(path, "ab") as handle:
        handle.write(b'0badc0de {"t": "begin", "id": "x", "ki')  # power cut in the middle of a line
    again = Journal(project)
    assert again.undo_label() == "send"
    assert path.read_bytes() == whole  # cut off on open
    again.run("send more", plan_moves([project / "cat" / "c2.jpg"], project / "dog"))
    again.close()
    third = Journal(project)
    assert third.undo_label() == "send more" and not third.recovered
    third.undo()
    assert third.undo_label() == "send"


def test_rmdir_inverse_is_mkdir(tmp_path):
    op = Op("mkdir", None, tmp_path / "new")
    assert op.inverse(tmp_path).kind == "rmdir"
    assert json.dumps([op.kind])


def test_a_large_journal_is_compacted_and_keeps_undo_and_redo(project, monkeypatch, tmp_path_factory):
    import imgclf_gui.core.project.journal_loading as loading

    outside = write_image(tmp_path_factory.mktemp("card") / "new.png", seed=5)
    journal = Journal(project)
    journal.run("import", plan_moves([outside], project / "cat"))  # names a place outside: signed
    journal.run("send c1", plan_moves([project / "cat" / "c1.jpg"], project / "dog"))
    journal.run("send c2", plan_moves([project / "cat" / "c2.jpg"], project / "dog"))
    journal.undo()
    journal.close()
    with monkeypatch.context() as patch:
        patch.setattr(loading, "COMPACT_BYTES", 1)
        compacted = Journal(project)
    assert (compacted.undo_label(), compacted.redo_label()) == ("send c1", "send c2")
    compacted.close()
    again = Journal(project)
    again.redo()
    assert (project / "dog" / "c2.jpg").exists()
    for _ in range(3):
        assert not again.undo().problems
    assert outside.exists() and sorted(p.name for p in (project / "cat").iterdir()) == ["c0.jpg", "c1.jpg", "c2.jpg"]
