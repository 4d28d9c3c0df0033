"""Fixtures and helpers shared by the core tests: a fake backbone that counts its images, small projects."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from imgclf_gui.core.backbones import register_backbone, unregister_backbone
from imgclf_gui.core.images.decode import load_for_network
from tests.conftest import write_image
from tests.fakes import FAKE_SPEC, build_fake_keras, fake_features

COUNTING_ID = "fake-counting"


class Counter:
    """The fake backbone, counting how many images go through it."""

    def __init__(self) -> None:
        self.images = 0
        self.calls = 0

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.calls += 1
        self.images += len(batch)
        return fake_features(batch)


@pytest.fixture
def backbone():
    counter = Counter()
    spec = replace(FAKE_SPEC, id=COUNTING_ID)
    register_backbone(spec, build_fake_keras, numpy_features=counter, replace=True)
    counter.spec = spec
    try:
        yield counter
    finally:
        unregister_backbone(COUNTING_ID)


def make_project(root: Path, n: int = 6, fmt: str = "png") -> list[Path]:
    paths = []
    for i in range(n):
        label = "cats" if i % 2 else "dogs"
        colour = (20 * i, 100, 200 - 20 * i)
        paths.append(write_image(root / label / f"img{i}.{fmt}", size=(40 + i, 30), color=colour, seed=i))
    return paths


def expected(paths: list[Path], size: int = 32, crop: str = "squash") -> np.ndarray:
    return fake_features(np.stack([load_for_network(p, size, crop) for p in paths]))


def store_file(root: Path, crop: str = "squash") -> Path:
    return root / ".imgclf" / "features" / f"{COUNTING_ID}@test-1" / f"{crop}.features"
