"""Thumbnails cached on disk in one SQLite file (``PROJECT/.imgclf/thumbs/thumbs-<size>.sqlite``).

Keyed by (path relative to the project, size in bytes, mtime in ns): an edited or replaced file gets a new
thumbnail, a moved one is made again (cheap, and it keeps the key honest). One small JPEG per image, so
20,000 images cost a few hundred MB at most and no 20,000 little files. A file that is not an SQLite
database of ours is set aside (``*.damaged``) and the cache starts afresh (:func:`check_thumbnail_cache`).
"""
from __future__ import annotations

import io
import os
import sqlite3
import threading
from pathlib import Path

import numpy as np

from imgclf_gui.core.project import layout
from imgclf_gui.core.support.notes import Note

_SCHEMA = """CREATE TABLE IF NOT EXISTS thumbs (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, jpeg BLOB NOT NULL)"""


class ThumbnailError(Exception):
    """The image could not be decoded; ``str()`` is the reason for the user."""


class ThumbnailCache:
    """Get or make thumbnails. Safe to use from several threads (one SQLite connection per thread)."""

    def __init__(self, project_root: str | os.PathLike[str], side: int = 128) -> None:
        self.root = Path(project_root)
        self.side = side
        folder = layout.thumbs_dir(self.root)
        self.db_path = folder / f"thumbs-{side}.sqlite"
        self._local = threading.local()
        self._readonly = False
        #: What was set aside when the cache file was damaged (a ``Note``), else None.
        self.damage = check_thumbnail_cache(self.db_path, self.root)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with self._connect() as con:
                con.execute(_SCHEMA)
        except (OSError, sqlite3.Error):
            self._readonly = True  # read-only project: thumbnails are made, just not kept

    def get(self, path: str | os.PathLike[str]) -> bytes | None:
        """The cached JPEG bytes for ``path`` if still up to date, else None."""
        if self._readonly:
            return None
        try:
            st = os.stat(path)
            row = self._connect().execute(
                "SELECT size, mtime_ns, jpeg FROM thumbs WHERE path = ?", (self._key(path),)).fetchone()
        except (OSError, sqlite3.Error):
            return None
        if row and row[0] == st.st_size and row[1] == st.st_mtime_ns:
            return bytes(row[2])
        return None

    def get_or_make(self, path: str | os.PathLike[str]) -> bytes:
        """JPEG bytes of the thumbnail, made and stored when missing. Raises ThumbnailError."""
        cached = self.get(path)
        if cached is not None:
            return cached
        data = make_thumbnail(path, self.side)
        if not self._readonly:
            try:
                st = os.stat(path)
                con = self._connect()
                con.execute("INSERT OR REPLACE INTO thumbs VALUES (?, ?, ?, ?)",
                            (self._key(path), st.st_size, st.st_mtime_ns, data))
                con.commit()
            except (OSError, sqlite3.Error):
                pass  # the thumbnail is still shown; it is made again next time
        return data

    def _key(self, path: str | os.PathLike[str]) -> str:
        path = Path(path)
        try:
            key = path.relative_to(self.root).as_posix()
        except ValueError:
            key = str(path)
        # A file name that is not valid UTF-8 cannot be an SQLite text: escaped, still one key per name.
        return key.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")

    def _connect(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.db_path, timeout=10)
            # WAL lets the GUI read while a worker writes; NORMAL sync is enough for a cache.
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            self._local.con = con
        return con


_SQLITE_MAGIC = b"SQLite format 3\x00"


def check_thumbnail_cache(db_path: Path, root: Path) -> Note | None:
    """Set a damaged thumbnail database aside (with its WAL files); the ``Note`` saying so, else None.

    Cheap on purpose (header and schema only): it runs whenever a project opens."""
    from imgclf_gui.core.support.safe_files import NotARegularFile, open_regular, set_aside

    problem, header = None, b""
    try:
        with open_regular(db_path) as handle:  # never a FIFO put in its place
            header = handle.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        return None
    except NotARegularFile as exc:
        problem = exc.strerror
    except OSError:
        return None  # unreadable just now: the cache simply is not used
    if problem is None and header and header != _SQLITE_MAGIC:
        problem = "it is not an SQLite database"
    if problem is None and header:
        try:
            con = sqlite3.connect(f"{db_path.as_uri()}?mode=ro", uri=True, timeout=10)
            try:
                columns = [row[1] for row in con.execute("PRAGMA table_info(thumbs)")]
            finally:
                con.close()
            if columns and columns != ["path", "size", "mtime_ns", "jpeg"]:
                problem = "its table is not the one imgclf writes"
        except sqlite3.DatabaseError as exc:
            problem = f"SQLite cannot read it ({exc})"
    if problem is None:
        return None
    note = set_aside(db_path, "the thumbnail cache", problem, "thumbnails will be made again", root=root)
    for companion in ("-wal", "-shm"):  # a stale write-ahead log must never meet a new database
        extra = db_path.with_name(db_path.name + companion)
        if os.path.lexists(extra):
            set_aside(extra, "the thumbnail cache", problem, "thumbnails will be made again")
    return note


def thumbnail_rgb(data: bytes) -> np.ndarray:
    """The pixels of a thumbnail's JPEG bytes (from :func:`make_thumbnail` or the cache) as uint8 (H, W, 3)
    RGB. Raises ThumbnailError when they do not decode (a cache row damaged behind SQLite's back)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(image.convert("RGB"))
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise ThumbnailError(f"its thumbnail cannot be decoded ({exc})") from exc


def thumbnail_pixels(path: str | os.PathLike[str], side: int) -> np.ndarray:
    """Decode ``path`` (EXIF-rotated, draft mode for big JPEGs) to uint8 (H, W, 3) RGB of at most ``side``
    px (a smaller picture stays its size). For a thumbnail shown once and not cached."""
    from PIL import Image

    from imgclf_gui.core.images.decode import ImageError, load_rgb

    try:
        rgb = load_rgb(path, max_side=side * 2)
    except ImageError as exc:
        raise ThumbnailError(exc.reason) from exc
    image = Image.fromarray(rgb)
    image.thumbnail((side, side), Image.Resampling.BILINEAR)
    return np.asarray(image)


def make_thumbnail(path: str | os.PathLike[str], side: int) -> bytes:
    """:func:`thumbnail_pixels` as the JPEG the cache keeps."""
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(thumbnail_pixels(path, side)).save(out, format="JPEG", quality=85)
    return out.getvalue()
