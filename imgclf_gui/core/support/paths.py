"""Where imgclf keeps things outside a project: the per-user cache and config folders."""
from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "imgclf"


def user_cache_dir() -> Path:
    """Folder for converted backbones and other regenerable files (IMGCLF_CACHE_DIR overrides)."""
    override = os.environ.get("IMGCLF_CACHE_DIR")
    if override:
        path = Path(override)
    else:
        import platformdirs

        path = Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_config_dir() -> Path:
    """Folder for preferences and the recent-projects list (IMGCLF_CONFIG_DIR overrides)."""
    override = os.environ.get("IMGCLF_CONFIG_DIR")
    if override:
        path = Path(override)
    else:
        import platformdirs

        path = Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path
