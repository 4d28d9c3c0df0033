"""``imgclf suggest DIR [--csv FILE] [--accept-above P]``: a class for every image in the project's inbox.

The suggestions the Dataset tab shows (``core/review/inbox.py``): a quick model trained on the sorted
images' bottlenecks (extracted and cached first when needed), or the active run while too few images are
sorted. ``--accept-above P`` moves the images suggested at or above P into their classes as ONE journaled
action (Undo in the app takes it back), holding the project's writer lock.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

_SHOWN = 2  # classes per line


def register(p: argparse.ArgumentParser) -> None:
    """Give the sub-command's parser its description and arguments; :func:`run` handles it."""
    from imgclf_gui.core.review.suggestions import ACCEPT_AT, MIN_CLASSES, MIN_PER_CLASS

    p.description = ("Suggest a class for every image in DIR/unsorted (the inbox), learnt from the images already "
                     f"sorted into DIR's class folders (at least {MIN_CLASSES} classes of {MIN_PER_CLASS} images; "
                     "else the project's active model). Nothing moves unless --accept-above is given.")
    p.add_argument("dir", type=Path, metavar="DIR", help="project folder: one sub-folder per class, and unsorted/")
    p.add_argument("--csv", type=Path, metavar="FILE",
                   help="write path, suggested, confidence and one score per class (UTF-8; a file name byte that "
                        "is not valid UTF-8 is written as \\xNN)")
    p.add_argument("--accept-above", type=float, metavar="P",
                   help=f"move the inbox images suggested with confidence P or more (0..1, e.g. {ACCEPT_AT:g}) into "
                        "their classes, as one action the app can undo")
    p.add_argument("--quiet", action="store_true", help="no per-image lines")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imgclf_gui.cli import UsageError, UserError
    from imgclf_gui.commands._state import report_project_state
    from imgclf_gui.core.project.lock import ProjectLocked, hold_project

    root: Path = args.dir
    if not root.is_dir():
        raise UsageError(f"{root} is not a folder.")
    if args.accept_above is not None and not 0.0 < args.accept_above <= 1.0:
        raise UsageError("--accept-above is a probability above 0 and at most 1 (0.95 for 95%).")
    report_project_state(root, "suggest")
    if args.accept_above is None:
        return _suggest(args, root)
    try:
        # Held from the start: nothing else may sort the inbox between the suggestions and the moves.
        with hold_project(root, "imgclf suggest"):
            return _suggest(args, root)
    except ProjectLocked as exc:
        raise UserError(str(exc)) from None


def _suggest(args: argparse.Namespace, given: Path) -> int:
    import numpy as np

    from imgclf_gui.cli import UserError
    from imgclf_gui.commands._progress import ProgressLine
    from imgclf_gui.core.backbones import BackboneUnavailable
    from imgclf_gui.core.project import layout
    from imgclf_gui.core.project.scan import class_names, list_images, printable
    from imgclf_gui.core.review.inbox import SuggestError, project_suggestions
    from imgclf_gui.core.review.suggestions import csv_text, whole_percent
    from imgclf_gui.core.support.output_paths import check_output_file, write_text_output

    root = given.resolve()  # the journal works on resolved paths; names are shown as the user gave the folder

    def shown(path: Path) -> str:
        return printable(given / path.relative_to(root))

    if args.csv:  # checked before any image is read: a typo costs a second, not the whole run
        rows = len(list_images(layout.inbox_dir(root), recursive=True))
        check_output_file(args.csv, "the CSV file", need_bytes=rows * (160 + 10 * len(class_names(root))))
    progress = ProgressLine(sys.stderr)

    def stage(text: str) -> None:
        progress.finish()
        print(f"{text} ...", file=sys.stderr, flush=True)
        progress.restart()

    try:
        found = project_suggestions(root, on_stage=stage, on_progress=progress)
    except SuggestError as exc:
        progress.finish()
        raise UserError(str(exc)) from None
    except BackboneUnavailable as exc:
        progress.finish()
        raise UserError(str(exc)) from None
    progress.finish()
    suggestions, names = found.suggestions, found.suggestions.class_names
    for path, reason in sorted(found.failed.items()):
        print(f"{shown(path)}: cannot read ({reason})", file=sys.stderr)
    table = []
    for path in found.inbox:
        row = suggestions.row(found.hash_of.get(path))
        item = suggestions.of(found.hash_of.get(path))
        table.append((shown(path), item, None if row is None else suggestions.scores[row]))
        if item is not None and not args.quiet:
            order = np.argsort(-suggestions.scores[row], kind="stable")[:_SHOWN]
            text = ", ".join(f"{names[i]} {whole_percent(suggestions.scores[row][i])}%" for i in order)
            print(f"{shown(path)}: {text}")
    print(f"Suggestions for {len(suggestions)} inbox image(s) from {suggestions.source.describe()}.")
    if args.csv:
        write_text_output(args.csv, csv_text(table, names), "the CSV file")
        print(f"Wrote {len(table)} rows to {args.csv}")
    if args.accept_above is None:
        return 1 if found.failed and not len(suggestions) else 0
    return _accept(root, found, args.accept_above)


def _accept(root: Path, found, threshold: float) -> int:
    from imgclf_gui.cli import UserError
    from imgclf_gui.core.project.journal import Journal
    from imgclf_gui.core.review.inbox import accept_label, accept_ops
    from imgclf_gui.core.review.suggestions import accept_plan

    plan = accept_plan(found.inbox, found.hash_of, found.suggestions, threshold)
    if not plan:
        print(f"No inbox image is suggested at or above {threshold * 100:g}%; nothing moved.")
        return 0
    journal = Journal(root)
    try:
        result = journal.run(accept_label(plan, threshold), accept_ops(root, plan))
    except OSError as exc:
        raise UserError(f"Could not move the images: {exc}") from None
    finally:
        journal.close()
    moved: dict[str, int] = {}
    for _old, new in result.moved:
        moved[new.parent.name] = moved.get(new.parent.name, 0) + 1
    per_class = ", ".join(f"{name} {moved.get(name, 0)}" for name in plan)
    print(f"Moved {len(result.moved)} image(s) suggested at or above {threshold * 100:g}% into their classes "
          f"({per_class}); Edit > Undo in the app takes them back.")
    for problem in result.problems:
        print(f"  {problem}", file=sys.stderr)
    return 1 if result.problems and not result.moved else 0
