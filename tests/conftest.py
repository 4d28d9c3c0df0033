"""Shared test set-up: offscreen Qt, per-test settings and caches, tiny image factories."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tests.fakes import fake_backbone, fake_pair  # noqa: E402,F401 - the fixtures, for every test
from tests.hang_watch import pytest_runtest_protocol  # noqa: E402,F401 - a hung test ends the run


@pytest.fixture(scope="session")
def shared_cache_dir(tmp_path_factory) -> Path:
    """One user-cache folder for the whole run, so a backbone is converted once, not per test."""
    return tmp_path_factory.mktemp("imgclf-cache")


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path, shared_cache_dir, monkeypatch):
    """Nothing a test does touches the real user's cache, config or Qt settings."""
    monkeypatch.setenv("IMGCLF_CACHE_DIR", str(shared_cache_dir))
    config = tmp_path / "_config"
    monkeypatch.setenv("IMGCLF_CONFIG_DIR", str(config))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))


def write_image(path: Path, size=(64, 48), color=(200, 30, 30), fmt: str | None = None, seed: int = 0) -> Path:
    """A small real image file with a little noise, so content hashes differ between seeds."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    arr = np.empty((size[1], size[0], 3), np.uint8)
    arr[:] = color
    arr = np.clip(arr.astype(int) + rng.integers(-20, 20, arr.shape), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, format=fmt)
    return path
