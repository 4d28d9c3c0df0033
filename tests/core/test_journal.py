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


def test_crash_mid_move_is_completed_on_next_open(project):
    """Simulate a crash: the plan was written and one file moved, then the process died."""
    journal = Journal(project)
    ops = plan_moves([project / "cat" / f"c{i}.jpg" for i in range(3)], project / "dog")
    journal._write({"t": "begin", "id": 99, "kind": "do", "of": None, "label": "crashed move",
                    "ops": [journal._op_json(op) for op in ops]}, sync=True)
    os.replace(ops[0].src, ops[0].dst)  # done before the crash, but its "op" line never written
    # a half-written cross-volume copy left its temp file behind
    (project / "dog" / f".{ops[1].dst.name}.imgclf-partial").write_bytes(b"half")
    journal.close()
    reopened = Journal(project)
    assert reopened.recovered and "crashed move" in reopened.recovered[0]
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


def test_torn_last_line_is_ignored(project):
    journal = Journal(project)
    journal.run("send", plan_moves([project / "cat" / "c1.jpg"], project / "dog"))
    journal.close()
    with open(project / ".imgclf" / "journal.jsonl", "a") as handle:
        handle.write('{"t": "begin", "id": 5, "ki')
    assert Journal(project).undo_label() == "send"


def test_rmdir_inverse_is_mkdir(tmp_path):
    op = Op("mkdir", None, tmp_path / "new")
    assert op.inverse(tmp_path).kind == "rmdir"
    assert json.dumps([op.kind])
