"""The journal is untrusted input: a journal someone else wrote (or a damaged one) never moves a file
outside the project, never moves a file that is not the recorded one, and never stops a project opening."""
from __future__ import annotations

import hashlib
import json
import os

import pytest

from imgclf_gui.core.project import journal_records as records
from imgclf_gui.core.project.journal import Journal
from imgclf_gui.core.project.moves import plan_moves
from tests.conftest import write_image


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "project"
    for i in range(3):
        write_image(root / "cat" / f"c{i}.jpg", seed=i)
    (root / "dog").mkdir()
    return root


def identity(path):
    data = path.read_bytes()
    return len(data), hashlib.sha256(data).hexdigest()


def write_journal(root, recs, *, header=True):
    lines = [records.frame(records.HEADER)] if header else []
    lines += [records.frame(r) for r in recs]
    path = root / ".imgclf" / "journal.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(lines))
    return path


def interrupted_move(src_text, dst_text, ident, action_id="evil-1"):
    """The records of a move that was identified (so recovery would finish it) but never ended."""
    return [{"t": "begin", "id": action_id, "kind": "do", "of": None, "label": "hostile", "time": 0.0,
             "ops": [["move", src_text, dst_text, *ident]]},
            {"t": "ids", "id": action_id, "at": 0, "ids": [list(ident)]}]


def test_a_journal_naming_a_file_outside_the_project_never_moves_it(project, tmp_path):
    secret = write_image(tmp_path / "home" / "secret.jpg", seed=7)
    before = secret.read_bytes()
    write_journal(project, interrupted_move(str(secret), "cat/secret.jpg", identity(secret)))
    journal = Journal(project)
    assert secret.read_bytes() == before and not (project / "cat" / "secret.jpg").exists()
    assert any("outside the project" in note for note in journal.recovered)


def test_an_unsigned_undo_never_sends_a_project_file_outside(project, tmp_path):
    """A finished 'import' whose undo would write into the user's home (e.g. an autostart file)."""
    target = tmp_path / "home" / ".config" / "autostart" / "evil.desktop"
    planted = project / "cat" / "c0.jpg"
    ident = identity(planted)
    write_journal(project, [
        {"t": "begin", "id": "evil-2", "kind": "do", "of": None, "label": "import", "time": 0.0,
         "ops": [["move", str(target), "cat/c0.jpg", *ident]]},
        {"t": "ids", "id": "evil-2", "at": 0, "ids": [list(ident)]},
        {"t": "op", "id": "evil-2", "i": 0, "dst": "cat/c0.jpg"},
        {"t": "end", "id": "evil-2", "status": "done"}])
    journal = Journal(project)
    result = journal.undo()
    assert not target.exists() and planted.exists()
    assert "outside the project" in result.problems[0]


def test_our_own_import_by_move_can_still_be_undone_after_a_restart(project, tmp_path):
    outside = write_image(tmp_path / "card" / "new.jpg", seed=5)
    journal = Journal(project)
    journal.run("import", plan_moves([outside], project / "cat"))
    journal.close()
    assert not outside.exists()
    again = Journal(project)
    result = again.undo()
    assert not result.problems and outside.exists()  # signed with this user's key: trusted


@pytest.mark.parametrize("src, dst", [
    ("../outside.jpg", "cat/x.jpg"),
    ("cat/c0.jpg", "cat/../../escaped.jpg"),
    ("cat/c0.jpg", ".imgclf/lock"),
    (".imgclf/manifest.json", "cat/manifest.json"),
])
def test_paths_that_leave_the_project_or_touch_its_state_are_refused(project, src, dst):
    manifest = project / ".imgclf" / "manifest.json"
    write_journal(project, interrupted_move(src, dst, identity(project / "cat" / "c0.jpg")))
    manifest.write_text("{}")
    journal = Journal(project)
    assert (project / "cat" / "c0.jpg").exists() and manifest.read_text() == "{}"
    assert not (project.parent / "escaped.jpg").exists()
    assert any("refused" in note for note in journal.recovered)


def test_a_class_folder_linked_outside_is_not_a_way_out(project, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    photo = write_image(elsewhere / "private.jpg", seed=8)
    os.symlink(elsewhere, project / "linked")
    write_journal(project, interrupted_move("linked/private.jpg", "dog/private.jpg", identity(photo)))
    journal = Journal(project)
    assert photo.exists() and not (project / "dog" / "private.jpg").exists()
    assert "through a link" in journal.recovered[0]


def test_recovery_moves_only_the_recorded_file(project):
    """The recorded identity does not match what is at the source now: nothing moves."""
    other = identity(project / "cat" / "c1.jpg")
    write_journal(project, interrupted_move("cat/c0.jpg", "dog/c0.jpg", other))
    journal = Journal(project)
    assert (project / "cat" / "c0.jpg").exists() and not (project / "dog" / "c0.jpg").exists()
    assert "not the file that was moved" in journal.recovered[0]


@pytest.mark.parametrize("line", [
    b"garbage without a frame",
    b"00000000 null",
    records.frame({"t": "begin"})[:-1],  # a record missing its fields
    records.frame(["a", "list"])[:-1],  # type: ignore[arg-type]
    b"%08x " % 0 + b"\xff\xfe not utf-8",
    records.frame({"t": "op", "id": "a-1", "i": "zero", "dst": "cat/x.jpg"})[:-1],  # wrong type
])
def test_a_damaged_line_is_set_aside_and_the_rest_of_the_history_kept(project, line):
    journal = Journal(project)
    journal.run("first", plan_moves([project / "cat" / "c1.jpg"], project / "dog"))
    journal.close()
    path = project / ".imgclf" / "journal.jsonl"
    with open(path, "ab") as handle:
        handle.write(line + b"\n")
    journal = Journal(project)
    journal.run("second", plan_moves([project / "cat" / "c2.jpg"], project / "dog"))
    journal.close()
    again = Journal(project)
    assert any("set aside as journal.jsonl.damaged" in n for n in journal.recovered)
    assert (project / ".imgclf" / "journal.jsonl.damaged").exists()
    assert again.undo_label() == "second" and not again.recovered
    again.undo()
    assert again.undo_label() == "first"


@pytest.mark.parametrize("content", [b"\xff\xfe\x00", b"null\n", b"[1, 2]\n", b'{"t": "begin"}\n'])
def test_an_unreadable_old_style_journal_never_blocks_opening(project, content):
    path = project / ".imgclf" / "journal.jsonl"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    journal = Journal(project)
    assert not journal.can_undo()
    result = journal.run("works", plan_moves([project / "cat" / "c0.jpg"], project / "dog"))
    assert result.moved


def test_a_version_1_journal_is_converted_and_stays_undoable(project):
    """The journal an earlier imgclf wrote: plain JSON lines, integer ids, no identities."""
    os.replace(project / "cat" / "c0.jpg", project / "dog" / "c0.jpg")
    old = [{"t": "begin", "id": 1, "kind": "do", "of": None, "label": "send c0", "time": 1.0,
            "ops": [["move", "cat/c0.jpg", "dog/c0.jpg"]]},
           {"t": "op", "id": 1, "i": 0, "dst": "dog/c0.jpg"}, {"t": "end", "id": 1}]
    path = project / ".imgclf" / "journal.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in old) + '{"t": "beg')
    journal = Journal(project)
    assert journal.undo_label() == "send c0"
    assert path.read_bytes().startswith(records.frame(records.HEADER))
    journal.undo()
    assert (project / "cat" / "c0.jpg").exists()


def test_two_writers_never_share_an_action_id(project):
    """Two journals on one file (as two processes without the lock would): both actions survive."""
    first, second = Journal(project), Journal(project)
    a = first.run("by first", plan_moves([project / "cat" / "c0.jpg"], project / "dog"))
    b = second.run("by second", plan_moves([project / "cat" / "c1.jpg"], project / "dog"))
    assert a.action.id != b.action.id
    first.close()
    second.close()
    again = Journal(project)
    assert {again.actions[i].label for i in again.undo_stack} == {"by first", "by second"}
    again.undo()
    again.undo()
    assert sorted(p.name for p in (project / "cat").iterdir()) == ["c0.jpg", "c1.jpg", "c2.jpg"]
