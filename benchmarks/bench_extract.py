#!/usr/bin/env python3
"""How fast is bottleneck extraction, against what a user would write and against the network alone?

    .venv/bin/python benchmarks/bench_extract.py            # full: 1,000 small PNGs, 200 camera JPEGs
    .venv/bin/python benchmarks/bench_extract.py --quick    # 200 small, 24 camera-size: a few minutes

For each image set (made once under ``bench-data/``, gitignored) it measures images per second of:

  ours    ``extract_features`` with a cold cache (project ``.imgclf`` removed first)
  keras   ``keras.utils.image_dataset_from_directory(image_size=(224, 224), batch_size=32)`` and
          ``model.predict`` on the same backbone's Keras model (``load_keras_backbone``)
  ceiling ``open_extractor(...).features`` alone on already-decoded 224x224 tensors
  decode  reading, hashing and decoding alone (ours' thread pool, no network): the floor under ours
  rerun   ``extract_features`` again after adding 1 % new images (time, against ours)

Each one runs in its own subprocess, so its peak memory (max RSS) is its own. Files are in the page
cache for all of them (just written), so disk speed is not measured: decoding and the network are.
Targets: ours/keras >= 2 on camera JPEGs, ours/ceiling >= 0.85 on small images, rerun <= 5 % of ours.

Measured (full run, best of 3, shared 2-core AMD EPYC VM, EfficientNet-Lite0, 2026-11-22):

    set          ours img/s  keras img/s  ceiling img/s  ours/keras  ours/ceil  rerun/ours
    small-png         237.7        147.3          299.1        1.61       0.79        4.0 %
    camera-jpeg        47.5         33.2          290.8        1.43       0.16        3.1 %
    peak RSS MB: ours 172 / 170, keras 1049 / 1092, ceiling 343 / 174
    CPU ms/image  ours  keras  ceiling  decode  keras/ours  bound  ceil/ours  bound
    small-png      7.8   12.0      6.4     0.9        1.55   1.64       0.83   0.88
    camera-jpeg   41.2   56.6      6.8    35.3        1.38   1.35       0.16   0.16

(ours/ceiling was 0.81-0.88 in other full runs the same day.) Why the two misses: (1) a 4000x3000
JPEG costs ~30 ms of CPU even in 1/8 draft mode, because libjpeg's Huffman decoding of all 3.4 MB is
unavoidable and dominates; TensorFlow's full decode is only ~1.4x dearer on this CPU, so the bound
column shows no pipeline could reach 2x with pixels decoded from the file. (2) On small images
decoding and resizing are ~0.9 ms against the network's ~6.4 ms on the same two cores: the bound is
0.88, and scheduling on the shared machine plus the ~0.1 s interpreter start-up take the rest.
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
SMALL, CAMERA = "small-png", "camera-jpeg"
BATCH = 32


# ------------------------------------------------------------------------------------ making data


def _sources() -> list:
    import numpy as np
    from skimage import data

    pictures = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(), data.immunohistochemistry(),
                data.hubble_deep_field(), data.colorwheel()]
    grey = [data.camera(), data.coins(), data.moon(), data.page()]
    pictures += [np.repeat(g[..., None], 3, axis=2) for g in grey]
    return pictures


def make_small_set(folder: Path, count: int, start: int = 0, classes: int = 10) -> list[Path]:
    """``count`` PNGs of 64..128 px: crops of scikit-image samples, scaled, flipped, with noise."""
    import numpy as np
    from PIL import Image

    sources = _sources()
    written = []
    for i in range(start, start + count):
        rng = np.random.default_rng(i)
        src = sources[i % len(sources)]
        h, w = src.shape[:2]
        ch, cw = int(rng.integers(h // 4, h // 2)), int(rng.integers(w // 4, w // 2))
        top, left = int(rng.integers(0, h - ch)), int(rng.integers(0, w - cw))
        crop = Image.fromarray(src[top:top + ch, left:left + cw])
        side = (int(rng.integers(64, 129)), int(rng.integers(64, 129)))
        arr = np.asarray(crop.resize(side, Image.Resampling.BILINEAR)).astype(np.int16)
        arr = np.clip(arr + rng.integers(-12, 13, arr.shape), 0, 255).astype(np.uint8)
        path = folder / f"class{i % classes}" / f"img{i:05d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(arr).save(path)
        written.append(path)
    return written


def _camera_one(job: tuple[str, int]) -> str:
    import numpy as np
    from PIL import Image
    from skimage import data

    folder, i = Path(job[0]), job[1]
    rng = np.random.default_rng(1000 + i)
    src = [data.astronaut, data.coffee, data.chelsea][i % 3]()
    base = Image.fromarray(src).resize((4000, 3000), Image.Resampling.BICUBIC)
    arr = np.asarray(base).astype(np.int16)
    # Sensor-like noise, different for every file: no two images share content (nor a cache entry).
    noise = rng.integers(-10, 11, (3000, 4000, 1), dtype=np.int16)
    arr = np.clip(arr + noise + int(rng.integers(-15, 16)), 0, 255).astype(np.uint8)
    path = folder / f"class{i % 3}" / f"photo{i:04d}.jpg"
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, quality=90)
    return str(path)


def make_camera_set(folder: Path, count: int, start: int = 0) -> list[Path]:
    """``count`` 4000x3000 JPEGs (quality 90) from scikit-image's astronaut, coffee and chelsea."""
    from concurrent.futures import ProcessPoolExecutor

    jobs = [(str(folder), i) for i in range(start, start + count)]
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return [Path(p) for p in pool.map(_camera_one, jobs)]


def ensure_set(base: Path, name: str, count: int) -> Path:
    folder = base / f"{name}-{count}"
    marker = folder / ".complete"
    if marker.exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    print(f"Making {count} images in {folder} ...", flush=True)
    (make_small_set if name == SMALL else make_camera_set)(folder, count)
    # Written minutes before the run, like photos copied earlier: the stat index may trust them.
    marker.write_text("ok\n")
    return folder


# ------------------------------------------------------------------------------- measured children


def _image_paths(folder: Path) -> list[Path]:
    from imgclf_gui.core.project.scan import scan_samples

    return [s.path for s in scan_samples(folder)]


def child_ours(folder: Path, backbone: str) -> dict:
    from imgclf_gui.core.features.extraction import extract_features

    paths = _image_paths(folder)
    cpu, start = _cpu_seconds(), time.perf_counter()
    result = extract_features(paths, backbone, folder)
    seconds = time.perf_counter() - start
    return {"images": len(paths), "seconds": seconds, "cpu": _cpu_seconds() - cpu, "computed": result.computed,
            "from_cache": result.from_cache, "failed": len(result.failed)}


def child_keras(folder: Path, backbone: str) -> dict:
    import keras

    from imgclf_gui.core.backbones import get_spec, load_keras_backbone

    size = get_spec(backbone).input_size
    model = load_keras_backbone(backbone)
    model.predict(keras.ops.zeros((BATCH, size, size, 3)), verbose=0)  # build/trace outside the timing
    count = len(_image_paths(folder))
    cpu, start = _cpu_seconds(), time.perf_counter()
    dataset = keras.utils.image_dataset_from_directory(
        folder, labels=None, image_size=(size, size), batch_size=BATCH, shuffle=False, verbose=False
    )
    features = model.predict(dataset, verbose=0)
    seconds = time.perf_counter() - start
    return {"images": int(features.shape[0]), "seconds": seconds, "cpu": _cpu_seconds() - cpu, "expected": count}


def child_ceiling(folder: Path, backbone: str) -> dict:
    import numpy as np

    from imgclf_gui.core.backbones import get_spec, open_extractor
    from imgclf_gui.core.images.decode import load_for_network

    size = get_spec(backbone).input_size
    paths = _image_paths(folder)
    tensors = np.stack([load_for_network(p, size) for p in paths])  # decoded beforehand: not timed
    extractor = open_extractor(backbone)
    extractor.features(tensors[:BATCH])  # plan the graph for this batch size outside the timing
    cpu, start = _cpu_seconds(), time.perf_counter()
    for i in range(0, len(tensors), BATCH):
        extractor.features(tensors[i:i + BATCH])
    seconds = time.perf_counter() - start
    return {"images": len(paths), "seconds": seconds, "cpu": _cpu_seconds() - cpu}


def child_decode(folder: Path, backbone: str) -> dict:
    """The floor under "ours": read, hash and decode every image exactly as extraction does, on the same
    number of threads, with no network. No decoder that yields the pixels can skip this work."""
    import os as _os
    from concurrent.futures import ThreadPoolExecutor

    from imgclf_gui.core.backbones import get_spec
    from imgclf_gui.core.images.decode import decode_for_network
    from imgclf_gui.core.support.file_hash import read_and_hash

    size = get_spec(backbone).input_size
    paths = _image_paths(folder)

    def one(path: Path) -> int:
        data, _digest, _st = read_and_hash(path)
        return int(decode_for_network(data, path, size)[0].shape[0])

    cpu, start = _cpu_seconds(), time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, min(4, _os.cpu_count() or 1))) as pool:
        done = sum(1 for _ in pool.map(one, paths))
    seconds = time.perf_counter() - start
    return {"images": done, "seconds": seconds, "cpu": _cpu_seconds() - cpu}


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


CHILDREN = {"ours": child_ours, "rerun": child_ours, "keras": child_keras, "ceiling": child_ceiling,
            "decode": child_decode}


def run_child(kind: str, folder: Path, backbone: str) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    command = [sys.executable, __file__, "--child", kind, "--folder", str(folder), "--backbone", backbone]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"{kind} on {folder.name} failed (exit {proc.returncode})")
    return json.loads(lines[-1])


# ------------------------------------------------------------------------------------------ report


def _best(runs: list[dict]) -> dict:
    """The fastest of several runs: on a shared machine, slower runs measure the neighbours."""
    best = dict(min(runs, key=lambda r: r["seconds"]))
    best["maxrss_mb"] = max(r["maxrss_mb"] for r in runs)
    best["all_seconds"] = [round(r["seconds"], 2) for r in runs]
    return best


def bench_set(name: str, folder: Path, backbone: str, repeat: int) -> dict:
    runs: dict[str, list[dict]] = {"ceiling": [], "decode": [], "ours": [], "rerun": [], "keras": []}
    count = len(_image_paths(folder))
    for _ in range(repeat):
        runs["ceiling"].append(run_child("ceiling", folder, backbone))
        runs["decode"].append(run_child("decode", folder, backbone))
        shutil.rmtree(folder / ".imgclf", ignore_errors=True)
        runs["ours"].append(run_child("ours", folder, backbone))
        extra = max(1, count // 100)
        make = make_small_set if name == SMALL else make_camera_set
        added = make(folder, extra, start=10_000_000)
        try:
            runs["rerun"].append(run_child("rerun", folder, backbone))
        finally:
            for path in added:
                path.unlink(missing_ok=True)
        shutil.rmtree(folder / ".imgclf", ignore_errors=True)
        runs["keras"].append(run_child("keras", folder, backbone))
    results = {kind: _best(r) for kind, r in runs.items()}
    # The re-run is judged against the cold run it followed, not against the fastest cold run.
    pairs = [(rerun["seconds"] / ours["seconds"]) for ours, rerun in zip(runs["ours"], runs["rerun"])]
    results["rerun"]["fraction"] = min(pairs)
    return results


def print_report(all_results: dict[str, dict]) -> None:
    def rate(r: dict) -> float:
        return r["images"] / r["seconds"]

    print()
    print(f"{'set':<14}{'ours img/s':>12}{'keras img/s':>13}{'ceiling img/s':>15}{'ours/keras':>12}"
          f"{'ours/ceil':>11}{'rerun/ours':>12}")
    for name, r in all_results.items():
        print(f"{name:<14}{rate(r['ours']):>12.1f}{rate(r['keras']):>13.1f}{rate(r['ceiling']):>15.1f}"
              f"{rate(r['ours']) / rate(r['keras']):>12.2f}{rate(r['ours']) / rate(r['ceiling']):>11.2f}"
              f"{r['rerun']['fraction']:>11.1%}")
    print()
    print(f"{'peak RSS (MB)':<14}{'ours':>12}{'keras':>13}{'ceiling':>15}{'rerun':>12}")
    for name, r in all_results.items():
        print(f"{name:<14}{r['ours']['maxrss_mb']:>12.0f}{r['keras']['maxrss_mb']:>13.0f}"
              f"{r['ceiling']['maxrss_mb']:>15.0f}{r['rerun']['maxrss_mb']:>12.0f}")
    print()
    print("CPU time per image (ms; all threads: robust to a busy machine, unlike img/s). 'decode' is reading,")
    print("hashing and decoding alone, as ours does it. The bounds are the best any pipeline could reach with")
    print("this decoding and this network, every core busy: ours/keras <= keras / (decode + ceiling), and")
    print("ours/ceiling <= ceiling / (decode + ceiling).")
    print(f"{'set':<14}{'ours':>7}{'keras':>7}{'ceiling':>8}{'decode':>7}{'keras/ours':>11}{'bound':>7}"
          f"{'ceil/ours':>10}{'bound':>7}")
    for name, r in all_results.items():
        per = {k: 1000 * r[k]["cpu"] / r[k]["images"] for k in ("ours", "keras", "ceiling", "decode")}
        floor = per["decode"] + per["ceiling"]
        print(f"{name:<14}{per['ours']:>7.1f}{per['keras']:>7.1f}{per['ceiling']:>8.1f}{per['decode']:>7.1f}"
              f"{per['keras'] / per['ours']:>11.2f}{per['keras'] / floor:>7.2f}"
              f"{per['ceiling'] / per['ours']:>10.2f}{per['ceiling'] / floor:>7.2f}")
    print()
    for name, r in all_results.items():
        kinds = ("ours", "rerun", "keras", "ceiling", "decode")
        print(f"{name}: every run (s): " + ", ".join(f"{k} {r[k]['all_seconds']}" for k in kinds))
    print()
    for name, r in all_results.items():
        print(f"{name}: ours {r['ours']['images']} images in {r['ours']['seconds']:.1f} s "
              f"({r['ours']['computed']} computed, {r['ours']['failed']} failed); rerun +1 % "
              f"{r['rerun']['images']} images in {r['rerun']['seconds']:.2f} s ({r['rerun']['computed']} computed); "
              f"keras {r['keras']['seconds']:.1f} s; ceiling {r['ceiling']['seconds']:.1f} s")
    checks = []
    if CAMERA in all_results:
        r = all_results[CAMERA]
        checks.append(("ours/keras >= 2 on camera JPEGs", rate(r["ours"]) / rate(r["keras"]) >= 2))
    if SMALL in all_results:
        r = all_results[SMALL]
        checks.append(("ours/ceiling >= 0.85 on small images", rate(r["ours"]) / rate(r["ceiling"]) >= 0.85))
    for name, r in all_results.items():
        checks.append((f"rerun <= 5 % of first run ({name})", r["rerun"]["fraction"] <= 0.05))
    print()
    for text, ok in checks:
        print(f"  [{'ok' if ok else 'MISSED'}] {text}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="200 small images and 24 camera-size JPEGs")
    parser.add_argument("--data", type=Path, default=ROOT / "bench-data", help="where the image sets are made")
    parser.add_argument("--backbone", default="efficientnet-lite0")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement; the fastest counts")
    parser.add_argument("--sets", default=f"{SMALL},{CAMERA}", help="comma-separated: small-png,camera-jpeg")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        result = CHILDREN[args.child](args.folder, args.backbone)
        # ru_maxrss is KiB on Linux, bytes on macOS.
        scale = 1 if sys.platform == "darwin" else 1024
        result["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20
        print(json.dumps(result))
        return 0

    sizes = {SMALL: 200 if args.quick else 1000, CAMERA: 24 if args.quick else 200}
    wanted = [s for s in args.sets.split(",") if s]
    print(f"{os.cpu_count()} CPU cores; backbone {args.backbone}; {'quick' if args.quick else 'full'} run", flush=True)
    # The backbone is converted to LiteRT once (user cache); do it before anything is timed.
    run_child("ceiling", ensure_set(args.data, SMALL, 32 if args.quick else 64), args.backbone)
    all_results = {}
    for name in wanted:
        folder = ensure_set(args.data, name, sizes[name])
        print(f"Measuring {name} ({sizes[name]} images) ...", flush=True)
        all_results[name] = bench_set(name, folder, args.backbone, max(1, args.repeat))
    print_report(all_results)
    print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
          f"(anything above ~0.5 means other work shared the {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
