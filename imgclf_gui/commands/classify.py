"""``imgclf classify MODEL PATH...``: top-k per image, optional CSV and copies sorted into class folders."""
from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
from pathlib import Path

UNSURE = "unsure"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("classify", help="classify image files or folders with a model",
                              description="Print the top classes of each image. Originals are never moved or "
                                          "deleted: --sort-into copies them.")
    p.add_argument("model", type=Path)
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
    from imgclf_gui.core.dataset import is_image_name, list_images

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
    rows = []
    for f, pr in zip(files, probs):
        if np.isnan(pr).any():
            continue
        order = np.argsort(-pr, kind="stable")
        rows.append((f, names[order[0]], float(pr[order[0]]), pr, order))
        if not args.quiet:
            top = ", ".join(f"{names[i]} {pr[i]:.1%}" for i in order[:max(1, args.top)])
            print(f"{f}: {top}")
    for path, reason in failed.items():
        print(f"{path}: cannot read ({reason})", file=sys.stderr)
    if args.csv:
        _write_csv(args.csv, rows, names)
        print(f"Wrote {len(rows)} rows to {args.csv}")
    if args.sort_into is not None:
        counts: dict[str, int] = {}
        for f, label, conf, _, _ in rows:
            folder = label if conf >= args.min_confidence else UNSURE
            copy_no_overwrite(f, args.sort_into / folder)
            counts[folder] = counts.get(folder, 0) + 1
        summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        print(f"Copied {len(rows)} image(s) into {args.sort_into} ({summary}); originals untouched.")
    if skipped and not args.quiet:
        print(f"Note: {len(skipped)} file(s) without an image extension were tried anyway.", file=sys.stderr)
    return 1 if failed and not rows else 0


def _write_csv(path: Path, rows, names) -> None:
    from imgclf_gui.core.atomic import atomic_write_text
    import io

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["path", "label", "confidence", *names])
    for f, label, conf, pr, _ in rows:
        writer.writerow([str(f), label, f"{conf:.6f}", *(f"{v:.6f}" for v in pr)])
    atomic_write_text(path, buf.getvalue())


def copy_no_overwrite(src: Path, folder: Path) -> Path:
    """Copy ``src`` into ``folder`` under its name, or ``name (2).ext`` etc. if taken; never overwrites."""
    folder.mkdir(parents=True, exist_ok=True)
    stem, suffix = src.stem, src.suffix
    n = 1
    while True:
        dest = folder / (src.name if n == 1 else f"{stem} ({n}){suffix}")
        try:
            # O_EXCL: the name is ours even if another process copies into the same folder right now
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            n += 1
            continue
        try:
            with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
                shutil.copyfileobj(inp, out)
            shutil.copystat(src, dest)
        except BaseException:
            dest.unlink(missing_ok=True)
            raise
        return dest
