"""Deterministic image augmentation: the same image and variant number always give the same picture.

Determinism is what lets augmented bottlenecks be cached like any other (the classic retrain.py drew
fresh random distortions every step, so it could cache nothing and took hours): variant ``k`` of an
image is a fixed picture, computed once, keyed by (content hash, k).
"""
from __future__ import annotations

import hashlib
import math

import numpy as np

#: Bump whenever the pictures produced for a given (seed_key, variant) change: it keys cached
#: augmented bottlenecks, so old ones are then recomputed instead of silently reused.
AUGMENT_VERSION = 1

MIN_AREA = 0.70
MAX_AREA = 1.00
ASPECT_RANGE = (3 / 4, 4 / 3)
BRIGHTNESS = 0.20  # multiply by 1 +/- this
CONTRAST = 0.20


def _rng(seed_key: str, variant: int) -> np.random.Generator:
    seed = hashlib.sha256(f"{seed_key}\0{variant}\0{AUGMENT_VERSION}".encode()).digest()
    return np.random.default_rng(int.from_bytes(seed[:16], "little"))


def augment(rgb: np.ndarray, variant: int, seed_key: str) -> np.ndarray:
    """Variant ``variant`` (>= 1) of an RGB uint8 (H, W, 3) image; variant 0 is the image unchanged.

    A random crop covering 70-100 % of the area (aspect ratio 3:4 to 4:3), a horizontal flip half the
    time, then brightness and contrast jitter of +/-20 %. ``seed_key`` is normally the content hash,
    so a renamed file gets the same variants. The result may be smaller than the input; the caller
    resizes it for the network as usual.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected a uint8 (H, W, 3) array, got {rgb.dtype} {rgb.shape}")
    if variant < 0:
        raise ValueError("variant must be >= 0")
    if variant == 0:
        return rgb
    rng = _rng(seed_key, variant)
    height, width = rgb.shape[:2]

    area = rng.uniform(MIN_AREA, MAX_AREA) * width * height
    aspect = math.exp(rng.uniform(math.log(ASPECT_RANGE[0]), math.log(ASPECT_RANGE[1])))
    crop_w = int(round(math.sqrt(area * aspect)))
    crop_h = int(round(math.sqrt(area / aspect)))
    # Keep the area when the aspect ratio does not fit the picture: shrink one side, grow the other.
    if crop_w > width:
        crop_w, crop_h = width, min(height, int(round(area / width)))
    if crop_h > height:
        crop_h, crop_w = height, min(width, int(round(area / height)))
    crop_w, crop_h = max(1, crop_w), max(1, crop_h)
    left = int(rng.integers(0, width - crop_w + 1))
    top = int(rng.integers(0, height - crop_h + 1))
    flip = bool(rng.random() < 0.5)
    brightness = 1.0 + rng.uniform(-BRIGHTNESS, BRIGHTNESS)
    contrast = 1.0 + rng.uniform(-CONTRAST, CONTRAST)

    out = rgb[top:top + crop_h, left:left + crop_w]
    if flip:
        out = out[:, ::-1]
    # One affine map per pixel: contrast around the crop's mean grey, then brightness.
    pixels = out.astype(np.float32)
    mean = float(pixels.mean())
    pixels = ((pixels - mean) * contrast + mean) * brightness
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def augment_for_network(rgb: np.ndarray, variant: int, seed_key: str, size: int, crop: str) -> np.ndarray:
    """:func:`augment` then the usual resize to the network's (size, size, 3) input."""
    from imgclf_gui.core.images.decode import to_network_input

    return to_network_input(np.ascontiguousarray(augment(rgb, variant, seed_key)), size, crop)

