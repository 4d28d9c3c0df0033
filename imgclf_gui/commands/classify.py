"""``imgclf classify MODEL PATH...``: top-k per image, optional CSV and copies sorted into class folders."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

UNSURE = "unsure"  # the same name as core.classify.UNSURE; kept literal so the CLI starts without numpy


def register(p: argparse.ArgumentParser) -> None:
    """Give the sub-command's parser its description and arguments; :func:`run` handles it."""
    from imgclf_gui.commands.evaluate import MODEL_HELP

    p.description = ("Print the top classes of each image. Originals are never moved or "
                      "deleted: --sort-into copies them.")
    p.add_argument("model", type=Path, help=MODEL_HELP)
    p.add_argument("paths", type=Path, nargs="+", metavar="PATH", help="image files or folders (searched below)")
    p.add_argument("--top", type=int, default=3, help="classes shown per image (default 3)")
    p.add_argument("--csv", type=Path, metavar="FILE", help="write path, label, confidence and every class score")
    p.add_argument("--sort-into", type=Path, metavar="DIR", help="copy each image into DIR/<predicted class>/")
    p.add_argument("--min-confidence", type=float, default=0.0, metavar="P",
                   help=f"with --sort-into: below P (0..1) copy into DIR/{UNSURE}/ instead")
    p.add_argument("--quiet", action="store_true", help="no per-image lines")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from imgclf_gui.cli import UserError
    from imgclf_gui.commands.evaluate import _load
    from imgclf_gui.core.models.predict import ResultRow, sort_into, write_csv
    from imgclf_gui.core.project.scan import is_image_name, list_images

    if not 0.0 <= args.min_confidence <= 1.0:
        raise UserError("--min-confidence is a probability between 0 and 1.")
    bundle = _load(args.model)
    files: list[Path] = []
    for p in args.paths:
        if p.is_dir():
            files.extend(list_images(p, recursive=True))
        elif p.is_file():
            files.append(p)
        else:
            raise UserError(f"{p} does not exist.")
    if args.sort_into is not None:
        target = args.sort_into.resolve()
        # never re-classify the copies we are about to make
        files = [f for f in files if target not in f.resolve().parents]
    if not files:
        raise UserError("no images found in the given paths.")
    skipped = [f for f in files if not is_image_name(f.name)]
    probs, failed = bundle.predict_paths(files)
    names = bundle.class_names
    rows: list[ResultRow] = []
    for f, pr in zip(files, probs):
        if np.isnan(pr).any():
            continue
        rows.append(ResultRow(f, pr))
        if not args.quiet:
            order = np.argsort(-pr, kind="stable")
            top = ", ".join(f"{names[i]} {pr[i]:.1%}" for i in order[:max(1, args.top)])
            print(f"{f}: {top}")
    for path, reason in failed.items():
        print(f"{path}: cannot read ({reason})", file=sys.stderr)
    if args.csv:
        write_csv(args.csv, rows, names)
        print(f"Wrote {len(rows)} rows to {args.csv}")
    if args.sort_into is not None:
        counts = sort_into(rows, args.sort_into, names, args.min_confidence)
        summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        print(f"Copied {len(rows)} image(s) into {args.sort_into} ({summary}); originals untouched.")
    if skipped and not args.quiet:
        print(f"Note: {len(skipped)} file(s) without an image extension were tried anyway.", file=sys.stderr)
    return 1 if failed and not rows else 0
