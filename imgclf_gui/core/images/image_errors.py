"""Why a file cannot be used as an image, in words a user understands (used by :mod:`.decode`).

:class:`ImageError` carries the reason and whether it lies in the file's bytes (``lasting``) or in the
moment (a permission, a vanished file). Also here: the checks on what was decoded (too many pixels,
a JPEG whose data is mostly missing) and the wording of Pillow's and the system's errors.
"""
from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from imgclf_gui.core.support.safe_files import NotARegularFile

SUPPORTED_FORMATS = "JPEG, PNG, BMP, GIF, TIFF or WebP"


class ImageError(Exception):
    """A file that cannot be used as an image, with a reason a user understands.

    ``lasting`` is False when the failure comes from the moment, not from the file's bytes (permission
    denied, the file vanished, no memory left): the same bytes may well decode another time.
    """

    def __init__(self, path: str | os.PathLike[str], reason: str, *, lasting: bool = True) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason
        self.lasting = lasting


_JPEG_FILL = 128  # what libjpeg paints where a JPEG's data ran out: mid grey, exactly


def mostly_missing(rgb: Image.Image) -> bool:
    """True when the bottom half or more of a decoded JPEG is libjpeg's fill: its header promised a far
    larger picture than its data holds (a cut-off file that happens to end in an end marker)."""
    height = rgb.size[1]
    if height < 16:
        return False
    pixels = np.asarray(rgb)
    if not (pixels[-1] == _JPEG_FILL).all():
        return False  # the common case, one row looked at
    filled = np.all(pixels.reshape(height, -1) == _JPEG_FILL, axis=1)
    trailing = height - int(np.flatnonzero(~filled)[-1]) - 1 if (~filled).any() else height
    return trailing * 2 >= height


def check_pixel_count(path: Path, size: tuple[int, int]) -> None:
    # Judged on the pixels actually decoded: a 100-megapixel camera JPEG read in draft mode at 1/8
    # scale costs 1.5 megapixels of memory and is no bomb, so it must not be refused.
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and size[0] * size[1] > limit:
        raise ImageError(
            path,
            f"the image is too large to open safely ({size[0]} x {size[1]} = {size[0] * size[1]:,} pixels; "
            f"the limit is {limit:,}); it may be a decompression bomb",
        )


def bomb_error(path: Path, message: str) -> ImageError:
    # Pillow's own refusal (over twice its limit, before any pixel is read) carries the pixel count.
    import re

    match = re.search(r"\((\d+) pixels\)", message)
    what = f"{int(match.group(1)):,} pixels" if match else "too many pixels"
    limit = Image.MAX_IMAGE_PIXELS
    limit_text = f"; the limit is {limit:,}" if limit else ""
    return ImageError(path, f"the image is too large to open safely ({what}{limit_text}); "
                            "it may be a decompression bomb")


def is_momentary(exc: BaseException) -> bool:
    """A failure that says nothing about the file's bytes (another try may succeed)."""
    if isinstance(exc, MemoryError):
        return True
    # An operating-system error (it has an errno: EIO, EACCES...) is about the disk, not the bytes;
    # Pillow's own OSErrors ("image file is truncated", "broken data stream") have none.
    return isinstance(exc, OSError) and exc.errno is not None


def read_error_reason(exc: OSError) -> str:
    """Why a file could not be read, in words (vanished, permission, a folder...)."""
    if isinstance(exc, NotARegularFile):
        return f"this is {exc.kind}, not an image file"
    if isinstance(exc, FileNotFoundError):
        if exc.filename and os.path.islink(exc.filename):
            return "this is a link whose target is missing"
        return "the file no longer exists (moved or deleted)"
    if isinstance(exc, PermissionError):
        return "permission denied: the file cannot be read"
    if isinstance(exc, IsADirectoryError):
        return "this is a folder, not an image file"
    if exc.errno == errno.ELOOP:
        return "this is a link that leads back to itself (a loop)"
    if exc.errno == errno.ENAMETOOLONG:
        return "the path is too long for the system"
    return f"the file cannot be read ({exc.strerror or exc})"


def describe_decode_error(exc: BaseException) -> str:
    text = str(exc).strip()
    lowered = text.lower()
    if isinstance(exc, (FileNotFoundError, PermissionError)):
        return read_error_reason(exc)
    if "truncated" in lowered or isinstance(exc, EOFError):
        return "the file is truncated (incomplete copy or download?)"
    if isinstance(exc, UnidentifiedImageError):
        return f"the file is not an image in a supported format ({SUPPORTED_FORMATS})"
    if text:
        return f"the image data is damaged or unsupported ({text})"
    return f"the image data is damaged or unsupported ({type(exc).__name__})"
