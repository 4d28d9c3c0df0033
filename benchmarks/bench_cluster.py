#!/usr/bin/env python3
"""Extraction on a Dask cluster against one process, and where the one writer becomes the bound.

    .venv/bin/python benchmarks/bench_cluster.py            # 2,000 camera JPEGs (4000x3000), local:2
    .venv/bin/python benchmarks/bench_cluster.py --quick    # 200 of them

The photos (made once under ``bench-data/``, gitignored): 40 different 4000x3000 JPEGs made as
``bench_extract.py`` makes its camera set, each written 50 times with its own JPEG comment, so every file has
its own content hash (its own cache entry) and costs exactly what a camera photo costs to read and decode.

Each run is its own process on a cold cache (the project's ``.imgclf`` removed first):

  one      ``extract_features`` in one process, every core
  cluster  ``extract_on_cluster`` on ``local:N`` (N worker processes, one thread each); the cluster's
           start-up is timed apart. CPU seconds are counted in the workers and in this computer's process
           (the client, which here also hosts Dask's scheduler)

and what the one writer can take: the whole client (``run_chunks`` + ``CacheWriter.absorb`` + the index
save, Dask's scheduler in the same process) fed by workers that answer each chunk at once with canned
1280-float vectors under fresh hashes, so the client is the only bound; and its parts alone: records per
second into the project's cache, the look-up of an image already cached (stat + index + cache), rows per
second into a CSV (``csv_file``, 10 classes).

From these: the ratio cluster / one; the per-worker rate (a worker's images per CPU second, which is what a
worker does with a core to itself); the client's ceiling; and the projected time for 1,000,000 photos at 8,
32 and 128 workers. Shared storage is the third bound: a camera photo is ~3.4 MB to read, and its bandwidth
is not measured here (``--storage-mb-s``).

Measured (full run, 2,000 photos, EfficientNet-Lite0, shared 2-core VM with a load average of 7.3-9.7 from
other work, 2026-11-29)::

    run                           images  seconds   img/s  load avg
    one process                     2000    266.6     7.5       7.3
    local:2                         2000    298.3     6.7       9.7
    local:2 / one process: 0.89 (cluster start-up 3.8 s, not counted)
    CPU per image: one process 49.0 ms; on the cluster 54.1 ms in the workers + 5.1 ms here
    per-worker rate: 18.5 img/s per worker with a core to itself
    the whole client, workers answering at once: 5,666 img/s (0.08 ms CPU an image)
    records into the project's cache 13,519/s; cached look-ups 41,064/s; CSV rows 39,637/s
    1,000,000 photos: 8 workers 1.9 h, 32 workers 28 min, 128 workers 7 min (the writer bound from
    ~306 workers); with 1 GB/s of shared storage: 1.9 h, 55 min, 55 min

Under heavier load the rates fall further (a quick run at load 11-13, with our own tests running beside
it, gave 0.61 and a writer of 525 img/s):
read them with the load average beside them.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASES = 40
DIM = 1280  # EfficientNet-Lite0's bottleneck


# ------------------------------------------------------------------------------------ the photos
def _with_comment(jpeg: bytes, text: str) -> bytes:
    """The same JPEG with a comment segment (FF FE) after its start marker: new bytes, same pixels."""
    payload = text.encode("ascii")
    return jpeg[:2] + b"\xff\xfe" + (len(payload) + 2).to_bytes(2, "big") + payload + jpeg[2:]


def ensure_photos(base: Path, count: int) -> Path:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_extract import make_camera_set

    folder = base / f"camera-copies-{count}"
    if (folder / ".complete").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    print(f"Making {count} camera photos in {folder} ...", flush=True)
    originals = make_camera_set(base / "camera-bases", BASES) if not (base / "camera-bases").exists() else sorted(
        (base / "camera-bases").rglob("*.jpg"))
    for i in range(count):
        data = _with_comment(originals[i % len(originals)].read_bytes(), f"imgclf bench copy {i}")
        path = folder / f"class{i % 4}" / f"photo{i:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (folder / ".complete").write_text("ok\n")  # written minutes before a run, like photos copied earlier
    return folder


# ------------------------------------------------------------------------------------ measured children
def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _paths(folder: Path) -> list[Path]:
    from imgclf_gui.core.project.scan import scan_samples

    return [s.path for s in scan_samples(folder)]


def child_one(folder: Path, backbone: str, workers: int) -> dict:
    from imgclf_gui.core.features.extraction import extract_features

    paths = _paths(folder)
    load, cpu, start = os.getloadavg()[0], _cpu(), time.perf_counter()
    result = extract_features(paths, backbone, folder)
    return {"images": len(paths), "seconds": time.perf_counter() - start, "cpu": _cpu() - cpu,
            "computed": result.computed, "load": load}


def child_cluster(folder: Path, backbone: str, workers: int) -> dict:
    from imgclf_gui.core.cluster.bottlenecks import extract_on_cluster
    from imgclf_gui.core.cluster.connection import connect

    paths = _paths(folder)
    start = time.perf_counter()
    session = connect(f"local:{workers}")
    startup = time.perf_counter() - start
    with session:
        before = session.client.run(_cpu)
        load, cpu, start = os.getloadavg()[0], _cpu(), time.perf_counter()
        result = extract_on_cluster(session, paths, backbone, folder)
        seconds, client_cpu = time.perf_counter() - start, _cpu() - cpu
        after = session.client.run(_cpu)
    # Workers that were replaced during the run would be missing here; none are in a healthy run.
    worker_cpu = sum(after[w] - before[w] for w in after if w in before)
    return {"images": len(paths), "seconds": seconds, "startup": startup, "client_cpu": client_cpu,
            "worker_cpu": worker_cpu, "computed": result.computed, "failed": len(result.failed), "load": load}


def child_writer(folder: Path, backbone: str, workers: int) -> dict:
    """The one writer alone: records into a fresh cache, look-ups of cached images, rows into a CSV."""
    import numpy as np

    from imgclf_gui.core.backbones import get_spec
    from imgclf_gui.core.cluster.bottlenecks import CacheWriter, Pending
    from imgclf_gui.core.cluster.remote import ChunkVectors
    from imgclf_gui.core.features.cache import ExtractionCaches
    from imgclf_gui.core.models.outputs import csv_file
    from imgclf_gui.core.models.predict import ResultRow

    spec = get_spec(backbone)
    rng = np.random.default_rng(0)
    records, chunk = 20_000, 64
    stat = os.stat(next(folder.rglob("*.jpg")))
    project = folder.parent / "writer-bench"
    shutil.rmtree(project, ignore_errors=True)
    caches = ExtractionCaches(project, spec, "squash")
    writer = CacheWriter(caches, 0, records, None)
    chunks = []
    for start in range(0, records, chunk):
        digests = [rng.bytes(32).hex() for _ in range(chunk)]
        items = [Pending(project / "c" / f"{start + i}.jpg", "", stat) for i in range(chunk)]
        answer = ChunkVectors(digests, {}, {}, [(stat.st_size, stat.st_mtime_ns, stat.st_ino)] * chunk,
                              [(bytes.fromhex(d), 0) for d in digests], rng.random((chunk, spec.dim), np.float32))
        chunks.append((items, answer))
    begin = time.perf_counter()
    for items, answer in chunks:
        writer.absorb(items, answer)
    caches.close()  # the index save and the cache's fsync belong to the writer's work
    write_seconds = time.perf_counter() - begin

    # Looking up an image that is already cached: what every unchanged photo costs this computer.
    paths = _paths(folder)
    caches = ExtractionCaches(folder, spec, "squash")
    begin = time.perf_counter()
    looker = CacheWriter(caches, 0, len(paths), None)
    sent = sum(1 for _ in looker.pending(paths))
    lookup_seconds = time.perf_counter() - begin
    caches.close()

    names = [f"class {k}" for k in range(10)]
    rows = [ResultRow(Path(f"/photos/{i:07d}.jpg"), rng.dirichlet(np.ones(10)).astype(np.float32))
            for i in range(chunk)]
    begin, csv_rows = time.perf_counter(), 200_000
    with csv_file(project / "out.csv", names) as table:
        for _ in range(csv_rows // chunk):
            table.write(rows)
    csv_seconds = time.perf_counter() - begin
    shutil.rmtree(project, ignore_errors=True)
    return {"records": records, "write_seconds": write_seconds, "lookups": len(paths), "sent": sent,
            "lookup_seconds": lookup_seconds, "csv_rows": csv_rows // chunk * chunk, "csv_seconds": csv_seconds}


def canned_chunk(vectors, paths: list[str]):
    """A worker's answer without any work: fresh content hashes, the same vectors (the client's load only)."""
    from imgclf_gui.core.cluster.remote import ChunkVectors

    digests = [os.urandom(32).hex() for _ in paths]
    stat = os.stat(paths[0])
    return ChunkVectors(digests, {}, {}, [(stat.st_size, stat.st_mtime_ns, stat.st_ino)] * len(paths),
                        [(bytes.fromhex(d), 0) for d in digests], vectors[:len(paths)])


def child_client(folder: Path, backbone: str, workers: int) -> dict:
    """The one writer with workers that answer at once: the whole client (Dask messages, the scheduler
    here, the cache writes, the index save) is the bound, so its images per second are its ceiling."""
    import numpy as np

    from imgclf_gui.core.backbones import get_spec
    from imgclf_gui.core.cluster.bottlenecks import CacheWriter, Pending
    from imgclf_gui.core.cluster.connection import connect
    from imgclf_gui.core.cluster.streaming import CHUNK_SIZE, run_chunks
    from imgclf_gui.core.features.cache import ExtractionCaches

    spec = get_spec(backbone)
    photo = next(folder.rglob("*.jpg"))
    stat = os.stat(photo)
    count = 30_000
    project = folder.parent / "client-bench"
    shutil.rmtree(project, ignore_errors=True)
    items = [Pending(project / "c" / f"{i}.jpg", str(photo), stat) for i in range(count)]
    vectors = np.random.default_rng(0).random((CHUNK_SIZE, spec.dim), np.float32)
    with connect(f"local:{workers}") as session:
        canned = session.client.scatter(vectors, broadcast=True)
        caches = ExtractionCaches(project, spec, "squash")
        writer = CacheWriter(caches, 0, count, None)
        cpu, start = _cpu(), time.perf_counter()
        run_chunks(session, canned_chunk, (canned,), items, payload=lambda item: item.absolute,
                   deliver=writer.absorb, lost=lambda item, reason: None)
        caches.close()
        seconds, client_cpu = time.perf_counter() - start, _cpu() - cpu
    written = writer.result.computed
    shutil.rmtree(project, ignore_errors=True)
    return {"images": written, "seconds": seconds, "client_cpu": client_cpu}


CHILDREN = {"one": child_one, "cluster": child_cluster, "writer": child_writer, "client": child_client}


def run_child(kind: str, folder: Path, backbone: str, workers: int) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    command = [sys.executable, __file__, "--child", kind, "--folder", str(folder), "--backbone", backbone,
               "--workers", str(workers)]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"{kind} failed (exit {proc.returncode})")
    return json.loads(lines[-1])


# ------------------------------------------------------------------------------------------ report
def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


def report(one: dict, cluster: dict, writer: dict, client: dict, workers: int, storage_mb_s: float,
           photo_mb: float) -> None:
    one_rate = one["images"] / one["seconds"]
    cluster_rate = cluster["images"] / cluster["seconds"]
    per_worker = cluster["images"] / cluster["worker_cpu"]  # images per CPU second of a worker
    client_per_image = cluster["client_cpu"] / cluster["images"]
    client_ceiling = client["images"] / client["seconds"]
    write_rate = writer["records"] / writer["write_seconds"]
    lookup_rate = writer["lookups"] / writer["lookup_seconds"]
    csv_rate = writer["csv_rows"] / writer["csv_seconds"]
    storage_rate = storage_mb_s / photo_mb
    print()
    print(f"{'run':<28}{'images':>8}{'seconds':>9}{'img/s':>8}{'load avg':>10}")
    print(f"{'one process':<28}{one['images']:>8}{one['seconds']:>9.1f}{one_rate:>8.1f}{one['load']:>10.1f}")
    print(f"{f'local:{workers}':<28}{cluster['images']:>8}{cluster['seconds']:>9.1f}{cluster_rate:>8.1f}"
          f"{cluster['load']:>10.1f}")
    print(f"\nlocal:{workers} / one process: {cluster_rate / one_rate:.2f} "
          f"(cluster start-up {cluster['startup']:.1f} s, not counted)")
    print(f"CPU per image: one process {1000 * one['cpu'] / one['images']:.1f} ms; on the cluster "
          f"{1000 * cluster['worker_cpu'] / cluster['images']:.1f} ms in the workers + "
          f"{1000 * client_per_image:.1f} ms here (client + scheduler)")
    print(f"per-worker rate: {per_worker:.1f} img/s per worker with a core to itself "
          f"(observed here: {cluster_rate / workers:.1f} img/s per worker, {workers} workers and the client "
          f"on {os.cpu_count()} cores)")
    print("\nthe one writer (this computer, one core):")
    client_cpu = client["client_cpu"] / client["images"]
    print(f"  the whole client, workers answering at once (Dask messages, scheduler, cache, index): "
          f"{client_ceiling:,.0f} img/s measured; its CPU per image, {1000 * client_cpu:.2f} ms, would allow "
          f"~{1 / client_cpu:,.0f} img/s on a core of its own")
    print(f"  records into the project's cache (absorb + index save): {write_rate:,.0f} records/s")
    print(f"  look-up of an image already cached (stat + index + cache): {lookup_rate:,.0f} img/s "
          f"({writer['sent']} of {writer['lookups']} would have been sent)")
    print(f"  rows into a CSV (10 classes): {csv_rate:,.0f} rows/s")
    print(f"  shared storage at {storage_mb_s:,.0f} MB/s and {photo_mb:.1f} MB a photo (assumed, not measured): "
          f"{storage_rate:,.0f} img/s")
    print(f"\n1,000,000 camera photos: the per-worker rate x workers, capped by the one writer (reached at "
          f"~{client_ceiling / per_worker:,.0f} workers); then also by the storage assumed above:")
    print(f"{'workers':>8}{'img/s':>9}{'bound by':>10}{'time':>9}{'with storage':>15}{'time':>9}")
    for n in (8, 32, 128):
        compute = n * per_worker
        rate, by = min((compute, "workers"), (client_ceiling, "writer"))
        stored = min(rate, storage_rate)
        print(f"{n:>8}{rate:>9,.0f}{by:>10}{_hours(1_000_000 / rate):>9}{stored:>15,.0f}"
              f"{_hours(1_000_000 / stored):>9}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="200 photos instead of 2,000")
    parser.add_argument("--data", type=Path, default=ROOT / "bench-data", help="where the photos are made")
    parser.add_argument("--backbone", default="efficientnet-lite0")
    parser.add_argument("--workers", type=int, default=2, help="local:N worker processes (default 2)")
    parser.add_argument("--storage-mb-s", type=float, default=1000.0,
                        help="read bandwidth of the shared storage for the projection (default 1000 MB/s)")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(CHILDREN[args.child](args.folder, args.backbone, args.workers)))
        return 0

    from imgclf_gui.core.backbones import prepare_backbone

    prepare_backbone(args.backbone)  # converted once, before anything is timed
    folder = ensure_photos(args.data, 200 if args.quick else 2000)
    photo_mb = sum(p.stat().st_size for p in folder.rglob("*.jpg")) / 2**20 / (200 if args.quick else 2000)
    print(f"{os.cpu_count()} cores; {args.backbone}; load average {os.getloadavg()[0]:.1f} at the start", flush=True)
    shutil.rmtree(folder / ".imgclf", ignore_errors=True)
    print("one process ...", flush=True)
    one = run_child("one", folder, args.backbone, args.workers)
    shutil.rmtree(folder / ".imgclf", ignore_errors=True)
    print(f"local:{args.workers} ...", flush=True)
    cluster = run_child("cluster", folder, args.backbone, args.workers)
    print("the writer alone ...", flush=True)
    writer = run_child("writer", folder, args.backbone, args.workers)
    print("the whole client, workers answering at once ...", flush=True)
    client = run_child("client", folder, args.backbone, args.workers)
    report(one, cluster, writer, client, args.workers, args.storage_mb_s, photo_mb)
    print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
          f"(anything above ~0.5 means other work shared the {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
