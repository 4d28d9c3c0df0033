"""``imgclf extract/classify --cluster``: what a user sees, the same as without it; one sentence when the
cluster cannot be used; Ctrl+C leaves a usable cache; Dask is imported only with ``--cluster``."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import pytest

from imgclf_gui.cli import main
from imgclf_gui.core.cluster import connection
from tests.cluster_preload import SLOW_ID, worker_config
from tests.conftest import write_image
from tests.core.test_predict import _model

ROOT = Path(__file__).resolve().parents[2]


def _photos(root: Path, n: int) -> None:
    for i in range(n):
        write_image(root / ("cats" if i % 2 else "dogs") / f"p{i:03d}.png", size=(40 + i % 7, 30),
                    color=(23 * i % 256, 120, 60), seed=i)


def _lines(text: str) -> list[str]:
    """Output lines without the ones that hold a duration."""
    return [line for line in text.splitlines() if not line.startswith(("Extracting", "Done in"))]


@pytest.mark.slow
def test_extract_with_a_local_cluster_says_what_one_process_says(tmp_path, capsys, fake_backbone):
    _photos(tmp_path / "one", 12)
    shutil.copytree(tmp_path / "one", tmp_path / "two")
    (tmp_path / "two" / "cats" / "broken.png").write_text("no")
    (tmp_path / "one" / "cats" / "broken.png").write_text("no")
    assert main(["extract", str(tmp_path / "one"), "--backbone", fake_backbone.id, "--variants", "1"]) == 0
    alone = capsys.readouterr()
    with worker_config():
        assert main(["extract", str(tmp_path / "two"), "--backbone", fake_backbone.id, "--variants", "1",
                     "--cluster", "local:2"]) == 0
    clustered = capsys.readouterr()
    assert "12 computed, 0 from cache, 1 failed" in clustered.out
    assert _lines(clustered.out) == [line.replace("/one/", "/two/") for line in _lines(alone.out)]
    assert "Cluster: 2 workers, 2 threads (local:2)" in clustered.err


@pytest.mark.slow
def test_classify_with_a_local_cluster_writes_the_same_csv_lines_and_copies(tmp_path, capsys, fake_backbone):
    _model(fake_backbone, tmp_path)
    model = str(tmp_path / "colors.imgclf-model")
    _photos(tmp_path / "new", 23)
    (tmp_path / "new" / "cats" / "readme.txt").write_text("not an image")
    common = ["classify", model, str(tmp_path / "new"), str(tmp_path / "new" / "cats" / "readme.txt")]
    assert main([*common, "--csv", str(tmp_path / "alone.csv"), "--sort-into", str(tmp_path / "alone")]) == 0
    alone = capsys.readouterr()
    with worker_config():
        assert main([*common, "--csv", str(tmp_path / "cluster.csv"), "--sort-into", str(tmp_path / "cluster"),
                     "--cluster", "local:2"]) == 0
    clustered = capsys.readouterr()
    assert (tmp_path / "cluster.csv").read_bytes() == (tmp_path / "alone.csv").read_bytes()
    assert clustered.out.replace("cluster", "alone") == alone.out  # every image line, in the same order
    assert "readme.txt: cannot read" in clustered.err
    copies = {str(p.relative_to(tmp_path / "cluster")) for p in (tmp_path / "cluster").rglob("*.png")}
    assert copies == {str(p.relative_to(tmp_path / "alone")) for p in (tmp_path / "alone").rglob("*.png")}
    assert len(copies) == 23


def test_a_cluster_that_cannot_be_used_is_one_sentence(tmp_path, capsys, fake_backbone, monkeypatch):
    _photos(tmp_path, 2)
    extract = ["extract", str(tmp_path), "--backbone", fake_backbone.id, "--cluster"]
    assert main([*extract, "local:two"]) == 2  # wrong usage
    assert "local:N needs a number of worker processes, e.g. local:4" in capsys.readouterr().err
    monkeypatch.setattr(connection, "CONNECT_TIMEOUT_S", 1)
    assert main([*extract, "tcp://127.0.0.1:9"]) == 1  # the discard port: nothing listens there
    err = capsys.readouterr().err
    assert "Could not reach a Dask scheduler at tcp://127.0.0.1:9" in err and "dask scheduler" in err
    assert "Traceback" not in err
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if imgclf[cluster] were not installed
    assert main([*extract, "local:2"]) == 1
    assert "pip install 'imgclf[cluster]'" in capsys.readouterr().err


_INTERRUPTED = """
    import sys
    sys.path.insert(0, {root!r})
    from tests.cluster_preload import register_test_backbones, worker_config
    from imgclf_gui.cli import main

    if __name__ == "__main__":
        register_test_backbones()
        with worker_config():
            sys.exit(main(["extract", {project!r}, "--backbone", {backbone!r}, "--cluster", "local:2"]))
"""


@pytest.mark.slow
def test_ctrl_c_stops_the_cluster_and_leaves_a_cache_the_next_run_finishes(tmp_path, shared_cache_dir,
                                                                           fake_backbone):
    from imgclf_gui.core.backbones import register_backbone, unregister_backbone
    from imgclf_gui.core.features.extraction import extract_features
    from imgclf_gui.core.features.store import HEADER_SIZE, record_size
    from tests.fakes import FAKE_SPEC, build_fake_keras, fake_features

    project = tmp_path / "photos"
    _photos(project, 300)  # chunks of 64, each a few seconds with the slow fake: time to press Ctrl+C
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(_INTERRUPTED.format(root=str(ROOT), project=str(project), backbone=SLOW_ID)))
    cache = project / ".imgclf" / "features" / f"{SLOW_ID}@test-1" / "squash.features"
    env = {**os.environ, "IMGCLF_CACHE_DIR": str(shared_cache_dir)}
    # Its own process group, as a terminal runs a command: Ctrl+C reaches the workers too.
    process = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, env=env, start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if cache.exists() and cache.stat().st_size > HEADER_SIZE:  # the first chunk is written
                break
            time.sleep(0.05)
        assert process.poll() is None, process.communicate()
        os.killpg(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 130, err
    assert err.rstrip().endswith("Cancelled.") and "Traceback" not in err, err
    records = (cache.stat().st_size - HEADER_SIZE) // record_size(48)
    kept = records // 2  # each image and its mirror image (what training's folds decide on)
    assert records % 2 == 0 and 1 <= kept < 300
    # The next run (here in one process) finds every vector that arrived and computes only the rest.
    register_backbone(replace(FAKE_SPEC, id=SLOW_ID), build_fake_keras, numpy_features=fake_features, replace=True)
    try:
        rest = extract_features(sorted(project.rglob("*.png")), SLOW_ID, project, flips=True)
    finally:
        unregister_backbone(SLOW_ID)
    assert not rest.warnings  # no torn record to cut off, nothing damaged
    assert (rest.computed, rest.from_cache) == (300 - kept, kept)
    assert (cache.stat().st_size - HEADER_SIZE) // record_size(48) == 600


def test_dask_is_imported_only_with_cluster(tmp_path):
    """Installing imgclf[cluster] costs nothing to a user who never asks for a cluster."""
    _photos(tmp_path, 3)
    code = textwrap.dedent(f"""
        import contextlib, io, sys
        sys.path.insert(0, {str(ROOT)!r})
        from tests.fakes import register_fake_backbone
        from imgclf_gui import cli
        register_fake_backbone()
        with contextlib.redirect_stdout(io.StringIO()):
            for argv in (["extract", "--help"], ["classify", "--help"]):
                with contextlib.suppress(SystemExit):
                    cli.main(argv)
            assert cli.main(["extract", {str(tmp_path)!r}, "--backbone", "fake-tiny"]) == 0
        print(sorted(n for n in sys.modules if n.split(".")[0] in ("dask", "distributed")))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.slow
def test_a_disk_filling_up_while_classifying_on_a_cluster_leaves_nothing(tmp_path, capsys, fake_backbone,
                                                                        monkeypatch):
    from tests.core.disks import simulate_full_disk

    _model(fake_backbone, tmp_path)
    _photos(tmp_path / "new", 10)
    out = tmp_path / "out"
    out.mkdir()
    simulate_full_disk(monkeypatch)  # after the checks before the work: the copies and the CSV fail midway
    with worker_config():
        code = main(["classify", str(tmp_path / "colors.imgclf-model"), str(tmp_path / "new"), "--quiet",
                     "--csv", str(out / "scores.csv"), "--sort-into", str(out / "sorted"), "--cluster", "local:2"])
    err = capsys.readouterr().err
    assert code == 1 and "full" in err and "Traceback" not in err, err
    assert list(out.iterdir()) == []  # no half CSV, none of the copies
