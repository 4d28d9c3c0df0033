"""Decode any image file safely into an RGB array, or say in plain words why not.

Every way a file can be bad (missing, empty, unreadable, not an image, truncated, a decompression
bomb, an exotic colour mode) ends in :class:`ImageError`; nothing else escapes for a bad file, and
Pillow never prints a warning. Large JPEGs decode at reduced size (Pillow's draft mode, i.e. libjpeg
DCT scaling) when the caller says how big the result needs to be: the network sees 224x224 anyway,
and a 12-megapixel photo then decodes several times faster.
"""
from __future__ import annotations

import io
import os
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TypeVar

import numpy as np
from PIL import Image, UnidentifiedImageError

from imgclf_gui.core.images.image_errors import (
    SUPPORTED_FORMATS,
    ImageError,
    bomb_error,
    check_pixel_count,
    describe_decode_error,
    is_momentary,
    mostly_missing,
    read_error_reason,
)
from imgclf_gui.core.support.safe_files import NotARegularFile, open_regular

__all__ = ["CROP_POLICIES", "ImageError", "ImageInfo", "load_rgb", "load_for_network", "load_rgb_from_bytes",
           "load_rgb_for_sides", "decode_for_network", "to_network_input", "image_info", "read_error_reason"]

CROP_POLICIES = ("squash", "center")

_EXIF_ORIENTATION = 0x0112
_TRANSPOSE_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# Python 3.11's warning filters are process-wide, so two threads each inside catch_warnings() could
# restore each other's filters. The header-parsing steps (where Pillow warns) are cheap, so they run
# one thread at a time under this lock; the expensive pixel decoding runs outside it, in parallel.
# (A warning another thread raises during those microseconds is swallowed too: an accepted cost.)
_WARNINGS_LOCK = threading.Lock()

_T = TypeVar("_T")


@dataclass(frozen=True)
class ImageInfo:
    """What can be known about an image from its header, without decoding the pixels."""

    width: int  #: after EXIF orientation, i.e. as a person sees the picture
    height: int
    format: str  #: Pillow's format name: "JPEG", "PNG", ...
    mode: str  #: Pillow's mode as stored in the file: "RGB", "L", "I;16", ...


def load_rgb(path: str | os.PathLike[str], *, max_side: int | None = None) -> np.ndarray:
    """Decode ``path`` into a uint8 (H, W, 3) RGB array, upright according to its EXIF orientation.

    With ``max_side``, a JPEG larger than needed is decoded at 1/2, 1/4 or 1/8 scale, but never so small
    that either side drops below ``max_side`` (other formats decode at full size). Transparent
    pixels are composited on white; 16-bit and float images are scaled to 0..255.
    Raises :class:`ImageError` for any file that cannot be decoded.
    """
    return _decode(path, None, max_side, np.asarray)


def load_for_network(path: str | os.PathLike[str], size: int, crop: str = "squash") -> np.ndarray:
    """Decode ``path`` straight to a uint8 (size, size, 3) network input (see :func:`to_network_input`)."""
    _check_crop(crop)
    return _decode(path, None, size, lambda image: np.asarray(_fit(image, size, crop)))


def load_rgb_from_bytes(data: bytes, path: str | os.PathLike[str], *, max_side: int | None = None) -> np.ndarray:
    """:func:`load_rgb` for a file already read into memory; ``path`` only names it in errors.

    The feature pipeline reads each file once, hashes those bytes and decodes the same bytes.
    """
    return _decode(path, data, max_side, np.asarray)


def load_rgb_for_sides(path: str | os.PathLike[str], sides: Sequence[int], *,
                       data: bytes | None = None) -> list[np.ndarray]:
    """For each of ``sides``, the very picture ``load_rgb(path, max_side=side)`` gives, decoding as few
    times as that allows (``data``: the file's bytes, already read).

    Pictures that are the same are decoded once: always for formats other than JPEG, and for a JPEG
    whenever draft mode picks the same scale for both sides (a 4000x3000 photo decodes at 1/8 for 224 and
    for 260 alike). A JPEG whose size falls between two sides' scales (640x480: 1/2 for 224, full size
    for 260) is decoded once per scale, so a model of several networks feeds each exactly what that
    network is fed alone, and their bottleneck caches stay shared.
    """
    path = Path(path)
    if not sides:
        return []
    scales = _draft_sizes(path, data, sides) if len(set(sides)) > 1 else [None] * len(sides)
    pictures: dict[tuple[int, int] | None, np.ndarray] = {}
    for side, scale in zip(sides, scales):
        if scale not in pictures:
            pictures[scale] = _decode(path, data, side, np.asarray)
    return [pictures[scale] for scale in scales]


def _draft_sizes(path: Path, data: bytes | None, sides: Sequence[int]) -> list[tuple[int, int] | None]:
    """The size draft mode would decode the JPEG ``path`` at for each side (None each: not a JPEG).

    Pillow allows one draft request per opened image, so each side opens the header afresh (cheap).
    """
    sizes: list[tuple[int, int] | None] = []
    for side in sides:
        with _open_checked(path, data) as image:
            if image.format not in ("JPEG", "MPO"):
                return [None] * len(sides)
            with _quiet():
                image.draft("RGB", (side, side))
            sizes.append(image.size)
    return sizes


def decode_for_network(
    data: bytes, path: str | os.PathLike[str], size: int, crop: str = "squash", *, keep_rgb: bool = False
) -> tuple[np.ndarray, np.ndarray | None]:
    """Network input of an image already read into memory, plus (``keep_rgb``) the decoded picture.

    One decode, no array round trip for the common case: this is the feature pipeline's inner loop.
    The picture is what :func:`load_rgb` with ``max_side=size`` gives (augmentation starts from it).
    """
    _check_crop(crop)

    def finish(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
        return np.asarray(_fit(image, size, crop)), (np.asarray(image) if keep_rgb else None)

    return _decode(path, data, size, finish)


def to_network_input(rgb: np.ndarray, size: int, crop: str = "squash") -> np.ndarray:
    """Resize an RGB uint8 array to (size, size, 3) with Pillow BILINEAR.

    ``crop="squash"`` resizes the whole picture (aspect ratio not kept, nothing lost);
    ``crop="center"`` keeps the centred square of the shorter side.
    """
    _check_crop(crop)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected a uint8 (H, W, 3) array, got {rgb.dtype} {rgb.shape}")
    return np.asarray(_fit(Image.fromarray(rgb, "RGB"), size, crop))


def image_info(path: str | os.PathLike[str]) -> ImageInfo:
    """Size (as displayed), format and mode of an image, reading only its header. Raises :class:`ImageError`."""
    path = Path(path)
    with _open_checked(path, None) as image:
        orientation = _orientation(image, allow_load=False)
        width, height = image.size
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        return ImageInfo(width, height, str(image.format), image.mode)


# --------------------------------------------------------------------------------------------------
# Internals


def _check_crop(crop: str) -> None:
    if crop not in CROP_POLICIES:
        raise ValueError(f"crop must be one of {CROP_POLICIES}, not {crop!r}")


def _fit(image: Image.Image, size: int, crop: str) -> Image.Image:
    width, height = image.size
    if crop == "center":
        side = min(width, height)
        left, top = (width - side) / 2, (height - side) / 2
        # resize(box=...) crops and scales in one pass, without an intermediate copy.
        box = (left, top, left + side, top + side)
    else:
        box = (0, 0, width, height)
    if (width, height) == (size, size) and crop == "squash":
        return image
    return image.resize((size, size), Image.Resampling.BILINEAR, box=box)


def _decode(
    path: str | os.PathLike[str],
    data: bytes | None,
    max_side: int | None,
    finish: Callable[[Image.Image], _T],
) -> _T:
    # ``finish`` runs while the file is still open: a closed Pillow image can no longer be read.
    path = Path(path)
    try:
        with _open_checked(path, data) as image:
            if max_side is not None and image.format in ("JPEG", "MPO"):
                with _quiet():
                    image.draft("RGB", (max_side, max_side))
            check_pixel_count(path, image.size)
            image.load()
            orientation = _orientation(image, allow_load=True)
            rgb = _to_rgb(path, image)
            if image.format in ("JPEG", "MPO") and mostly_missing(rgb):
                raise ImageError(path, "the file is truncated: most of the picture's data is missing "
                                       "(incomplete copy or download?)")
            method = _TRANSPOSE_FOR_ORIENTATION.get(orientation)
            if method is not None:
                rgb = rgb.transpose(method)
            return finish(rgb)
    except ImageError:
        raise
    except MemoryError:
        raise ImageError(path, "there is not enough memory to decode this image", lasting=False) from None
    except Exception as exc:  # noqa: BLE001 - a bad file must never take the caller down
        raise ImageError(path, describe_decode_error(exc), lasting=not is_momentary(exc)) from None


class _open_checked:
    """``with _open_checked(path, data) as image``: Image.open with every open-time failure explained."""

    def __init__(self, path: Path, data: bytes | None) -> None:
        self._path = path
        self._data = data
        self._image: Image.Image | None = None
        self._handle: BinaryIO | None = None

    def __enter__(self) -> Image.Image:
        try:
            return self._open()
        except BaseException:
            self.__exit__()  # no ``with`` body will run: close what was opened
            raise

    def _open(self) -> Image.Image:
        path = self._path
        if self._data is None:
            # Opened here, and only if it is a plain file: a FIFO with an image's name would block.
            try:
                self._handle = open_regular(path)
                st = os.fstat(self._handle.fileno())
            except NotARegularFile as exc:
                raise ImageError(path, f"this is {exc.kind}, not an image file", lasting=False) from None
            except OSError as exc:
                raise ImageError(path, read_error_reason(exc), lasting=False) from None
            if st.st_size == 0:
                raise ImageError(path, "the file is empty (0 bytes)")
            source: BinaryIO | io.BytesIO = self._handle
        else:
            if len(self._data) == 0:
                raise ImageError(path, "the file is empty (0 bytes)")
            source = io.BytesIO(self._data)
        try:
            with _quiet():
                self._image = Image.open(source)
        except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
            raise ImageError(path, read_error_reason(exc), lasting=False) from None
        except UnidentifiedImageError:
            raise ImageError(
                path, f"the file is not an image in a supported format ({SUPPORTED_FORMATS})"
            ) from None
        except Image.DecompressionBombError as exc:
            raise bomb_error(path, str(exc)) from None
        except MemoryError:
            raise ImageError(path, "there is not enough memory to open this image", lasting=False) from None
        except Exception as exc:  # noqa: BLE001 - Pillow raises anything on a hostile header
            raise ImageError(path, describe_decode_error(exc), lasting=not is_momentary(exc)) from None
        return self._image

    def __exit__(self, *exc_info: object) -> None:
        if self._image is not None:
            self._image.close()
            self._image = None
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class _quiet:
    """Run a Pillow step with its warnings swallowed (they would only confuse a user).

    Pillow's DecompressionBombWarning is among them on purpose: :func:`check_pixel_count` refuses the
    same images itself, after draft mode has had its chance to shrink a big JPEG.
    """

    def __init__(self) -> None:
        self._catcher = warnings.catch_warnings()

    def __enter__(self) -> None:
        _WARNINGS_LOCK.acquire()
        self._catcher.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc_info: object) -> None:
        try:
            self._catcher.__exit__(*exc_info)
        finally:
            _WARNINGS_LOCK.release()


def _orientation(image: Image.Image, *, allow_load: bool) -> int:
    # PNG keeps EXIF in a chunk that may come after the pixels; reading it there needs a full decode,
    # which image_info() must not pay for.
    if image.format == "PNG" and "exif" not in image.info and not allow_load:
        return 1
    try:
        with _quiet():
            value = image.getexif().get(_EXIF_ORIENTATION, 1)
    except ImageError:
        raise
    except Exception:  # noqa: BLE001 - corrupt EXIF is common on camera files; the pixels are still fine
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _to_rgb(path: Path, image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("1", "L", "CMYK", "YCbCr"):
        return image.convert("RGB")
    if mode == "P":
        if "transparency" in image.info:
            return _on_white(image.convert("RGBA"))
        return image.convert("RGB")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La", "RGBX"):
        return _on_white(image.convert("RGBA")) if mode != "RGBX" else image.convert("RGB")
    if mode.startswith("I") or mode.startswith("F"):
        return _high_depth_to_rgb(image)
    try:
        return image.convert("RGB")
    except Exception:  # noqa: BLE001 - any failure converting means a mode we cannot show
        raise ImageError(path, f"the colour mode {mode!r} is not supported") from None


def _on_white(rgba: Image.Image) -> Image.Image:
    # Transparent areas show as white, as in an image viewer, rather than as whatever colour the
    # invisible pixels happen to hold (often black).
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _high_depth_to_rgb(image: Image.Image) -> Image.Image:
    values = np.asarray(image)
    if values.dtype.kind == "f":
        values = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
        if low >= 0.0 and high <= 1.0:  # the usual float convention: 0..1
            scaled = values * 255.0
        elif low >= 0.0 and high <= 255.0:
            scaled = values
        else:  # arbitrary range (e.g. scientific data): stretch it so something is visible
            scaled = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
    else:
        values = values.astype(np.int64)
        high = int(values.max()) if values.size else 0
        low = int(values.min()) if values.size else 0
        if low >= 0 and high <= 255:
            scaled = values.astype(np.float64)
        elif low >= 0 and high <= 65535:  # 16-bit data, also when Pillow reports mode "I"
            scaled = values / 257.0
        else:
            scaled = (values - low) * (255.0 / (high - low)) if high > low else np.zeros(values.shape)
    gray = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    return Image.fromarray(np.repeat(gray[..., None], 3, axis=2), "RGB")
