"""A process that changes a project through the journal for ever, until it is killed (test helper).

``python -m tests.core.journal_crash_worker ROOT CARD_MOVE CARD_COPY SEED``: opens the journal, prints
``ready`` and then, chosen by SEED, moves images between classes, imports by copy and by move, renames a
class folder, undoes and redoes, as fast as it can. tests/core/test_journal_crash.py kills it at random.
"""
from __future__ import annotations

import random
import sys
from pathlib import Path

from imgclf_gui.core.project.journal import Journal
from imgclf_gui.core.project.moves import Op, plan_moves
from imgclf_gui.core.project.scan import list_images

RENAMED = "c2"


def folders(root: Path) -> list[Path]:
    return [p for p in (root / "a", root / "b", root / "c", root / RENAMED, root / "unsorted") if p.is_dir()]


def step(journal: Journal, root: Path, card_move: Path, card_copy: Path, rng: random.Random) -> None:
    choice = rng.random()
    if choice < 0.2 and journal.can_undo():
        journal.undo()
    elif choice < 0.35 and journal.can_redo():
        journal.redo()
    elif choice < 0.45:
        files = sorted(card_copy.iterdir())
        journal.run("import copies", plan_moves(rng.sample(files, min(2, len(files))), root / "unsorted", "copy"))
    elif choice < 0.55:
        files = sorted(card_move.iterdir())
        if files:
            journal.run("import by moving", plan_moves(rng.sample(files, 1), root / "unsorted"))
    elif choice < 0.65:
        old, new = (root / "c", root / RENAMED) if (root / "c").is_dir() else (root / RENAMED, root / "c")
        if old.is_dir() and not new.exists():
            journal.run("rename class", [Op("move", old, new)])
    else:
        places = folders(root)
        source = rng.choice(places)
        images = list_images(source)
        if images:
            target = rng.choice([p for p in places if p != source and p.name != "unsorted"] or places)
            journal.run("send images", plan_moves(rng.sample(images, min(len(images), rng.randint(1, 4))), target))


def main() -> None:
    root, card_move, card_copy = (Path(a) for a in sys.argv[1:4])
    rng = random.Random(int(sys.argv[4]))
    journal = Journal(root)
    print("ready", flush=True)
    while True:
        step(journal, root, card_move, card_copy, rng)


if __name__ == "__main__":
    main()
