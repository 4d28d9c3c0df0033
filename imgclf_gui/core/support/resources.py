"""Files shipped inside the package (icons, styles), found the same way from a checkout, a wheel or a
PyInstaller folder."""
from __future__ import annotations

from pathlib import Path

#: the sizes of ``resources/icons/imgclf-<size>.png`` (drawn by ``resources/make_icons.py``)
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def resources_dir() -> Path:
    """The package's ``resources`` folder (a real folder: the package is never imported from a zip)."""
    return Path(__file__).resolve().parents[2] / "resources"


def app_icon_path(size: int = 256) -> Path:
    """The application icon as a PNG at least ``size`` pixels wide (the largest one if none is)."""
    chosen = next((s for s in ICON_SIZES if s >= size), ICON_SIZES[-1])
    return resources_dir() / "icons" / f"imgclf-{chosen}.png"


def app_icon_paths() -> list[Path]:
    """Every size of the application icon, smallest first (for ``QIcon.addFile`` on each)."""
    return [resources_dir() / "icons" / f"imgclf-{s}.png" for s in ICON_SIZES]
