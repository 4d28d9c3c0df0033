"""Crash injection: a process moving, importing, undoing and redoing through the journal is killed at
random moments, 60 times. After every kill, by content hash: no image is lost, duplicated or
overwritten, no temp file is left, and undo / redo after the restart reach exactly the expected layout."""
from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from imgclf_gui.core.project.journal import Journal
from tests.conftest import write_image

KILLS = 60
REPO = Path(__file__).resolve().parents[2]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files_under(folder: Path, *, skip_state: bool = True) -> dict[str, str]:
    """relative path -> content hash of every file below ``folder`` (imgclf's own state left out)."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        if skip_state:
            dirnames[:] = [d for d in dirnames if d != ".imgclf"]
        for name in filenames:
            path = Path(dirpath) / name
            assert not name.endswith(".imgclf-partial"), f"a temp file was left behind: {path}"
            found[path.relative_to(folder).as_posix()] = digest(path)
    return found


def layout(root: Path, card_move: Path, card_copy: Path) -> dict[str, str]:
    return ({f"project/{k}": v for k, v in files_under(root).items()}
            | {f"move/{k}": v for k, v in files_under(card_move).items()}
            | {f"copy/{k}": v for k, v in files_under(card_copy).items()})


def make_world(tmp_path: Path) -> tuple[Path, Path, Path, set[str], set[str]]:
    root, card_move, card_copy = tmp_path / "project", tmp_path / "card-move", tmp_path / "card-copy"
    seed = 0
    for folder, count in (("a", 5), ("b", 4), ("c", 3), ("unsorted", 3)):
        for i in range(count):
            write_image(root / folder / f"{folder}{i}.png", seed=(seed := seed + 1))
    for i in range(4):
        write_image(card_move / f"m{i}.png", seed=(seed := seed + 1))
    for i in range(3):
        write_image(card_copy / f"k{i}.png", seed=(seed := seed + 1))
    moved = {digest(p) for p in [*root.rglob("*.png"), *card_move.iterdir()]}
    copied = {digest(p) for p in card_copy.iterdir()}
    assert len(moved) == 19 and len(copied) == 3
    return root, card_move, card_copy, moved, copied


def check_census(root: Path, card_move: Path, card_copy: Path, moved: set[str], copied: set[str]) -> None:
    """No image lost, duplicated or overwritten (by content)."""
    in_project = Counter(files_under(root).values())
    trash = root / ".imgclf" / "trash"
    in_trash = Counter(files_under(trash).values()) if trash.exists() else Counter()
    outside = Counter(files_under(card_move).values())
    for content in moved:
        assert in_project[content] + outside[content] == 1, "an image was lost or duplicated"
        assert in_trash[content] == 0
    assert Counter(files_under(card_copy).values()) == Counter(copied), "an import source was touched"
    unknown = (set(in_project) | set(in_trash) | set(outside)) - moved - copied
    assert not unknown, "a file holds content that was never there: overwritten or torn"


def run_worker(root: Path, card_move: Path, card_copy: Path, seed: int, delay: float) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.core.journal_crash_worker", str(root), str(card_move), str(card_copy),
         str(seed)], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = worker.stdout.readline()
        assert line.strip() == b"ready", worker.stderr.read().decode()
        time.sleep(delay)
        assert worker.poll() is None, worker.stderr.read().decode()  # still working: killed mid-flight
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()


def undo_all(journal: Journal) -> int:
    undone = 0
    while journal.can_undo():
        result = journal.undo()
        assert not result.problems, result.problems
        undone += 1
    return undone


@pytest.mark.slow
def test_killed_at_random_moments_nothing_is_lost_and_history_still_works(tmp_path):
    root, card_move, card_copy, moved, copied = make_world(tmp_path)
    initial = layout(root, card_move, card_copy)
    rng = random.Random(13)
    interrupted = 0
    for kill in range(KILLS):
        run_worker(root, card_move, card_copy, seed=kill, delay=rng.uniform(0.0, 0.25))
        journal = Journal(root)  # the restart: recovery settles what the kill interrupted
        interrupted += bool(journal.recovered)
        assert not any("neither where it was" in note for note in journal.recovered), journal.recovered
        check_census(root, card_move, card_copy, moved, copied)
        settled = layout(root, card_move, card_copy)

        undone = undo_all(journal)
        assert layout(root, card_move, card_copy) == initial, f"undo after kill {kill} missed the start"
        for _ in range(undone):
            result = journal.redo()
            assert not result.problems, result.problems
        assert layout(root, card_move, card_copy) == settled, f"redo after kill {kill} missed the layout"
        check_census(root, card_move, card_copy, moved, copied)
        # Back to the start, so one round's history stays within the undo depth imgclf keeps.
        undo_all(journal)
        journal.close()
    print(f"{KILLS} kills, {interrupted} of them in the middle of an action")
    assert interrupted >= KILLS // 10  # the kills did land inside actions, not only between them
