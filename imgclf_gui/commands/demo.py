"""``imgclf demo DIR``: write the demo project of drawn shapes (the same one the app offers)."""
from __future__ import annotations

import argparse

#: a demo picture takes 9 KB on average, 15 KB at most (JPEG, 160 x 160)
_BYTES_PER_IMAGE = 16 << 10


def register(parser: argparse.ArgumentParser) -> None:
    """Give the sub-command's parser its description and arguments; :func:`run` handles it."""
    parser.description = ("Draw a demo project into DIR: one folder per shape with PER_CLASS images each, plus a "
                          "few unsorted images in DIR/unsorted to try labelling. Existing files are kept.")
    parser.add_argument("dir", help="folder to create (may exist)")
    parser.add_argument("--per-class", type=int, default=60, help="images per class (default 60)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same pictures)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imgclf_gui.cli import UsageError, UserError
    from imgclf_gui.core.project.demo_project import SHAPES, make_demo_project
    from imgclf_gui.core.project.lock import ProjectLocked, hold_project
    from imgclf_gui.core.support.output_paths import NewFiles, check_output_folder, writing

    if args.per_class < 1:
        raise UsageError("--per-class must be at least 1.")
    images = (args.per_class + 6) * len(SHAPES)
    check_output_folder(args.dir, "the demo project", need_bytes=images * _BYTES_PER_IMAGE)
    added = NewFiles(args.dir)  # a failure takes back what this run drew, and only that
    try:
        with writing(args.dir, "the demo project", cleanup=added.remove), \
                hold_project(args.dir, "imgclf demo"):  # not while a window or another command changes it
            root = make_demo_project(args.dir, per_class=args.per_class, seed=args.seed)
    except ProjectLocked as exc:
        raise UserError(str(exc)) from None
    print(f"Demo project written to {root}: {', '.join(SHAPES)} ({args.per_class} images each) "
          f"and a few images in {root / 'unsorted'} to sort.")
    return 0
