"""``imgclf classify MODEL PATH...``: top-k per image, optional CSV and copies sorted into class folders."""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any


def register(p: argparse.ArgumentParser) -> None:
    """Give the sub-command's parser its description and arguments; :func:`run` handles it."""
    from imgclf_gui.commands._model import MODEL_HELP
    from imgclf_gui.core.models.predict import UNSURE, UNSURE_BELOW

    p.description = ("Print the top classes of each image. Originals are never moved or "
                      "deleted: --sort-into copies them.")
    p.add_argument("model", type=Path, help=MODEL_HELP)
    p.add_argument("paths", type=Path, nargs="+", metavar="PATH", help="image files or folders (searched below)")
    p.add_argument("--top", type=int, default=3, help="classes shown per image (default 3)")
    p.add_argument("--csv", type=Path, metavar="FILE",
                   help="write path, label, confidence and every class score (UTF-8; a file name byte that is not "
                        "valid UTF-8 is written as \\xNN)")
    p.add_argument("--sort-into", type=Path, metavar="DIR", help="copy each image into DIR/<predicted class>/")
    p.add_argument("--min-confidence", type=float, default=UNSURE_BELOW, metavar="P",
                   help=f"with --sort-into: below P (0..1, default {UNSURE_BELOW:g}, as in the app) copy into "
                        f"DIR/{UNSURE}/ instead; 0 never does")
    p.add_argument("--quiet", action="store_true", help="no per-image lines")
    from imgclf_gui.commands._cluster import add_cluster_option

    add_cluster_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imgclf_gui.cli import UsageError, UserError
    from imgclf_gui.commands._model import open_model
    from imgclf_gui.core.models.outputs import check_csv_target, check_sort_target, sort_into, write_csv
    from imgclf_gui.core.models.predict import ResultRow, find_images, score_files, top_classes
    from imgclf_gui.core.project.scan import is_image_name, printable

    if not 0.0 <= args.min_confidence <= 1.0:
        raise UsageError("--min-confidence is a probability between 0 and 1.")
    for p in args.paths:
        if not p.exists():
            raise UsageError(f"{p} does not exist.")
    predictor = open_model(args.model)
    files = find_images(args.paths)
    if args.sort_into is not None:
        target = args.sort_into.resolve()
        # never re-classify the copies we are about to make
        files = [f for f in files if target not in Path(os.path.realpath(f)).parents]  # realpath: loops too
    if not files:
        raise UserError("no images found in the given paths.")
    names = predictor.class_names
    # Every output is checked before the first image is scored: a typo costs a second, not the whole run.
    if args.csv:
        check_csv_target(args.csv, len(files), names)
    if args.sort_into is not None:
        check_sort_target(args.sort_into, files)
    skipped = [f for f in files if not is_image_name(f.name)]
    failed = 0

    def show(batch: list[ResultRow]) -> None:
        nonlocal failed
        for row in batch:
            if row.scores is None:
                failed += 1
                print(f"{printable(row.path)}: cannot read ({row.error})", file=sys.stderr)
            elif not args.quiet:
                print(f"{printable(row.path)}: {top_classes(row.scores, names, args.top)}")

    if args.cluster:
        return _on_cluster(args, predictor, files, show, len(skipped))
    rows = [r for r in score_files(predictor, files, on_rows=show) if r.scores is not None]
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


def _on_cluster(args: argparse.Namespace, predictor: Any, files: list[Path],
                show: Callable[[list[Any]], None], skipped: int) -> int:
    """The same run with the files scored on a Dask cluster: rows arrive in order, and are printed, written
    into the CSV and copied into folders as they come (nothing gathered: any number of files)."""
    from imgclf_gui.commands._cluster import cluster_session
    from imgclf_gui.core.cluster.scoring import score_on_cluster
    from imgclf_gui.core.models.outputs import csv_file, sort_into
    from imgclf_gui.core.support.output_paths import NewFiles, OutputError

    names = predictor.class_names
    readable, failed = 0, 0
    counts: Counter[str] = Counter()
    copies = NewFiles(args.sort_into) if args.sort_into is not None else None
    try:
        with contextlib.ExitStack() as stack:
            table = stack.enter_context(csv_file(args.csv, names)) if args.csv else None

            def take(batch: list[Any]) -> None:
                nonlocal readable, failed
                show(batch)
                rows = [r for r in batch if r.scores is not None]
                readable, failed = readable + len(rows), failed + len(batch) - len(rows)
                if table is not None:
                    table.write(rows)
                if args.sort_into is not None:
                    counts.update(sort_into(rows, args.sort_into, names, args.min_confidence))

            with cluster_session(args.cluster) as session:
                score_on_cluster(session, predictor, files, on_rows=take)
    except OutputError:
        if copies is not None:  # as without --cluster: a failed write leaves none of this run's copies
            copies.remove()
        raise
    if args.csv:
        print(f"Wrote {readable} rows to {args.csv}")
    if args.sort_into is not None:
        summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        print(f"Copied {readable} image(s) into {args.sort_into} ({summary}); originals untouched.")
    if skipped and not args.quiet:
        print(f"Note: {skipped} file(s) without an image extension were tried anyway.", file=sys.stderr)
    return 1 if failed and not readable else 0
