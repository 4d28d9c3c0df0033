"""What classifying leaves on disk (no Qt): a CSV of the scores, and copies sorted into class folders.

Shared by ``imgclf classify --csv/--sort-into`` and the Classify tab's "Export CSV…" / "Copy into
Folders…". A CSV is written atomically, with any file name (bytes that are not valid UTF-8 as ``\\xNN``);
a copy never overwrites a file (``name (2).ext`` instead), and an original is never moved or deleted.
A write that fails (full disk, permission) raises ``OutputError`` (one sentence) and leaves nothing:
no partial CSV, and none of the copies that run made. Which images count as unsure is
``predict.is_unsure``. Checks before the work: :func:`check_csv_target`, :func:`check_sort_target`.
"""
from __future__ import annotations

import contextlib
import csv
import io
import os
import shutil
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from imgclf_gui.core.models.predict import UNSURE, UNSURE_BELOW, ResultRow, verdict
from imgclf_gui.core.support.tasks_api import ProgressFn, StopFn, check_stop


def write_csv(path: str | os.PathLike[str], rows: Iterable[ResultRow], class_names: Sequence[str], *,
              error_column: bool = False) -> int:
    """Write ``path,label,confidence,<every class score>`` (atomically); returns the rows written.

    Without ``error_column`` unreadable files are left out (the command's format); with it they are
    written with empty scores and their reason in a last ``error`` column (the tab's table, as shown).
    Raises ``OutputError`` when it cannot be written (nothing is left then).
    """
    with csv_file(path, class_names, error_column=error_column) as table:
        return table.write(rows)


_CSV = "the CSV file"


class CsvTable:
    """Rows of a CSV being written (see :func:`csv_file`); the same bytes as :func:`write_csv`."""

    def __init__(self, handle: BinaryIO, class_names: Sequence[str], *, error_column: bool = False,
                 path: str | os.PathLike[str] = "") -> None:
        self._handle = handle
        self._names = list(class_names)
        self._error_column = error_column
        self._path = path
        self.count = 0
        self._put([["path", "label", "confidence", *self._names] + (["error"] if error_column else [])])

    def _put(self, lines: list[list[str]]) -> None:
        from imgclf_gui.core.support.output_paths import ESCAPE, writing

        buf = io.StringIO()
        csv.writer(buf).writerows(lines)
        with writing(self._path, _CSV, atomic=True):  # csv_file removes the unfinished file
            self._handle.write(buf.getvalue().encode("utf-8", ESCAPE))

    def write(self, rows: Iterable[ResultRow]) -> int:
        """Add rows (unreadable files only with the error column); returns how many were written.
        Raises ``OutputError`` when they cannot be written."""
        lines: list[list[str]] = []
        for row in rows:
            if row.scores is None:
                if self._error_column:
                    lines.append([str(row.path), "", "", *([""] * len(self._names)), row.error])
                continue
            best = row.best
            line = [str(row.path), self._names[best], f"{row.scores[best]:.6f}", *(f"{v:.6f}" for v in row.scores)]
            lines.append(line + ([""] if self._error_column else []))
        self._put(lines)
        self.count += len(lines)
        return len(lines)


@contextlib.contextmanager
def csv_file(path: str | os.PathLike[str], class_names: Sequence[str], *, error_column: bool = False
             ) -> Iterator[CsvTable]:
    """A CSV written batch by batch, for runs too large to hold (``imgclf classify --cluster``): it appears
    at ``path`` whole when the block ends, and not at all after an error or Ctrl+C (atomic, as write_csv).
    A write that fails raises ``OutputError`` and leaves nothing."""
    from imgclf_gui.core.support.output_paths import writing
    from imgclf_gui.core.support.safe_files import AtomicFile

    with writing(path, _CSV, atomic=True):
        out = AtomicFile(path)
    try:
        yield CsvTable(out.handle, class_names, error_column=error_column, path=path)
    except BaseException:
        out.discard()
        raise
    with writing(path, _CSV, atomic=True):
        out.commit()


def check_csv_target(path: str | os.PathLike[str], rows: int, class_names: Sequence[str]) -> Path:
    """Before scoring: ``path`` can take a CSV of about ``rows`` rows (``OutputError`` otherwise)."""
    from imgclf_gui.core.support.output_paths import check_output_file

    return check_output_file(path, "the CSV file", need_bytes=rows * (160 + 10 * len(class_names)))


def check_sort_target(target: str | os.PathLike[str], sources: Sequence[Path]) -> Path:
    """Before scoring: copies of ``sources`` fit into ``target`` (``OutputError`` otherwise)."""
    from imgclf_gui.core.support.output_paths import check_output_folder

    need = 0
    for source in sources:
        try:
            need += os.stat(source).st_size
        except OSError:
            pass  # unreadable: it will not be copied
    return check_output_folder(target, "the sorted copies", need_bytes=need)


def safe_folder_name(name: str) -> str:
    """A class name usable as a folder name (ImageNet names may hold '/')."""
    cleaned = name.replace(os.sep, "-").replace("/", "-").strip().strip(".")
    return cleaned or "unnamed"


def sort_into(rows: Sequence[ResultRow], target: str | os.PathLike[str], class_names: Sequence[str],
              threshold: float = UNSURE_BELOW, *, on_progress: ProgressFn = None, should_stop: StopFn = None
              ) -> dict[str, int]:
    """Copy each readable image into ``target/<predicted class>/`` (``target/unsure/`` when unsure).

    Originals are never moved or deleted; a name already taken gets `` (2)`` etc. Returns copies per
    folder. ``should_stop`` raises ``Cancelled`` between files (copies so far stay). A failed write (full
    disk, permission) removes every copy this call made and raises ``OutputError``.
    """
    from imgclf_gui.core.support.output_paths import NewFiles, writing

    target = Path(target)
    counts: dict[str, int] = {}
    readable = [r for r in rows if r.scores is not None]
    added = NewFiles(target)
    with writing(target, "the sorted copies", cleanup=added.remove):
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


__all__ = ["write_csv", "csv_file", "CsvTable", "sort_into", "copy_no_overwrite", "safe_folder_name",
           "check_csv_target", "check_sort_target"]
