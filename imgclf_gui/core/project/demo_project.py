"""A demo project drawn on the fly: circles, squares, pluses and triangles (as in the classic retraining
tutorial) in varied colours, sizes, rotations and line widths on cluttered backgrounds.

Class folders get ``per_class`` images each and the ``unsorted/`` inbox a few more of every shape, so the
whole loop (sort, train, classify) can be tried at once. Deterministic for a given seed.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from imgclf_gui.core.project.layout import INBOX_NAME
from imgclf_gui.core.support.tasks_api import ProgressFn, StopFn, check_stop

SHAPES = ("circle", "square", "plus", "triangle")


def make_demo_project(dest: str | os.PathLike[str], *, per_class: int = 60, unsorted_per_class: int = 6,
                      size: int = 160, seed: int = 0, on_progress: ProgressFn = None,
                      should_stop: StopFn = None) -> Path:
    """Write the demo project into ``dest`` (created; existing files are never overwritten)."""
    from PIL import Image  # noqa: F401 - fail early with a clear ImportError

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    jobs: list[tuple[str, Path]] = []
    for shape in SHAPES:
        jobs += [(shape, dest / shape / f"{shape}_{i:03d}.jpg") for i in range(per_class)]
    for i in range(unsorted_per_class * len(SHAPES)):
        shape = SHAPES[i % len(SHAPES)]
        jobs.append((shape, dest / INBOX_NAME / f"photo_{i:03d}.jpg"))
    for n, (shape, path) in enumerate(jobs):
        check_stop(should_stop)
        path.parent.mkdir(parents=True, exist_ok=True)
        image = draw_shape_image(shape, rng, size)
        if not path.exists():
            image.save(path, quality=90)
        if on_progress is not None:
            on_progress(n + 1, len(jobs))
    return dest


def draw_shape_image(shape: str, rng: np.random.Generator, size: int = 160):
    """One picture of ``shape`` on a random cluttered background (a PIL image)."""
    from PIL import Image, ImageDraw, ImageFilter

    image = Image.fromarray(_background(rng, size))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 9))):  # clutter: thin lines and dots in muted colours
        colour = tuple(int(c) for c in rng.integers(60, 200, 3))
        if rng.random() < 0.6:
            pts = [tuple(int(v) for v in rng.integers(0, size, 2)) for _ in range(2)]
            draw.line(pts, fill=colour, width=int(rng.integers(1, 3)))
        else:
            x, y = (int(v) for v in rng.integers(0, size, 2))
            r = int(rng.integers(2, 6))
            draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
    colour = tuple(int(c) for c in rng.integers(0, 256, 3))
    if sum(colour) < 120:  # keep the shape visible against dark backgrounds
        colour = tuple(min(255, c + 120) for c in colour)
    cx, cy = (float(v) for v in rng.uniform(0.35 * size, 0.65 * size, 2))
    radius = float(rng.uniform(0.18, 0.34) * size)
    angle = float(rng.uniform(0, 2 * math.pi))
    filled = rng.random() < 0.4
    width = int(rng.integers(2, max(3, size // 20)))
    fill = colour if filled else None
    if shape == "circle":
        draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], outline=colour, fill=fill, width=width)
    elif shape == "plus":
        arm = radius * float(rng.uniform(0.22, 0.35))
        if filled:
            draw.polygon(_rotate(_plus_outline(radius, arm), angle, cx, cy), fill=colour)
        else:
            for a in (angle, angle + math.pi / 2):
                dx, dy = radius * math.cos(a), radius * math.sin(a)
                draw.line([(cx - dx, cy - dy), (cx + dx, cy + dy)], fill=colour, width=max(width, int(arm)))
    else:
        corners = 4 if shape == "square" else 3
        pts = [(radius * math.cos(2 * math.pi * k / corners), radius * math.sin(2 * math.pi * k / corners))
               for k in range(corners)]
        draw.polygon(_rotate(pts, angle, cx, cy), outline=colour, fill=fill, width=width)
    if rng.random() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.2))))
    return image


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    t = np.linspace(0.0, 1.0, size)[:, None, None]
    if rng.random() < 0.5:
        t = t.transpose(1, 0, 2)
    grad = (a * (1 - t) + b * t) * np.ones((size, size, 1))
    noise = rng.normal(0, float(rng.uniform(4, 22)), (size, size, 3))
    return np.clip(grad + noise, 0, 255).astype(np.uint8)


def _plus_outline(r: float, w: float) -> list[tuple[float, float]]:
    return [(-w, -r), (w, -r), (w, -w), (r, -w), (r, w), (w, w), (w, r), (-w, r), (-w, w), (-r, w),
            (-r, -w), (-w, -w)]


def _rotate(pts: list[tuple[float, float]], angle: float, cx: float, cy: float) -> list[tuple[float, float]]:
    c, s = math.cos(angle), math.sin(angle)
    return [(cx + x * c - y * s, cy + x * s + y * c) for x, y in pts]
