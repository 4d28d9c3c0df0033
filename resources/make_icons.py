#!/usr/bin/env python3
"""Draw the imgclf application icon with Pillow and write every size desktops and installers want.

    python3 resources/make_icons.py      (needs Pillow; .venv/bin/python has it)

The motif: a rounded tile holding a photo (hills under a sun) with a label tag hooked on its corner:
"your pictures, sorted into kinds". Everything is drawn at 1024 px and scaled down, so edges are smooth;
the smallest sizes leave out the tag's string and hole, which would only turn into noise.

Writes (all committed, so building and installing never need this script):
  imgclf_gui/resources/icons/imgclf-<size>.png   package data: the window icon, the desktop entry's icons
  resources/icons/imgclf.ico                     Windows executable icon (PyInstaller)
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_ICONS = ROOT / "imgclf_gui" / "resources" / "icons"
INSTALLER_ICONS = ROOT / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
CANVAS = 1024

TILE_TOP = (38, 121, 191)
TILE_BOTTOM = (20, 70, 130)
PHOTO_PAPER = (250, 250, 246)
SKY = (168, 218, 240)
SUN = (255, 200, 61)
HILL_BACK = (92, 170, 98)
HILL_FRONT = (46, 125, 72)
TAG = (239, 108, 62)
TAG_EDGE = (190, 70, 35)
STRING = (250, 250, 246)


def _vertical_gradient(size: int, top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    column = Image.new("RGB", (1, size))
    for y in range(size):
        t = y / (size - 1)
        column.putpixel((0, y), tuple(round(a + (b - a) * t) for a, b in zip(top, bottom)))
    return column.resize((size, size))


def _tile(detail: bool) -> Image.Image:
    """The full-resolution icon on a transparent canvas."""
    icon = Image.new("RGBA", (CANVAS, CANVAS), (0, 0, 0, 0))
    margin = 40 if detail else 8
    tile_box = (margin, margin, CANVAS - margin, CANVAS - margin)
    radius = 200

    # Soft shadow under the tile, only where there is room for it to read as depth.
    if detail:
        shadow = Image.new("L", (CANVAS, CANVAS), 0)
        ImageDraw.Draw(shadow).rounded_rectangle((margin, margin + 24, CANVAS - margin, CANVAS - margin + 16),
                                                 radius, fill=110)
        shadow = shadow.filter(ImageFilter.GaussianBlur(18))
        icon.paste((0, 0, 0, 255), (0, 0), shadow)

    mask = Image.new("L", (CANVAS, CANVAS), 0)
    ImageDraw.Draw(mask).rounded_rectangle(tile_box, radius, fill=255)
    icon.paste(_vertical_gradient(CANVAS, TILE_TOP, TILE_BOTTOM), (0, 0), mask)

    draw = ImageDraw.Draw(icon)
    # The photo: white paper with a picture inset, tilted a little by drawing on its own layer.
    photo = Image.new("RGBA", (600, 500), (0, 0, 0, 0))
    pd = ImageDraw.Draw(photo)
    pd.rounded_rectangle((0, 0, 599, 499), 28, fill=PHOTO_PAPER)
    inset = (44, 44, 556, 456)
    picture = Image.new("RGB", (inset[2] - inset[0], inset[3] - inset[1]), SKY)
    pic = ImageDraw.Draw(picture)
    w, h = picture.size
    pic.ellipse((w * 0.62, h * 0.12, w * 0.86, h * 0.38), fill=SUN)
    pic.polygon([(-20, h), (w * 0.30, h * 0.38), (w * 0.62, h)], fill=HILL_BACK)
    pic.polygon([(w * 0.25, h), (w * 0.66, h * 0.50), (w * 1.1, h)], fill=HILL_FRONT)
    photo.paste(picture, inset[:2])
    photo = photo.rotate(-6, resample=Image.Resampling.BICUBIC, expand=True)
    icon.alpha_composite(photo, (CANVAS // 2 - photo.width // 2 - 40, CANVAS // 2 - photo.height // 2 - 20))

    # The label tag hanging from the photo's lower-right corner: the "classify" part of the story.
    # Drawn larger on small icons, where it must still read as a tag at 16 px.
    k = 1.15 if detail else 1.6
    cx, cy = (742, 700) if detail else (700, 690)

    def at(dx: float, dy: float) -> tuple[float, float]:
        return cx + dx * k, cy + dy * k

    if detail:
        draw.line([at(-220, -150), at(60, 0)], fill=STRING, width=14)
    tag = [at(-130, -70), at(40, -70), at(120, 0), at(40, 70), at(-130, 70)]
    draw.polygon(tag, fill=TAG, outline=TAG_EDGE, width=round(10 * k))
    # A check mark on the tag: the image got its class.
    draw.line([at(-86, 2), at(-40, 40), at(20, -36)], fill=STRING, width=round(30 * k), joint="curve")
    if detail:
        draw.ellipse((*at(46, -14), *at(74, 14)), fill=TILE_BOTTOM)
    return icon


def render(size: int) -> Image.Image:
    art = _tile(detail=size >= 48)
    return art.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    PACKAGE_ICONS.mkdir(parents=True, exist_ok=True)
    INSTALLER_ICONS.mkdir(parents=True, exist_ok=True)
    images = {size: render(size) for size in SIZES}
    for size, image in images.items():
        image.save(PACKAGE_ICONS / f"imgclf-{size}.png", optimize=True)
    images[256].save(INSTALLER_ICONS / "imgclf.ico", sizes=[(s, s) for s in ICO_SIZES],
                     append_images=[images[s] for s in ICO_SIZES if s != 256])
    print(f"wrote {len(SIZES)} PNGs to {PACKAGE_ICONS} and imgclf.ico to {INSTALLER_ICONS}")


if __name__ == "__main__":
    main()
