"""Extraction and classification on a real Dask ``LocalCluster`` of two worker processes: the same
vectors, counts and rows as one process, a cache the app uses as is, and no work lost or written twice
when a worker dies or the run is stopped."""
from __future__ import annotations

import os
import shutil
import signal
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from imgclf_gui.core.cluster.bottlenecks import extract_on_cluster
from imgclf_gui.core.cluster.connection import ClusterError, check_workers, connect
from imgclf_gui.core.cluster.remote import Expected
from imgclf_gui.core.cluster.scoring import score_on_cluster
from imgclf_gui.core.cluster.streaming import LOST
from imgclf_gui.core.features.cache import open_project_cache
from imgclf_gui.core.features.extraction import extract_features
from imgclf_gui.core.features.store import HEADER_SIZE, record_size
from imgclf_gui.core.models.outputs import csv_file, write_csv
from imgclf_gui.core.models.predict import ModelSource, open_predictor, score_files
from imgclf_gui.core.support.cpus import cpu_budget
from imgclf_gui.core.support.tasks_api import Cancelled
from imgclf_gui.core.training.trainer import TrainConfig, train
from tests.cluster_preload import (
    DEADLY_ID,
    MAGENTA,
    SLOW_ID,
    register_timed_fakes,
    unregister_timed_fakes,
    worker_config,
)
from tests.conftest import write_image
from tests.core.test_predict import _model


@pytest.fixture(scope="module")
def cluster(shared_cache_dir):
    """Two worker processes, one thread each, with the test backbones registered in them."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("IMGCLF_CACHE_DIR", str(shared_cache_dir))  # the workers' user cache is the tests' one
        with worker_config():
            started = connect("local:2")
    yield started
    started.close()


@pytest.fixture
def session(cluster):
    """The cluster, with the slow and the deadly fake registered here too (the client) during the test;
    ``fake_backbone`` and ``backbone`` (the counting fake) register theirs."""
    register_timed_fakes()
    yield cluster
    unregister_timed_fakes()


def make_project(root, n: int) -> list:
    """``n`` small distinct images in two classes, ``cats`` and ``dogs``."""
    return [write_image(root / ("cats" if i % 2 else "dogs") / f"img{i:03d}.png", size=(40 + i % 9, 30),
                        color=(37 * i % 256, 100, 200 - 3 * i % 200), seed=i) for i in range(n)]


def _project(root, n: int = 21):
    """``n`` images in two classes, one undecodable file and one copy of an image under another name."""
    paths = make_project(root, n)
    broken = root / "cats" / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really a JPEG")
    twin = root / "dogs" / "twin.png"
    shutil.copyfile(paths[0], twin)
    return [*paths, broken, twin]


def _cached(root, backbone: str, hashes, variants: int = 0):
    from imgclf_gui.core.backbones import get_spec

    store = open_project_cache(root, get_spec(backbone), "squash")
    assert store is not None
    try:
        return {(h, v): store.get((bytes.fromhex(h), v)) for h in hashes for v in range(variants + 1)}
    finally:
        store.close()


def _records_in(cache_file, dim: int = 48) -> int:
    return (cache_file.stat().st_size - HEADER_SIZE) // record_size(dim)


def test_two_workers_cache_what_one_process_caches(session, fake_backbone, tmp_path):
    cluster_paths = _project(tmp_path / "cluster")
    single_paths = _project(tmp_path / "single")
    done = []
    result = extract_on_cluster(session, cluster_paths, "fake-tiny", tmp_path / "cluster", variants=2,
                                chunk_size=4, on_progress=lambda d, n: done.append((d, n)))
    single = extract_features(single_paths, "fake-tiny", tmp_path / "single", variants=2)
    # The same counts as one process: the copy is "from cache", the broken file fails with the same words.
    assert (result.computed, result.from_cache) == (single.computed, single.from_cache) == (21, 1)
    assert [r for r in result.failed.values()] == [r for r in single.failed.values()]
    assert done[0] == (0, 23) and done[-1] == (23, 23)
    hashes = [h for h, ok in zip(single.hashes, single.ok) if ok]
    on_cluster, alone = _cached(tmp_path / "cluster", "fake-tiny", hashes, 2), _cached(tmp_path / "single",
                                                                                       "fake-tiny", hashes, 2)
    assert all(v is not None for v in on_cluster.values())
    for key, vector in alone.items():
        np.testing.assert_allclose(on_cluster[key], vector, atol=1e-5)
    # One record per vector, none twice: 21 images x 3 (the copy shares its original's).
    assert _records_in(result.cache_file) == 21 * 3


def test_training_after_the_cluster_computes_nothing(session, tmp_path, backbone):
    make_project(tmp_path, 12)
    # with the mirror images the folds decide on, as `imgclf extract` computes them for training's defaults
    extracted = extract_on_cluster(session, [p for p in sorted(tmp_path.rglob("*.png"))], backbone.spec.id,
                                   tmp_path, flips=True)
    assert extracted.computed == 12
    result = train(TrainConfig(backbone=backbone.spec.id, epochs=3), tmp_path)
    assert backbone.images == 0  # every bottleneck came from the cache the cluster made
    assert result.head is not None and len(result.samples) == 12


def test_a_second_run_sends_no_unchanged_image_to_the_workers(session, fake_backbone, tmp_path):
    paths = make_project(tmp_path, 8)
    for p in paths:  # older than the stat index's few seconds of doubt, like photos copied earlier
        os.utime(p, (1_600_000_000, 1_600_000_000))
    extract_on_cluster(session, paths, "fake-tiny", tmp_path)
    # Other bytes of the same length in the same file with the same time: only reading it could tell.
    data = bytearray(paths[0].read_bytes())
    data[-20:] = bytes(20)
    with open(paths[0], "r+b") as handle:
        handle.write(data)
    os.utime(paths[0], (1_600_000_000, 1_600_000_000))
    again = extract_on_cluster(session, paths, "fake-tiny", tmp_path)
    assert (again.computed, again.from_cache, again.failed) == (0, 8, {})


def test_rows_from_the_cluster_are_the_rows_of_one_process(session, fake_backbone, tmp_path):
    _model(fake_backbone, tmp_path)
    files = [write_image(tmp_path / "new" / f"{i:02d}.png", size=(40 + i, 30), color=(30 * i % 256, 90, 200),
                         seed=i) for i in range(19)]
    (tmp_path / "new" / "notes.txt").write_text("not an image")
    files.insert(7, tmp_path / "new" / "notes.txt")
    predictor = open_predictor(ModelSource.bundle(tmp_path / "colors.imgclf-model"))
    batches, seen = [], []
    with csv_file(tmp_path / "cluster.csv", predictor.class_names) as table:
        def take(rows):
            batches.append(rows)
            table.write(rows)
        score_on_cluster(session, predictor, files, on_rows=take, chunk_size=3,
                         on_progress=lambda d, n: seen.append(d))
    alone = score_files(predictor, files)
    write_csv(tmp_path / "alone.csv", alone, predictor.class_names)
    rows = [row for batch in batches for row in batch]
    assert [r.path for r in rows] == files  # in order, with the paths as given
    assert rows[7].error == alone[7].error and "not an image" in rows[7].error
    assert all(np.array_equal(a.scores, b.scores) for a, b in zip(rows, alone) if b.scores is not None)
    assert (tmp_path / "cluster.csv").read_bytes() == (tmp_path / "alone.csv").read_bytes()
    assert seen[0] == 0 and seen[-1] == 20


def test_a_worker_that_cannot_see_an_image_is_named_with_the_image(session, fake_backbone, tmp_path):
    shared = make_project(tmp_path, 4)
    # A path only this process can see, as a disk mounted on this computer alone: its own open file.
    fd = os.open(shared[0], os.O_RDONLY)
    only_here = 900 + fd
    os.dup2(fd, only_here)
    try:
        with pytest.raises(ClusterError, match=rf"The worker tcp://.+ cannot see /proc/self/fd/{only_here}: "
                                               r"workers read the images by path.*shared file system"):
            check_workers(session, Expected.here("fake-tiny"), [*map(str, shared), f"/proc/self/fd/{only_here}"])
    finally:
        os.close(only_here)
        os.close(fd)
    check_workers(session, Expected.here("fake-tiny"), [str(p) for p in shared])  # all visible: no complaint
    # Checked workers keep to the one thread Dask gave each: two workers on two cores, not 2 x 2 threads.
    assert set(session.client.run(cpu_budget).values()) == {1}


def test_a_worker_of_another_imgclf_is_refused_with_the_versions(session, fake_backbone, tmp_path):
    paths = make_project(tmp_path, 2)
    newer = replace(Expected.here("fake-tiny"), imgclf="99.0")
    with pytest.raises(ClusterError, match=r"runs imgclf 0\.1\.0 where this computer runs 99\.0.*pip install"):
        check_workers(session, newer, [str(p) for p in paths])
    with pytest.raises(ClusterError, match="does not know the backbone 'only-here'"):
        check_workers(session, replace(newer, backbone_id="only-here"), [str(p) for p in paths])


def test_stopping_keeps_what_arrived_and_a_rerun_computes_only_the_rest(session, tmp_path):
    paths = make_project(tmp_path, 24)
    arrived = []

    def stop() -> bool:
        return bool(arrived) and arrived[-1] >= 4

    with pytest.raises(Cancelled):
        extract_on_cluster(session, paths, SLOW_ID, tmp_path, chunk_size=4, should_stop=stop,
                           on_progress=lambda d, n: arrived.append(d))
    from imgclf_gui.core.backbones import get_spec

    store = open_project_cache(tmp_path, get_spec(SLOW_ID), "squash")
    kept = len(store)
    assert not store.notes and 4 <= kept < 24  # whole records only, and not everything was done
    store.close()
    rest = extract_on_cluster(session, paths, SLOW_ID, tmp_path, chunk_size=4)
    assert (rest.computed, rest.from_cache) == (24 - kept, kept)
    assert _records_in(rest.cache_file) == 24


@pytest.mark.slow
def test_a_worker_killed_mid_run_loses_nothing_and_writes_nothing_twice(session, fake_backbone, tmp_path):
    paths = make_project(tmp_path, 60)
    before = session.client.run(os.getpid)
    killed = []

    def kill_one_busy_worker(done: int, total: int) -> None:
        if killed or done == 0:
            return
        busy = [w for w, tasks in session.client.processing().items() if tasks]
        if busy:
            os.kill(before[busy[0]], signal.SIGKILL)
            killed.append(before[busy[0]])

    result = extract_on_cluster(session, paths, SLOW_ID, tmp_path, chunk_size=4, on_progress=kill_one_busy_worker)
    assert killed and killed[0] not in session.client.run(os.getpid).values()  # it died; Dask replaced it
    assert (result.computed, result.from_cache, result.failed) == (60, 0, {})
    assert _records_in(result.cache_file) == 60
    single = extract_features(paths, "fake-tiny", tmp_path / "elsewhere")
    cached = _cached(tmp_path, SLOW_ID, single.hashes)
    for row, h in enumerate(single.hashes):
        np.testing.assert_allclose(cached[(h, 0)], single.features[row], atol=1e-5)


@pytest.mark.slow
def test_an_image_that_kills_every_worker_it_meets_is_reported_the_others_cached(shared_cache_dir, tmp_path):
    paths = make_project(tmp_path, 6)
    poison = tmp_path / "cats" / "poison.png"
    Image.new("RGB", (40, 30), MAGENTA).save(poison)
    paths.insert(3, poison)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("IMGCLF_CACHE_DIR", str(shared_cache_dir))
        with worker_config(**{"distributed.scheduler.allowed-failures": 1}):
            cluster = connect("local:2")
    register_timed_fakes()
    try:
        result = extract_on_cluster(cluster, paths, DEADLY_ID, tmp_path, chunk_size=4)
    finally:
        cluster.close()
        unregister_timed_fakes()
    assert result.failed == {poison: LOST.format(tries=2)}
    assert (result.computed, result.from_cache) == (6, 0)


@pytest.mark.slow
def test_the_real_backbone_on_two_workers_gives_the_vectors_of_one_process(session, tmp_path):
    """One LiteRT thread per worker against every core in one process: within 1e-5, variants too."""
    from skimage import data

    from imgclf_gui.core.backbones import prepare_backbone

    prepare_backbone("efficientnet-lite0")  # once, before the workers open it from the shared user cache
    pictures = [data.chelsea(), data.coffee(), data.astronaut(), data.rocket(), data.camera()]
    paths = []
    for i in range(10):
        picture = pictures[i % len(pictures)]
        path = tmp_path / "photos" / f"class{i % 2}" / f"p{i}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(picture if i < 5 else picture[::-1]).convert("RGB").save(path)
        paths.append(path)
    result = extract_on_cluster(session, paths, "efficientnet-lite0", tmp_path / "photos", variants=1,
                                chunk_size=3)
    single = extract_features(paths, "efficientnet-lite0", tmp_path / "alone", variants=1)
    assert result.computed == single.computed == 10
    cached = _cached(tmp_path / "photos", "efficientnet-lite0", single.hashes, 1)
    for row, h in enumerate(single.hashes):
        np.testing.assert_allclose(cached[(h, 0)], single.features[row], atol=1e-5)
        np.testing.assert_allclose(cached[(h, 1)], single.augmented[row, 0], atol=1e-5)
