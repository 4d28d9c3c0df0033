"""The map of the dataset (core): layouts, the saved map, new images placed into it, cancelling."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from imgclf_gui.core.features.extraction import extract_features
from imgclf_gui.core.project import layout
from imgclf_gui.core.review import dataset_map
from imgclf_gui.core.review.dataset_map import finish_map, open_map
from imgclf_gui.core.review.map_layout import NEIGHBOUR_LAYOUT_MISSING, fit_projection, place_points, refine_layout
from imgclf_gui.core.support.tasks_api import Cancelled
from tests.conftest import write_image

COLOURS = {"red": (220, 40, 40), "green": (40, 200, 40), "blue": (30, 40, 220)}


def _aged(path: Path) -> Path:
    """Older than the stat index's 3-second window, as a photo copied in a while ago is."""
    past = time.time() - 60
    os.utime(path, (past, past))
    return path


def write_project(root: Path, per_class: int = 10, inbox: int = 3) -> list[Path]:
    paths = [_aged(write_image(root / name / f"{name}{i}.png", size=(40, 40), color=colour, seed=20 * k + i))
             for k, (name, colour) in enumerate(COLOURS.items()) for i in range(per_class)]
    paths += [_aged(write_image(root / "unsorted" / f"u{i}.png", size=(40, 40), color=(200, 200, 30), seed=90 + i))
              for i in range(inbox)]
    return paths


def open_fake(root: Path, fake_backbone, **kwargs) -> dataset_map.DatasetMap:
    return open_map(root, backbone_id=fake_backbone.id, crop="squash", **kwargs)


def clustered(points: np.ndarray, labels: list[str]) -> float:
    """Share of points whose nearest other point has the same label (1.0: classes never mix)."""
    d = ((points[:, None, :] - points[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    nearest = d.argmin(axis=1)
    return float(np.mean([labels[i] == labels[j] for i, j in enumerate(nearest)]))


def test_pca_is_seeded_orthonormal_and_never_flips():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 120)).astype(np.float32) * np.geomspace(20, 0.1, 120, dtype=np.float32)
    a, b = fit_projection(x, dims=20, seed=0), fit_projection(x.copy(), dims=20, seed=0)
    assert a.components.shape == (20, 120) and a.apply(x).shape == (400, 20)
    np.testing.assert_array_equal(a.components, b.components)
    np.testing.assert_allclose(a.components @ a.components.T, np.eye(20), atol=1e-4)
    largest = a.components[np.arange(20), np.abs(a.components).argmax(axis=1)]
    assert (largest > 0).all()
    # the first two axes are the exact SVD's (the randomized sketch finds the strongest directions)
    exact = np.linalg.svd(x - x.mean(axis=0), full_matrices=False)[2][:2]
    assert (np.abs(np.sum(exact * a.components[:2], axis=1)) > 0.99).all()


def test_the_map_holds_every_cached_image_with_its_class_and_lists_the_missing(tmp_path, fake_backbone):
    root = tmp_path / "proj"
    paths = write_project(root)
    extract_features(paths[:-1], fake_backbone.id, root)  # the last inbox image was never extracted
    broken = root / "red" / "broken.png"
    broken.write_bytes(b"not an image")
    _aged(broken)
    extract_features([broken], fake_backbone.id, root)

    dmap = open_fake(root, fake_backbone)
    assert sorted(dmap.paths) == sorted(paths[:-1])
    assert dmap.missing == [paths[-1]]
    assert dmap.unreadable == 1
    labels = dict(zip(dmap.paths, dmap.labels))
    assert labels[root / "green" / "green3.png"] == "green" and labels[root / "unsorted" / "u0.png"] == "unsorted"
    assert dmap.pca.shape == (len(paths) - 1, 2) and dmap.pending == "refine"
    assert clustered(dmap.pca, dmap.labels) == 1.0  # colours this different never mix, even in PCA


def test_refined_layout_keeps_classes_apart_and_is_the_same_for_the_same_seed(tmp_path, fake_backbone):
    root = tmp_path / "proj"
    extract_features(write_project(root), fake_backbone.id, root)
    dmap = open_fake(root, fake_backbone)
    shown: list[np.ndarray] = []
    done = finish_map(dmap, on_layout=shown.append)
    assert done.refined.shape == (len(dmap.paths), 2) and done.placed().all() and done.pending == ""
    assert clustered(done.refined, done.labels) == 1.0
    assert shown and shown[-1].shape == done.refined.shape  # the layout was shown while it formed
    again = refine_layout(dmap.reduced, seed=dataset_map.SEED)
    np.testing.assert_array_equal(again, done.refined)


def test_reopening_reads_no_vector_and_gives_the_same_map(tmp_path, fake_backbone, monkeypatch):
    root = tmp_path / "proj"
    extract_features(write_project(root), fake_backbone.id, root)
    first = finish_map(open_fake(root, fake_backbone))
    assert layout.map_file(root, fake_backbone.cache_key, "squash").is_file()

    def no_vectors(*_args):
        raise AssertionError("a saved map holding every image must not read the bottleneck cache")

    monkeypatch.setattr(dataset_map, "_vectors", no_vectors)
    again = open_fake(root, fake_backbone)
    assert again.pending == ""
    order = [first.paths.index(p) for p in again.paths]
    np.testing.assert_array_equal(again.refined, first.refined[order])
    np.testing.assert_array_equal(again.pca, first.pca[order])


def test_new_images_join_the_saved_map_without_moving_it(tmp_path, fake_backbone):
    root = tmp_path / "proj"
    extract_features(write_project(root), fake_backbone.id, root)
    first = finish_map(open_fake(root, fake_backbone))
    new = [_aged(write_image(root / "unsorted" / f"new{i}.png", size=(40, 40), color=COLOURS["blue"], seed=300 + i))
           for i in range(2)]
    result = extract_features(new, fake_backbone.id, root)

    dmap = open_fake(root, fake_backbone, hashes=dict(zip(new, result.hashes)))
    assert dmap.pending == "place"
    rows = [dmap.paths.index(p) for p in new]
    assert not dmap.placed()[rows].any()
    done = finish_map(dmap)
    assert done.placed().all()
    old = [done.paths.index(p) for p in first.paths]
    np.testing.assert_array_equal(done.refined[old], first.refined)  # the map did not move
    blue = np.array([done.refined[i] for i, label in enumerate(done.labels) if label == "blue"])
    others = np.array([done.refined[i] for i, label in enumerate(done.labels) if label in ("red", "green")])
    for row in rows:  # each new blue image lands among the blue ones
        assert np.linalg.norm(blue - done.refined[row], axis=1).min() < np.linalg.norm(
            others - done.refined[row], axis=1).min()
    assert open_fake(root, fake_backbone).pending == ""  # and that is saved too


def test_many_new_images_make_the_map_afresh(tmp_path, fake_backbone):
    root = tmp_path / "proj"
    paths = write_project(root)
    extract_features(paths[:10], fake_backbone.id, root)
    finish_map(open_fake(root, fake_backbone))
    extract_features(paths, fake_backbone.id, root)  # three times as many images now
    dmap = open_fake(root, fake_backbone)
    assert dmap.pending == "refine" and len(dmap.paths) == len(paths)


def test_a_stopped_refinement_raises_cancelled_and_keeps_the_quick_map(tmp_path, fake_backbone):
    root = tmp_path / "proj"
    extract_features(write_project(root), fake_backbone.id, root)
    dmap = open_fake(root, fake_backbone)
    calls: list[int] = []

    def stop_soon() -> bool:
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(Cancelled):
        finish_map(dmap, should_stop=stop_soon)
    again = open_fake(root, fake_backbone)
    assert again.pending == "refine" and again.refined is None
    np.testing.assert_array_equal(np.sort(again.pca, axis=0), np.sort(dmap.pca, axis=0))


def test_a_damaged_saved_map_is_set_aside_and_made_again(tmp_path, fake_backbone):
    root = tmp_path / "proj"
    extract_features(write_project(root), fake_backbone.id, root)
    file = layout.map_file(root, fake_backbone.cache_key, "squash")
    file.parent.mkdir(parents=True)
    file.write_bytes(b"PK\x03\x04 this is no map")
    dmap = open_fake(root, fake_backbone)
    assert dmap.pending == "refine" and len(dmap.paths) == 33
    assert any("saved map" in note for note in dmap.notes)
    assert file.with_name(file.name + ".damaged").is_file()


def test_without_opentsne_the_quick_map_stays(tmp_path, fake_backbone, monkeypatch):
    root = tmp_path / "proj"
    extract_features(write_project(root), fake_backbone.id, root)
    dmap = open_fake(root, fake_backbone)
    monkeypatch.setitem(sys.modules, "openTSNE", None)  # import fails, as where it is not installed
    assert dataset_map.neighbour_layout_available() == (False, NEIGHBOUR_LAYOUT_MISSING)
    assert finish_map(dmap) is dmap and dmap.refined is None


def test_placing_keeps_the_reference_and_finds_the_right_cluster():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 6, (4, 20))
    labels = np.repeat(np.arange(4), 60)
    x = (centres[labels] + rng.normal(0, 1, (240, 20))).astype(np.float32)
    reference = refine_layout(x[::2], seed=0)
    placed = place_points(x[::2], reference, x[1::2], seed=0)
    means = np.array([reference[labels[::2] == j].mean(axis=0) for j in range(4)])
    nearest = ((placed[:, None, :] - means[None]) ** 2).sum(-1).argmin(axis=1)
    assert (nearest == labels[1::2]).mean() > 0.95


def test_a_full_disk_leaves_the_map_on_screen_and_says_it_is_not_kept(tmp_path, fake_backbone, monkeypatch):
    from tests.core.disks import simulate_full_disk

    root = tmp_path / "proj"
    extract_features(write_project(root), fake_backbone.id, root)
    simulate_full_disk(monkeypatch)
    dmap = finish_map(open_fake(root, fake_backbone))
    assert dmap.placed().all() and len(dmap.paths) == 33
    assert any("could not be saved" in note for note in dmap.notes)
    file = layout.map_file(root, fake_backbone.cache_key, "squash")
    assert not any(file.parent.iterdir())  # nothing half-written left behind
