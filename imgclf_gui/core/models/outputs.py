"""What classifying leaves on disk (no Qt): a CSV of the scores, and copies sorted into class folders.

Shared by ``imgclf classify --csv/--sort-into`` and the Classify tab's "Export CSV…" / "Copy into
Folders…". A CSV is written atomically; a copy never overwrites a file (``name (2).ext`` instead), and
an original is never moved or deleted. Which images count as unsure is ``predict.is_unsure``.
"""
from __future__ import annotations

import csv
import io
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from imgclf_gui.core.models.predict import UNSURE, UNSURE_BELOW, ResultRow, verdict
from imgclf_gui.core.support.tasks_api import ProgressFn, StopFn, check_stop


def write_csv(path: str | os.PathLike[str], rows: Iterable[ResultRow], class_names: Sequence[str], *,
              error_column: bool = False) -> int:
    """Write ``path,label,confidence,<every class score>`` (atomically); returns the rows written.

    Without ``error_column`` unreadable files are left out (the command's format); with it they are
    written with empty scores and their reason in a last ``error`` column (the tab's table, as shown).
    """
    from imgclf_gui.core.support.atomic import atomic_write_text

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["path", "label", "confidence", *class_names] + (["error"] if error_column else []))
    count = 0
    for row in rows:
        if row.scores is None:
            if error_column:
                writer.writerow([str(row.path), "", "", *([""] * len(class_names)), row.error])
                count += 1
            continue
        best = row.best
        line = [str(row.path), class_names[best], f"{row.scores[best]:.6f}", *(f"{v:.6f}" for v in row.scores)]
        writer.writerow(line + ([""] if error_column else []))
        count += 1
    atomic_write_text(path, buf.getvalue())
    return count


def safe_folder_name(name: str) -> str:
    """A class name usable as a folder name (ImageNet names may hold '/')."""
    cleaned = name.replace(os.sep, "-").replace("/", "-").strip().strip(".")
    return cleaned or "unnamed"


def sort_into(rows: Sequence[ResultRow], target: str | os.PathLike[str], class_names: Sequence[str],
              threshold: float = UNSURE_BELOW, *, on_progress: ProgressFn = None, should_stop: StopFn = None
              ) -> dict[str, int]:
    """Copy each readable image into ``target/<predicted class>/`` (``target/unsure/`` when unsure).

    Originals are never moved or deleted; a name already taken gets `` (2)`` etc. Returns copies per
    folder. ``should_stop`` raises ``Cancelled`` between files (copies so far stay).
    """
    target = Path(target)
    counts: dict[str, int] = {}
    readable = [r for r in rows if r.scores is not None]
    for done, row in enumerate(readable, 1):
        check_stop(should_stop)
        name, _, unsure = verdict(row.scores, class_names, threshold)  # type: ignore[arg-type]
        folder = UNSURE if unsure else safe_folder_name(name)
        copy_no_overwrite(row.path, target / folder)
        counts[folder] = counts.get(folder, 0) + 1
        if on_progress is not None:
            on_progress(done, len(readable))
    return counts


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


__all__ = ["write_csv", "sort_into", "copy_no_overwrite", "safe_folder_name"]
