"""``imgclf check DIR [--json FILE]``: Check Data from the command line.

What the Dataset tab's Check Data finds (unreadable files, identical and near-identical images, small or
unbalanced classes; ``core/review/health.py``), plus the images that look filed in the wrong class when the
project has an active model trained with cross-validation (``core/review/mislabels.py``: from that model's
saved out-of-fold predictions, nothing is retrained). Nothing is changed on disk but the caches.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

SHOWN_PER_KIND = 20


def register(p: argparse.ArgumentParser) -> None:
    """Give the sub-command's parser its description and arguments; :func:`run` handles it."""
    p.description = ("Look for what would hurt training in DIR (one sub-folder per class): unreadable files, "
                     "identical and near-identical images, small or unbalanced classes, and, once a model has "
                     "been trained, images that look filed in the wrong class. Nothing is moved or deleted.")
    p.add_argument("dir", type=Path, metavar="DIR", help="project folder: one sub-folder of images per class")
    p.add_argument("--json", metavar="FILE", help="also write everything found as JSON ('-' for stdout only); "
                                                  "suspected mislabels are under the key suspected_mislabels")
    p.add_argument("--no-inbox", action="store_true", help="leave out the unsorted/ inbox")
    p.add_argument("--all", action="store_true", help=f"list every image (default: the first {SHOWN_PER_KIND} "
                                                      "of each kind)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imgclf_gui.cli import UsageError
    from imgclf_gui.commands._progress import ProgressLine
    from imgclf_gui.core.review.health import check_health
    from imgclf_gui.core.review.mislabels import project_mislabels
    from imgclf_gui.core.support.output_paths import check_output_file, escape_undecodable, write_text_output

    root: Path = args.dir
    if not root.is_dir():
        raise UsageError(f"{root} is not a folder.")
    from imgclf_gui.commands._state import report_project_state

    report_project_state(root, "check")
    to_stdout_only = args.json == "-"
    if args.json and not to_stdout_only:
        check_output_file(args.json, "the JSON report", need_bytes=64 << 10)  # before the images are read
    out = sys.stderr if to_stdout_only else sys.stdout
    progress = ProgressLine(sys.stderr, label="Checking")
    health = check_health(root, include_inbox=not args.no_inbox, on_progress=progress)
    progress.finish()
    mislabels = project_mislabels(root)
    _print_text(out, root, health, mislabels, limit=None if args.all else SHOWN_PER_KIND)
    if args.json:
        import json

        text = json.dumps(_as_json(root, health, mislabels), indent=2, ensure_ascii=False) + "\n"
        if to_stdout_only:
            sys.stdout.write(escape_undecodable(text, json=True))
        else:
            write_text_output(args.json, text, "the JSON report", json=True)
    return 0


def _as_json(root: Path, health: Any, mislabels: Any) -> dict[str, Any]:
    return {
        "project": str(root),
        "checked": health.checked,
        "findings": [{"kind": f.kind, "title": f.title, "detail": f.detail, "paths": [str(p) for p in f.paths]}
                     for f in health.findings],
        "notes": list(health.notes),
        "suspected_mislabels": [s.to_dict() for s in mislabels.suspects],
        "mislabels": {k: v for k, v in mislabels.to_dict().items() if k != "suspected_mislabels"},
    }


def _print_text(out, root: Path, health: Any, mislabels: Any, *, limit: int | None) -> None:
    def show(items: list[str]) -> None:
        shown = items if limit is None else items[:limit]
        for line in shown:
            print(f"  {line}", file=out)
        if len(shown) < len(items):
            print(f"  ... and {len(items) - len(shown)} more (--all lists them)", file=out)

    print(f"Checked {health.checked} image(s) in {root}.", file=out)
    by_kind: dict[str, list[Any]] = {}
    for f in health.findings:
        by_kind.setdefault(f.kind, []).append(f)
    headings = {"unreadable": "Unreadable files", "duplicate": "Identical images",
                "near_duplicate": "Near-identical images", "small_class": "Small classes",
                "unbalanced": "Unbalanced classes"}
    for kind, found in by_kind.items():
        print(f"{headings.get(kind, kind)} ({len(found)}):", file=out)
        if kind == "unreadable":
            show([f"{_rel(root, f.paths[0])}: {f.detail}" for f in found])
        else:
            show([f"{f.title}: {f.detail}" if kind in ("small_class", "unbalanced") else
                  f"{f.title}: " + ", ".join(_rel(root, p) for p in f.paths[:6])
                  + (" ..." if len(f.paths) > 6 else "") for f in found])
    if mislabels.available:
        if mislabels.suspects:
            print(f"Possibly mislabelled ({len(mislabels.suspects)}, from model {mislabels.run_id}, worst first; "
                  "folder -> suggested class):", file=out)
            show([f"{_rel(root, s.path)}: {s.label} -> {s.suggested} ({s.confidence:.0%})"
                  for s in mislabels.suspects])
        else:
            print(f"Possibly mislabelled: none (model {mislabels.run_id}, {mislabels.considered} images).",
                  file=out)
        if mislabels.reviewed:
            print(f"  ({mislabels.reviewed} you kept where they are are not listed again.)", file=out)
    else:
        print(f"Possibly mislabelled: not checked. {mislabels.reason}", file=out)
    for note in health.notes:
        print(f"Note: {note}", file=out)
    if not health.findings and not mislabels.suspects:
        print("Nothing found that would hurt training.", file=out)


def _rel(root: Path, path: Path) -> str:
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return str(path)
