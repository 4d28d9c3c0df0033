"""One writer per project: the second opener is told who holds the lock and gets a read-only project;
a lock left by a crashed process is taken over."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from imgclf_gui.core.project.journal import Journal, ReadOnlyJournal
from imgclf_gui.core.project.lock import ProjectLock, ProjectLocked, hold_project, try_lock
from imgclf_gui.core.project.moves import plan_moves
from tests.conftest import write_image

HOLDER = """
import sys, time
from imgclf_gui.core.project.lock import try_lock
lock = try_lock(sys.argv[1], "imgclf suggest")
print("held" if not isinstance(lock, Exception) else "refused", flush=True)
time.sleep(60)
"""


@pytest.fixture
def project(tmp_path):
    write_image(tmp_path / "cat" / "c0.jpg", seed=0)
    (tmp_path / "dog").mkdir()
    return tmp_path


def test_a_second_opener_is_told_who_holds_the_lock(project):
    first = try_lock(project, "imgclf (window)")
    assert isinstance(first, ProjectLock)
    second = try_lock(project, "imgclf (window)")  # a second window of the same app
    assert isinstance(second, ProjectLocked)
    assert f"imgclf (window) (process {os.getpid()}" in str(second) and "read-only" in str(second)
    assert second.holder is not None and second.holder.pid == os.getpid()
    first.release()
    third = try_lock(project, "imgclf (window)")
    assert isinstance(third, ProjectLock) and third.took_over is None  # released cleanly: nothing stale
    third.release()


def test_another_process_holds_it_until_it_dies_then_the_stale_lock_is_taken_over(project):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(project)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"held"
        refused = try_lock(project, "imgclf (window)")
        assert isinstance(refused, ProjectLocked) and refused.holder.pid == holder.pid
        assert "imgclf suggest" in str(refused)
    finally:
        holder.send_signal(signal.SIGKILL)  # a crash: nobody releases anything
        holder.wait()
    lock = try_lock(project, "imgclf (window)")
    assert isinstance(lock, ProjectLock)
    assert lock.took_over is not None and lock.took_over.pid == holder.pid
    lock.release()


def test_a_cli_command_that_moves_files_refuses_with_a_sentence(project):
    with hold_project(project, "imgclf (window)"):
        with pytest.raises(ProjectLocked, match="open in imgclf \\(window\\)"):
            with hold_project(project, "imgclf demo"):
                pass
    with hold_project(project, "imgclf demo") as lock:
        assert lock.held


def test_imgclf_demo_does_not_write_into_a_project_another_process_changes(project, capsys):
    from imgclf_gui.cli import main

    with hold_project(project, "imgclf (window)"):
        assert main(["demo", str(project), "--per-class", "2"]) == 1
    assert "read-only" in capsys.readouterr().err
    assert not (project / "circle").exists()


def test_a_read_only_folder_gives_a_read_only_project(project, monkeypatch):
    import imgclf_gui.core.project.lock as lock_module

    def refuse(path):
        raise OSError(30, "Read-only file system", str(path))

    monkeypatch.setattr(lock_module, "_open_lock_file", refuse)
    refused = try_lock(project, "imgclf (window)")
    assert isinstance(refused, ProjectLocked) and "folder is read-only" in str(refused)


def test_a_read_only_journal_neither_repairs_nor_moves(project, monkeypatch):
    from tests.core.test_journal import Crash, abandon, crash_on_rename

    writer = Journal(project)
    with monkeypatch.context() as patch, pytest.raises(Crash):
        crash_on_rename(patch, 0, after=False)  # the holder "crashed" mid-action... or is still in it
        writer.run("send", plan_moves([project / "cat" / "c0.jpg"], project / "dog"))
    abandon(writer)
    reader = Journal(project, read_only=True, read_only_reason="Open in another window.")
    assert not reader.recovered and (project / "cat" / "c0.jpg").exists()  # the holder's business
    with pytest.raises(ReadOnlyJournal, match="another window"):
        reader.run("send", plan_moves([project / "cat" / "c0.jpg"], project / "dog"))
    assert "interrupted" in Journal(project).recovered[0]  # the lock holder settles it
