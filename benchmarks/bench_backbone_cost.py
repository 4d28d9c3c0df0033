#!/usr/bin/env python3
"""What each candidate backbone costs to extract, on small images and on camera photos: CPU time per image
of ``extract_features`` on one thread (one decode thread, one network thread), cold cache, in one process.

CPU time rather than images per second: on a machine whose cores other work shares, waiting for a core
does not count, so backbones measured at different moments compare (wall-clock rates on the same machine
moved by 2x with the load). Printed next to the first backbone's figure measured in the same run, with the
decode floor (reading, hashing and decoding alone, as extraction does them) and the load average.

  plain    the image's bottleneck(s): what training extracts with mirror images "off"
  mirrors  and each image's mirror image: what training extracts by default (the folds decide on them)

Sets: ``--small FOLDER`` (default: a 300-image sample of bench_extract's small PNGs) and ``--camera FOLDER``
(default: bench_extract's 4000x3000 JPEGs, 24 of them), made under ``bench-data/`` when missing.

    .venv/bin/python benchmarks/bench_backbone_cost.py [--backbone ID ...] [--small DIR] [--camera DIR]
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
CANDIDATES = ["efficientnet-lite0", "efficientnet-lite2", "efficientnet-lite0+efficientnet-lite2"]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _images(folder: Path, limit: int) -> list[Path]:
    from imgclf_gui.core.project.scan import scan_samples

    return [s.path for s in scan_samples(folder)][:limit]


def extraction_ms(paths: list[Path], backbone: str, flips: bool, repeat: int) -> float:
    """Least CPU ms per image over ``repeat`` cold extractions (a fresh project cache each time)."""
    from imgclf_gui.core.features.extraction import extract_features

    best = float("inf")
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as project:
            started = _cpu()
            result = extract_features(paths, backbone, project, flips=flips)
            spent = _cpu() - started
        assert result.ok.all() and result.computed == len(paths)
        best = min(best, spent * 1000 / len(paths))
    return best


def decode_ms(paths: list[Path], side: int, repeat: int) -> float:
    """Least CPU ms per image of reading, hashing and decoding to a ``side`` input, as extraction does."""
    from imgclf_gui.core.images.decode import decode_for_network
    from imgclf_gui.core.support.file_hash import read_and_hash

    best = float("inf")
    for _ in range(repeat):
        started = _cpu()
        for path in paths:
            data, _digest, _st = read_and_hash(path)
            decode_for_network(data, path, side)
        best = min(best, (_cpu() - started) * 1000 / len(paths))
    return best


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from bench_extract import CAMERA, SMALL, ensure_set

    from imgclf_gui.core.backbones import feature_parts, get_spec, open_extractor, prepare_backbone
    from imgclf_gui.core.support.cpus import limit_cpus

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", action="append", help="backbone id (repeatable; default: " +
                        ", ".join(CANDIDATES) + "); the first is the baseline")
    parser.add_argument("--small", type=Path, help="folder of small images (class folders)")
    parser.add_argument("--camera", type=Path, help="folder of camera photos (class folders)")
    parser.add_argument("--count", type=int, default=300, help="small images measured")
    parser.add_argument("--photos", type=int, default=24, help="camera photos measured")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    backbones = args.backbone or CANDIDATES
    data = ROOT / "bench-data"
    sets = {"small images": _images(args.small or ensure_set(data, SMALL, 1000), args.count),
            "camera photos": _images(args.camera or ensure_set(data, CAMERA, args.photos), args.photos)}
    limit_cpus(1)  # one decode thread and one network thread: CPU time per image is then the whole cost
    for backbone in backbones:  # converted and loaded before any clock runs
        prepare_backbone(backbone)
        for part in feature_parts(backbone):
            extractor = open_extractor(part.id)
            extractor.features(np.zeros((1, part.input_size, part.input_size, 3), np.float32))
    print(f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f}; one thread; CPU ms per image, best of "
          f"{args.repeat}", flush=True)
    print("\n| set | backbone | decode floor | plain | x first | with mirror images | x first |")
    print("|---|---|---|---|---|---|---|")
    for name, paths in sets.items():
        base: tuple[float, float] | None = None
        for backbone in backbones:
            side = get_spec(backbone).input_size
            floor = decode_ms(paths, side, args.repeat)
            plain = extraction_ms(paths, backbone, False, args.repeat)
            mirrors = extraction_ms(paths, backbone, True, args.repeat)
            base = base or (plain, mirrors)
            print(f"| {name} ({len(paths)}) | {backbone} | {floor:.1f} | {plain:.1f} | {plain / base[0]:.2f} | "
                  f"{mirrors:.1f} | {mirrors / base[1]:.2f} |", flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
