"""Preferences migrate from old versions; the demo project has four shape classes and an inbox."""
from __future__ import annotations

import json

from imgclf_gui.core.project.demo_project import make_demo_project
from imgclf_gui.core.project.scan import class_names, list_images
from imgclf_gui.core.support.settings import SETTINGS_VERSION, Settings, load_settings, save_settings


def test_settings_round_trip_and_v1_migration(tmp_path):
    path = tmp_path / "settings.json"
    save_settings(Settings(thumbnail_size=96), path)
    assert load_settings(path).thumbnail_size == 96
    path.write_text(json.dumps({"version": 1, "move_on_import": True, "thumbnail_size": "huge"}))
    migrated = load_settings(path)
    assert migrated.import_mode == "move" and migrated.version == SETTINGS_VERSION
    assert migrated.thumbnail_size == Settings().thumbnail_size  # a wrong type falls back to the default


def test_demo_project(tmp_path):
    root = make_demo_project(tmp_path / "demo", per_class=5, unsorted_per_class=1)
    assert class_names(root) == ["circle", "plus", "square", "triangle"]
    assert len(list_images(root / "circle")) == 5 and len(list_images(root / "unsorted")) == 4
