"""The Dataset Map's speed: 20,000 images drawn (PCA) under 2 s, refined (t-SNE) under 60 s on 2 cores.

Each figure is printed next to a named baseline measured in the same run, with wall and CPU seconds
(CPU = this process's time on every core: on a shared machine the wall clock measures the other work too)
and the load average:

  synthetic   20,000 x 1280 vectors with class structure (Lite0-like: non-negative, 10 classes):
              PCA to 50 dimensions (ours: seeded randomized SVD)      vs scikit-learn PCA(50)
              first painted frame of the 20,000-point map (the window's MapPlot, offscreen)
              frame times while panning and zooming it (60 steps, each repainted at once)
              t-SNE layout (ours: 250 + 350 iterations from the PCA) vs openTSNE.TSNE() with its defaults
              1% new images placed into the saved layout            vs the same map laid out afresh
  project     20,000 tiny image files whose cached Lite0 bottlenecks are those vectors: the app's own
              open_map (scan, stat index, cache reads, PCA), finish_map (t-SNE), open_map again (saved map)
  real        a folder of class folders (e.g. 3,000 Fashion-MNIST images) copied to a temporary project,
              EfficientNet-Lite0 bottlenecks extracted, then the app's own calls: open_map (no saved map),
              finish_map (t-SNE), open_map again (saved map: reads no vector); 1% new images placed vs afresh.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_map.py [--real DIR] [--n 20000] [--keep DIR]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip().split("load average:")[-1].strip()


class Timer:
    """Wall and CPU seconds of a block."""

    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu

    def __str__(self) -> str:
        return f"{self.wall:6.2f} s wall, {self.cpu:6.2f} s CPU"


def row(what: str, ours: Timer, baseline: Timer | None = None, name: str = "") -> None:
    ratio = (f"  (x{baseline.wall / ours.wall:.1f} wall, x{baseline.cpu / max(ours.cpu, 1e-9):.1f} CPU)"
             if baseline else "")
    base = f"  | {name}: {baseline}" if baseline else ""
    print(f"{what:34s} {ours}{base}{ratio}  [load {load()}]", flush=True)


def synthetic(n: int, dim: int = 1280, k: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.gamma(0.5, 1.0, (k, dim))
    labels = rng.integers(0, k, n)
    x = np.maximum(centres[labels] + rng.normal(0, 1.0, (n, dim)), 0).astype(np.float32)
    return x, labels


def frame_times(x2: np.ndarray, labels: np.ndarray) -> None:
    """First painted frame, then 60 pan/zoom steps, each repainted synchronously (what a drag costs)."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from imgclf_gui.gui.dataset.map_card import class_colours
    from imgclf_gui.gui.dataset.map_plot import MapPlot

    with Timer() as first:
        plot = MapPlot()
        plot.resize(1000, 650)
        plot.show()
        plot.set_points(x2, labels, class_colours([f"c{i}" for i in range(labels.max() + 1)]),
                        np.zeros(len(labels), bool))
        plot.reset_view()
        app.processEvents()
        plot.viewport().repaint()
    row(f"first frame, {len(x2):,} points", first)
    (x0, x1), (y0, y1) = plot.view.viewRange()
    times, cpu = [], []
    for step in range(60):
        zoom = 1.0 - 0.6 * (step / 60)
        shift = (x1 - x0) * 0.3 * np.sin(step / 10)
        cx, cy = (x0 + x1) / 2 + shift, (y0 + y1) / 2
        plot.view.setRange(xRange=(cx - (x1 - x0) * zoom / 2, cx + (x1 - x0) * zoom / 2),
                           yRange=(cy - (y1 - y0) * zoom / 2, cy + (y1 - y0) * zoom / 2), padding=0)
        start, start_cpu = time.perf_counter(), time.thread_time()
        plot.viewport().repaint()  # the one paint this step needs, now (the GUI thread's CPU time is its cost)
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.thread_time() - start_cpu) * 1000)
        app.processEvents()
    for what, values in (("wall", np.array(times)), ("CPU", np.array(cpu))):
        print(f"{'pan/zoom frame, 60 steps, ' + what:34s} median {np.median(values):5.1f} ms, "
              f"95th {np.percentile(values, 95):5.1f} ms, max {values.max():5.1f} ms  [load {load()}]", flush=True)
    plot.close()


def bench_synthetic(n: int) -> None:
    from openTSNE import TSNE
    from sklearn.decomposition import PCA
    from threadpoolctl import threadpool_limits

    from imgclf_gui.core.review.map_layout import fit_projection, place_points, refine_layout

    x, labels = synthetic(n)
    print(f"== synthetic: {n:,} x {x.shape[1]} vectors, {labels.max() + 1} classes; {os.cpu_count()} CPU(s)")
    with threadpool_limits(1), Timer() as ours:
        reduced = fit_projection(x).apply(x)
    with Timer() as sk:
        PCA(50, random_state=0).fit_transform(x)
    row("PCA to 50 dims", ours, sk, "scikit-learn PCA(50)")
    frame_times(reduced[:, :2], labels)
    with Timer() as refined:
        layout = refine_layout(reduced)
    with Timer() as naive:
        TSNE(random_state=0, n_jobs=-1).fit(reduced)
    row("t-SNE layout", refined, naive, "openTSNE.TSNE() defaults")
    new = max(1, n // 100)
    with Timer() as ours:
        place_points(reduced[:-new], layout[:-new], reduced[-new:])
    row(f"place {new:,} new images (1%)", ours, refined, "the t-SNE layout above (afresh)")


def bench_project(n: int) -> None:
    """A project of ``n`` tiny images whose cached Lite0 bottlenecks are synthetic vectors: the app's own
    open_map (scan, stat index, cache reads, PCA), finish_map and the reopen, at full size."""
    from PIL import Image

    from imgclf_gui.core.backbones import get_spec
    from imgclf_gui.core.features.cache import ExtractionCaches
    from imgclf_gui.core.review.dataset_map import finish_map, open_map
    from imgclf_gui.core.support.file_hash import read_and_hash
    from imgclf_gui.core.training.config import TrainConfig, save_project_config

    x, labels = synthetic(n, seed=1)
    work = Path(tempfile.mkdtemp(prefix="bench-map-project-"))
    root = work / "project"
    past = time.time() - 60
    caches = ExtractionCaches(root, get_spec("efficientnet-lite0"), "squash")
    rng = np.random.default_rng(0)
    batch = []
    for i, (vector, label) in enumerate(zip(x, labels)):
        path = root / f"class{label}" / f"img{i:05d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(path)
        os.utime(path, (past, past))
        _data, digest, st = read_and_hash(path)
        caches.index.remember(path, st, digest)
        batch.append(((bytes.fromhex(digest), 0), vector))
        if len(batch) == 1024:
            caches.add(batch)
            batch = []
    caches.add(batch)
    caches.close()
    save_project_config(root, TrainConfig(backbone="efficientnet-lite0"))
    print(f"== project: {n:,} images with cached (synthetic) Lite0 bottlenecks")
    with Timer() as quick:
        dmap = open_map(root)
    row("open_map, no saved map (to PCA)", quick)
    with Timer() as refine:
        finish_map(dmap)
    row("finish_map (t-SNE)", refine)
    with Timer() as reopen:
        again = open_map(root)
    row(f"open_map again (pending '{again.pending}')", reopen)
    shutil.rmtree(work)


def bench_real(folder: Path, keep: Path | None) -> None:
    from imgclf_gui.core.features.extraction import extract_features
    from imgclf_gui.core.project import scan
    from imgclf_gui.core.review.dataset_map import finish_map, open_map
    from imgclf_gui.core.training.config import TrainConfig, save_project_config

    work = Path(tempfile.mkdtemp(prefix="bench-map-"))
    root = work / "project"
    shutil.copytree(folder, root)
    samples = scan.scan_samples(root)
    new = samples[::100]  # 1% join later, in the inbox
    (root / "unsorted").mkdir()
    held = work / "held"
    held.mkdir()
    for s in new:
        shutil.move(s.path, held / f"{s.label}-{s.path.name}")
    past = time.time() - 60
    for path in root.rglob("*.png"):
        os.utime(path, (past, past))  # older than the stat index's 3-second window, as photos are
    paths = [s.path for s in scan.scan_samples(root)]
    print(f"== real: {folder} ({len(paths):,} images + {len(new)} later), EfficientNet-Lite0")
    with Timer() as t:
        extract_features(paths, "efficientnet-lite0", root)
    row("extract bottlenecks (not a target)", t)
    save_project_config(root, TrainConfig(backbone="efficientnet-lite0"))
    with Timer() as quick:
        dmap = open_map(root)
    row(f"open_map, no saved map ({len(dmap.paths):,})", quick)
    with Timer() as refine:
        dmap = finish_map(dmap)
    row("finish_map (t-SNE)", refine)
    with Timer() as reopen:
        again = open_map(root)
    row(f"open_map again (saved map, pending '{again.pending}')", reopen)
    for path in held.iterdir():
        shutil.move(path, root / "unsorted" / path.name)
    added = sorted((root / "unsorted").iterdir())
    result = extract_features(added, "efficientnet-lite0", root)
    hashes = dict(zip(added, result.hashes))
    with Timer() as place:
        placed = finish_map(open_map(root, hashes=hashes))
    with Timer() as afresh:
        shutil.rmtree(root / ".imgclf" / "maps")
        finish_map(open_map(root, hashes=hashes))
    row(f"{len(added)} new images placed", place, afresh, "the map made afresh")
    print(f"   ({int(placed.placed().sum()):,} images on the map)")
    if keep is not None:
        shutil.copytree(root, keep, dirs_exist_ok=True)
        print(f"   project kept in {keep}")
    shutil.rmtree(work)


def main() -> int:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="synthetic images (default 20,000)")
    parser.add_argument("--real", type=Path, help="a folder of class folders to map (copied, never changed)")
    parser.add_argument("--keep", type=Path, help="keep the real project (with its caches and map) here")
    parser.add_argument("--skip-synthetic", action="store_true")
    args = parser.parse_args()
    print(f"load average at start: {load()}")
    if not args.skip_synthetic:
        bench_synthetic(args.n)
        bench_project(args.n)
    if args.real is not None:
        bench_real(args.real, args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
